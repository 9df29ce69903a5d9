//! `dynopilot config hash-password` and `hash-token`: read a secret on stdin and print what the
//! config stores instead of it (an argon2 PHC string, a `sha256:` token digest).

use std::io::{Read, Write};

use dynopilot_server::web::credentials;

/// Which secret is read.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Password,
    Token,
}

/// Reads the secret from `input` (one trailing newline dropped) and writes its hash to `out`.
pub fn run(kind: Kind, input: &mut dyn Read, out: &mut dyn Write) -> anyhow::Result<()> {
    let mut text = String::new();
    input.read_to_string(&mut text)?;
    let secret = text
        .strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(&text);
    if secret.is_empty() {
        anyhow::bail!(
            "nothing on stdin: pipe the secret in, e.g. `printf %s \"$PW\" | dynopilot config hash-password`"
        );
    }
    let line = match kind {
        Kind::Password => {
            credentials::hash_password(secret).map_err(|e| anyhow::anyhow!("hashing: {e}"))?
        }
        Kind::Token => credentials::token_digest_text(secret),
    };
    writeln!(out, "{line}")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use dynopilot_server::web::credentials::{Password, parse_token_digest};

    #[test]
    fn the_printed_hash_accepts_the_password_read() {
        let mut out = Vec::new();
        run(Kind::Password, &mut "s3cret\n".as_bytes(), &mut out).unwrap();
        let phc = String::from_utf8(out).unwrap();
        assert!(Password::Argon2(phc.trim().to_owned()).matches("s3cret"));
    }

    #[test]
    fn the_printed_digest_parses_and_empty_input_is_refused() {
        let mut out = Vec::new();
        run(Kind::Token, &mut "tok".as_bytes(), &mut out).unwrap();
        parse_token_digest(String::from_utf8(out).unwrap().trim()).unwrap();
        assert!(run(Kind::Token, &mut "\n".as_bytes(), &mut Vec::new()).is_err());
    }
}
