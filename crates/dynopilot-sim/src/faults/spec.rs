//! The compact fault syntax shared by `dynopilot sim --faults` and the `[faults]` table of the
//! simulator's TOML: parsing and validation in one place, errors naming the key and column.
//!
//! ```text
//! SPEC   = ITEM ("," ITEM)*
//! ITEM   = "seed=" N  |  KIND "=" VALUE (":" FIELD)*
//! KIND   = 5xx=RATE | 429-burst=LEN/EVERY | latency=DURATION | reset=RATE | apply-then-fail=RATE
//! FIELD  = [METHOD] [/path/glob]  |  count=N  |  answer=5NN|reset  |  rate=RATE
//! ```

use std::fmt;
use std::time::Duration;

use super::pattern::RequestPattern;
use super::{FailAnswer, FaultKind, FaultPlan, FaultRule};

/// The longest latency a rule may add; more would only look like a hung simulator.
const MAX_LATENCY: Duration = Duration::from_secs(60);

const KINDS: &str = "5xx, 429-burst, latency, reset, apply-then-fail, seed";

/// A fault spec that cannot be used, with where and which key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}, column {column}: `{key}`: {message}")]
pub struct FaultSpecError {
    /// Where the spec came from (`--faults`, `sim.toml line 7`).
    pub origin: String,
    /// 1-based character position of the offending field within the spec text.
    pub column: usize,
    pub key: String,
    pub message: String,
}

/// One parsed item: a rule or the seed.
enum Item {
    Rule(FaultRule),
    Seed(u64),
}

/// A piece of the spec text and its 0-based character offset.
#[derive(Clone, Copy)]
struct Field<'a> {
    text: &'a str,
    at: usize,
}

impl FaultPlan {
    /// Parses a whole `--faults` spec; `origin` names its source in errors.
    pub fn parse(spec: &str, origin: &str) -> Result<FaultPlan, FaultSpecError> {
        let mut plan = FaultPlan::default();
        plan.add_spec(spec, origin)?;
        Ok(plan)
    }

    /// Adds the rules (and seed) of `spec` to this plan.
    pub fn add_spec(&mut self, spec: &str, origin: &str) -> Result<(), FaultSpecError> {
        let mut seed_seen = false;
        for item in split(Field { text: spec, at: 0 }, ',') {
            let err = |f: Field<'_>, key: &str, message: String| FaultSpecError {
                origin: origin.to_string(),
                column: f.at + 1,
                key: key.to_string(),
                message,
            };
            match parse_item(item).map_err(|(f, key, m)| err(f, &key, m))? {
                Item::Rule(rule) => self.rules.push(rule),
                Item::Seed(_) if seed_seen => {
                    return Err(err(item, "seed", "given twice".to_string()));
                }
                Item::Seed(seed) => {
                    seed_seen = true;
                    self.seed = seed;
                }
            }
        }
        Ok(())
    }
}

/// Splits on `sep`, keeping each piece's offset (in characters).
fn split(field: Field<'_>, sep: char) -> Vec<Field<'_>> {
    let mut out = Vec::new();
    let mut at = field.at;
    for text in field.text.split(sep) {
        out.push(Field { text, at });
        at += text.chars().count() + 1;
    }
    out
}

type ItemError<'a> = (Field<'a>, String, String);

