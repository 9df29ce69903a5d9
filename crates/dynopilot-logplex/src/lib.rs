//! Heroku log parsing: Logplex drain framing, `heroku logs` lines, the message grammar, and
//! the encoder that writes them back byte for byte. Parsing borrows from the input and does
//! not allocate per field.
//!
//! - [`frame`]: drain bodies (octet-counted syslog frames) → [`Frame`]s plus [`FrameIssue`]s.
//! - [`line`]: `TIMESTAMP SOURCE[PROCESS]: MESSAGE` lines → [`LogLine`]s.
//! - [`message`]: one message → a typed [`Message`] (router, memory, load, error, state, …).
//! - [`encode`]: the inverse, for the simulator.

pub mod corpus;
pub mod encode;
pub mod forms;
pub mod frame;
pub mod layout;
pub mod line;
pub mod logfmt;
pub mod message;
mod scan;
pub mod syslog;
pub mod timestamp;

pub use frame::{
    DrainBody, Frame, FrameIssue, FrameIssueKind, MsgCountCheck, check_msg_count, parse_body,
};
pub use line::{LogLine, TextLine, parse_line, read_line};
pub use message::{Message, parse_message, parse_message_bytes, parse_message_checked};
