//! Integration tests of the workload model: queueing theory, memory, lifecycle, logs.

use dynopilot_core::Timestamp;
use dynopilot_workload::{Model, WorkloadConfig};

#[test]
fn demo_config_builds_a_model() {
    let model = Model::new(WorkloadConfig::demo(), Timestamp::from_secs(1_700_000_000)).unwrap();
    assert_eq!(model.formation().len(), 2);
}
