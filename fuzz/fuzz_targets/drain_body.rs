//! Fuzzes the drain-body parser: any bytes must parse without panicking, every frame must lie
//! inside the body, and the streaming reader must agree with the whole-body parse.
#![no_main]

use dynopilot_logplex::frame::{FrameReader, Step};
use dynopilot_logplex::{parse_body, parse_message_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parsed = parse_body(data);
    assert!(parsed.frames.len() + parsed.issues.len() <= data.len());
    for frame in &parsed.frames {
        let _ = parse_message_bytes(frame.source, frame.process, frame.message);
    }
    let mut reader = FrameReader::new(data);
    let mut frames = 0;
    while let Some(step) = reader.next_step(true) {
        frames += usize::from(matches!(step, Step::Frame(_)));
    }
    assert_eq!(frames, parsed.frames.len());
    assert_eq!(reader.position(), data.len());
});
