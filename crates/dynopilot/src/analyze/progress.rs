//! The progress bar `analyze` shows while it reads a large file, on stderr, only when both
//! stdout and stderr are terminals (never in pipes, redirects or tests).

use std::io::{IsTerminal, Read};
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};

/// Files smaller than this are read too fast for a bar to help.
const LARGE_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// `file` as is, or wrapped so that reading it advances a bar named after `path`.
pub fn wrap(file: std::fs::File, path: &Path, len: u64) -> Box<dyn Read> {
    let terminal = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
    if !terminal || len < LARGE_FILE_BYTES {
        return Box::new(file);
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(
        "{prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}, {eta} left",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(path.display().to_string());
    Box::new(Finishing {
        inner: bar.wrap_read(file),
    })
}

/// Clears the bar once the file is read, so the report starts on a clean line.
struct Finishing<R> {
    inner: indicatif::ProgressBarIter<R>,
}

impl<R: Read> Read for Finishing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.inner.progress.finish_and_clear();
        }
        Ok(n)
    }
}
