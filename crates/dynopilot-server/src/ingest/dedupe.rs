//! Remembers recent `Logplex-Frame-Id`s: logplex reuses the id when it retries a batch, so a
//! batch we already applied is acknowledged without being applied twice.

use std::collections::{HashSet, VecDeque};

#[derive(Debug)]
pub struct FrameIds {
    order: VecDeque<String>,
    seen: HashSet<String>,
    capacity: usize,
}

impl FrameIds {
    pub fn new(capacity: usize) -> Self {
        FrameIds {
            order: VecDeque::new(),
            seen: HashSet::new(),
            capacity: capacity.max(1),
        }
    }

    pub fn contains(&self, id: &str) -> bool {
        self.seen.contains(id)
    }

    /// Records `id`; returns false if it was already there.
    pub fn insert(&mut self, id: &str) -> bool {
        if self.seen.contains(id) {
            return false;
        }
        if self.order.len() == self.capacity
            && let Some(old) = self.order.pop_front()
        {
            self.seen.remove(&old);
        }
        self.order.push_back(id.to_owned());
        self.seen.insert(id.to_owned());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgets_the_oldest_beyond_capacity() {
        let mut ids = FrameIds::new(2);
        assert!(ids.insert("A"));
        assert!(!ids.insert("A"));
        assert!(ids.insert("B"));
        assert!(ids.insert("C"));
        assert!(!ids.contains("A"));
        assert!(ids.contains("B") && ids.contains("C"));
    }
}
