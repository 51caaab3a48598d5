//! The scenario file's serde types: what a user writes.
//!
//! An endpoint, a tenant and a workflow embed the router's own types
//! ([`EndpointPolicy`], [`TenantPolicy`], [`WorkflowPolicy`]) with
//! `#[serde(flatten)]`, beside what only the simulated world knows, and
//! `[router]` is the router's [`RouterConfig`] itself (its endpoints and
//! tenants are the lists here): every router setting exists once, with one
//! default and one validation, and a field added to the router appears in
//! scenarios as is. Serde cannot refuse unknown keys next to a flattened
//! type, so [`super::decode`] does: a key no part of a table knows is an
//! error with its line.
//!
//! Each of the three derefs to its router type, so `endpoint.name` or
//! `tenant.class` reads the router's field: the scenario's type is the
//! router's, with the world's fields beside it.
//!
//! Every field is documented in `scenarios/README.md`. Types here only
//! parse; [`super::validate`] and the router ([`RouterConfig::problems`])
//! check ranges and cross-references and report every problem at once.

use serde::Deserialize;

use crate::policy::{EndpointPolicy, RouterConfig, TenantPolicy, WorkflowPolicy};

pub use super::workload::{Batch, Bursts, CountDist, ReplayMode, ReplaySource, Shape, Step, ToolStep, TraceFormatName};
use crate::time::Span;

/// A whole scenario: the simulated period, the endpoints, the tenants.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The simulated period and the seed.
    pub simulation: Simulation,
    /// Every endpoint.
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
    /// Every tenant.
    #[serde(default)]
    pub tenants: Vec<Tenant>,
    /// Router-wide policy: the router's own configuration, whose endpoints
    /// and tenants are the lists above (so they stay empty here, as does
    /// its seed, which the simulator derives from `simulation.seed`).
    #[serde(default)]
    pub router: RouterConfig,
    /// The directory relative paths (traces) are resolved against: the
    /// scenario file's own directory. Not written in the file.
    #[serde(skip)]
    pub base_dir: std::path::PathBuf,
    /// Stochastic outages: renewal processes per endpoint, provider or region.
    #[serde(default)]
    pub outage_processes: Vec<OutageProcess>,
    /// Settings that are valid but probably not what the author wants
    /// (e.g. one that lets a lower SLA class delay a higher one), found at
    /// load with their lines. Not written in the file.
    #[serde(skip)]
    pub warnings: Vec<super::Problem>,
}

/// The simulated period.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Simulation {
    /// First simulated instant, UTC: `"2026-01-01"` or `"2026-01-01T00:00:00"`.
    pub start: String,
    /// Length of the simulated period, e.g. `"31d"`.
    pub duration: Span,
    /// Master seed; every random draw derives from it.
    #[serde(default)]
    pub seed: u64,
    /// Monte Carlo replications of the period (overridable on the command line).
    #[serde(default = "one")]
    pub replications: u32,
    /// The overload guard: a replication stops, as an error, when more
    /// calls than this are in flight at once (none: `run`, `check` and
    /// `frontier` derive a limit from the machine's memory, or take
    /// `--max-live-calls`).
    #[serde(default)]
    pub max_live_calls: Option<std::num::NonZeroU64>,
}

fn one() -> u32 {
    1
}

/// One model at one provider in one region: what the router is configured
/// with, and what the simulated provider does.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Endpoint {
    /// The router's settings for this endpoint: `name`, `provider`,
    /// `region`, `max_concurrency` (in a scenario it defaults to
    /// `concurrency`, see [`Scenario::router_config`]), `attempt_timeout`,
    /// `rpm`, `tpm`, `breaker`, `expected_latency`, `reserved`, ...
    #[serde(flatten)]
    pub router: EndpointPolicy,
    /// Provider-side concurrency slots serving this endpoint for us.
    pub concurrency: u32,
    /// Provider-side queue length beyond the slots; an arrival to a full
    /// queue gets a 503 at once.
    #[serde(default)]
    pub queue_limit: u32,
    /// Probability that an attempt fails with a 5xx after its service time.
    #[serde(default)]
    pub error_probability: f64,
    /// How long a hard-down endpoint takes to answer with an error.
    #[serde(default = "default_error_latency")]
    pub error_latency: Span,
    /// Service time.
    pub latency: Latency,
    /// Scripted incidents.
    #[serde(default)]
    pub outages: Vec<Outage>,
    /// Requests per minute the provider grants our API key here (none: no
    /// limit); beyond it an attempt gets a 429 with a retry-after.
    #[serde(default)]
    pub provider_rpm: Option<u32>,
    /// Tokens (input + output) per minute the provider grants our API key.
    #[serde(default)]
    pub provider_tpm: Option<u64>,
    /// Background load by UTC hour of day: 24 factors multiplying the
    /// service time of attempts that start service in that hour (empty: 1).
    #[serde(default)]
    pub background: Vec<f64>,
    /// Price in USD per million input tokens.
    #[serde(default)]
    pub cost_per_million_input: f64,
    /// Price in USD per million output tokens.
    #[serde(default)]
    pub cost_per_million_output: f64,
    /// Quality score of the model served here, 0 to 1.
    #[serde(default = "full_quality")]
    pub quality: f64,
    /// Largest input, in tokens, the model accepts (none: no limit); a
    /// larger attempt fails at once, like a 400.
    #[serde(default)]
    pub context_window: Option<u32>,
    /// Where `slaplan serve` sends this endpoint's attempts (ignored by the
    /// simulator).
    #[serde(default)]
    pub upstream: Option<super::serving::Upstream>,
}

