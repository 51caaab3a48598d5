//! `slaplan fit`: a scenario calibrated from production logs.
//!
//! This module owns turning a stream of [`CallRecord`]s into fitted laws
//! ([`Fit`]) and writing them as a scenario and a fit report. It reads logs
//! only through [`crate::logs`] and knows the scenario only as the TOML it
//! writes, which [`Fit::scenario_toml`] checks with the scenario loader
//! before returning it.
//!
//! One pass over the logs, in bounded memory: per endpoint weighted
//! least-squares sums, reservoir samples of fixed size (fixed seeds, so the
//! output is deterministic) and per-minute counters; per workflow per-hour
//! arrival counts, exact token-count tallies and the tasks still open.
//! Memory grows with the log's span and the range of token counts, never
//! with its rows.
//!
//! **Architecture Invariant:** `fit` never invents a parameter: a law with
//! too few rows falls back to a simpler one (or to the counts themselves)
//! and the report and the scenario's comments say so.

mod endpoint;
mod mmpp;
mod report;
mod stats;
pub mod status_page;
mod workload;
mod write;

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};

pub use endpoint::{
    EndpointFit, Estimate, Incident, LatencyFit, MIN_INCIDENTS, MIN_LATENCY_ROWS, OutageProcess, outage_process,
};
pub use mmpp::{ArrivalBins, MAX_BINS, MmppFit, fit as fit_bursts};
pub use stats::{Ks, kolmogorov_p};
pub use workload::{
    ArrivalFit, BURSTY_P, MIN_PROFILE_ARRIVALS, MIN_TOKEN_ROWS, Shapes, TokenFit, fit_arrivals, fit_tokens, quantiles,
};

use crate::logs::{CallRecord, LogError, LogReader, RecordKind};
use endpoint::EndpointAcc;
use workload::WorkflowAcc;

/// Why a fit could not be made or written.
#[derive(Debug, thiserror::Error)]
pub enum FitError {
    /// A log could not be read.
    #[error(transparent)]
    Log(#[from] LogError),
    /// The logs hold no model call.
    #[error("{files}: no model call in the log(s): nothing to fit")]
    NoCalls {
        /// The files, joined.
        files: String,
    },
    /// No model call names an endpoint, so there is nothing to route to.
    #[error(
        "{files}: no model call names an endpoint (LiteLLM: model_group or model; OTLP: gen_ai.request.model): no endpoint to fit"
    )]
    NoEndpoints {
        /// The files, joined.
        files: String,
    },
    /// The router file could not be read.
    #[error("{file}: {reason}")]
    Router {
        /// The router file.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// The written scenario did not pass validation (a bug in `fit`).
    #[error("the fitted scenario does not validate (please report this): {0}")]
    Invalid(String),
    /// A status-page record could not be opened.
    #[error("{file}: cannot open the status-page record: {source}")]
    RecordOpen {
        /// The file.
        file: String,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// A status-page record could not be read part-way.
    #[error("{file}:{line}: cannot read the status-page record: {reason}")]
    RecordRead {
        /// The file.
        file: String,
        /// The 1-based line.
        line: u64,
        /// What went wrong.
        reason: String,
    },
    /// A cell of a status-page record is malformed.
    #[error("{file}:{line}: field {field}: expected {expected}, got {got}")]
    Record {
        /// The file.
        file: String,
        /// The 1-based line.
        line: u64,
        /// The column (`header` for the whole header, `row` for the whole row).
        field: String,
        /// What the cell must hold.
        expected: String,
        /// What it held.
        got: String,
    },
    /// Only incident lists were given.
    #[error(
        "{files}: no daily outage record (columns Date, Service, partial_outage_minutes, major_outage_minutes): the profiles are fitted to its minutes"
    )]
    NoDailyRecord {
        /// The files, joined.
        files: String,
    },
    /// `--service` names a service the daily records do not have.
    #[error("--service {service}: no such service in the daily record(s); they have: {known}")]
    NoService {
        /// The service asked for.
        service: String,
        /// The services recorded, joined.
        known: String,
    },
    /// No chosen service gives an outage process (no minute of outage, or
    /// no day without one).
    #[error("{files}: no outage process to fit for {services}")]
    NoProfile {
        /// The files, joined.
        files: String,
        /// The services, each with why, joined.
        services: String,
    },
    /// A record's figures contradict one another.
    #[error("profile {profile}, process {process}: inconsistent record: {reason}")]
    Inconsistent {
        /// The profile.
        profile: String,
        /// The process (partial or major).
        process: String,
        /// What is wrong.
        reason: String,
    },
    /// The report could not be written.
    #[error("{path}: cannot write the fit report: {source}")]
    Write {
        /// The file or directory.
        path: String,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
}

