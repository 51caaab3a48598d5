//! The one-line clause grammar of `slaplan check` and `slaplan frontier`.
//!
//! ```text
//! clause      = body { scope | period | fee | credits }
//! body        = latency | ttft | success | uptime | fallback | notice
//!             | degradation | cost | throughput | eval | quality
//! latency     = "p" PERCENTILE ["call" | "task"] "latency" "<=" DURATION
//! ttft        = "p" PERCENTILE ("ttft" | "time" "to" "first" "token") "<=" DURATION
//! success     = ("availability" | "task" "success") ">=" PERCENT
//! uptime      = "uptime" ">=" PERCENT ["with" "error" "ratio" "<=" PERCENT]
//! fallback    = ["p" PERCENTILE] "fallback" ["time"] "<=" DURATION
//! notice      = ["p" PERCENTILE] "notification" ["time"] "<=" DURATION
//! degradation = "calls" "below" "tier" TIER "<=" PERCENT
//!             | "never" "below" "tier" TIER
//! cost        = "cost" "per" ("task" | "window") "<=" AMOUNT
//! throughput  = "throughput" ">=" RATE ["rpm"]
//! eval        = "eval" "pass" "rate" ">=" PERCENT "with" COUNT ("samples" | "sample")
//! quality     = "mean" "quality" ">=" SCORE
//! scope       = "for" "workflow" NAME
//! period      = "per" ("month" | "week" | "day" | "rolling" DAYS)
//! fee         = "fee" AMOUNT
//! credits     = "credit" step { "," step }
//! step        = PERCENT ("below" | "above") LEVEL
//! ```
//!
//! Words are separated by spaces and matched without regard to case;
//! `≤`/`≥` may replace `<=`/`>=`. A DURATION is `800ms` or `800 ms` (units
//! ns, us, ms, s, m, h, d), a PERCENT `99.9%` or `99.9 %`, an AMOUNT in USD
//! `$0.05`, `0.05` or `0.05 usd`, DAYS `7d` or `7 days`, a COUNT a whole
//! number from 1, a SCORE a number above 0 and at most 1. A fallback or
//! notification clause without a percentile covers every event. A credit
//! step's LEVEL is written as the clause's threshold is (a DURATION for
//! latency-like clauses, an AMOUNT for cost, a SCORE for mean quality, a
//! PERCENT otherwise), "below"
//! for floors and "above" for ceilings; its PERCENT is the share of the
//! monthly fee (`fee`, required with credits) owed in a month worse than
//! the level. Every error names the offending word and its 1-based position
//! (a comma counts as a word).