impl std::ops::Deref for Endpoint {
    type Target = EndpointPolicy;

    fn deref(&self) -> &EndpointPolicy {
        &self.router
    }
}

fn full_quality() -> f64 {
    1.0
}

fn default_error_latency() -> Span {
    Span::from_millis(20)
}

/// Service time of one attempt, from the moment it holds a slot.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case", deny_unknown_fields)]
pub enum Latency {
    /// `(ttft + per_input_token × in + per_output_token × out) × noise`,
    /// with lognormal noise of mean 1 and log-space deviation `sigma`.
    Lognormal {
        /// Time to first token, fixed part.
        ttft: Span,
        /// Prefill cost per input token.
        #[serde(default)]
        per_input_token: Span,
        /// Decode cost per output token.
        #[serde(default)]
        per_output_token: Span,
        /// Log-space standard deviation of the noise (0 for none).
        #[serde(default)]
        sigma: f64,
    },
    /// Exponential with the given mean, whatever the tokens: for validation
    /// against queueing theory.
    Exponential {
        /// Mean service time.
        mean: Span,
    },
}

/// A scripted incident.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outage {
    /// When it starts, as an offset from the simulation start (`"9d"`) or a
    /// UTC date-time (`"2026-01-10T03:00:00"`).
    pub start: String,
    /// How long it lasts.
    pub duration: Span,
    /// What the endpoint does meanwhile.
    #[serde(default)]
    pub mode: OutageKind,
    /// Brownout: factor on service time (default 1).
    #[serde(default)]
    pub latency_factor: Option<f64>,
    /// Brownout: probability that an attempt fails with a 5xx (default 0).
    #[serde(default)]
    pub error_probability: Option<f64>,
    /// Quota squeeze: the provider's lowered requests per minute.
    #[serde(default)]
    pub rpm: Option<u32>,
}

impl Outage {
    /// The behaviour meanwhile, with its parameters.
    pub fn behaviour(&self) -> OutageMode {
        OutageMode::resolve(self.mode, self.latency_factor, self.error_probability, self.rpm)
    }
}

/// The kind of an outage, as written (`mode = "brownout"`); its parameters
/// are sibling fields of the outage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutageKind {
    /// Every attempt fails fast with a 5xx (after `error_latency`).
    #[default]
    Down,
    /// Every attempt hangs with no answer until the router's attempt timeout.
    Hang,
    /// Slower and flakier: service time × `latency_factor`, errors with
    /// `error_probability`.
    Brownout,
    /// The provider's requests-per-minute limit drops to `rpm`.
    QuotaSqueeze,
}

/// What an endpoint does during an outage, with the mode's parameters.
///
/// Severity, used when incidents overlap: `Down` > `Hang` > `Brownout` >
/// `QuotaSqueeze` (see [`OutageMode::severity`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OutageMode {
    /// Every attempt fails fast with a 5xx (after `error_latency`).
    Down,
    /// Every attempt hangs with no answer until the router's attempt timeout.
    Hang,
    /// Service time × `latency_factor`; each attempt fails with a 5xx with
    /// probability `error_probability` (instead of the endpoint's own).
    Brownout {
        /// Factor on service time, ≥ 0 (1 for none).
        latency_factor: f64,
        /// Probability of a 5xx, 0 to 1.
        error_probability: f64,
    },
    /// The provider's requests-per-minute limit drops to `rpm`.
    QuotaSqueeze {
        /// The lowered limit.
        rpm: u32,
    },
}

