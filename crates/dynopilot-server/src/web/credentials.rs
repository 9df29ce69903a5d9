//! What a caller proves itself with: the dashboard password (an argon2 PHC hash, or plain text
//! where the config allows it) and the API bearer tokens with their scopes, kept as SHA-256
//! digests. Every comparison of secret material is constant time.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

/// What an API token may do. `operate` includes `read`; `metrics` only opens `/metrics`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Read,
    Operate,
    Metrics,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Operate => "operate",
            Scope::Metrics => "metrics",
        }
    }
}

/// Who may scrape `/metrics` besides tokens with the `metrics` scope.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricsAccess {
    /// Tokens with `read` or `operate` too.
    #[default]
    Read,
    /// Only tokens with the `metrics` scope.
    Metrics,
}

/// The dashboard password as configured.
#[derive(Clone)]
pub enum Password {
    /// An argon2 PHC string (`$argon2id$v=19$…`).
    Argon2(String),
    /// Plain text: accepted on loopback and from `DYNOPILOT_DASHBOARD_PASSWORD` only.
    Plain(String),
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Password::Argon2(_) => f.write_str("Password::Argon2(***)"),
            Password::Plain(_) => f.write_str("Password::Plain(***)"),
        }
    }
}

impl Password {
    /// True when `given` is the password. Slow on purpose for a hash (argon2): run it off the
    /// async workers.
    pub fn matches(&self, given: &str) -> bool {
        match self {
            Password::Argon2(phc) => PasswordHash::new(phc).is_ok_and(|parsed| {
                argon2::Argon2::default()
                    .verify_password(given.as_bytes(), &parsed)
                    .is_ok()
            }),
            // Digests first, so the comparison does not leak the length either.
            Password::Plain(plain) => {
                let (want, got) = (sha256(plain.as_bytes()), sha256(given.as_bytes()));
                want[..].ct_eq(&got[..]).into()
            }
        }
    }
}

/// Why a password hash in the config is unusable.
pub fn check_password_hash(phc: &str) -> Result<(), String> {
    let parsed = PasswordHash::new(phc).map_err(|e| format!("is not a PHC hash string ({e})"))?;
    if !parsed.algorithm.as_str().starts_with("argon2") {
        return Err(format!(
            "uses `{}`; dynopilot checks argon2 hashes (make one with `dynopilot config hash-password`)",
            parsed.algorithm
        ));
    }
    Ok(())
}

/// An argon2id hash of `password` with a random salt, in PHC format.
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt_bytes = *uuid::Uuid::new_v4().as_bytes();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| e.to_string())?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// The form a token digest takes in the config: `sha256:<64 hex digits>`.
pub fn token_digest_text(token: &str) -> String {
    format!("sha256:{}", hex(&sha256(token.as_bytes())))
}

/// Parses `sha256:<hex>` (what `dynopilot config hash-token` prints).
pub fn parse_token_digest(text: &str) -> Result<[u8; 32], String> {
    let hex_part = text
        .strip_prefix("sha256:")
        .ok_or("is not `sha256:<64 hex digits>` (make one with `dynopilot config hash-token`)")?;
    let bytes = hex_part.as_bytes();
    if bytes.len() != 64 {
        return Err(format!(
            "has {} hex digits after `sha256:`, not 64",
            bytes.len()
        ));
    }
    let mut digest = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        let text = std::str::from_utf8(pair).map_err(|_| "holds a non-hex character")?;
        digest[i] = u8::from_str_radix(text, 16).map_err(|_| "holds a non-hex character")?;
    }
    Ok(digest)
}

/// One configured API token.
#[derive(Clone)]
pub struct ApiToken {
    /// Journaled as who asked for a manual action.
    pub name: String,
    pub scopes: Vec<Scope>,
    digest: [u8; 32],
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiToken")
            .field("name", &self.name)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl ApiToken {
    /// A token given in plain text (kept only as its digest).
    pub fn plain(name: &str, scopes: Vec<Scope>, token: &str) -> Self {
        ApiToken {
            name: name.to_owned(),
            scopes,
            digest: sha256(token.as_bytes()),
        }
    }

    pub fn from_digest(name: &str, scopes: Vec<Scope>, digest: [u8; 32]) -> Self {
        ApiToken {
            name: name.to_owned(),
            scopes,
            digest,
        }
    }

    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }

    pub fn can_read(&self) -> bool {
        self.has(Scope::Read) || self.has(Scope::Operate)
    }

    pub fn can_operate(&self) -> bool {
        self.has(Scope::Operate)
    }

    /// May scrape `/metrics` under `access`.
    pub fn can_scrape(&self, access: MetricsAccess) -> bool {
        self.has(Scope::Metrics) || (access == MetricsAccess::Read && self.can_read())
    }
}

/// The token whose digest matches `presented`, comparing against every token (no early exit)
/// so the time taken says nothing about which one came close.
pub fn find_token<'t>(tokens: &'t [ApiToken], presented: &str) -> Option<&'t ApiToken> {
    let digest = sha256(presented.as_bytes());
    let mut found = None;
    for token in tokens {
        if bool::from(token.digest[..].ct_eq(&digest[..])) {
            found = Some(token);
        }
    }
    found
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_argon2_hash_accepts_its_password_only() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        check_password_hash(&phc).unwrap();
        let password = Password::Argon2(phc);
        assert!(password.matches("correct horse"));
        assert!(!password.matches("correct horse "));
        assert!(check_password_hash("plain").is_err());
    }

    #[test]
    fn token_digests_round_trip_and_find_the_right_token() {
        let text = token_digest_text("tok-1");
        let digest = parse_token_digest(&text).unwrap();
        let tokens = vec![
            ApiToken::from_digest("ci", vec![Scope::Read], digest),
            ApiToken::plain("ops", vec![Scope::Operate], "tok-2"),
        ];
        assert_eq!(find_token(&tokens, "tok-1").unwrap().name, "ci");
        assert_eq!(find_token(&tokens, "tok-2").unwrap().name, "ops");
        assert!(find_token(&tokens, "tok-3").is_none());
        assert!(parse_token_digest("sha256:abc").is_err());
        assert!(parse_token_digest(&text.replace("sha256:", "md5:")).is_err());
    }

    #[test]
    fn scopes_decide_what_a_token_may_do() {
        let read = ApiToken::plain("r", vec![Scope::Read], "x");
        let metrics = ApiToken::plain("m", vec![Scope::Metrics], "y");
        assert!(read.can_read() && !read.can_operate());
        assert!(read.can_scrape(MetricsAccess::Read));
        assert!(!read.can_scrape(MetricsAccess::Metrics));
        assert!(!metrics.can_read() && metrics.can_scrape(MetricsAccess::Metrics));
    }
}
