//! `find` over a simulated dyno's files, for the expressions dynopilot's `clean` builds:
//! `-P`, starting points, then primaries joined by an implicit AND, each optionally negated
//! with `!`: `-xdev`, `-type f|l`, `-mmin [+-]N`, `-name GLOB`, `-path GLOB`, `-print`,
//! `-printf FORMAT` (`%s`, `%p`, `%%`, `\n`, `\t`, `\0`, `\\`) and `-delete`. Symbolic links
//! are never followed. Anything else is refused as GNU find refuses an unknown predicate.

use std::time::Duration;

use dynopilot_core::Timestamp;

use super::fs::{Entry, SimFs};

/// Directories every dyno has, even with no file in them.
const STANDARD_DIRS: &[&str] = &["/", "/tmp", "/app", "/app/tmp", "/app/log"];

/// What `find` printed and its exit status.
pub struct Found {
    pub output: Vec<u8>,
    pub errors: Vec<u8>,
    pub status: i32,
}

#[derive(Debug)]
enum Primary {
    True,
    Type(char),
    Mmin(std::cmp::Ordering, u64),
    Name(String),
    Path(String),
    Printf(String),
    Delete,
}

/// Runs `find ARGS` (without the word `find`) against `fs` at `now`.
pub fn run(args: &[String], fs: &mut SimFs, now: Timestamp) -> Found {
    match parse(args) {
        Ok((starts, expression)) => evaluate(&starts, &expression, fs, now),
        Err(message) => Found {
            output: Vec::new(),
            errors: format!("find: {message}\n").into_bytes(),
            status: 1,
        },
    }
}

type Expression = Vec<(bool, Primary)>;

fn parse(args: &[String]) -> Result<(Vec<String>, Expression), String> {
    let mut args = args.iter().peekable();
    while args
        .peek()
        .is_some_and(|a| matches!(a.as_str(), "-P" | "-H" | "-L"))
    {
        if args.next().is_some_and(|a| a != "-P") {
            return Err("only -P (never follow symbolic links) is simulated".to_owned());
        }
    }
    let mut starts = Vec::new();
    while let Some(a) = args.next_if(|a| !a.starts_with('-') && a.as_str() != "!") {
        starts.push(a.clone());
    }
    let mut expression = Vec::new();
    let mut negate = false;
    while let Some(a) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .cloned()
                .ok_or_else(|| format!("missing argument to `{name}'"))
        };
        let primary = match a.as_str() {
            "!" | "-not" => {
                negate = !negate;
                continue;
            }
            "-xdev" | "-mount" | "-print" => Primary::True,
            "-type" => match value(a)?.as_str() {
                "f" => Primary::Type('f'),
                "l" => Primary::Type('l'),
                "d" => Primary::Type('d'),
                other => return Err(format!("Unknown argument to -type: {other}")),
            },
            "-mmin" => mmin(&value(a)?)?,
            "-name" => Primary::Name(value(a)?),
            "-path" | "-wholename" => Primary::Path(value(a)?),
            "-printf" => Primary::Printf(value(a)?),
            "-delete" => Primary::Delete,
            other => return Err(format!("unknown predicate `{other}'")),
        };
        expression.push((std::mem::take(&mut negate), primary));
    }
    if starts.is_empty() {
        starts.push(".".to_owned());
    }
    Ok((starts, expression))
}

fn mmin(value: &str) -> Result<Primary, String> {
    let (order, digits) = match value.as_bytes().first() {
        Some(b'+') => (std::cmp::Ordering::Greater, &value[1..]),
        Some(b'-') => (std::cmp::Ordering::Less, &value[1..]),
        _ => (std::cmp::Ordering::Equal, value),
    };
    let minutes = digits
        .parse()
        .map_err(|_| format!("invalid argument `{value}' to `-mmin'"))?;
    Ok(Primary::Mmin(order, minutes))
}

fn evaluate(starts: &[String], expression: &Expression, fs: &mut SimFs, now: Timestamp) -> Found {
    let mut found = Found {
        output: Vec::new(),
        errors: Vec::new(),
        status: 0,
    };
    for start in starts {
        let Some(paths) = walk(fs, start) else {
            found
                .errors
                .extend(format!("find: '{start}': No such file or directory\n").bytes());
            found.status = 1;
            continue;
        };
        for path in paths {
            let Some(entry) = fs.entries.get(&path).cloned() else {
                continue;
            };
            let mut deleted = false;
            for (negated, primary) in expression {
                let matched = match primary {
                    Primary::Printf(format) => {
                        found.output.extend(printf(format, &path, &entry));
                        true
                    }
                    Primary::Delete => {
                        deleted = true;
                        true
                    }
                    test => matches(test, &path, &entry, now),
                };
                if matched == *negated {
                    break;
                }
            }
            if deleted {
                fs.entries.remove(&path);
            }
        }
    }
    found
}