impl OutageMode {
    /// The mode's name as scenarios write it: `down`, `hang`, `brownout`,
    /// `quota_squeeze`.
    pub fn name(&self) -> &'static str {
        match self {
            OutageMode::Down => "down",
            OutageMode::Hang => "hang",
            OutageMode::Brownout { .. } => "brownout",
            OutageMode::QuotaSqueeze { .. } => "quota_squeeze",
        }
    }

    /// The mode of `kind` with its parameters (defaults: factor 1, error
    /// probability 0, rpm 0).
    pub fn resolve(
        kind: OutageKind,
        latency_factor: Option<f64>,
        error_probability: Option<f64>,
        rpm: Option<u32>,
    ) -> OutageMode {
        match kind {
            OutageKind::Down => OutageMode::Down,
            OutageKind::Hang => OutageMode::Hang,
            OutageKind::Brownout => OutageMode::Brownout {
                latency_factor: latency_factor.unwrap_or(1.0),
                error_probability: error_probability.unwrap_or(0.0),
            },
            OutageKind::QuotaSqueeze => OutageMode::QuotaSqueeze { rpm: rpm.unwrap_or(0) },
        }
    }

    /// Rank for overlapping incidents: the higher wins. Down 3, Hang 2,
    /// Brownout 1, QuotaSqueeze 0.
    pub fn severity(self) -> u8 {
        match self {
            OutageMode::Down => 3,
            OutageMode::Hang => 2,
            OutageMode::Brownout { .. } => 1,
            OutageMode::QuotaSqueeze { .. } => 0,
        }
    }

    /// The worse of two modes in force at once: the more severe; two of
    /// the same kind combine to the worst of each parameter.
    pub fn worst(self, other: OutageMode) -> OutageMode {
        match (self, other) {
            (
                OutageMode::Brownout {
                    latency_factor: a,
                    error_probability: p,
                },
                OutageMode::Brownout {
                    latency_factor: b,
                    error_probability: q,
                },
            ) => OutageMode::Brownout {
                latency_factor: a.max(b),
                error_probability: p.max(q),
            },
            (OutageMode::QuotaSqueeze { rpm: a }, OutageMode::QuotaSqueeze { rpm: b }) => {
                OutageMode::QuotaSqueeze { rpm: a.min(b) }
            }
            _ if other.severity() > self.severity() => other,
            _ => self,
        }
    }
}

/// A stochastic outage process: an alternating renewal process of up
/// times and repair times, hitting one endpoint, every endpoint of a
/// provider, or every endpoint in a region, all at the same instants.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutageProcess {
    /// Scope: one endpoint, by name.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Scope: every endpoint whose `provider` is this.
    #[serde(default)]
    pub provider: Option<String>,
    /// Scope: every endpoint whose `region` is this.
    #[serde(default)]
    pub region: Option<String>,
    /// A profile from `data/providers.toml` supplying mtbf, mttr, laws and
    /// mode; fields written here override it.
    #[serde(default)]
    pub profile: Option<String>,
    /// Mean time between failures: mean up time between two incidents.
    #[serde(default)]
    pub mtbf: Option<Span>,
    /// Mean time to repair: mean incident length.
    #[serde(default)]
    pub mttr: Option<Span>,
    /// Law of the up times (default exponential).
    #[serde(default)]
    pub uptime: Option<Law>,
    /// Log-space deviation of the up times when lognormal.
    #[serde(default)]
    pub uptime_sigma: Option<f64>,
    /// Law of the repair times (default exponential).
    #[serde(default)]
    pub repair: Option<Law>,
    /// Log-space deviation of the repair times when lognormal.
    #[serde(default)]
    pub repair_sigma: Option<f64>,
    /// What the endpoints do during an incident (default down).
    #[serde(default)]
    pub mode: Option<OutageKind>,
    /// Brownout: factor on service time.
    #[serde(default)]
    pub latency_factor: Option<f64>,
    /// Brownout: probability of a 5xx.
    #[serde(default)]
    pub error_probability: Option<f64>,
    /// Quota squeeze: the lowered requests per minute.
    #[serde(default)]
    pub rpm: Option<u32>,
}

/// A law of positive durations with a given mean.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Law {
    /// Exponential (memoryless).
    Exponential,
    /// Lognormal with log-space deviation `sigma` (a heavier right tail).
    Lognormal,
}

