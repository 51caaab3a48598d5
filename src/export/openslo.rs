//! OpenSLO v1 `SLO` documents (github.com/OpenSLO/OpenSLO, README, "v1"):
//! one per exported clause, its indicator inline as a ratio of the
//! gateway's Prometheus counters, one objective at the internal target,
//! the contract clause and the run it was vetted in recorded as
//! annotations.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Export, ExportError, Exported};
use crate::sla::{Period, trim_float};

/// Where calendar windows are anchored: a Monday, the first of a month,
/// midnight UTC, so months, ISO weeks and days all align with it.
const CALENDAR_ANCHOR: &str = "2024-01-01 00:00:00";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a> {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
    spec: Spec<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    name: String,
    display_name: String,
    annotations: BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Spec<'a> {
    description: String,
    service: &'a str,
    indicator: Indicator,
    time_window: Vec<TimeWindow>,
    budgeting_method: &'static str,
    objectives: Vec<Objective>,
}

#[derive(Serialize)]
struct Indicator {
    metadata: IndicatorMetadata,
    spec: IndicatorSpec,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IndicatorMetadata {
    name: String,
    display_name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IndicatorSpec {
    description: String,
    ratio_metric: RatioMetric,
}

#[derive(Serialize)]
struct RatioMetric {
    counter: bool,
    good: Source,
    total: Source,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Source {
    metric_source: MetricSource,
}

#[derive(Serialize)]
struct MetricSource {
    #[serde(rename = "type")]
    kind: &'static str,
    spec: Query,
}

#[derive(Serialize)]
struct Query {
    query: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TimeWindow {
    duration: String,
    is_rolling: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    calendar: Option<Calendar>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Calendar {
    start_time: &'static str,
    time_zone: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Objective {
    display_name: String,
    target: f64,
}

/// The clause's windows as an OpenSLO time window.
fn time_window(period: Period) -> TimeWindow {
    let calendar = |duration: &str| TimeWindow {
        duration: duration.into(),
        is_rolling: false,
        calendar: Some(Calendar {
            start_time: CALENDAR_ANCHOR,
            time_zone: "UTC",
        }),
    };
    match period {
        Period::Month => calendar("1M"),
        Period::Week => calendar("1w"),
        Period::Day => calendar("1d"),
        Period::Rolling { days } => TimeWindow {
            duration: format!("{days}d"),
            is_rolling: true,
            calendar: None,
        },
    }
}

fn document<'a>(export: &Export, e: &'a Exported) -> Document<'a> {
    let run = &export.run;
    let source = |query: &str| Source {
        metric_source: MetricSource {
            kind: "Prometheus",
            spec: Query {
                query: format!("sum(rate({query}[5m]))"),
            },
        },
    };
    let annotations = BTreeMap::from([
        ("slaplan/contract".to_string(), e.contract.clone()),
        ("slaplan/internal-objective".to_string(), e.objective_words.clone()),
        (
            "slaplan/internal-objective-value".to_string(),
            e.internal.objective.to_string(),
        ),
        ("slaplan/buffer".to_string(), e.internal.buffer.to_string()),
        ("slaplan/contract-p-hold".to_string(), format!("{:.6}", e.probability)),
        (
            "slaplan/required-confidence".to_string(),
            trim_float(run.required_confidence),
        ),
        ("slaplan/scenario-sha256".to_string(), run.scenario_sha256.clone()),
        ("slaplan/seed".to_string(), run.seed.to_string()),
        ("slaplan/replications".to_string(), run.replications.to_string()),
    ]);
    Document {
        api_version: "openslo/v1",
        kind: "SLO",
        metadata: Metadata {
            name: e.name.clone(),
            display_name: format!("{}: {}", e.tenant, e.objective_words),
            annotations,
        },
        spec: Spec {
            description: truncate(
                &format!(
                    "Internal objective for tenant {}'s contract clause \"{}\": the tightest on the same metric \
                     that held with probability at least {} in slaplan's run ({} replications, seed {}).",
                    e.tenant,
                    e.contract,
                    trim_float(run.required_confidence),
                    run.replications,
                    run.seed
                ),
                1050,
            ),
            service: &e.tenant,
            indicator: Indicator {
                metadata: IndicatorMetadata {
                    name: format!(
                        "{}-sli",
                        e.name.chars().take(59).collect::<String>().trim_end_matches('-')
                    ),
                    display_name: e.objective_words.clone(),
                },
                spec: IndicatorSpec {
                    description: truncate(&e.sli.description, 1050),
                    ratio_metric: RatioMetric {
                        counter: true,
                        good: source(&e.sli.good),
                        total: source(&e.sli.total),
                    },
                },
            },
            time_window: vec![time_window(e.period)],
            budgeting_method: "Occurrences",
            objectives: vec![Objective {
                display_name: format!("internal: {}", e.objective_words),
                target: e.sli.target,
            }],
        },
    }
}

/// At most `max` characters.
fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Every exported clause's document, as one multi-document YAML stream.
pub(super) fn documents(export: &Export) -> Result<String, ExportError> {
    let mut out = String::from(
        "# OpenSLO v1 SLO documents written by `slaplan export-slo`: one per clause\n\
         # that maps to a gateway metric, at its internal objective.\n",
    );
    for e in &export.exported {
        let doc = document(export, e);
        let yaml = serde_norway::to_string(&doc).map_err(|err| ExportError::Yaml {
            what: "OpenSLO documents",
            message: err.to_string(),
        })?;
        out.push_str("---\n");
        out.push_str(&yaml);
    }
    Ok(out)
}
