//! The one command `dynopilot clean` runs in a dyno, and the reading of what it printed. The
//! directory is checked against an allow-list before anything is built, so a bad `--dir`
//! never reaches Heroku; the command never follows symbolic links, never leaves the
//! directory's filesystem, only touches regular files, and skips dotfiles unless asked.

use std::time::Duration;

use dynopilot_heroku::exit_status::shell_quote;

/// The only directories (and their subdirectories) a clean may touch: a dyno's scratch space.
/// `/app` itself holds the slug and is never cleaned.
pub const ALLOWED_ROOTS: &[&str] = &["/tmp", "/app/tmp", "/app/log"];

/// `find -mmin` counts minutes: a younger threshold could remove files being written.
pub const MIN_AGE: Duration = Duration::from_secs(60);

/// What starts each line the command prints for a file (tab-separated size and path follow).
pub const LINE_TAG: &str = "dynopilot-clean";

/// A validated clean: build one with [`CleanSpec::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanSpec {
    dir: String,
    older_than: Duration,
    exclude: Vec<String>,
    include_dotfiles: bool,
}

/// Why a clean is refused (nothing was started).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CleanError {
    #[error("directory {0:?} is not an absolute path (give e.g. /tmp)")]
    Relative(String),
    #[error("directory {0:?} contains `.`, `..` or an empty segment; give the plain path")]
    Unclean(String),
    #[error(
        "directory {0:?} is outside the allowed roots (/tmp, /app/tmp, /app/log and below); \
         dynopilot never cleans / , the slug in /app or anything else"
    )]
    NotAllowed(String),
    #[error("directory {0:?} is hidden (a segment starts with `.`): add --include-dotfiles")]
    Hidden(String),
    #[error("the age limit must be at least 1 minute (got {0:?})")]
    TooYoung(Duration),
    #[error("exclude pattern {0:?} is empty or holds a control character")]
    BadExclude(String),
}

impl CleanSpec {
    /// Checks `dir` against [`ALLOWED_ROOTS`] and the other arguments.
    pub fn new(
        dir: &str,
        older_than: Duration,
        exclude: Vec<String>,
        include_dotfiles: bool,
    ) -> Result<CleanSpec, CleanError> {
        let dir = checked_dir(dir)?;
        if !include_dotfiles && dir.split('/').any(|s| s.starts_with('.')) {
            return Err(CleanError::Hidden(dir));
        }
        if older_than < MIN_AGE {
            return Err(CleanError::TooYoung(older_than));
        }
        if let Some(bad) = exclude
            .iter()
            .find(|g| g.is_empty() || g.chars().any(char::is_control))
        {
            return Err(CleanError::BadExclude(bad.clone()));
        }
        Ok(CleanSpec {
            dir,
            older_than,
            exclude,
            include_dotfiles,
        })
    }

    pub fn dir(&self) -> &str {
        &self.dir
    }

    pub fn older_than(&self) -> Duration {
        self.older_than
    }

    pub fn exclude(&self) -> &[String] {
        &self.exclude
    }

    pub fn include_dotfiles(&self) -> bool {
        self.include_dotfiles
    }

    /// The POSIX shell command (GNU findutils, as on every Heroku stack): prints one
    /// [`LINE_TAG`] line per file, removing it first unless `dry_run`. `-delete` comes before
    /// `-printf`, so only files really removed are printed.
    pub fn command(&self, dry_run: bool) -> String {
        let minutes = self.older_than.as_secs().div_ceil(60);
        let mut words = vec![
            "find".to_owned(),
            "-P".to_owned(),
            shell_quote(&self.dir),
            "-xdev".to_owned(),
            "-type".to_owned(),
            "f".to_owned(),
            "-mmin".to_owned(),
            format!("+{minutes}"),
        ];
        if !self.include_dotfiles {
            words.extend(["!", "-path", "'*/.*'"].map(str::to_owned));
        }
        for glob in &self.exclude {
            // A pattern with a `/` is matched against the whole path, else the file name.
            let test = if glob.contains('/') { "-path" } else { "-name" };
            words.extend(["!".to_owned(), test.to_owned(), shell_quote(glob)]);
        }
        if !dry_run {
            words.push("-delete".to_owned());
        }
        words.push("-printf".to_owned());
        words.push(format!("'{LINE_TAG}\\t%s\\t%p\\n'"));
        words.join(" ")
    }
}