fn parse_item(item: Field<'_>) -> Result<Item, ItemError<'_>> {
    let fields = split(item, ':');
    let head = fields[0];
    if head.text.trim().is_empty() {
        return Err((
            head,
            String::new(),
            "empty rule (a stray `,` or `:`?)".into(),
        ));
    }
    let Some((key, value)) = head.text.split_once('=') else {
        return Err((
            head,
            head.text.trim().to_string(),
            format!("expected KIND=VALUE with KIND one of {KINDS}"),
        ));
    };
    let key = key.trim();
    let value = value.trim();
    let bad = |message: String| (head, key.to_string(), message);
    let kind = match key {
        "seed" => {
            if let Some(extra) = fields.get(1) {
                return Err((*extra, "seed".into(), "takes no options".into()));
            }
            let seed = value
                .parse()
                .map_err(|_| bad(format!("`{value}` is not a whole number")))?;
            return Ok(Item::Seed(seed));
        }
        "5xx" => FaultKind::ServerError {
            rate: rate(value).map_err(bad)?,
            status: 503,
        },
        "429-burst" => burst(value).map_err(bad)?,
        "latency" => FaultKind::Latency {
            added: duration(value).map_err(bad)?,
            rate: 1.0,
        },
        "reset" => FaultKind::Reset {
            rate: rate(value).map_err(bad)?,
        },
        "apply-then-fail" => FaultKind::ApplyThenFail {
            rate: rate(value).map_err(bad)?,
            answer: FailAnswer::Status(503),
        },
        _ => return Err(bad(format!("unknown fault; expected one of {KINDS}"))),
    };
    let mut rule = FaultRule {
        kind,
        pattern: RequestPattern::default(),
        count: None,
    };
    let mut seen: Vec<&str> = Vec::new();
    for field in &fields[1..] {
        let name = option(&mut rule, field.text.trim())
            .map_err(|(name, message)| (*field, name, message))?;
        if seen.contains(&name) {
            return Err((*field, name.to_string(), "given twice in one rule".into()));
        }
        seen.push(name);
    }
    Ok(Item::Rule(rule))
}

/// Applies one `:`-separated field to `rule`, returning the field's name.
fn option(rule: &mut FaultRule, text: &str) -> Result<&'static str, (String, String)> {
    let Some((name, value)) = text.split_once('=') else {
        if text.is_empty() {
            return Err(("pattern".into(), "empty field (a stray `:`?)".into()));
        }
        rule.pattern = RequestPattern::parse(text).map_err(|m| ("pattern".to_string(), m))?;
        return Ok("pattern");
    };
    let (name, value) = (name.trim(), value.trim());
    let bad = |message: String| (name.to_string(), message);
    match (name, &mut rule.kind) {
        ("count", _) => {
            let n: u64 = value
                .parse()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| bad(format!("`{value}` is not a whole number ≥ 1")))?;
            rule.count = Some(n);
            Ok("count")
        }
        ("answer", FaultKind::ApplyThenFail { answer, .. }) if value == "reset" => {
            *answer = FailAnswer::Reset;
            Ok("answer")
        }
        ("answer", FaultKind::ApplyThenFail { answer, .. }) => {
            *answer = FailAnswer::Status(status(value).map_err(bad)?);
            Ok("answer")
        }
        ("answer", FaultKind::ServerError { status: s, .. }) => {
            *s = status(value).map_err(bad)?;
            Ok("answer")
        }
        ("rate", FaultKind::Latency { rate: r, .. }) => {
            *r = rate(value).map_err(bad)?;
            Ok("rate")
        }
        ("answer" | "rate", kind) => Err(bad(format!(
            "not an option of {}; {} takes {}",
            kind.name(),
            kind.name(),
            kind.options()
        ))),
        _ => Err(bad(format!(
            "unknown option; {} takes {}",
            rule.kind.name(),
            rule.kind.options()
        ))),
    }
}

fn rate(value: &str) -> Result<f64, String> {
    let r: f64 = value
        .parse()
        .map_err(|_| format!("rate `{value}` is not a number"))?;
    if !(0.0..=1.0).contains(&r) {
        return Err(format!("rate must be between 0 and 1, got {value}"));
    }
    Ok(r)
}

fn status(value: &str) -> Result<u16, String> {
    value
        .parse()
        .ok()
        .filter(|s| (500..=599).contains(s))
        .ok_or_else(|| format!("`{value}` is not a 5xx status"))
}

fn burst(value: &str) -> Result<FaultKind, String> {
    let usage =
        || format!("`{value}` is not LEN/EVERY (e.g. 3/100: 3 answers of 429 every 100 requests)");
    let (len, every) = value.split_once('/').ok_or_else(usage)?;
    let len: u32 = len.trim().parse().map_err(|_| usage())?;
    let every: u32 = every.trim().parse().map_err(|_| usage())?;
    if len == 0 || every == 0 || len > every {
        return Err(format!(
            "`{value}`: need 1 ≤ LEN ≤ EVERY (a burst cannot outlast its period)"
        ));
    }
    Ok(FaultKind::Burst429 { len, every })
}

/// `200ms`, `1.5s`, `2m`: a number and a unit.
pub fn duration(value: &str) -> Result<Duration, String> {
    let usage =
        || format!("bad duration `{value}`: expected a number and a unit (ms, s, m), e.g. 200ms");
    let split = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(usage)?;
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().map_err(|_| usage())?;
    let seconds = match unit {
        "ms" => number / 1000.0,
        "s" => number,
        "m" => number * 60.0,
        _ => return Err(usage()),
    };
    let d = Duration::try_from_secs_f64(seconds).map_err(|_| usage())?;
    if d.is_zero() || d > MAX_LATENCY {
        return Err(format!(
            "latency must be more than 0 and at most 60s, got {value}"
        ));
    }
    Ok(d)
}

impl FaultKind {
    fn name(&self) -> &'static str {
        match self {
            FaultKind::ServerError { .. } => "5xx",
            FaultKind::Burst429 { .. } => "429-burst",
            FaultKind::Latency { .. } => "latency",
            FaultKind::Reset { .. } => "reset",
            FaultKind::ApplyThenFail { .. } => "apply-then-fail",
        }
    }

    fn options(&self) -> &'static str {
        match self {
            FaultKind::ServerError { .. } => "a pattern, count and answer=5NN",
            FaultKind::ApplyThenFail { .. } => "a pattern, count and answer=5NN|reset",
            FaultKind::Latency { .. } => "a pattern, count and rate",
            FaultKind::Burst429 { .. } | FaultKind::Reset { .. } => "a pattern and count",
        }
    }
}

