//! A static formation sized for the peak: what an app without an autoscaler pays. The size is
//! the oracle's largest quantity over the trace.

use crate::engine::{Controller, View};

pub struct StaticPeak {
    dynos: u32,
}

impl StaticPeak {
    pub fn new(dynos: u32) -> Self {
        StaticPeak { dynos }
    }
}

impl Controller for StaticPeak {
    fn name(&self) -> String {
        "static-peak".into()
    }

    fn decide(&mut self, view: &View<'_>) -> Option<u32> {
        (view.quantity != self.dynos).then_some(self.dynos)
    }
}