/// Normalises and checks a directory against the allow-list.
fn checked_dir(dir: &str) -> Result<String, CleanError> {
    if !dir.starts_with('/') {
        return Err(CleanError::Relative(dir.to_owned()));
    }
    let trimmed = dir.trim_end_matches('/');
    let segments: Vec<&str> = trimmed.split('/').skip(1).collect();
    if segments
        .iter()
        .any(|s| s.is_empty() || *s == "." || *s == ".." || s.chars().any(char::is_control))
    {
        return Err(CleanError::Unclean(dir.to_owned()));
    }
    let allowed = ALLOWED_ROOTS
        .iter()
        .any(|root| trimmed == *root || trimmed.starts_with(&format!("{root}/")));
    if !allowed {
        return Err(CleanError::NotAllowed(dir.to_owned()));
    }
    Ok(trimmed.to_owned())
}

/// One file the command printed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CleanedFile {
    pub path: String,
    pub bytes: u64,
}

/// What the command printed: the files, and every other line (errors from `find`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CleanOutput {
    pub files: Vec<CleanedFile>,
    pub other: Vec<String>,
}

impl CleanOutput {
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
}

/// Reads the command's output (`\r\n` or `\n` line ends).
pub fn parse_output(output: &[u8]) -> CleanOutput {
    let mut parsed = CleanOutput::default();
    for line in String::from_utf8_lossy(output).lines() {
        let line = line.trim_end_matches('\r');
        let file = line
            .strip_prefix(LINE_TAG)
            .and_then(|rest| rest.strip_prefix('\t'))
            .and_then(|rest| rest.split_once('\t'))
            .and_then(|(size, path)| {
                Some(CleanedFile {
                    path: path.to_owned(),
                    bytes: size.parse().ok()?,
                })
            });
        match file {
            Some(file) => parsed.files.push(file),
            None if line.trim().is_empty() => {}
            None => parsed.other.push(line.to_owned()),
        }
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    fn spec(dir: &str) -> Result<CleanSpec, CleanError> {
        CleanSpec::new(dir, 2 * DAY, Vec::new(), false)
    }

    #[test]
    fn only_allowed_roots_and_below() {
        for ok in ["/tmp", "/tmp/", "/app/tmp/cache", "/app/log"] {
            assert!(spec(ok).is_ok(), "{ok}");
        }
        for (bad, want) in [
            ("/", "outside"),
            ("/app", "outside"),
            ("/app/public", "outside"),
            ("/tmpx", "outside"),
            ("tmp", "absolute"),
            ("/tmp/../app", "`..`"),
            ("/tmp//x", "empty segment"),
            ("/tmp/.cache", "hidden"),
        ] {
            let err = spec(bad).unwrap_err().to_string();
            assert!(err.contains(want), "{bad}: {err}");
        }
        assert!(CleanSpec::new("/tmp", Duration::from_secs(59), vec![], false).is_err());
    }

    #[test]
    fn command_is_quoted_and_never_follows_links() {
        let spec = CleanSpec::new(
            "/app/tmp",
            2 * DAY,
            vec!["*.pid".into(), "/app/tmp/keep/*".into(), "it's".into()],
            false,
        )
        .unwrap();
        assert_eq!(
            spec.command(true),
            "find -P /app/tmp -xdev -type f -mmin +2880 ! -path '*/.*' ! -name '*.pid' \
             ! -path '/app/tmp/keep/*' ! -name 'it'\\''s' -printf 'dynopilot-clean\\t%s\\t%p\\n'"
        );
        assert!(spec.command(false).contains(" -delete -printf "));
    }

    #[test]
    fn output_lines_become_files_and_the_rest_is_kept() {
        let out = b"dynopilot-clean\t10\t/tmp/a b\r\nfind: cannot delete '/tmp/x'\r\n\r\n";
        let parsed = parse_output(out);
        assert_eq!(
            parsed.files,
            [CleanedFile {
                path: "/tmp/a b".into(),
                bytes: 10
            }]
        );
        assert_eq!(parsed.other, ["find: cannot delete '/tmp/x'"]);
    }
}
