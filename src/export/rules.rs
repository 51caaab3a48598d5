//! Prometheus rules for the exported SLOs: the error ratio of each SLO
//! recorded over the burn-rate windows, and the multi-window burn-rate
//! alerts of the Google SRE workbook ("Alerting on SLOs"): page when the
//! last hour burns the budget 14.4 times as fast as it may (2% of a 30-day
//! budget in an hour) and the last 5 minutes still do, and when the last 6
//! hours burn it 6 times as fast (5% in 6 hours) and the last 30 minutes
//! still do.

use serde::Serialize;

use super::{Export, ExportError, Exported};
use crate::sla::trim_float;

/// The recorded error ratio's name; the window is its suffix (`rate5m`).
pub const ERROR_RATIO_RECORD: &str = "slaplan_slo:error_ratio";

/// The windows whose error ratio is recorded.
pub const BURN_WINDOWS: [&str; 4] = ["5m", "30m", "1h", "6h"];

/// One multi-window burn-rate alert.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BurnAlert {
    /// Alert name.
    pub name: &'static str,
    /// The long window.
    pub long: &'static str,
    /// The short window that must agree.
    pub short: &'static str,
    /// How many times the sustainable rate the budget burns.
    pub factor: f64,
    /// The `severity` label.
    pub severity: &'static str,
}

/// The two alerts, fast then slow.
pub const BURN_ALERTS: [BurnAlert; 2] = [
    BurnAlert {
        name: "SlaplanErrorBudgetBurnFast",
        long: "1h",
        short: "5m",
        factor: 14.4,
        severity: "page",
    },
    BurnAlert {
        name: "SlaplanErrorBudgetBurnSlow",
        long: "6h",
        short: "30m",
        factor: 6.0,
        severity: "page",
    },
];

#[derive(Serialize)]
struct RuleFile {
    groups: Vec<Group>,
}

#[derive(Serialize)]
struct Group {
    name: String,
    rules: Vec<Rule>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Rule {
    Record {
        record: String,
        expr: String,
        labels: Labels,
    },
    Alert {
        alert: &'static str,
        expr: String,
        labels: AlertLabels,
        annotations: Annotations,
    },
}

#[derive(Serialize)]
struct Labels {
    slo: String,
    tenant: String,
}

#[derive(Serialize)]
struct AlertLabels {
    severity: &'static str,
    slo: String,
    tenant: String,
}

#[derive(Serialize)]
struct Annotations {
    summary: String,
    description: String,
}

/// The recorded series of `e`'s error ratio over `window`.
fn series(e: &Exported, window: &str) -> String {
    format!("{ERROR_RATIO_RECORD}:rate{window}{{slo=\"{}\"}}", e.name)
}

fn group(e: &Exported) -> Group {
    let labels = || Labels {
        slo: e.name.clone(),
        tenant: e.tenant.clone(),
    };
    let mut rules: Vec<Rule> = BURN_WINDOWS
        .iter()
        .map(|w| Rule::Record {
            record: format!("{ERROR_RATIO_RECORD}:rate{w}"),
            expr: format!(
                "1 - sum(rate({good}[{w}])) / sum(rate({total}[{w}]))",
                good = e.sli.good,
                total = e.sli.total
            ),
            labels: labels(),
        })
        .collect();
    let budget = 1.0 - e.sli.target;
    let budget_text = trim_float(budget);
    for a in BURN_ALERTS {
        let threshold = format!("{} * {budget_text}", trim_float(a.factor));
        rules.push(Rule::Alert {
            alert: a.name,
            expr: format!(
                "{} > {threshold} and {} > {threshold}",
                series(e, a.long),
                series(e, a.short)
            ),
            labels: AlertLabels {
                severity: a.severity,
                slo: e.name.clone(),
                tenant: e.tenant.clone(),
            },
            annotations: Annotations {
                summary: format!(
                    "{}: error budget burning {}x over {} and {}",
                    e.tenant,
                    trim_float(a.factor),
                    a.long,
                    a.short
                ),
                description: format!(
                    "Internal objective {} (contract: {}) is spending its error budget ({}) {} times as fast as \
                     it can last.",
                    e.objective_words,
                    e.contract,
                    budget_text,
                    trim_float(a.factor)
                ),
            },
        });
    }
    Group {
        name: format!("slaplan-slo-{}", e.name),
        rules,
    }
}

/// The rule file of every exported clause.
pub(super) fn rule_file(export: &Export) -> Result<String, ExportError> {
    let file = RuleFile {
        groups: export.exported.iter().map(group).collect(),
    };
    let yaml = serde_norway::to_string(&file).map_err(|err| ExportError::Yaml {
        what: "Prometheus rules",
        message: err.to_string(),
    })?;
    Ok(format!(
        "# Prometheus recording and burn-rate alert rules written by `slaplan export-slo`\n\
         # over the slaplan gateway's metrics (`slaplan serve`, /metrics).\n{yaml}"
    ))
}