/// A customer: the router's settings for it, its workflows and its
/// contract clauses.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Tenant {
    /// The router's settings for this tenant: `name`, `class`, `chain`,
    /// `retry`, `allowed_tiers`, `regions`, ... Its `workflows` stay empty
    /// here: the tenant's workflows are the list below, whose router
    /// settings [`Scenario::router_config`] copies in.
    #[serde(flatten)]
    pub router: TenantPolicy,
    /// The tenant's workflows.
    pub workflows: Vec<Workflow>,
    /// The tenant's contract clauses.
    #[serde(default)]
    pub clauses: Vec<Clause>,
    /// How `slaplan serve` recognises this tenant's API key (ignored by the
    /// simulator).
    #[serde(default)]
    pub auth: Option<super::serving::TenantAuth>,
}

impl std::ops::Deref for Tenant {
    type Target = TenantPolicy;

    fn deref(&self) -> &TenantPolicy {
        &self.router
    }
}

/// A kind of agent task inside a tenant.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Workflow {
    /// The router's settings for this workflow: `name` (unique within the
    /// tenant) and `allowed_tiers`.
    #[serde(flatten)]
    pub router: WorkflowPolicy,
    /// Base Poisson arrival rate of tasks, per second (a task is one call
    /// unless `shape` says otherwise), before the profiles below. Required
    /// unless the workflow replays a trace, where it must be left out.
    #[serde(default)]
    pub rate: Option<f64>,
    /// 24 factors multiplying `rate` by hour of day (UTC, hour 0 first).
    #[serde(default)]
    pub diurnal: Option<Vec<f64>>,
    /// 7 factors multiplying `rate` by day of week (Monday first).
    #[serde(default)]
    pub weekly: Option<Vec<f64>>,
    /// On/off bursts: a two-state Markov-modulated Poisson process.
    #[serde(default)]
    pub bursts: Option<Bursts>,
    /// Scheduled batches, e.g. every day at 02:00.
    #[serde(default)]
    pub batches: Vec<Batch>,
    /// Each task must finish within this long of its arrival.
    #[serde(default)]
    pub deadline: Option<Span>,
    /// What one task does: a single call (default), a chain, or a swarm.
    #[serde(default)]
    pub shape: Shape,
    /// Extra input tokens a call carries when its task moves to another
    /// endpoint mid-task (session migration; 0: none).
    #[serde(default)]
    pub migration_tokens: u32,
    /// Replay arrivals and token counts from a trace instead of `rate`
    /// (each trace row is one task; its first call carries the row's
    /// tokens), or replay recorded agent sessions whole, in closed loop.
    #[serde(default)]
    pub replay: Option<ReplaySource>,
    /// Prompt tokens per call.
    #[serde(default = "default_input_tokens")]
    pub input_tokens: TokenDist,
    /// Output tokens per call.
    #[serde(default = "default_output_tokens")]
    pub output_tokens: TokenDist,
}

impl std::ops::Deref for Workflow {
    type Target = WorkflowPolicy;

    fn deref(&self) -> &WorkflowPolicy {
        &self.router
    }
}

fn default_input_tokens() -> TokenDist {
    TokenDist::Constant { value: 1000 }
}

fn default_output_tokens() -> TokenDist {
    TokenDist::Constant { value: 200 }
}

/// A distribution of token counts.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum TokenDist {
    /// Always `value`.
    Constant {
        /// The count.
        value: u32,
    },
    /// Uniform on `min..=max`.
    Uniform {
        /// Smallest count.
        min: u32,
        /// Largest count.
        max: u32,
    },
    /// Lognormal with the given mean and log-space deviation, rounded, at least 1.
    Lognormal {
        /// Mean count.
        mean: f64,
        /// Log-space standard deviation.
        sigma: f64,
    },
    /// An empirical law given by equally spaced quantiles: `quantiles[0]` is
    /// the minimum, the last the maximum, and `quantiles[k]` the
    /// k/(n-1)-quantile; a draw interpolates linearly between neighbours
    /// and rounds (what `slaplan fit` writes when no parametric law fits).
    Empirical {
        /// Non-decreasing token counts, at least two.
        quantiles: Vec<u32>,
    },
}