/// Call ids remembered to count retries once.
const SEEN_CALLS: usize = 200_000;

/// Rows and records read, used and skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Lines read (each LiteLLM row, each OTLP export line).
    pub rows: u64,
    /// Records: model calls, tool calls, agent runs.
    pub records: u64,
    /// Model calls.
    pub model: u64,
    /// Tool calls.
    pub tools: u64,
    /// Agent runs.
    pub agents: u64,
    /// Model calls that repeat a call already counted (a retry or a
    /// fallback): used for their endpoint only.
    pub retries: u64,
    /// Model calls without an endpoint: used for the workload only.
    pub no_endpoint: u64,
    /// Model calls without token counts: not in the latency regression or the token laws.
    pub no_tokens: u64,
}

/// One log file read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSummary {
    /// Its path as given.
    pub path: String,
    /// Its format.
    pub format: &'static str,
    /// Lines read.
    pub rows: u64,
}

/// A count law (steps per task, sub-agents per task).
#[derive(Clone, Debug, PartialEq)]
pub enum CountFit {
    /// Always this many.
    Constant(u32),
    /// Geometric on 1, 2, … with this mean (maximum likelihood), and the KS
    /// distance of the counts to it.
    Geometric(Estimate, Ks),
}

/// A workflow's task shape.
#[derive(Clone, Debug, PartialEq)]
pub enum ShapeFit {
    /// One call per task (or no task ids in the log).
    Single,
    /// A chain of steps with optional tool calls.
    Chain {
        /// Steps per task.
        depth: CountFit,
        /// Tool call per step: probability, mean seconds, failure probability.
        tool: Option<(f64, f64, f64)>,
        /// Mean think time between steps, seconds.
        think: f64,
    },
    /// An orchestrator, sub-agents in parallel, an aggregator.
    Swarm {
        /// Sub-agents per task.
        agents: CountFit,
        /// Steps per sub-agent.
        depth: CountFit,
        /// Tool call per step: probability, mean seconds, failure probability.
        tool: Option<(f64, f64, f64)>,
    },
}

/// Everything fitted for one workflow.
#[derive(Clone, Debug)]
pub struct WorkflowFit {
    /// Arrivals.
    pub arrivals: ArrivalFit,
    /// Prompt tokens per call.
    pub input: TokenFit,
    /// Output tokens per successful call.
    pub output: TokenFit,
    /// The counts behind the token laws (for the Q-Q table).
    pub token_counts: (BTreeMap<u32, u64>, BTreeMap<u32, u64>),
    /// Task shape.
    pub shape: ShapeFit,
    /// Task shapes as counted.
    pub shapes: Shapes,
    /// Endpoints used, most calls first.
    pub endpoints: Vec<(String, u64)>,
    /// The model group used most.
    pub group: Option<String>,
    /// Model calls.
    pub calls: u64,
}

/// What the logs say, fitted.
#[derive(Clone, Debug)]
pub struct Fit {
    /// The files read, in order.
    pub files: Vec<FileSummary>,
    /// Rows and records.
    pub counts: Counts,
    /// First and last instants of the log (ns since the epoch).
    pub coverage: (u64, u64),
    /// Per endpoint, by name.
    pub endpoints: BTreeMap<String, EndpointFit>,
    /// Outage processes per endpoint, where enough incidents were seen.
    pub processes: BTreeMap<String, OutageProcess>,
    /// Per (tenant, workflow).
    pub workflows: BTreeMap<(String, String), WorkflowFit>,
}

