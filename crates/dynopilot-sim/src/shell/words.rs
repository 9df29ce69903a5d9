//! The POSIX shell syntax the simulated dyno understands: commands separated by `;` or
//! newlines, words split on blanks, single quotes, double quotes with `\` escapes, and `$?`.
//! Enough for what clients send (`heroku run`'s status suffix, dynopilot's `exec` and `clean`);
//! no pipes, redirections or globbing.

/// One piece of a word: text, or `$?` to be expanded when the command runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    LastStatus,
}

/// A word before expansion.
pub type Word = Vec<Part>;

/// A command: its words, before expansion.
pub type Command = Vec<Word>;

/// Splits `script` into commands; `Err` for an unterminated quote.
pub fn parse(script: &str) -> Result<Vec<Command>, String> {
    let mut commands = Vec::new();
    let mut command: Command = Vec::new();
    let mut word: Option<Word> = None;
    let mut chars = script.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ';' | '\n' => {
                finish_word(&mut command, &mut word);
                commands.push(std::mem::take(&mut command));
            }
            c if c.is_whitespace() => finish_word(&mut command, &mut word),
            '\'' => {
                let mut text = String::new();
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => text.push(c),
                        None => return Err("unterminated '".to_owned()),
                    }
                }
                push_text(word.get_or_insert_with(Vec::new), &text);
            }
            '"' => {
                let w = word.get_or_insert_with(Vec::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') if matches!(chars.peek(), Some('"' | '\\' | '$' | '`')) => {
                            if let Some(c) = chars.next() {
                                push_text(w, &c.to_string());
                            }
                        }
                        Some('$') if chars.peek() == Some(&'?') => {
                            chars.next();
                            w.push(Part::LastStatus);
                        }
                        Some(c) => push_text(w, &c.to_string()),
                        None => return Err("unterminated \"".to_owned()),
                    }
                }
            }
            '\\' => {
                if let Some(c) = chars.next() {
                    push_text(word.get_or_insert_with(Vec::new), &c.to_string());
                }
            }
            '$' if chars.peek() == Some(&'?') => {
                chars.next();
                word.get_or_insert_with(Vec::new).push(Part::LastStatus);
            }
            c => push_text(word.get_or_insert_with(Vec::new), &c.to_string()),
        }
    }
    finish_word(&mut command, &mut word);
    commands.push(command);
    commands.retain(|c| !c.is_empty());
    Ok(commands)
}

/// The words of `command` with `$?` replaced by `status`.
pub fn expand(command: &Command, status: i32) -> Vec<String> {
    command
        .iter()
        .map(|word| {
            word.iter()
                .map(|part| match part {
                    Part::Text(t) => t.clone(),
                    Part::LastStatus => status.to_string(),
                })
                .collect()
        })
        .collect()
}

fn push_text(word: &mut Word, text: &str) {
    if let Some(Part::Text(last)) = word.last_mut() {
        last.push_str(text);
    } else {
        word.push(Part::Text(text.to_owned()));
    }
}

fn finish_word(command: &mut Command, word: &mut Option<Word>) {
    if let Some(w) = word.take() {
        command.push(w);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(script: &str, status: i32) -> Vec<Vec<String>> {
        parse(script)
            .unwrap()
            .iter()
            .map(|c| expand(c, status))
            .collect()
    }

    #[test]
    fn quotes_escapes_separators_and_status() {
        assert_eq!(
            words("sh -c 'echo '\\''hi'\\''; exit 3'; echo \"st $?\"", 7),
            vec![vec!["sh", "-c", "echo 'hi'; exit 3"], vec!["echo", "st 7"]]
        );
        assert_eq!(words("echo a\\ b \"\"", 0), vec![vec!["echo", "a b", ""]]);
        assert!(parse("echo 'open").is_err());
    }
}