/// A contract term, judged per calendar month.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Clause {
    /// What is measured: `"latency"`, `"ttft"`, `"availability"`,
    /// `"task_latency"`, `"task_availability"`, `"degradation"`, `"uptime"`,
    /// `"fallback_time"`, `"notification"`, `"cost"`, `"throughput"`,
    /// `"eval_pass_rate"` or `"mean_quality"`.
    pub metric: ClauseMetric,
    /// Restrict to one workflow of the tenant (default: all its calls).
    #[serde(default)]
    pub workflow: Option<String>,
    /// For latency: the percentile, strictly between 0 and 100.
    #[serde(default)]
    pub percentile: Option<f64>,
    /// For latency: the ceiling the percentile must stay under.
    #[serde(default)]
    pub threshold: Option<Span>,
    /// For availability: the share of calls that must succeed, in (0, 1];
    /// for eval pass rate: the share of sampled calls that must pass; for
    /// mean quality: the floor of the mean quality, in (0, 1]; for degradation: the largest share of served calls allowed below
    /// `tier`, in [0, 1] (0 for "never").
    #[serde(default)]
    pub target: Option<f64>,
    /// For degradation: the lowest tier that does not count as degraded
    /// (e.g. 1 for "never below tier 1").
    #[serde(default)]
    pub tier: Option<u8>,
    /// For uptime: a minute is up when at most this share of the calls
    /// finishing in it failed (default 0: any failure takes it down).
    #[serde(default)]
    pub max_error_ratio: Option<f64>,
    /// For cost: the ceiling in USD.
    #[serde(default)]
    pub budget: Option<f64>,
    /// For cost: `"task"` (mean cost per task, the default) or `"window"`.
    #[serde(default)]
    pub per: Option<crate::sla::CostBasis>,
    /// For throughput: the contracted rate in calls per minute.
    #[serde(default)]
    pub rpm: Option<f64>,
    /// For eval pass rate: the calls sampled from each window for the
    /// evaluation (all of them when the window has fewer), at least 1.
    #[serde(default)]
    pub samples: Option<u32>,
    /// The windows the clause is judged over: `"month"` (default), `"week"`,
    /// `"day"` or `"rolling Nd"`.
    #[serde(default)]
    pub window: Option<crate::sla::Period>,
    /// The monthly fee (USD) the credit schedule's shares are of; required
    /// with `credits`.
    #[serde(default)]
    pub monthly_fee: Option<f64>,
    /// Service credits: steps of a level on the clause's metric and a share
    /// of the monthly fee, e.g. `[{ below = 0.999, credit = 0.10 }]`.
    #[serde(default)]
    pub credits: Option<Vec<CreditStep>>,
}

/// One step of a clause's credit schedule: a month whose metric is below
/// (for a floor such as availability) or above (for a ceiling such as
/// latency) `level` owes `credit` of the monthly fee.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditStep {
    /// The level of a floor clause (availability, uptime, throughput, ...).
    #[serde(default)]
    pub below: Option<StepLevel>,
    /// The level of a ceiling clause (latency, degradation, cost, ...).
    #[serde(default)]
    pub above: Option<StepLevel>,
    /// The share of the monthly fee owed, in (0, 1].
    pub credit: f64,
}

/// A credit step's level, written as the clause's own threshold is: a
/// duration for latency-like clauses, a number (share or USD) otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum StepLevel {
    /// A share or an amount.
    Number(f64),
    /// A duration, e.g. `"2s"`.
    Duration(Span),
}

/// What a clause measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClauseMetric {
    /// A percentile of call latency (submission to completion) ≤ threshold.
    Latency,
    /// Successful / submitted calls ≥ target.
    Availability,
    /// A percentile of task latency (arrival to last call) ≤ threshold.
    TaskLatency,
    /// Successful / started tasks ≥ target (a task succeeds when every
    /// call it needed succeeded, no tool failed, before its deadline).
    TaskAvailability,
    /// Served calls whose tier is worse than `tier` / served calls ≤ target.
    Degradation,
    /// Minutes whose error ratio ≤ `max_error_ratio` / minutes ≥ target.
    Uptime,
    /// A percentile (default: every event) of the time from a call's first
    /// failure on its first endpoint to its dispatch elsewhere ≤ threshold.
    FallbackTime,
    /// A percentile (default: every one) of the time from the failure that
    /// degraded the tenant to the router's degradation notice ≤ threshold.
    Notification,
    /// Cost per task (mean) or per window ≤ budget (USD).
    Cost,
    /// Every minute, the calls capacity did not turn away, of those
    /// submitted in it, reach the smaller of the calls submitted and the
    /// contracted `rpm`.
    Throughput,
    /// A percentile of calls' time to first token (submission to the first
    /// token of the attempt that served the call) ≤ threshold.
    Ttft,
    /// The pass rate of an evaluation of `samples` calls drawn uniformly
    /// without replacement from the window's calls ≥ target: each sampled
    /// call passes with the quality of the endpoint that served it (a call
    /// never served has no answer and fails).
    EvalPassRate,
    /// The mean quality of the endpoints that served the window's calls
    /// (0 for a call never served) ≥ target.
    MeanQuality,
}