/// Tenant and workflow of a record without them.
pub const DEFAULT_TENANT: &str = "default";
/// Workflow of a record without one.
pub const DEFAULT_WORKFLOW: &str = "default";

/// The streaming state of a fit.
#[derive(Default)]
pub struct Accumulator {
    files: Vec<FileSummary>,
    counts: Counts,
    first: u64,
    last: u64,
    endpoints: BTreeMap<String, EndpointAcc>,
    workflows: BTreeMap<(String, String), WorkflowAcc>,
    seen: HashSet<String>,
    seen_order: VecDeque<String>,
    latest: u64,
}

impl Accumulator {
    /// An empty fit.
    pub fn new() -> Accumulator {
        Accumulator {
            first: u64::MAX,
            ..Accumulator::default()
        }
    }

    /// Reads one log file to the end.
    pub fn read_file(&mut self, path: &Path) -> Result<(), FitError> {
        let mut reader = LogReader::open(path)?;
        for r in reader.by_ref() {
            self.add(&r?);
        }
        self.files.push(FileSummary {
            path: path.display().to_string(),
            format: reader.format().name(),
            rows: reader.rows(),
        });
        self.counts.rows += reader.rows();
        Ok(())
    }

    /// Adds one record.
    pub fn add(&mut self, r: &CallRecord) {
        self.counts.records += 1;
        match r.kind {
            RecordKind::Model => self.counts.model += 1,
            RecordKind::Tool => self.counts.tools += 1,
            RecordKind::Agent => self.counts.agents += 1,
        }
        self.latest = self.latest.max(r.start);
        if r.kind == RecordKind::Model {
            self.first = self.first.min(r.start);
            self.last = self.last.max(r.start);
            match &r.endpoint {
                Some(e) => self
                    .endpoints
                    .entry(e.clone())
                    .or_insert_with(|| EndpointAcc::new(e))
                    .add(r),
                None => self.counts.no_endpoint += 1,
            }
            if r.input_tokens.is_none() {
                self.counts.no_tokens += 1;
            }
            if let Some(call) = &r.call {
                if self.seen.contains(call) {
                    self.counts.retries += 1;
                    return;
                }
                self.seen.insert(call.clone());
                self.seen_order.push_back(call.clone());
                if self.seen_order.len() > SEEN_CALLS
                    && let Some(old) = self.seen_order.pop_front()
                {
                    self.seen.remove(&old);
                }
            }
        }
        let key = (
            r.tenant.clone().unwrap_or_else(|| DEFAULT_TENANT.into()),
            r.workflow.clone().unwrap_or_else(|| DEFAULT_WORKFLOW.into()),
        );
        let latest = self.latest;
        self.workflows.entry(key).or_default().add(r, latest);
    }

