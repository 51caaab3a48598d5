//! `slaplan export-slo`: a run's vetted clauses as what monitoring runs.
//! From an output directory alone (`run.json` and `summary.csv`, read by
//! the review's readers), each tenant clause that maps to a gateway SLI
//! becomes an OpenSLO v1 `SLO` document at its internal objective
//! (`openslo.rs`) and Prometheus recording and multi-window burn-rate alert
//! rules over the gateway's own metric names and labels (`rules.rs`);
//! every other clause is skipped with its reason.
//!
//! **Architecture Invariant:** like the review, the export reads only the
//! output directory; it never runs the simulator or opens the scenario. It
//! writes nothing: the CLI writes the texts it returns.

mod openslo;
mod rules;

use std::path::{Path, PathBuf};

use crate::gateway::metrics::{
    LAST_TIER, LATENCY_METRIC, LATENCY_OUTCOMES, OUTCOMES, OUTCOMES_METRIC, SERVED_METRIC, TTFT_METRIC, exposed, grid,
    le_label,
};
use crate::logs::CLIENT_OUTCOMES;
use crate::plan::grammar::parse_clause;
use crate::plan::internal::InternalObjective;
use crate::report::review::ReportError;
use crate::report::review::inputs::{self, ClauseRow, RunInfo};
use crate::scenario::ClauseMetric;
use crate::sla::{Period, trim_float, trim_pct};
use crate::time::Span;

pub use rules::{BURN_WINDOWS, BurnAlert, ERROR_RATIO_RECORD};

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The directory is not a readable run output.
    #[error(transparent)]
    Input(#[from] ReportError),
    /// A document could not be written as YAML.
    #[error("cannot write the {what} as YAML: {message}")]
    Yaml {
        /// Which output.
        what: &'static str,
        /// Why.
        message: String,
    },
}

impl ExportError {
    /// Whether the error is the input's fault (exit 2).
    pub fn is_input(&self) -> bool {
        matches!(self, ExportError::Input(e) if e.is_input())
    }
}

/// How a clause is measured at the gateway: good and bad events of one
/// tenant, as PromQL selectors of counters.
#[derive(Clone, Debug, PartialEq)]
pub struct Sli {
    /// What the events are, in words.
    pub description: String,
    /// The counter of good events.
    pub good: String,
    /// The counter of all eligible events.
    pub total: String,
    /// The objective's target: the share of events that must be good.
    pub target: f64,
}

/// One clause exported.
#[derive(Clone, Debug, PartialEq)]
pub struct Exported {
    /// The document's `metadata.name` (and the rules' `slo` label).
    pub name: String,
    /// The tenant.
    pub tenant: String,
    /// The clause as the contract writes it.
    pub contract: String,
    /// Its internal objective.
    pub internal: InternalObjective,
    /// The internal objective in words, e.g. `p95 latency <= 0.512 s`.
    pub objective_words: String,
    /// The summary's P(hold) of the contract clause.
    pub probability: f64,
    /// The clause's windows.
    pub period: Period,
    /// How the gateway measures it.
    pub sli: Sli,
}

/// A clause left out, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Skipped {
    /// The tenant.
    pub tenant: String,
    /// The clause as written.
    pub clause: String,
    /// Why it has no SLO.
    pub reason: String,
}

/// The export of one output directory.
#[derive(Clone, Debug, PartialEq)]
pub struct Export {
    /// The clauses exported, in `summary.csv`'s order.
    pub exported: Vec<Exported>,
    /// The clauses skipped, in the same order.
    pub skipped: Vec<Skipped>,
    /// `run.json`'s facts the documents record.
    pub run: RunInfo,
}

/// The output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// OpenSLO v1 `SLO` documents plus Prometheus rules.
    OpenSlo,
}

/// File names written by `export-slo`.
pub const OPENSLO_FILE: &str = "openslo.yaml";
/// The Prometheus rule file.
pub const RULES_FILE: &str = "prometheus-rules.yaml";

impl Export {
    /// Reads output directory `dir` and maps each clause.
    pub fn read(dir: &Path) -> Result<Export, ExportError> {
        let inputs = inputs::read(dir)?;
        let (mut exported, mut skipped) = (Vec::new(), Vec::new());
        for row in &inputs.clauses {
            match map_clause(row) {
                Ok(e) => exported.push(e),
                Err(reason) => skipped.push(Skipped {
                    tenant: row.tenant.clone(),
                    clause: row.clause.clone(),
                    reason,
                }),
            }
        }
        dedupe_names(&mut exported);
        Ok(Export {
            exported,
            skipped,
            run: inputs.run,
        })
    }