use crate::scenario::{Clause, ClauseMetric, CreditStep, StepLevel};
use crate::sla::{CostBasis, Period};
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
    fn peek_is(&self, word: &str) -> bool {
        self.peek().is_some_and(|w| w.eq_ignore_ascii_case(word))
    }
    fn next(&mut self) -> Option<&'a str> {
        let w = self.peek();
        self.pos += usize::from(w.is_some());
        w
    }
    /// An error at word `pos` (or at the end).
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
    fn at_most(&mut self, what: &str) -> Result<(), GrammarError> {
        self.expect(&["<=", "≤"], &format!("expected \"<=\": {what} is a ceiling"))
            .map(|_| ())
    }
    fn at_least(&mut self, what: &str) -> Result<(), GrammarError> {
        self.expect(&[">=", "≥"], &format!("expected \">=\": {what} is a floor"))
            .map(|_| ())
    }

    /// A duration above zero: `800ms` or `800 ms`.
    fn duration(&mut self) -> Result<Span, GrammarError> {
        let at = self.pos;
        let number = self
            .next()
            .ok_or_else(|| self.error_at(at, "expected a duration such as 800ms or 30s"))?;
        let span = match Span::parse(number) {
            Ok(s) => s,
            Err(_) => {
                let joined = self
                    .peek()
                    .and_then(|unit| Span::parse(&format!("{number}{unit}")).ok());
                match joined {
                    Some(s) => {
                        self.next();
                        s
                    }
                    None => {
                        return Err(self.error_at(
                            at,
                            "expected a duration such as 800ms or 30s (units ns, us, ms, s, m, h, d)",
                        ));
                    }
                }
            }
        };
        if span == Span::ZERO {
            return Err(self.error_at(at, "expected a duration above zero"));
        }
        Ok(span)
    }

    /// A percentage `99.9%` or `99.9 %` in `[low, 100]` (`low` excluded
    /// unless `zero_ok`), as a ratio exactly as written.
    fn percent(&mut self, zero_ok: bool) -> Result<f64, GrammarError> {
        let at = self.pos;
        let word = self.next().unwrap_or("");
        let number = match word.strip_suffix('%') {
            Some(n) => n,
            None if self.peek() == Some("%") => {
                self.next();
                word
            }
            None => return Err(self.error_at(at, "expected a percentage such as 99.9%")),
        };
        let range = if zero_ok {
            "from 0 to 100"
        } else {
            "above 0 and at most 100"
        };
        let pct: f64 = number
            .parse()
            .ok()
            .filter(|p: &f64| (*p > 0.0 || (zero_ok && *p == 0.0)) && *p <= 100.0)
            .ok_or_else(|| self.error_at(at, format!("expected a percentage {range}, such as 99.9%")))?;
        // 99.9% → 0.999 exactly as written, not 0.9990000000000001.
        Ok((pct * 1e7).round() / 1e9)
    }

    /// A positive number, with an optional prefix and suffix (`$`, `usd`, `rpm`).
    fn amount(&mut self, prefix: &str, suffix: &str, example: &str) -> Result<f64, GrammarError> {
        let at = self.pos;
        let word = self.next().unwrap_or("");
        let trimmed = word.strip_prefix(prefix).unwrap_or(word);
        let lower = trimmed.to_ascii_lowercase();
        let trimmed = lower.strip_suffix(suffix).unwrap_or(&lower);
        let value = trimmed
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && *x > 0.0)
            .ok_or_else(|| self.error_at(at, format!("expected a positive number such as {example}")))?;
        if self.peek_is(suffix) {
            self.next();
        }
        Ok(value)
    }

    /// A quality score above 0 and at most 1, e.g. `0.9`.
    fn score(&mut self) -> Result<f64, GrammarError> {
        let at = self.pos;
        self.next()
            .and_then(|x| x.parse::<f64>().ok())
            .filter(|x| *x > 0.0 && *x <= 1.0)
            .ok_or_else(|| self.error_at(at, "expected a quality score above 0 and at most 1, such as 0.9"))
    }

    /// `p95` at word `at` (already taken), as a percentile in (0, max].
    fn percentile(&self, at: usize, text: &str, every_ok: bool) -> Result<f64, GrammarError> {
        let upper = if every_ok { "at most 100" } else { "below 100" };
        text.get(1..)
            .and_then(|p| p.parse::<f64>().ok())
            .filter(|p| *p > 0.0 && (*p < 100.0 || (every_ok && *p == 100.0)))
            .ok_or_else(|| {
                self.error_at(
                    at,
                    format!("expected a percentile above 0 and {upper}, e.g. p95 or p99.9"),
                )
            })
    }
}

fn blank(metric: ClauseMetric) -> Clause {
    Clause {
        metric,
        workflow: None,
        percentile: None,
        threshold: None,
        target: None,
        tier: None,
        max_error_ratio: None,
        budget: None,
        per: None,
        rpm: None,
        samples: None,
        window: None,
        monthly_fee: None,
        credits: None,
    }
}

const FIRST_WORDS: &str = "expected a percentile (e.g. p95), \"availability\", \"task success\", \"uptime\", \
    \"fallback time\", \"notification time\", \"calls below tier\", \"never below tier\", \"cost per\" or \
    \"throughput\", \"eval pass rate\" or \"mean quality\"";

