//! Heroku's error codes as they exist (router H, runtime R, logging L), so a rule naming a code
//! Heroku never emits (`H29`, `R11`) is a configuration error instead of a rule that never fires.

use super::rules::CodePattern;

/// Every code of Heroku's error-code list (router, runtime, Logplex), retired ones included:
/// old log lines still carry them.
pub const HEROKU_ERROR_CODES: &[&str] = &[
    "H10", "H11", "H12", "H13", "H14", "H15", "H16", "H17", "H18", "H19", "H20", "H21", "H22",
    "H23", "H24", "H25", "H26", "H27", "H28", "H31", "H32", "H33", "H34", "H80", "H81", "H82",
    "H83", "H99", "R10", "R12", "R13", "R14", "R15", "R151", "R16", "R17", "R99", "L10", "L11",
    "L12", "L13", "L14", "L15",
];

/// Whether `pattern` can match at least one real code (status classes always can).
pub fn is_known(pattern: &CodePattern) -> bool {
    match pattern {
        CodePattern::StatusClass(_) => true,
        CodePattern::Exact(_) | CodePattern::Prefix(_) => {
            HEROKU_ERROR_CODES.iter().any(|c| pattern.matches_code(c))
        }
    }
}

/// Why `code` (as written) is not a Heroku code, naming the real codes nearest to it.
pub fn unknown_code_message(code: &str) -> String {
    let near = nearby(code);
    if near.is_empty() {
        format!("`{code}` is not a Heroku error code")
    } else {
        format!(
            "`{code}` is not a Heroku error code (nearby: {})",
            near.join(", ")
        )
    }
}

/// Up to four real codes of the same letter, closest in number to `code`'s.
fn nearby(code: &str) -> Vec<&'static str> {
    let up = code.trim().trim_end_matches('*').to_ascii_uppercase();
    let Some(letter) = up.chars().next() else {
        return Vec::new();
    };
    let number = |c: &str| c[1..].parse::<i64>().unwrap_or(0);
    // A prefix like `H4` stands for the codes from `H40`; pad it to two digits.
    let wanted = match up[1..].len() {
        0 => 0,
        1 => number(&up) * 10,
        _ => number(&up),
    };
    let mut same: Vec<&'static str> = HEROKU_ERROR_CODES
        .iter()
        .copied()
        .filter(|c| c.starts_with(letter) && c.len() == 3)
        .collect();
    same.sort_by_key(|c| ((number(c) - wanted).abs(), number(c)));
    same.truncate(4);
    same.sort_by_key(|c| number(c));
    same
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(s: &str) -> bool {
        is_known(&CodePattern::parse(s).unwrap())
    }

    #[test]
    fn real_codes_and_prefixes_are_known_invented_ones_are_not() {
        for ok in ["H12", "h99", "R14", "R15", "L10", "H1*", "R*", "5xx", "H8*"] {
            assert!(known(ok), "{ok}");
        }
        for bad in ["H29", "H50", "R11", "R18", "L16", "H4*", "X12"] {
            assert!(!known(bad), "{bad}");
        }
    }

    #[test]
    fn the_message_names_the_nearest_real_codes() {
        assert_eq!(
            unknown_code_message("H29"),
            "`H29` is not a Heroku error code (nearby: H26, H27, H28, H31)"
        );
        assert_eq!(
            unknown_code_message("R11"),
            "`R11` is not a Heroku error code (nearby: R10, R12, R13, R14)"
        );
        assert_eq!(
            unknown_code_message("X1"),
            "`X1` is not a Heroku error code"
        );
    }
}
