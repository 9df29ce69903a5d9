//! The exit status of a one-off dyno's command, learnt the way the official CLI learns it: the
//! command gets a suffix that prints a marker line with `$?`, and the client strips that line
//! from the output it shows.

/// What the suffix prints before the status (U+FFFF cannot appear in ordinary text output).
pub const MARKER: &str = "\u{FFFF} heroku-command-exit-status:";

/// `command` run so that its status is printed after it. The command runs in its own `sh -c`,
/// so an `exit 3` inside it ends only that shell and the marker still reports 3.
pub fn wrap_command(command: &str) -> String {
    format!("sh -c {}; echo \"{MARKER} $?\"", shell_quote(command))
}

/// One argument for a POSIX shell, single-quoted unless it is made of safe characters only.
pub fn shell_quote(arg: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c);
    if !arg.is_empty() && arg.chars().all(safe) {
        return arg.to_owned();
    }
    format!("'{}'", arg.replace('\'', "'\\''"))
}

/// Splits a stream of dyno output into what the user sees and the exit status, without
/// holding back more than a possible start of the marker.
#[derive(Debug, Default)]
pub struct ExitStatusScanner {
    pending: Vec<u8>,
    status: Option<i32>,
}

impl ExitStatusScanner {
    /// Takes the next chunk of output; returns the bytes that can be shown now.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<u8> {
        self.pending.extend_from_slice(chunk);
        let mut shown = Vec::new();
        loop {
            let marker = MARKER.as_bytes();
            if let Some(at) = find(&self.pending, marker) {
                shown.extend_from_slice(&self.pending[..at]);
                let rest = &self.pending[at + marker.len()..];
                let Some(end) = rest.iter().position(|&b| b == b'\n') else {
                    self.pending.drain(..at);
                    return shown;
                };
                let digits = String::from_utf8_lossy(&rest[..end]);
                if let Ok(status) = digits.trim().parse::<i32>() {
                    self.status = Some(status);
                }
                let consumed = at + marker.len() + end + 1;
                self.pending.drain(..consumed);
                continue;
            }
            let keep = partial_suffix(&self.pending, marker);
            let show = self.pending.len() - keep;
            shown.extend(self.pending.drain(..show));
            return shown;
        }
    }

    /// The output still held back (a marker that never completed) and the status, if the
    /// marker arrived.
    pub fn finish(mut self) -> (Vec<u8>, Option<i32>) {
        (std::mem::take(&mut self.pending), self.status)
    }

    /// The status once the marker line has been seen.
    pub fn status(&self) -> Option<i32> {
        self.status
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Length of the longest end of `bytes` that is a proper start of `marker`.
fn partial_suffix(bytes: &[u8], marker: &[u8]) -> usize {
    (1..marker.len().min(bytes.len() + 1))
        .rev()
        .find(|&n| bytes.ends_with(&marker[..n]))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(chunks: &[&[u8]]) -> (Vec<u8>, Option<i32>) {
        let mut scanner = ExitStatusScanner::default();
        let mut shown = Vec::new();
        for chunk in chunks {
            shown.extend(scanner.feed(chunk));
        }
        let (rest, status) = scanner.finish();
        shown.extend(rest);
        (shown, status)
    }

    #[test]
    fn strips_the_marker_line_and_keeps_the_status() {
        let out = format!("hello\r\n{MARKER} 3\r\n");
        assert_eq!(scan(&[out.as_bytes()]), (b"hello\r\n".to_vec(), Some(3)));
    }

    #[test]
    fn marker_split_across_chunks_byte_by_byte() {
        let out = format!("a{MARKER} 0\nb");
        let chunks: Vec<&[u8]> = out.as_bytes().chunks(1).collect();
        assert_eq!(scan(&chunks), (b"ab".to_vec(), Some(0)));
    }

    #[test]
    fn without_marker_everything_is_shown_and_status_is_unknown() {
        assert_eq!(
            scan(&[b"partial \xef\xbf"]),
            (b"partial \xef\xbf".to_vec(), None)
        );
    }

    #[test]
    fn wrap_quotes_the_command_for_its_own_shell() {
        assert_eq!(
            wrap_command("echo 'hi'; exit 3"),
            format!("sh -c 'echo '\\''hi'\\''; exit 3'; echo \"{MARKER} $?\"")
        );
        assert_eq!(shell_quote("/tmp/a_b-1.log"), "/tmp/a_b-1.log");
        assert_eq!(shell_quote("*.pid"), "'*.pid'");
        assert_eq!(shell_quote(""), "''");
    }
}
