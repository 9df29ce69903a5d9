//! Fuzzes `heroku logs` lines and the message grammar for every source and process kind.
#![no_main]

use dynopilot_logplex::{Message, TextLine, parse_line, parse_message_bytes, read_line};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(line) = parse_line(data) {
        let _ = parse_message_bytes(line.source, line.process, line.message);
    }
    // Any layout (coloured, syslog without framing): one record, never a panic.
    let mut scratch = Vec::new();
    if let TextLine::Log(line) = read_line(data, &mut scratch) {
        let _ = parse_message_bytes(line.source, line.process, line.message);
    }
    for (source, process) in [
        ("heroku", "router"),
        ("heroku", "web.1"),
        ("heroku", "logplex"),
        ("app", "api"),
        ("app", "web.1"),
    ] {
        if let Message::Scale(scale) = parse_message_bytes(source, process, data) {
            let _ = scale.entries().count();
        }
        if let Message::L2met(line) = parse_message_bytes(source, process, data) {
            let _ = line.metrics().count();
        }
    }
});