/// Writes the rule back in spec syntax (so `sim` can echo what it understood).
impl fmt::Display for FaultRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}=", self.kind.name())?;
        match &self.kind {
            FaultKind::ServerError { rate, .. }
            | FaultKind::Reset { rate }
            | FaultKind::ApplyThenFail { rate, .. } => write!(f, "{rate}")?,
            FaultKind::Burst429 { len, every } => write!(f, "{len}/{every}")?,
            FaultKind::Latency { added, .. } => write!(f, "{}ms", added.as_millis())?,
        }
        if self.pattern != RequestPattern::default() {
            write!(f, ":{}", self.pattern)?;
        }
        if let Some(n) = self.count {
            write!(f, ":count={n}")?;
        }
        match &self.kind {
            FaultKind::ServerError { status, .. } if *status != 503 => {
                write!(f, ":answer={status}")
            }
            FaultKind::ApplyThenFail {
                answer: FailAnswer::Status(s),
                ..
            } if *s != 503 => write!(f, ":answer={s}"),
            FaultKind::ApplyThenFail {
                answer: FailAnswer::Reset,
                ..
            } => f.write_str(":answer=reset"),
            FaultKind::Latency { rate, .. } if *rate < 1.0 => write!(f, ":rate={rate}"),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(spec: &str) -> FaultSpecError {
        FaultPlan::parse(spec, "--faults").unwrap_err()
    }

    #[test]
    fn a_full_spec_parses_and_prints_back() {
        let spec = "apply-then-fail=1:DELETE /apps/*/dynos/*:count=1,latency=200ms:rate=0.5,reset=0.05,5xx=0.1:PATCH:answer=500,429-burst=3/100,seed=9";
        let plan = FaultPlan::parse(spec, "--faults").unwrap();
        assert_eq!(plan.seed, 9);
        assert_eq!(plan.rules.len(), 5);
        assert_eq!(plan.rules[0].count, Some(1));
        assert!(
            plan.rules[0]
                .pattern
                .matches("DELETE", "/apps/a/dynos/web.1")
        );
        assert_eq!(
            plan.rules[1].kind,
            FaultKind::Latency {
                added: Duration::from_millis(200),
                rate: 0.5
            }
        );
        let printed: Vec<String> = plan.rules.iter().map(ToString::to_string).collect();
        assert_eq!(
            printed.join(","),
            "apply-then-fail=1:DELETE /apps/*/dynos/*:count=1,latency=200ms:rate=0.5,reset=0.05,5xx=0.1:PATCH:answer=500,429-burst=3/100"
        );
        let again = FaultPlan::parse(&printed.join(","), "x").unwrap();
        assert_eq!(again.rules, plan.rules);
    }

    #[test]
    fn errors_name_the_key_and_the_column() {
        let e = err("latency=50ms,boom=1");
        assert_eq!((e.key.as_str(), e.column), ("boom", 14));
        assert!(
            e.to_string()
                .starts_with("--faults, column 14: `boom`: unknown fault"),
            "{e}"
        );
        let e = err("5xx=1.5");
        assert_eq!((e.key.as_str(), e.column), ("5xx", 1));
        assert!(e.message.contains("between 0 and 1, got 1.5"), "{e}");
        assert!(err("reset=-0.1").message.contains("got -0.1"));
        assert!(err("reset=NaN").message.contains("between 0 and 1"));
        let e = err("latency=20xs");
        assert!(e.message.contains("bad duration `20xs`"), "{e}");
        assert!(err("latency=61s").message.contains("at most 60s"));
        let e = err("reset=0.1:DELETE apps/*");
        assert_eq!((e.key.as_str(), e.column), ("pattern", 11));
        assert!(e.message.contains("must start with `/`"), "{e}");
        let e = err("reset=0.1:count=0");
        assert_eq!(e.key, "count");
        assert_eq!(err("reset=0.1:answer=503").key, "answer");
        assert_eq!(err("5xx=0.1:answer=404").key, "answer");
        assert_eq!(err("5xx=0.1:colour=red").key, "colour");
        assert_eq!(
            err("5xx=0.1:count=1:count=2").message,
            "given twice in one rule"
        );
        assert_eq!(err("429-burst=5/3").key, "429-burst");
        assert_eq!(err("429-burst=3").key, "429-burst");
        assert_eq!(err("seed=1,seed=2").key, "seed");
        assert_eq!(err("seed=x").key, "seed");
        assert_eq!(err("5xx=0.1,,reset=0.1").column, 9);
        assert_eq!(err("5xx").key, "5xx");
    }
}
