//! Workloads: when calls arrive and how big they are.

use rand_distr::{Distribution, LogNormal};

use super::arrivals::{Arrivals, BatchCursor};
use crate::engine::{self, Rng};
use crate::policy::{TenantId, WorkflowId};
use std::path::Path;

use super::trace::{
    DEFAULT_LOOKAHEAD, RecordedSession, Replay, ReplayRules, SessionFormat, SessionReader, SessionReplay, TraceFormat,
    TraceReader,
};
use crate::scenario::{CountDist, ReplaySource, Scenario, Shape, Step, TokenDist, ToolStep, TraceFormatName, Workflow};
use crate::time::{Span, round_half_away};
use chrono::NaiveDateTime;
use rand::RngExt;

/// A token-count law, ready to sample.
#[derive(Clone, Debug)]
pub enum Tokens {
    /// Always this many.
    Constant(u32),
    /// Uniform on the closed range.
    Uniform(u32, u32),
    /// Rounded lognormal, at least 1.
    Lognormal(LogNormal<f64>),
    /// Equally spaced quantiles, interpolated linearly and rounded.
    Empirical(Vec<u32>),
}

impl Tokens {
    /// From the scenario's description (validated).
    pub fn from_config(dist: &TokenDist) -> Tokens {
        match *dist {
            TokenDist::Empirical { ref quantiles } => match quantiles.len() {
                0 => Tokens::Constant(0),
                1 => Tokens::Constant(quantiles[0]),
                _ => Tokens::Empirical(quantiles.clone()),
            },
            TokenDist::Constant { value } => Tokens::Constant(value),
            TokenDist::Uniform { min, max } => Tokens::Uniform(min, max.max(min)),
            TokenDist::Lognormal { mean, sigma } => {
                // Choose mu so that the mean of the lognormal is `mean`.
                let mu = mean.max(1e-9).ln() - 0.5 * sigma * sigma;
                match LogNormal::new(mu, sigma.max(0.0)) {
                    Ok(d) => Tokens::Lognormal(d),
                    Err(_) => Tokens::Constant(mean.round().max(1.0) as u32),
                }
            }
        }
    }

    /// One draw. Inlined: every model call draws two, and the call
    /// overhead was a tenth of the draw.
    #[inline]
    pub fn sample<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> u32 {
        match self {
            Tokens::Constant(v) => *v,
            Tokens::Uniform(lo, hi) => rng.random_range(*lo..=*hi),
            Tokens::Lognormal(d) => at_least_one_token(d.sample(rng)),
            Tokens::Empirical(q) => {
                let x = rng.random::<f64>() * (q.len() - 1) as f64;
                let k = (x as usize).min(q.len() - 2);
                let (lo, hi) = (f64::from(q[k]), f64::from(q[k + 1]));
                round_half_away(lo + (hi - lo) * (x - k as f64)) as u32
            }
        }
    }
}

/// `x` rounded half away from zero, clamped to `1..=u32::MAX`:
/// `round_half_away(x).clamp(1.0, f64::from(u32::MAX)) as u32` (NaN gives 0,
/// as there), with one truncation instead of the general rounding's range
/// checks (a lognormal draw per token count makes this hot).
fn at_least_one_token(x: f64) -> u32 {
    const MAX: f64 = u32::MAX as f64;
    if x < MAX {
        // Truncation toward zero is exact below 2^32, and so is the
        // fraction left; below zero it saturates to 0 and 1 is the answer.
        let whole = x as u32;
        let up = x - f64::from(whole) >= 0.5;
        (whole + u32::from(up)).max(1)
    } else if x >= MAX {
        u32::MAX
    } else {
        0
    }
}

/// A count law, ready to sample.
#[derive(Clone, Debug)]
pub enum Count {
    /// Always this many.
    Constant(u32),
    /// Uniform on the closed range.
    Uniform(u32, u32),
    /// Geometric on 1, 2, … with success probability `p` (mean 1/p).
    Geometric(f64),
}

impl Count {
    fn from_config(dist: &CountDist) -> Count {
        match *dist {
            CountDist::Constant { value } => Count::Constant(value),
            CountDist::Uniform { min, max } => Count::Uniform(min, max.max(min)),
            CountDist::Geometric { mean } => Count::Geometric(1.0 / mean.max(1.0)),
        }
    }

