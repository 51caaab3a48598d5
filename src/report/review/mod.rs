//! The review report of a run: `report.html`, `report.md` and
//! `charts/*.svg` + `*.png`, written into the run's output directory from
//! its files alone (`slaplan report OUTDIR`, `slaplan run --report`).
//!
//! - [`inputs`] reads `run.json`, `summary.csv` and the optional CSVs;
//! - [`charts`] draws each chart with plotters on an SVG and a bitmap
//!   backend, text in a font embedded in the binary;
//! - [`content`] decides what the report says, as a [`document::Document`];
//! - [`html`] and [`markdown`] render that document.
//!
//! **Architecture Invariant:** the report reads only the output directory:
//! it never runs the simulator nor opens the scenario file, so a report can
//! be regenerated from any archived output. The same directory gives the
//! same bytes: nothing depends on the clock, the machine's fonts or hash
//! order. Every file is written to a temporary name and renamed.

pub mod charts;
pub mod content;
mod contract;
pub mod document;
pub mod fidelity;
pub mod html;
pub mod inputs;
mod internal;
pub mod markdown;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use charts::{
    BudgetChart, CreditsChart, DrawError, FrontierChart, FrontierCurve, HeatmapChart, LatencyCdfChart,
    ProbabilityChart, Rendered, TimelineChart, render,
};
use inputs::Inputs;

use crate::plan::IntervalKind;
use crate::plan::frontier::Bounds;
use crate::plan::sequential::BetaMixture;

/// Writing the report failed.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A required input is missing or an input is malformed.
    #[error("{}: {problem}", path.display())]
    Input {
        /// The file (or directory) at fault.
        path: PathBuf,
        /// What is wrong and what was expected.
        problem: String,
    },
    /// A chart could not be drawn.
    #[error("cannot draw the {chart} chart: {message}")]
    Draw {
        /// The chart.
        chart: &'static str,
        /// Why.
        message: String,
    },
    /// A report file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl ReportError {
    /// Whether the error is the input's fault (the CLI exits 2) rather than
    /// the machine's (exit 1).
    pub fn is_input(&self) -> bool {
        matches!(self, ReportError::Input { .. })
    }
}

/// What [`write_report`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportSummary {
    /// Every file written, in order.
    pub written: Vec<PathBuf>,
    /// One sentence per chart not available in this output.
    pub unavailable: Vec<String>,
}

/// A chart of the report, in report order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChartId {
    /// P(hold) with interval per clause.
    Probability,
    /// Tenant × clause P(hold).
    Heatmap,
    /// P(hold) against a latency threshold.
    Frontier,
    /// Pooled latency distribution against the threshold.
    LatencyCdf,
    /// Error-budget burn-down.
    Budget,
    /// Outages and tier changes of one replication.
    Timeline,
    /// Expected service credits by tenant and clause (only when a clause
    /// carries a credit schedule).
    Credits,
}

impl ChartId {
    /// Every chart, in report order.
    pub const ALL: [ChartId; 7] = [
        ChartId::Probability,
        ChartId::Heatmap,
        ChartId::Frontier,
        ChartId::LatencyCdf,
        ChartId::Budget,
        ChartId::Timeline,
        ChartId::Credits,
    ];