/// Parses one clause, e.g. `p95 latency <= 800ms`.
pub fn parse_clause(text: &str) -> Result<Clause, GrammarError> {
    let spaced = text.replace(',', " , ");
    let mut w = Words {
        words: spaced.split_whitespace().collect(),
        pos: 0,
    };
    let first = w.next().ok_or_else(|| GrammarError {
        word: None,
        message: "empty clause: expected e.g. \"p95 latency <= 800ms\" or \"availability >= 99.9%\"".into(),
    })?;
    let lower = first.to_ascii_lowercase();
    let mut clause = if lower.starts_with('p') && lower[1..].starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        let at = w.pos;
        let metric = match w.peek().map(str::to_ascii_lowercase).as_deref() {
            Some("latency") => ClauseMetric::Latency,
            Some("call") => {
                w.next();
                ClauseMetric::Latency
            }
            Some("task") => {
                w.next();
                ClauseMetric::TaskLatency
            }
            Some("fallback") => ClauseMetric::FallbackTime,
            Some("notification") => ClauseMetric::Notification,
            Some("ttft" | "time") => ClauseMetric::Ttft,
            _ => {
                return Err(w.error_at(
                    at,
                    "expected \"latency\", \"task latency\", \"time to first token\" (or \"ttft\"), \
                     \"fallback time\" or \"notification time\"",
                ));
            }
        };
        let every_ok = matches!(metric, ClauseMetric::FallbackTime | ClauseMetric::Notification);
        let percentile = w.percentile(0, &lower, every_ok)?;
        let mut clause = blank(metric);
        clause.percentile = Some(percentile);
        match metric {
            ClauseMetric::Latency | ClauseMetric::TaskLatency => {
                w.expect(&["latency"], "expected \"latency\"")?;
                w.at_most("a latency clause")?;
            }
            ClauseMetric::Ttft => {
                if w.next().is_some_and(|t| t.eq_ignore_ascii_case("time")) {
                    w.expect(&["to"], "expected \"time to first token\"")?;
                    w.expect(&["first"], "expected \"time to first token\"")?;
                    w.expect(&["token"], "expected \"time to first token\"")?;
                }
                w.at_most("a time to first token clause")?;
            }
            _ => {
                w.next();
                if w.peek_is("time") {
                    w.next();
                }
                w.at_most("a time clause")?;
            }
        }
        clause.threshold = Some(w.duration()?);
        clause
    } else {
        match lower.as_str() {
            "availability" => {
                let mut c = blank(ClauseMetric::Availability);
                w.at_least("an availability clause")?;
                c.target = Some(w.percent(false)?);
                c
            }
            "task" => {
                w.expect(
                    &["success"],
                    "expected \"success\" after \"task\" (or \"task latency\" after a percentile)",
                )?;
                let mut c = blank(ClauseMetric::TaskAvailability);
                w.at_least("a task success clause")?;
                c.target = Some(w.percent(false)?);
                c
            }
            "uptime" => {
                let mut c = blank(ClauseMetric::Uptime);
                w.at_least("an uptime clause")?;
                c.target = Some(w.percent(false)?);
                if w.peek_is("with") {
                    w.next();
                    w.expect(&["error"], "expected \"error ratio\" after \"with\"")?;
                    w.expect(&["ratio"], "expected \"ratio\" after \"error\"")?;
                    w.at_most("the error ratio of an up minute")?;
                    let at = w.pos;
                    let ratio = w.percent(true)?;
                    if ratio >= 1.0 {
                        return Err(w.error_at(at, "expected an error ratio below 100%"));
                    }
                    c.max_error_ratio = Some(ratio);
                }
                c
            }
            "fallback" | "notification" => {
                let metric = if lower == "fallback" {
                    ClauseMetric::FallbackTime
                } else {
                    ClauseMetric::Notification
                };
                let mut c = blank(metric);
                if w.peek_is("time") {
                    w.next();
                }
                w.at_most("a time clause")?;
                c.threshold = Some(w.duration()?);
                c
            }
            "calls" | "never" => {
                let never = lower == "never";
                w.expect(&["below"], "expected \"below tier N\"")?;
                w.expect(&["tier"], "expected \"tier N\"")?;
                let at = w.pos;
                let tier = w
                    .next()
                    .and_then(|t| t.parse::<u8>().ok())
                    .filter(|t| *t <= 4)
                    .ok_or_else(|| w.error_at(at, "expected a tier from 0 to 4"))?;
                let mut c = blank(ClauseMetric::Degradation);
                c.tier = Some(tier);
                c.target = Some(if never {
                    0.0
                } else {
                    w.at_most("a degradation clause")?;
                    w.percent(true)?
                });
                c
            }
            "cost" => {
                w.expect(&["per"], "expected \"per task\" or \"per window\" after \"cost\"")?;
                let at = w.pos;
                let per = match w.next().map(str::to_ascii_lowercase).as_deref() {
                    Some("task") => CostBasis::Task,
                    Some("window") => CostBasis::Window,
                    _ => return Err(w.error_at(at, "expected \"task\" or \"window\"")),
                };
                w.at_most("a cost clause")?;
                let mut c = blank(ClauseMetric::Cost);
                c.per = Some(per);
                c.budget = Some(w.amount("$", "usd", "$0.05")?);
                c
            }
            "throughput" => {
                w.at_least("a throughput clause")?;
                let mut c = blank(ClauseMetric::Throughput);
                c.rpm = Some(w.amount("", "rpm", "120 rpm")?);
                c
            }
            "eval" => {
                w.expect(&["pass"], "expected \"eval pass rate\"")?;
                w.expect(&["rate"], "expected \"eval pass rate\"")?;
                w.at_least("an eval pass rate clause")?;
                let mut c = blank(ClauseMetric::EvalPassRate);
                c.target = Some(w.percent(false)?);
                w.expect(
                    &["with"],
                    "expected \"with N samples\": the calls evaluated per window, e.g. \"with 200 samples\"",
                )?;
                let at = w.pos;
                let samples = w
                    .next()
                    .and_then(|n| n.parse::<u32>().ok())
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| w.error_at(at, "expected a whole number of samples from 1, e.g. 200"))?;
                w.expect(&["samples", "sample"], "expected \"samples\"")?;
                c.samples = Some(samples);
                c
            }
            "mean" => {
                w.expect(&["quality"], "expected \"mean quality\"")?;
                w.at_least("a mean quality clause")?;
                let mut c = blank(ClauseMetric::MeanQuality);
                c.target = Some(w.score()?);
                c
            }
            _ => return Err(w.error_at(0, FIRST_WORDS)),
        }
    };
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
            "per" if clause.window.is_none() => {
                let at = w.pos;
                let first = w.next().unwrap_or("");
                let text = if first.eq_ignore_ascii_case("rolling") {
                    let mut t = format!("rolling {}", w.next().unwrap_or(""));
                    if w.peek_is("days") || w.peek_is("day") {
                        w.next();
                        t.push_str(" days");
                    }
                    t
                } else {
                    first.to_string()
                };
                let period: Period = text.parse().map_err(|e: String| w.error_at(at, e))?;
                clause.window = Some(period);
            }
            "fee" if clause.monthly_fee.is_none() => {
                clause.monthly_fee = Some(w.amount("$", "usd", "$20000")?);
            }
            "credit" | "credits" if clause.credits.is_none() => {
                let mut steps = vec![credit_step(&mut w, clause.metric)?];
                while w.peek_is(",") {
                    w.next();
                    steps.push(credit_step(&mut w, clause.metric)?);
                }
                clause.credits = Some(steps);
            }
            _ => {
                return Err(w.error_at(
                    at,
                    "expected \"for workflow NAME\", \"per month|week|day|rolling Nd\", \"fee AMOUNT\", \
                     \"credit 10% below LEVEL\" or the end of the clause",
                ));
            }
        }
    }
    if clause.credits.is_some() != clause.monthly_fee.is_some() {
        let message = if clause.credits.is_some() {
            "a credit schedule needs the monthly fee its shares are of: expected \"fee $20000\""
        } else {
            "a fee is only used by credits: expected \"credit 10% below LEVEL\" beside it"
        };
        return Err(GrammarError {
            word: None,
            message: message.into(),
        });
    }
    Ok(clause)
}