    /// The OpenSLO documents, one YAML document per exported clause.
    pub fn openslo_yaml(&self) -> Result<String, ExportError> {
        openslo::documents(self)
    }

    /// The Prometheus rule file.
    pub fn rules_yaml(&self) -> Result<String, ExportError> {
        rules::rule_file(self)
    }

    /// The files to write into the output directory, by name.
    pub fn files(&self) -> Result<Vec<(&'static str, String)>, ExportError> {
        Ok(vec![
            (OPENSLO_FILE, self.openslo_yaml()?),
            (RULES_FILE, self.rules_yaml()?),
        ])
    }
}

/// The default output directory of `export-slo DIR`: `DIR/slo`.
pub fn default_out(dir: &Path) -> PathBuf {
    dir.join("slo")
}

/// The level a latency-like internal objective is monitored at: the
/// smallest histogram boundary at or above `objective_ms` and at or under
/// the contract's `threshold`, from the gateway's fixed [`grid`] and the
/// threshold itself (a gateway serving the scenario has a boundary at every
/// clause threshold). Any level from the internal objective up to the
/// contract's held in at least as many windows as the objective did, so
/// this one holds with at least the required confidence too; `None` when
/// the objective is above the threshold.
pub fn monitored_bound(objective_ms: f64, threshold: Span) -> Option<Span> {
    grid()
        .into_iter()
        .chain([threshold])
        .filter(|b| *b <= threshold && b.as_millis_f64() >= objective_ms)
        .min()
}

/// A clause's SLO, or why it has none.
fn map_clause(row: &ClauseRow) -> Result<Exported, String> {
    let parsed = parse_clause(&row.clause)
        .map_err(|e| format!("its text does not parse as a clause this version knows ({e})"))?;
    if !row.workflow.is_empty() || parsed.workflow.is_some() {
        return Err(format!(
            "it is scoped to workflow {:?}: the gateway's metrics are per tenant",
            row.workflow
        ));
    }
    let internal = row.internal.ok_or_else(|| match row.verdict {
        crate::plan::Verdict::Enforceable => "it has no internal objective (see summary.csv)".to_string(),
        v => format!("it is {}: no internal objective to monitor", v.label()),
    })?;
    let tenant = &row.tenant;
    let sel = |metric: &str, counter: bool, extra: &str| {
        format!("{}{{tenant=\"{}\"{extra}}}", exposed(metric, counter), escape(tenant))
    };
    let (kind, objective_words, sli) = match parsed.metric {
        ClauseMetric::Availability => {
            let target = floor6(internal.objective);
            let eligible = alternatives(OUTCOMES.iter().filter(|o| !CLIENT_OUTCOMES.contains(*o)));
            let sli = Sli {
                description: format!(
                    "calls of tenant {tenant} that succeeded, among those that ended other than by the \
                     client's doing ({})",
                    CLIENT_OUTCOMES.join(", ")
                ),
                good: sel(OUTCOMES_METRIC, true, ",outcome=\"success\""),
                total: sel(OUTCOMES_METRIC, true, &format!(",outcome=~\"{eligible}\"")),
                target,
            };
            ("availability", format!("availability >= {}%", trim_pct(target)), sli)
        }
        ClauseMetric::Latency | ClauseMetric::Ttft => {
            let percentile = parsed
                .percentile
                .ok_or_else(|| "its text names no percentile".to_string())?;
            let (metric, what, kind) = if parsed.metric == ClauseMetric::Latency {
                (LATENCY_METRIC, "latency", "latency")
            } else {
                (TTFT_METRIC, "time to first token", "ttft")
            };
            let threshold = parsed
                .threshold
                .ok_or_else(|| "its text names no threshold".to_string())?;
            let bound = monitored_bound(internal.objective, threshold).ok_or_else(|| {
                format!(
                    "its internal objective ({} ms) is above its threshold ({threshold})",
                    trim_float(internal.objective)
                )
            })?;
            let (seconds, label) = (bound.as_secs_f64(), le_label(bound));
            let tenant_sel = match kind {
                "latency" => format!("tenant=\"{}\",outcome=\"{}\"", escape(tenant), LATENCY_OUTCOMES[0]),
                _ => format!("tenant=\"{}\"", escape(tenant)),
            };
            let sli = Sli {
                description: format!(
                    "successful calls of tenant {tenant} whose {what} was at most {label} s, among its successful \
                     calls (the clause's own population: failed calls are not ranked{}). {label} s is the internal \
                     objective of {} s rounded up to the gateway's next histogram boundary, at most the contract's \
                     {} s; any level between the two held with at least the required confidence",
                    if kind == "latency" {
                        ""
                    } else {
                        "; a call that sent no first token counts at its end"
                    },
                    trim_float(internal.objective / 1000.0),
                    trim_float(threshold.as_secs_f64()),
                ),
                good: format!("{}_bucket{{{tenant_sel},le=\"{label}\"}}", exposed(metric, false)),
                total: format!("{}_count{{{tenant_sel}}}", exposed(metric, false)),
                target: percentile / 100.0,
            };
            let words = format!("p{} {what} <= {} s", trim_float(percentile), trim_float(seconds));
            (kind, words, sli)
        }
        ClauseMetric::Degradation => {
            let tier = parsed.tier.ok_or_else(|| "its text names no tier".to_string())?;
            let share = ceil6(internal.objective);
            let target = 1.0 - share;
            let kept = alternatives((0..=tier.min(LAST_TIER)).map(|t| t.to_string()));
            let sli = Sli {
                description: format!("calls of tenant {tenant} served at tier {tier} or better, among all served"),
                good: sel(SERVED_METRIC, true, &format!(",tier=~\"{kept}\"")),
                total: sel(SERVED_METRIC, true, ""),
                target,
            };
            (
                "degradation",
                format!("calls below tier {tier} <= {}%", trim_pct(share)),
                sli,
            )
        }
        ClauseMetric::TaskLatency | ClauseMetric::TaskAvailability => {
            return Err("it judges whole tasks: the gateway's metrics count calls".into());
        }
        ClauseMetric::Uptime => {
            return Err("uptime judges each minute's error ratio: no gateway metric counts good minutes".into());
        }
        ClauseMetric::FallbackTime => return Err("the gateway exports no fallback-time metric".into()),
        ClauseMetric::Notification => return Err("notices are audit events, not a gateway metric".into()),
        ClauseMetric::Cost => return Err("the gateway exports no cost metric".into()),
        ClauseMetric::Throughput => {
            return Err("throughput is a contracted rate judged per minute, not a share of good events".into());
        }
        #[allow(unreachable_patterns)]
        _ => return Err("the gateway exports no metric for this kind of clause".into()),
    };
    if !(sli.target > 0.0 && sli.target < 1.0) {
        return Err(format!(
            "its internal objective leaves no error budget (target {}): burn-rate alerts need one",
            sli.target
        ));
    }
    Ok(Exported {
        name: slug(&format!("{tenant}-{kind}-{}", row.index)),
        tenant: tenant.clone(),
        contract: row.clause.clone(),
        internal,
        objective_words,
        probability: row.probability,
        period: parsed.window.unwrap_or_default(),
        sli,
    })
}