    /// Fits every law.
    pub fn finish(mut self) -> Result<Fit, FitError> {
        if self.counts.model == 0 {
            return Err(FitError::NoCalls {
                files: self
                    .files
                    .iter()
                    .map(|f| f.path.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        if self.endpoints.is_empty() {
            return Err(FitError::NoEndpoints {
                files: self
                    .files
                    .iter()
                    .map(|f| f.path.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let (from, to) = (self.first, self.last.max(self.first) + 1);
        let span = (to - from) as f64 / 1e9;
        let endpoints: BTreeMap<String, EndpointFit> = std::mem::take(&mut self.endpoints)
            .into_iter()
            .map(|(name, acc)| {
                let fit = acc.finish(&name);
                (name, fit)
            })
            .collect();
        let processes = endpoints
            .iter()
            .filter_map(|(n, e)| outage_process(&e.incidents, span).map(|p| (n.clone(), p)))
            .collect();
        let mut workflows = BTreeMap::new();
        for (key, mut acc) in std::mem::take(&mut self.workflows) {
            acc.sweep(u64::MAX);
            if acc.calls == 0 {
                continue;
            }
            let (input, output) = acc.tokens();
            let mut endpoints: Vec<(String, u64)> = acc.endpoints.iter().map(|(k, v)| (k.clone(), *v)).collect();
            endpoints.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let group = acc
                .groups
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
                .map(|g| g.0.clone());
            workflows.insert(
                key,
                WorkflowFit {
                    arrivals: workload::fit_arrivals(&acc.arrivals, &acc.bins, from, to),
                    input: fit_tokens(input),
                    output: fit_tokens(output),
                    token_counts: (input.clone(), output.clone()),
                    shape: shape(acc.shapes()),
                    shapes: acc.shapes().clone(),
                    endpoints,
                    group,
                    calls: acc.calls,
                },
            );
        }
        Ok(Fit {
            files: self.files,
            counts: self.counts,
            coverage: (from, to),
            endpoints,
            processes,
            workflows,
        })
    }
}

/// Fits the logs at `paths`, in order.
pub fn fit_logs(paths: &[PathBuf]) -> Result<Fit, FitError> {
    let mut acc = Accumulator::new();
    for p in paths {
        acc.read_file(p)?;
    }
    acc.finish()
}

/// Constant when every count is the same, else geometric by maximum likelihood.
fn count_fit(counts: &BTreeMap<u32, u64>) -> CountFit {
    let n: u64 = counts.values().sum();
    if counts.len() <= 1 {
        return CountFit::Constant(counts.keys().next().copied().unwrap_or(1).max(1));
    }
    let mean = counts
        .iter()
        .map(|(&k, &c)| f64::from(k.max(1)) * c as f64)
        .sum::<f64>()
        / n as f64;
    let p = 1.0 / mean;
    let var = (1.0 - p) / (p * p);
    let ks = stats::ks_counts(counts, |k| if k < 1.0 { 0.0 } else { 1.0 - (1.0 - p).powf(k.floor()) });
    CountFit::Geometric(Estimate::normal(mean, (var / n as f64).sqrt()), ks)
}

fn shape(s: &Shapes) -> ShapeFit {
    let multi: u64 = s.calls.iter().filter(|(k, _)| **k > 1).map(|(_, c)| *c).sum();
    if s.tasks == 0 || (multi * 2 < s.tasks && s.tools == 0) {
        return ShapeFit::Single;
    }
    let steps: u64 = s.depth.iter().map(|(&k, &c)| u64::from(k) * c).sum();
    let tool = (s.tools > 0).then(|| {
        let t = s.tools as f64;
        (
            (t / steps.max(1) as f64).min(1.0),
            s.tool_seconds / t,
            s.tool_failures as f64 / t,
        )
    });
    let swarms: u64 = s.agents.iter().filter(|(k, _)| **k > 1).map(|(_, c)| *c).sum();
    if swarms * 2 >= s.tasks {
        let agents: BTreeMap<u32, u64> = s
            .agents
            .iter()
            .filter(|(k, _)| **k > 0)
            .map(|(k, v)| (*k, *v))
            .collect();
        let total_agents: u64 = agents.iter().map(|(&k, &c)| u64::from(k) * c).sum();
        // Orchestrator and aggregator aside, the rest of the calls are the agents' steps.
        let per_agent = ((steps as f64 - 2.0 * s.tasks as f64) / total_agents.max(1) as f64).max(1.0);
        return ShapeFit::Swarm {
            agents: count_fit(&agents),
            depth: if per_agent <= 1.0 {
                CountFit::Constant(1)
            } else {
                CountFit::Geometric(Estimate::normal(per_agent, f64::NAN), Ks::new(0.0, 0))
            },
            tool,
        };
    }
    ShapeFit::Chain {
        depth: count_fit(&s.depth),
        tool,
        think: if s.think_gaps > 0 {
            s.think_seconds / s.think_gaps as f64
        } else {
            0.0
        },
    }
}
