//! Integration tests of the workload model: queueing theory, memory, lifecycle, logs.

mod lifecycle;
mod memory;
mod queueing;
mod support;

mod smoke {
    use dynopilot_core::Timestamp;
    use dynopilot_workload::{Model, VecSink, WorkloadConfig};

    #[test]
    fn demo_runs_and_prints() {
        let start = Timestamp::from_secs(1_700_000_000);
        let mut model = Model::new(WorkloadConfig::demo(), start).unwrap();
        let mut sink = VecSink::default();
        model.advance_to(Timestamp::from_secs(1_700_000_000 + 120), &mut sink);
        for l in sink.lines.iter().filter(|l| l.process != "router").take(40) {
            println!("{}", l.to_line());
        }
        for l in sink.lines.iter().filter(|l| l.process == "router").take(5) {
            println!("{}", l.to_line());
        }
        println!("{} lines", sink.lines.len());
        println!("{:?}", model.dynos());
    }
}