    /// One draw.
    pub fn sample<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> u32 {
        match *self {
            Count::Constant(v) => v,
            Count::Uniform(lo, hi) => rng.random_range(lo..=hi),
            Count::Geometric(p) => {
                if p >= 1.0 {
                    return 1;
                }
                // Inversion: ceil(ln U / ln(1 - p)) is geometric on 1, 2, ...
                let u: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
                (u.ln() / (1.0 - p).ln()).ceil().clamp(1.0, 1e6) as u32
            }
        }
    }
}

/// One agent's steps, resolved.
#[derive(Clone, Debug)]
pub struct StepPlan {
    /// Steps per agent.
    pub depth: Count,
    /// Mean think time.
    pub think: Span,
    /// Tool call after each step.
    pub tool: Option<ToolStep>,
    /// Whether context grows.
    pub grow_context: bool,
    /// Context cap.
    pub max_context: u32,
}

impl StepPlan {
    fn from_config(step: &Step) -> StepPlan {
        StepPlan {
            depth: Count::from_config(&step.depth),
            think: step.think,
            tool: step.tool.clone(),
            grow_context: step.grow_context,
            max_context: step.max_context,
        }
    }
}

/// A task's shape, resolved.
#[derive(Clone, Debug)]
pub enum TaskPlan {
    /// One call.
    Single,
    /// A chain.
    Chain(StepPlan),
    /// A swarm.
    Swarm {
        /// Sub-agents.
        agents: Count,
        /// What each does.
        agent: StepPlan,
        /// Whether an aggregator call ends it.
        aggregator: bool,
    },
}

/// Everything needed to generate a workflow's tasks.
#[derive(Clone, Debug)]
pub struct WorkPlan {
    /// Shape of each task.
    pub shape: TaskPlan,
    /// Base prompt tokens per call.
    pub input: Tokens,
    /// Output tokens per call.
    pub output: Tokens,
    /// Task deadline.
    pub deadline: Option<Span>,
    /// Largest input a call may carry (context windows), in tokens.
    pub input_cap: u32,
}

/// Opens the trace a workflow replays, with its time shaping applied;
/// `period` is the simulated period (for looping). Errors are sentences
/// naming the trace file, the line and the field.
pub fn open_replay(cfg: &ReplaySource, base_dir: &Path, period: Span) -> Result<Replay, String> {
    let format = match cfg.format {
        TraceFormatName::Generic => TraceFormat::Generic,
        TraceFormatName::Azure => TraceFormat::Azure,
        TraceFormatName::Mooncake => TraceFormat::Mooncake,
        TraceFormatName::SlaplanLog => TraceFormat::SlaplanLog,
        TraceFormatName::Otlp | TraceFormatName::CopilotAgent => {
            return Err(format!(
                "format {:?} records whole sessions: expected mode = \"closed_loop\"",
                cfg.format.name()
            ));
        }
    };
    let reader = TraceReader::open(base_dir.join(&cfg.path), format).map_err(|e| e.to_string())?;
    let rules = ReplayRules {
        time_scale: cfg.time_scale,
        loop_to_fill: cfg.loop_to_fill.then_some(period),
        ..ReplayRules::default()
    };
    rules.apply(reader).map_err(|e| e.to_string())
}

/// Opens the recorded sessions a workflow replays in closed loop, with
/// their time shaping applied; `period` is the simulated period (for
/// looping). Errors are sentences naming the file, the line and the field.
pub fn open_sessions(cfg: &ReplaySource, base_dir: &Path, period: Span) -> Result<SessionReplay, String> {
    let format = match cfg.format {
        TraceFormatName::Otlp => SessionFormat::Otlp,
        TraceFormatName::CopilotAgent => SessionFormat::CopilotAgent,
        TraceFormatName::SlaplanLog => SessionFormat::SlaplanLog,
        other => {
            return Err(format!(
                "format {:?} records no call ends, tools or sessions: a closed-loop replay expects \
                 format \"otlp\", \"copilot-agent\" or \"slaplan-log\"",
                other.name()
            ));
        }
    };
    let lookahead = cfg.lookahead.unwrap_or(DEFAULT_LOOKAHEAD);
    let reader = SessionReader::open(base_dir.join(&cfg.path), format, lookahead).map_err(|e| e.to_string())?;
    let rules = ReplayRules {
        time_scale: cfg.time_scale,
        loop_to_fill: cfg.loop_to_fill.then_some(period),
        ..ReplayRules::default()
    };
    rules.apply_sessions(reader).map_err(|e| e.to_string())
}

