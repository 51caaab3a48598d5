//! The one-line clause grammar of `slaplan check` and `slaplan frontier`.
//!
//! ```text
//! clause  = latency | success
//! latency = "p" PERCENTILE ["task"] "latency" "<=" DURATION [scope] [period]
//! success = ("availability" | "task success") ">=" PERCENT "%" [scope] [period]
//! scope   = "for" "workflow" NAME
//! period  = "per" "month"
//! ```
//!
//! Words are separated by spaces; `≤`/`≥` may replace `<=`/`>=`, a duration
//! may be written `800ms` or `800 ms`, a percentage `99.9%` or `99.9 %`.
//! Only monthly windows exist: `per week` and `per day` are rejected as not
//! supported yet. Every error names the offending word and its 1-based
//! position.

use crate::scenario::{Clause, ClauseMetric};
use crate::time::Span;

/// A clause that does not parse: the word at fault and what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", match word { Some((n, w)) => format!("word {n} \"{w}\": {message}"), None => format!("at the end: {message}") })]
pub struct GrammarError {
    /// 1-based position and text of the offending word (none: the clause ended early).
    pub word: Option<(usize, String)>,
    /// What was expected.
    pub message: String,
}

struct Words<'a> {
    words: Vec<&'a str>,
    pos: usize,
}

impl<'a> Words<'a> {
    fn peek(&self) -> Option<&'a str> {
        self.words.get(self.pos).copied()
    }
    fn next(&mut self) -> Option<&'a str> {
        let w = self.peek();
        self.pos += usize::from(w.is_some());
        w
    }
    /// An error at the word just taken (or at the end).
    fn error_at(&self, pos: usize, message: impl Into<String>) -> GrammarError {
        GrammarError {
            word: self.words.get(pos).map(|w| (pos + 1, (*w).to_string())),
            message: message.into(),
        }
    }
    fn expect(&mut self, options: &[&str], message: &str) -> Result<&'a str, GrammarError> {
        let at = self.pos;
        match self.next() {
            Some(w) if options.iter().any(|o| o.eq_ignore_ascii_case(w)) => Ok(w),
            _ => Err(self.error_at(at, message)),
        }
    }
}