/// A PromQL regular expression matching exactly these words.
fn alternatives(words: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    words
        .into_iter()
        .map(|w| w.as_ref().to_string())
        .collect::<Vec<_>>()
        .join("|")
}

/// A label value inside double quotes.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Down to the millionth (a floor stays one that held).
fn floor6(x: f64) -> f64 {
    (x * 1e6).floor() / 1e6
}

/// Up to the millionth (a ceiling stays one that held).
fn ceil6(x: f64) -> f64 {
    (x * 1e6).ceil() / 1e6
}

/// An RFC 1123 label: lowercase letters, digits and `-`, at most 63
/// characters, starting and ending with a letter or digit.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for ch in s.chars() {
        let c = ch.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-');
    let mut out: String = out.chars().take(63).collect();
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() { "slo".into() } else { out }
}

/// Names made unique by a numeric suffix where two slugs collide.
fn dedupe_names(exported: &mut [Exported]) {
    let mut seen = std::collections::BTreeSet::new();
    for e in exported {
        let mut name = e.name.clone();
        let mut k = 2;
        while !seen.insert(name.clone()) {
            let suffix = format!("-{k}");
            let stem: String = e.name.chars().take(63 - suffix.len()).collect();
            name = format!("{}{suffix}", stem.trim_end_matches('-'));
            k += 1;
        }
        e.name = name;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_rfc1123_labels() {
        assert_eq!(slug("Gold Tier/EU-availability-0"), "gold-tier-eu-availability-0");
        assert_eq!(slug("--x--"), "x");
        assert_eq!(slug("é"), "slo");
        let long = slug(&"a".repeat(100));
        assert_eq!(long.len(), 63);
    }

    #[test]
    fn rounding_keeps_the_objective_on_the_safe_side() {
        assert_eq!(floor6(0.999_512_7), 0.999_512);
        assert_eq!(ceil6(0.000_100_2), 0.000_101);
    }
}

#[cfg(test)]
mod tests_monitor;