/// Recorded sessions feeding one workflow in closed loop, with the session
/// filter applied: the next session waits here from its scheduling to its
/// arrival.
pub struct SessionFeed {
    replay: SessionReplay,
    tenant: Option<String>,
    workflow: Option<String>,
    next: Option<RecordedSession>,
}

impl SessionFeed {
    /// Reads the next session for this workflow and keeps it; returns its
    /// offset. A read error ends the feed (the whole file was checked at
    /// load time).
    pub fn advance(&mut self) -> Option<Span> {
        loop {
            let r = self.replay.next()?.ok()?;
            let wanted = |filter: &Option<String>, value: &Option<String>| {
                filter.as_ref().is_none_or(|f| value.as_deref() == Some(f.as_str()))
            };
            if wanted(&self.tenant, &r.session.tenant) && wanted(&self.workflow, &r.session.workflow) {
                self.next = Some(r.session);
                return Some(r.at);
            }
        }
    }

    /// The session read by the last [`SessionFeed::advance`], if not yet taken.
    pub fn take(&mut self) -> Option<RecordedSession> {
        self.next.take()
    }
}

/// A replayed trace feeding one workflow, with the row filter applied.
pub struct TraceFeed {
    replay: Replay,
    tenant: Option<String>,
    workflow: Option<String>,
}

impl TraceFeed {
    /// The next row for this workflow: its offset and (input, output) tokens.
    /// A read error ends the feed (the whole trace was checked at load time).
    pub fn next_row(&mut self) -> Option<(Span, u32, u32)> {
        loop {
            let r = self.replay.next()?.ok()?.record;
            let wanted = |filter: &Option<String>, value: &Option<String>| {
                filter.as_ref().is_none_or(|f| value.as_deref() == Some(f.as_str()))
            };
            if wanted(&self.tenant, &r.tenant) && wanted(&self.workflow, &r.workflow) {
                return Some((r.at, r.input_tokens, r.output_tokens));
            }
        }
    }
}

/// One workflow's task source: arrivals and the draws that shape its tasks.
pub struct Source {
    /// The tenant.
    pub tenant: TenantId,
    /// The workflow within the tenant.
    pub workflow: WorkflowId,
    /// Shaped Poisson arrivals.
    pub arrivals: Arrivals,
    /// Daily batches.
    pub batches: Vec<BatchCursor>,
    /// The task plan.
    pub plan: WorkPlan,
    /// The seed of the draws for tokens and shapes (separate from
    /// arrivals, so changing a shape does not move arrival times): task `i`
    /// of this workflow draws from `engine::keyed_seed(work_seed, i)`, so a
    /// task is the same whatever the order in which calls complete.
    pub work_seed: u64,
    /// Tasks begun so far (the next task's index in the arrivals).
    pub tasks_begun: u64,
    /// A replayed trace, replacing `arrivals` when present.
    pub trace: Option<TraceFeed>,
    /// Recorded sessions replayed in closed loop, replacing `arrivals`
    /// and `shape` when present.
    pub sessions: Option<SessionFeed>,
}

impl Source {
    /// The draw seed of the next task to begin (the workflow's task
    /// `tasks_begun`), counting it as begun.
    pub fn next_task_seed(&mut self) -> u64 {
        let seed = engine::keyed_seed(self.work_seed, self.tasks_begun);
        self.tasks_begun += 1;
        seed
    }

    /// Caps every call's input (prompt plus grown context) at `cap` tokens,
    /// the smallest context window of the tenant's chain: the agent compacts
    /// its history rather than overflow the model.
    pub fn with_context_cap(mut self, cap: u32) -> Source {
        self.plan.input_cap = self.plan.input_cap.min(cap);
        self
    }

    /// Replays `replay` (rows filtered by `cfg`'s tenant and workflow) instead
    /// of drawing arrivals.
    pub fn with_trace(mut self, replay: Replay, cfg: &ReplaySource) -> Source {
        self.trace = Some(TraceFeed {
            replay,
            tenant: cfg.tenant.clone(),
            workflow: cfg.workflow.clone(),
        });
        self
    }