/// Parses one clause, e.g. `p95 latency <= 800ms`.
pub fn parse_clause(text: &str) -> Result<Clause, GrammarError> {
    let mut w = Words {
        words: text.split_whitespace().collect(),
        pos: 0,
    };
    let first = w.next().ok_or_else(|| GrammarError {
        word: None,
        message: "empty clause: expected e.g. \"p95 latency <= 800ms\" or \"availability >= 99.9%\"".into(),
    })?;
    let lower = first.to_ascii_lowercase();
    let mut clause = Clause {
        metric: ClauseMetric::Latency,
        workflow: None,
        percentile: None,
        threshold: None,
        target: None,
        tier: None,
    };
    if let Some(p) = lower.strip_prefix('p') {
        let percentile: f64 = p
            .parse()
            .ok()
            .filter(|p: &f64| *p > 0.0 && *p < 100.0)
            .ok_or_else(|| w.error_at(0, "expected a percentile strictly between 0 and 100, e.g. p95 or p99.9"))?;
        let at = w.pos;
        clause.metric = match w.next().map(str::to_ascii_lowercase).as_deref() {
            Some("latency") => ClauseMetric::Latency,
            Some("task") => {
                w.expect(&["latency"], "expected \"latency\" after \"task\"")?;
                ClauseMetric::TaskLatency
            }
            _ => return Err(w.error_at(at, "expected \"latency\" or \"task latency\"")),
        };
        w.expect(&["<=", "≤"], "expected \"<=\": a latency clause is a ceiling")?;
        let at = w.pos;
        let number = w
            .next()
            .ok_or_else(|| w.error_at(at, "expected a duration such as 800ms or 30s"))?;
        let threshold = match Span::parse(number) {
            Ok(s) => s,
            Err(_) => {
                // `800 ms`: the unit as the next word.
                let joined = w.peek().and_then(|unit| Span::parse(&format!("{number}{unit}")).ok());
                match joined {
                    Some(s) => {
                        w.next();
                        s
                    }
                    None => {
                        return Err(w.error_at(
                            at,
                            "expected a duration such as 800ms or 30s (units ns, us, ms, s, m, h, d)",
                        ));
                    }
                }
            }
        };
        if threshold == Span::ZERO {
            return Err(w.error_at(at, "expected a duration above zero"));
        }
        clause.percentile = Some(percentile);
        clause.threshold = Some(threshold);
    } else {
        clause.metric = match lower.as_str() {
            "availability" => ClauseMetric::Availability,
            "task" => {
                w.expect(
                    &["success"],
                    "expected \"success\" after \"task\" (or \"task latency\" after a percentile)",
                )?;
                ClauseMetric::TaskAvailability
            }
            _ => {
                return Err(w.error_at(
                    0,
                    "expected a percentile (e.g. p95), \"availability\" or \"task success\"",
                ));
            }
        };
        w.expect(&[">=", "≥"], "expected \">=\": an availability clause is a floor")?;
        let at = w.pos;
        let word = w.next().unwrap_or("");
        let number = match word.strip_suffix('%') {
            Some(n) => n,
            None if w.peek() == Some("%") => {
                w.next();
                word
            }
            None => return Err(w.error_at(at, "expected a percentage such as 99.9%")),
        };
        let pct: f64 = number
            .parse()
            .ok()
            .filter(|p: &f64| *p > 0.0 && *p <= 100.0)
            .ok_or_else(|| w.error_at(at, "expected a percentage above 0 and at most 100, such as 99.9%"))?;
        // 99.9% → 0.999 exactly as written, not 0.9990000000000001.
        clause.target = Some((pct * 1e7).round() / 1e9);
    }
    while let Some(word) = w.peek() {
        let at = w.pos;
        w.next();
        match word.to_ascii_lowercase().as_str() {
            "for" if clause.workflow.is_none() => {
                w.expect(&["workflow"], "expected \"workflow\" after \"for\"")?;
                let at = w.pos;
                let name = w.next().ok_or_else(|| w.error_at(at, "expected the workflow's name"))?;
                clause.workflow = Some(name.to_string());
            }
            "per" => {
                let at = w.pos;
                match w.next().map(str::to_ascii_lowercase).as_deref() {
                    Some("month") => {}
                    Some("week" | "day" | "hour" | "year" | "quarter") => {
                        return Err(w.error_at(at, "not supported yet: clauses are judged per calendar month only"));
                    }
                    _ => return Err(w.error_at(at, "expected \"month\"")),
                }
            }
            _ => {
                return Err(w.error_at(
                    at,
                    "expected \"for workflow NAME\", \"per month\" or the end of the clause",
                ));
            }
        }
    }
    Ok(clause)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse_clause(text).unwrap_err().to_string()
    }

    #[test]
    fn the_documented_forms() {
        let c = parse_clause("p95 latency <= 800ms").unwrap();
        assert_eq!(c.metric, ClauseMetric::Latency);
        assert_eq!((c.percentile, c.threshold), (Some(95.0), Some(Span::from_millis(800))));
        let c = parse_clause("p99 task latency <= 30s for workflow claims").unwrap();
        assert_eq!(c.metric, ClauseMetric::TaskLatency);
        assert_eq!(c.workflow.as_deref(), Some("claims"));
        assert_eq!(c.threshold, Some(Span::from_secs(30)));
        let c = parse_clause("availability >= 99.9%").unwrap();
        assert_eq!((c.metric, c.target), (ClauseMetric::Availability, Some(0.999)));
        let c = parse_clause("task success >= 99% per month").unwrap();
        assert_eq!((c.metric, c.target), (ClauseMetric::TaskAvailability, Some(0.99)));
        let c = parse_clause("p99.9 latency ≤ 1.5 s per month for workflow chat").unwrap();
        assert_eq!((c.percentile, c.threshold), (Some(99.9), Some(Span::from_millis(1500))));
        assert_eq!(parse_clause("availability >= 99.5 %").unwrap().target, Some(0.995));
    }

    #[test]
    fn errors_point_at_the_word() {
        assert_eq!(
            err("p95 latncy <= 800ms"),
            "word 2 \"latncy\": expected \"latency\" or \"task latency\""
        );
        assert!(err("p95 latency <= 800ms per week").starts_with("word 6 \"week\": not supported yet"));
        assert!(err("availability >= 99.9% per day").starts_with("word 5 \"day\": not supported yet"));
        assert!(err("p100 latency <= 1s").starts_with("word 1 \"p100\""));
        assert!(err("p95 latency >= 1s").starts_with("word 3 \">=\""));
        assert!(err("p95 latency <= fast").starts_with("word 4 \"fast\""));
        assert!(err("availability >= 99.9").starts_with("word 3 \"99.9\""));
        assert!(err("availability >= 120%").starts_with("word 3 \"120%\""));
        assert!(err("uptime >= 99%").starts_with("word 1 \"uptime\""));
        assert!(err("availability >= 99% for team x").starts_with("word 5 \"team\""));
        assert!(err("p95 latency <=").starts_with("at the end"));
        assert!(err("").starts_with("at the end: empty clause"));
    }
}