/// One credit step: `10% below 99.9%`, `25% above 2s`, `10% above $0.06`.
fn credit_step(w: &mut Words<'_>, metric: ClauseMetric) -> Result<CreditStep, GrammarError> {
    let credit = w.percent(false)?;
    let floor = matches!(
        metric,
        ClauseMetric::Availability
            | ClauseMetric::TaskAvailability
            | ClauseMetric::Uptime
            | ClauseMetric::Throughput
            | ClauseMetric::EvalPassRate
            | ClauseMetric::MeanQuality
    );
    let side = if floor { "below" } else { "above" };
    w.expect(
        &[side],
        &format!("expected \"{side}\": this clause's credits are owed when its metric is {side} a level"),
    )?;
    let level = match metric {
        ClauseMetric::Latency
        | ClauseMetric::TaskLatency
        | ClauseMetric::Ttft
        | ClauseMetric::FallbackTime
        | ClauseMetric::Notification => StepLevel::Duration(w.duration()?),
        ClauseMetric::Cost => StepLevel::Number(w.amount("$", "usd", "$0.06")?),
        ClauseMetric::MeanQuality => StepLevel::Number(w.score()?),
        _ => StepLevel::Number(w.percent(true)?),
    };
    let (below, above) = if floor {
        (Some(level), None)
    } else {
        (None, Some(level))
    };
    Ok(CreditStep { below, above, credit })
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
        assert_eq!(c.window, Some(Period::Month));
        let c = parse_clause("p99.9 latency ≤ 1.5 s per week for workflow chat").unwrap();
        assert_eq!((c.percentile, c.threshold), (Some(99.9), Some(Span::from_millis(1500))));
        assert_eq!(c.window, Some(Period::Week));
        assert_eq!(parse_clause("availability >= 99.5 %").unwrap().target, Some(0.995));
        let c = parse_clause("p95 call latency <= 800ms per rolling 7d").unwrap();
        assert_eq!(
            (c.metric, c.window),
            (ClauseMetric::Latency, Some(Period::Rolling { days: 7 }))
        );
        let c = parse_clause("availability >= 99% per rolling 30 days").unwrap();
        assert_eq!(c.window, Some(Period::Rolling { days: 30 }));
    }

    #[test]
    fn the_new_kinds() {
        let c = parse_clause("uptime >= 99.9% with error ratio <= 5% per day").unwrap();
        assert_eq!(
            (c.metric, c.target, c.max_error_ratio, c.window),
            (ClauseMetric::Uptime, Some(0.999), Some(0.05), Some(Period::Day))
        );
        let c = parse_clause("fallback time <= 200ms").unwrap();
        assert_eq!(
            (c.metric, c.percentile, c.threshold),
            (ClauseMetric::FallbackTime, None, Some(Span::from_millis(200)))
        );
        let c = parse_clause("p99 fallback time <= 200 ms").unwrap();
        assert_eq!((c.metric, c.percentile), (ClauseMetric::FallbackTime, Some(99.0)));
        let c = parse_clause("p100 notification <= 1m for workflow chat").unwrap();
        assert_eq!((c.metric, c.percentile), (ClauseMetric::Notification, Some(100.0)));
        let c = parse_clause("never below tier 1").unwrap();
        assert_eq!(
            (c.metric, c.tier, c.target),
            (ClauseMetric::Degradation, Some(1), Some(0.0))
        );
        let c = parse_clause("calls below tier 0 <= 2.5%").unwrap();
        assert_eq!((c.tier, c.target), (Some(0), Some(0.025)));
        let c = parse_clause("cost per task <= $0.05").unwrap();
        assert_eq!(
            (c.metric, c.budget, c.per),
            (ClauseMetric::Cost, Some(0.05), Some(CostBasis::Task))
        );
        let c = parse_clause("cost per window <= 1200 usd per week").unwrap();
        assert_eq!(
            (c.budget, c.per, c.window),
            (Some(1200.0), Some(CostBasis::Window), Some(Period::Week))
        );
        let c = parse_clause("p95 time to first token <= 500ms").unwrap();
        assert_eq!(
            (c.metric, c.percentile, c.threshold),
            (ClauseMetric::Ttft, Some(95.0), Some(Span::from_millis(500)))
        );
        let c = parse_clause("p99 TTFT <= 1s for workflow chat").unwrap();
        assert_eq!((c.metric, c.workflow.as_deref()), (ClauseMetric::Ttft, Some("chat")));
        let c = parse_clause("throughput >= 120 rpm").unwrap();
        assert_eq!((c.metric, c.rpm), (ClauseMetric::Throughput, Some(120.0)));
        assert_eq!(parse_clause("throughput >= 90rpm").unwrap().rpm, Some(90.0));
        let c = parse_clause("eval pass rate >= 92% with 200 samples per week").unwrap();
        assert_eq!(
            (c.metric, c.target, c.samples, c.window),
            (ClauseMetric::EvalPassRate, Some(0.92), Some(200), Some(Period::Week))
        );
        let c = parse_clause("mean quality ≥ 0.9 for workflow chat").unwrap();
        assert_eq!(
            (c.metric, c.target, c.workflow.as_deref()),
            (ClauseMetric::MeanQuality, Some(0.9), Some("chat"))
        );
        let c = parse_clause("mean quality >= 0.9 fee $100 credit 10% below 0.85").unwrap();
        assert_eq!(c.credits.unwrap()[0].below, Some(StepLevel::Number(0.85)));
    }

    #[test]
    fn credit_schedules() {
        let c = parse_clause("availability >= 99.9% fee $20000 credit 10% below 99.9%, 25% below 99%").unwrap();
        assert_eq!(c.monthly_fee, Some(20000.0));
        let steps = c.credits.unwrap();
        assert_eq!(steps.len(), 2);
        assert_eq!((steps[0].below, steps[0].credit), (Some(StepLevel::Number(0.999)), 0.1));
        assert_eq!((steps[1].below, steps[1].credit), (Some(StepLevel::Number(0.99)), 0.25));
        let c = parse_clause("p95 latency <= 800ms credit 5% above 800ms , 20% above 2 s fee 1000 usd").unwrap();
        let steps = c.credits.unwrap();
        assert_eq!(steps[1].above, Some(StepLevel::Duration(Span::from_secs(2))));
        assert_eq!(c.monthly_fee, Some(1000.0));
        let c = parse_clause("cost per task <= $0.05 fee $500 credit 10% above $0.06").unwrap();
        assert_eq!(c.credits.unwrap()[0].above, Some(StepLevel::Number(0.06)));
        assert!(err("availability >= 99% credit 10% above 98%").starts_with("word 6 \"above\": expected \"below\""));
        assert!(err("availability >= 99% credit 10% below 98%").starts_with("at the end: a credit schedule needs"));
        assert!(err("availability >= 99% fee $10").starts_with("at the end: a fee is only used by credits"));
        assert!(err("p95 latency <= 1s fee $10 credit 10% above 99%").starts_with("word 10 \"99%\""));
    }

    #[test]
    fn errors_point_at_the_word() {
        assert_eq!(
            err("p95 latncy <= 800ms"),
            "word 2 \"latncy\": expected \"latency\", \"task latency\", \"time to first token\" (or \"ttft\"), \
             \"fallback time\" or \"notification time\""
        );
        assert!(err("p95 time to last token <= 1s").starts_with("word 4 \"last\""));
        assert!(err("p100 ttft <= 1s").starts_with("word 1 \"p100\""));
        assert!(err("p95 latency <= 800ms per fortnight").starts_with("word 6 \"fortnight\": "));
        assert!(err("availability >= 99.9% per rolling 0d").starts_with("word 5 \"rolling\""));
        assert!(err("p100 latency <= 1s").starts_with("word 1 \"p100\""));
        assert!(err("p95 latency >= 1s").starts_with("word 3 \">=\""));
        assert!(err("p95 latency <= fast").starts_with("word 4 \"fast\""));
        assert!(err("availability >= 99.9").starts_with("word 3 \"99.9\""));
        assert!(err("availability >= 120%").starts_with("word 3 \"120%\""));
        assert!(err("uptim >= 99%").starts_with("word 1 \"uptim\""));
        assert!(err("uptime >= 99% with error ratio <= 100%").starts_with("word 8 \"100%\""));
        assert!(err("calls below tier 7 <= 1%").starts_with("word 4 \"7\": expected a tier"));
        assert!(err("cost per call <= $1").starts_with("word 3 \"call\""));
        assert!(err("cost per task <= $-1").starts_with("word 5 \"$-1\""));
        assert!(err("throughput >= many").starts_with("word 3 \"many\""));
        assert!(err("eval pass rate >= 92%").starts_with("at the end: expected \"with N samples\""));
        assert!(err("eval pass rate >= 92% with 0 samples").starts_with("word 7 \"0\": expected a whole number"));
        assert!(err("eval pass rate >= 0.92 with 200 samples").starts_with("word 5 \"0.92\""));
        assert!(err("eval pass rate >= 92% with 200 calls").starts_with("word 8 \"calls\""));
        assert!(err("mean quality >= 1.2").starts_with("word 4 \"1.2\": expected a quality score"));
        assert!(err("mean quality >= 90%").starts_with("word 4 \"90%\""));
        assert!(err("availability >= 99% for team x").starts_with("word 5 \"team\""));
        assert!(err("p95 latency <=").starts_with("at the end"));
        assert!(err("").starts_with("at the end: empty clause"));
    }
}