    /// Replays the sessions of `replay` (filtered by `cfg`'s tenant and
    /// workflow) in closed loop instead of drawing arrivals and shapes.
    pub fn with_sessions(mut self, replay: SessionReplay, cfg: &ReplaySource) -> Source {
        self.sessions = Some(SessionFeed {
            replay,
            tenant: cfg.tenant.clone(),
            workflow: cfg.workflow.clone(),
            next: None,
        });
        self
    }

    /// Workflow `workflow` of tenant `tenant` of `scenario`, drawn from
    /// replication `replication` of `seed` (streams
    /// `arrivals/TENANT/WORKFLOW` and `work/TENANT/WORKFLOW`, the latter keyed
    /// by task), its inputs
    /// capped at the smallest context window of the tenant's chain; without
    /// its trace (see [`Source::with_trace`]). The simulator's world and
    /// `load` both build their sources here.
    pub fn of_scenario(scenario: &Scenario, tenant: usize, workflow: usize, seed: u64, replication: u64) -> Source {
        let t = &scenario.tenants[tenant];
        let w = &t.workflows[workflow];
        let arrivals = engine::stream(seed, replication, &format!("arrivals/{}/{}", t.name, w.name));
        let work = engine::stream_seed(seed, replication, &format!("work/{}/{}", t.name, w.name));
        let (tid, wid) = (TenantId(tenant as u32), WorkflowId(workflow as u32));
        let source = Source::new(tid, wid, w, scenario.start(), arrivals, work);
        let window = t
            .chain
            .iter()
            .filter_map(|c| scenario.endpoints.iter().find(|e| e.name == c.endpoint))
            .filter_map(|e| e.context_window)
            .min();
        match window {
            Some(window) => source.with_context_cap(window),
            None => source,
        }
    }

    /// The source of `config` for a simulation starting at `start`.
    pub fn new(
        tenant: TenantId,
        workflow: WorkflowId,
        config: &Workflow,
        start: NaiveDateTime,
        arrivals_rng: Rng,
        work_seed: u64,
    ) -> Source {
        let shape = match &config.shape {
            Shape::Single => TaskPlan::Single,
            Shape::Chain(step) => TaskPlan::Chain(StepPlan::from_config(step)),
            Shape::Swarm {
                agents,
                agent,
                aggregator,
            } => TaskPlan::Swarm {
                agents: Count::from_config(agents),
                agent: StepPlan::from_config(agent),
                aggregator: *aggregator,
            },
        };
        Source {
            tenant,
            workflow,
            arrivals: Arrivals::new(config, start, arrivals_rng),
            batches: config
                .batches
                .iter()
                .filter_map(|b| BatchCursor::new(b, start))
                .collect(),
            plan: WorkPlan {
                shape,
                input: Tokens::from_config(&config.input_tokens),
                output: Tokens::from_config(&config.output_tokens),
                deadline: config.deadline,
                input_cap: u32::MAX,
            },
            work_seed,
            tasks_begun: 0,
            trace: None,
            sessions: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The token rounding gives the general rounding's answer: at the
    /// edges (halves, the ends of `u32`, zero, negatives, infinities, NaN)
    /// and at a million doubles spread over every magnitude.
    #[test]
    fn token_rounding_matches_the_general_rounding() {
        let plain = |x: f64| round_half_away(x).clamp(1.0, f64::from(u32::MAX)) as u32;
        let max = f64::from(u32::MAX);
        let mut xs = vec![
            0.0,
            -0.0,
            0.49999999999999994,
            0.5,
            1.5,
            2.5,
            -0.5,
            -0.7,
            -3.5,
            max - 0.5,
            max - 0.500_000_1,
            max,
            max + 0.5,
            max + 1.0,
            1e300,
            f64::MIN_POSITIVE,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        let mut rng = engine::stream(1, 0, "rounding");
        for _ in 0..1_000_000 {
            let bits: u64 = rng.random();
            let x = f64::from_bits(bits);
            xs.push(x);
            // And the range token counts live in, with halves hit often.
            let y = rng.random::<f64>() * 70_000.0;
            xs.push(y);
            xs.push((y * 2.0).round() / 2.0);
        }
        for x in xs {
            assert_eq!(at_least_one_token(x), plain(x), "x = {x:e}");
        }
    }
}