    /// The file stem under `charts/`.
    pub fn file_stem(self) -> &'static str {
        match self {
            ChartId::Probability => "probability",
            ChartId::Heatmap => "heatmap",
            ChartId::Frontier => "frontier",
            ChartId::LatencyCdf => "latency_cdf",
            ChartId::Budget => "budget",
            ChartId::Timeline => "timeline",
            ChartId::Credits => "credits",
        }
    }

    /// The chart's title in the report.
    pub fn title(self) -> &'static str {
        match self {
            ChartId::Probability => "Probability that each clause holds",
            ChartId::Heatmap => "P(hold) by tenant and clause",
            ChartId::Frontier => "Frontier of the latency clauses",
            ChartId::LatencyCdf => "Latency distribution against the threshold",
            ChartId::Budget => "Error-budget burn-down",
            ChartId::Timeline => "Outages and tier changes (sample replication)",
            ChartId::Credits => "Expected service credits by tenant and clause",
        }
    }

    /// How to read it.
    pub fn caption(self) -> &'static str {
        match self {
            ChartId::Probability => {
                "Bar: share of judged windows in which the clause held, coloured by verdict (green enforceable, \
                 amber at risk, red not enforceable). Whisker: the interval. Dashed line: the required \
                 confidence; a clause is enforceable when its whisker lies entirely right of it."
            }
            ChartId::Heatmap => "One cell per clause: its P(hold), amber at the required confidence.",
            ChartId::Frontier => {
                "For each latency-like clause, P(hold) if its threshold were x (the share of windows whose value \
                 is at most x), and the lower end of its interval. The tightest enforceable threshold is where \
                 the lower end reaches the required confidence; the vertical line is the current threshold."
            }
            ChartId::LatencyCdf => {
                "Pooled distribution of each latency-like clause's metric over all replications and windows, \
                 against the clause's threshold; the dashed line marks the clause's percentile."
            }
            ChartId::Budget => {
                "Share of the error budget left, hour by hour through the window: median across replications \
                 and the 5-95% band. Below zero the budget is exhausted."
            }
            ChartId::Timeline => {
                "The outages and tier changes of one replication over the simulated period, one lane per \
                 endpoint (outages) or tenant (tier changes)."
            }
            ChartId::Credits => {
                "Bar: the expected service credits per year of each clause with a credit schedule (its \
                 exposure), whisker: the interval, red tick: the 95th percentile of a year's credits across \
                 replications."
            }
        }
    }
}

/// A chart drawn, or why it is not available.
#[derive(Clone, Debug, PartialEq)]
pub enum ChartState {
    /// Drawn.
    Drawn(Rendered),
    /// Not available in this output, and why.
    Missing(String),
}

/// Reads the output directory `dir` and writes `report.html`, `report.md`
/// and `charts/*.svg` + `*.png` into it.
pub fn write_report(dir: &Path) -> Result<ReportSummary, ReportError> {
    let inputs = inputs::read(dir)?;
    let charts = draw_charts(&inputs)?;
    let doc = content::document(&inputs, &charts);

    let mut written = Vec::new();
    let mut unavailable = Vec::new();
    let chart_dir = dir.join("charts");
    std::fs::create_dir_all(&chart_dir).map_err(|source| ReportError::Write {
        path: chart_dir.clone(),
        source,
    })?;
    let mut drawn = BTreeMap::new();
    for (id, state) in &charts {
        let svg = chart_dir.join(format!("{}.svg", id.file_stem()));
        let png = chart_dir.join(format!("{}.png", id.file_stem()));
        match state {
            ChartState::Drawn(r) => {
                write_atomically(&svg, r.svg.as_bytes())?;
                write_atomically(&png, &r.png)?;
                written.extend([svg, png]);
                drawn.insert(id.file_stem(), r.clone());
            }
            ChartState::Missing(reason) => {
                // A chart left by an earlier report of this directory would
                // contradict this one.
                for stale in [svg, png] {
                    if stale.exists() {
                        std::fs::remove_file(&stale).map_err(|source| ReportError::Write { path: stale, source })?;
                    }
                }
                unavailable.push(document::not_available(id.title(), reason));
            }
        }
    }
    let md = dir.join("report.md");
    write_atomically(&md, markdown::render(&doc).as_bytes())?;
    let page = dir.join("report.html");
    write_atomically(&page, html::render(&doc, &drawn).as_bytes())?;
    written.extend([md, page]);
    Ok(ReportSummary { written, unavailable })
}

/// The interval of a frontier chart's curve: the run's own, so a stopped
/// run's frontier is drawn on its confidence sequence (each replication of
/// the clause judged `windows / replications` windows).
fn frontier_bounds(run: &inputs::RunInfo, clause: &inputs::ClauseRow) -> Bounds {
    match run.interval_method {
        IntervalKind::ClopperPearson => Bounds::ClopperPearson(run.interval_level),
        IntervalKind::ConfidenceSequence => Bounds::Sequence {
            mixture: BetaMixture::new(run.interval_level, run.required_confidence),
            windows_per_replication: (clause.windows / run.replications.max(1)).max(1),
        },
    }
}