/// The entries at or under `start`, not descending through symbolic links; `None` when it
/// does not exist.
fn walk(fs: &SimFs, start: &str) -> Option<Vec<String>> {
    let start = start.trim_end_matches('/');
    let prefix = format!("{start}/");
    let links: Vec<&String> = fs
        .entries
        .iter()
        .filter(|(_, e)| e.symlink_to.is_some())
        .map(|(p, _)| p)
        .collect();
    let under_link = |path: &str| {
        links.iter().any(|l| {
            path.len() > l.len() && path.starts_with(l.as_str()) && path.as_bytes()[l.len()] == b'/'
        })
    };
    let mut paths: Vec<String> = fs
        .entries
        .keys()
        .filter(|p| p.as_str() == start || p.starts_with(&prefix))
        .filter(|p| !under_link(p))
        .cloned()
        .collect();
    let exists =
        !paths.is_empty() || STANDARD_DIRS.contains(&if start.is_empty() { "/" } else { start });
    // GNU find lists a directory's contents before deleting them with -delete (-depth), and
    // in directory order otherwise; the simulator keeps path order for stable output.
    paths.sort();
    exists.then_some(paths)
}

fn matches(primary: &Primary, path: &str, entry: &Entry, now: Timestamp) -> bool {
    match primary {
        Primary::True => true,
        Primary::Type('f') => entry.symlink_to.is_none(),
        Primary::Type('l') => entry.symlink_to.is_some(),
        Primary::Type(_) => false,
        Primary::Mmin(order, minutes) => {
            let age = now.since(entry.modified);
            let limit = Duration::from_secs(minutes.saturating_mul(60));
            match order {
                std::cmp::Ordering::Greater => age > limit,
                std::cmp::Ordering::Less => age < limit,
                std::cmp::Ordering::Equal => age.as_secs().div_ceil(60) == *minutes,
            }
        }
        Primary::Name(glob) => {
            let base = path.rsplit('/').next().unwrap_or(path);
            glob_match(glob.as_bytes(), base.as_bytes())
        }
        Primary::Path(glob) => glob_match(glob.as_bytes(), path.as_bytes()),
        Primary::Printf(_) | Primary::Delete => true,
    }
}

fn printf(format: &str, path: &str, entry: &Entry) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        match c {
            '%' => match chars.next() {
                Some('s') => out.extend(entry.size.to_string().bytes()),
                Some('p') => out.extend(path.bytes()),
                Some('%') => out.push(b'%'),
                Some(other) => out.extend(format!("%{other}").bytes()),
                None => out.push(b'%'),
            },
            '\\' => match chars.next() {
                Some('n') => out.push(b'\n'),
                Some('t') => out.push(b'\t'),
                Some('0') => out.push(0),
                Some('\\') => out.push(b'\\'),
                Some(other) => out.extend(format!("\\{other}").bytes()),
                None => out.push(b'\\'),
            },
            c => out.extend(c.to_string().bytes()),
        }
    }
    out
}

/// `fnmatch` without flags, as find uses it: `*` and `?` match any character (`/` and a
/// leading `.` included), `[...]` a class (`!` or `^` negates), `\` escapes.
pub fn glob_match(glob: &[u8], text: &[u8]) -> bool {
    match glob.first() {
        None => text.is_empty(),
        Some(b'*') => (0..=text.len()).any(|i| glob_match(&glob[1..], &text[i..])),
        Some(b'?') => !text.is_empty() && glob_match(&glob[1..], &text[1..]),
        Some(b'[') => match (class(&glob[1..]), text.first()) {
            (Some((matched_by, len)), Some(&c)) => {
                matched_by(c) && glob_match(&glob[1 + len..], &text[1..])
            }
            (None, Some(&b'[')) => glob_match(&glob[1..], &text[1..]),
            _ => false,
        },
        Some(b'\\') if glob.len() > 1 => {
            text.first() == Some(&glob[1]) && glob_match(&glob[2..], &text[1..])
        }
        Some(&g) => text.first() == Some(&g) && glob_match(&glob[1..], &text[1..]),
    }
}

/// A bracket class after its `[`: a predicate and how many glob bytes it used (with `]`).
fn class(glob: &[u8]) -> Option<(impl Fn(u8) -> bool, usize)> {
    let negated = matches!(glob.first(), Some(b'!' | b'^'));
    let start = usize::from(negated);
    // A `]` right after the opening is a member, not the end.
    let end = glob
        .iter()
        .enumerate()
        .skip(start + 1)
        .find(|&(_, &b)| b == b']')
        .map(|(i, _)| i)?;
    let members = glob[start..end].to_vec();
    let test = move |c: u8| {
        let mut i = 0;
        let mut hit = false;
        while i < members.len() {
            if i + 2 < members.len() && members[i + 1] == b'-' {
                hit |= (members[i]..=members[i + 2]).contains(&c);
                i += 3;
            } else {
                hit |= members[i] == c;
                i += 1;
            }
        }
        hit != negated
    };
    Some((test, end + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_as_find_matches_them() {
        assert!(glob_match(b"*/.*", b"/tmp/a/.hidden"));
        assert!(!glob_match(b"*/.*", b"/tmp/a/visible"));
        assert!(glob_match(b"*.pid", b".x.pid"));
        assert!(glob_match(b"cache-[0-9]?", b"cache-7a"));
        assert!(!glob_match(b"cache-[!0-9]", b"cache-7"));
        assert!(glob_match(b"a\\*", b"a*"));
    }
}