fn draw(chart: ChartId, figure: &impl charts::Figure) -> Result<ChartState, ReportError> {
    render(figure)
        .map(ChartState::Drawn)
        .map_err(|DrawError(message)| ReportError::Draw {
            chart: chart.file_stem(),
            message,
        })
}

/// Every chart of [`ChartId::ALL`], drawn or missing.
fn draw_charts(inputs: &Inputs) -> Result<Vec<(ChartId, ChartState)>, ReportError> {
    let run = &inputs.run;
    let mut out = Vec::new();
    for id in ChartId::ALL {
        let credited: Vec<&inputs::ClauseRow> = inputs.clauses.iter().filter(|c| c.credit.is_some()).collect();
        let state = match id {
            // Drawn only for runs with credits: no "not available" noise otherwise.
            ChartId::Credits if credited.is_empty() => continue,
            ChartId::Credits => draw(id, &CreditsChart { rows: credited })?,
            ChartId::Probability => draw(
                id,
                &ProbabilityChart {
                    rows: &inputs.clauses,
                    required: run.required_confidence,
                    interval: run.interval_method,
                },
            )?,
            ChartId::Heatmap => draw(
                id,
                &HeatmapChart {
                    rows: &inputs.clauses,
                    required: run.required_confidence,
                },
            )?,
            ChartId::Frontier => match &inputs.windows {
                None => ChartState::Missing(content::absent("windows.csv")),
                Some(windows) => {
                    let panels: Vec<_> = inputs
                        .clauses
                        .iter()
                        .filter_map(|c| {
                            let values = windows.get(&c.index).filter(|v| !v.values.is_empty())?;
                            Some((
                                c,
                                FrontierCurve::new(values, run.required_confidence, frontier_bounds(run, c)),
                            ))
                        })
                        .collect();
                    if panels.is_empty() {
                        ChartState::Missing("no latency-like clause has window values in windows.csv".into())
                    } else {
                        draw(
                            id,
                            &FrontierChart {
                                panels,
                                required: run.required_confidence,
                            },
                        )?
                    }
                }
            },
            ChartId::LatencyCdf => match &inputs.latency {
                None => ChartState::Missing(content::absent("latency.csv")),
                Some(latency) => {
                    let panels: Vec<_> = inputs
                        .clauses
                        .iter()
                        .filter(|c| c.is_latency_like())
                        .filter_map(|c| Some((c, latency.get(&c.index).filter(|p| !p.is_empty())?.as_slice())))
                        .collect();
                    if panels.is_empty() {
                        ChartState::Missing("latency.csv has no rows for a latency-like clause".into())
                    } else {
                        draw(id, &LatencyCdfChart { panels })?
                    }
                }
            },
            ChartId::Budget => match &inputs.budget {
                None => ChartState::Missing(content::absent("budget.csv")),
                Some(budget) => {
                    let panels: Vec<_> = inputs
                        .clauses
                        .iter()
                        .filter_map(|c| {
                            let (window, hours, count) = charts::budget_window(budget.get(&c.index)?)?;
                            let shown = if count > 1 {
                                format!("{window}, first of {count} windows")
                            } else {
                                window
                            };
                            Some((c, shown, hours))
                        })
                        .collect();
                    if panels.is_empty() {
                        ChartState::Missing("budget.csv has no rows for a clause of summary.csv".into())
                    } else {
                        draw(id, &BudgetChart { panels })?
                    }
                }
            },
            ChartId::Timeline => match &inputs.timeline {
                None => ChartState::Missing(content::absent("timeline.csv")),
                Some(spans) if spans.is_empty() => {
                    ChartState::Missing("the sample replication had no outage and no tier change".into())
                }
                Some(spans) => draw(
                    id,
                    &TimelineChart {
                        spans,
                        period_ms: run
                            .duration_ms
                            .or_else(|| run.windows.iter().map(|w| w.end_ns).max().map(|ns| ns as f64 / 1e6)),
                        endpoints: &run.endpoints,
                        tenants: &run.tenants,
                    },
                )?,
            },
        };
        out.push((id, state));
    }
    Ok(out)
}

/// Writes `bytes` to a temporary sibling of `path`, then renames it into place.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    super::atomic::write_file_atomically(path, bytes).map_err(|source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    })
}
