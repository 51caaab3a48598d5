//! Scenario types for agentic workloads: arrival profiles and task shapes.

use serde::{Deserialize, Serialize};

use crate::time::Span;

/// On/off bursts: the rate is multiplied by `factor` while "on". On and off
/// periods are exponential with the given means (a two-state MMPP).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bursts {
    /// Rate multiplier while on (≥ 0).
    pub factor: f64,
    /// Mean length of an on period.
    pub mean_on: Span,
    /// Mean length of an off period.
    pub mean_off: Span,
}

/// Arrivals and token counts replayed from a recorded trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplaySource {
    /// The trace file, relative to the scenario file.
    pub path: String,
    /// Its layout: `"generic"` (slaplan's CSV/JSONL schema), `"azure"`,
    /// `"mooncake"` or `"slaplan-log"` (the request log of `slaplan serve`).
    pub format: TraceFormatName,
    /// Replay speed: 2.0 replays twice as fast (default 1).
    #[serde(default = "one")]
    pub time_scale: f64,
    /// Repeat the trace lap after lap to fill the simulated period.
    #[serde(default, rename = "loop")]
    pub loop_to_fill: bool,
    /// Only rows whose `tenant` column equals this (generic traces).
    #[serde(default)]
    pub tenant: Option<String>,
    /// Only rows whose `workflow` column equals this (generic traces).
    #[serde(default)]
    pub workflow: Option<String>,
}

/// A trace layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceFormatName {
    /// slaplan's schema: `timestamp,tenant,workflow,input_tokens,output_tokens[,task,session]`.
    Generic,
    /// The Azure LLM inference trace: `TIMESTAMP,ContextTokens,GeneratedTokens`.
    Azure,
    /// The Mooncake trace: JSONL with `timestamp` (ms), `input_length`, `output_length`.
    Mooncake,
    /// The request log of `slaplan serve` (JSONL, `arrival` as timestamp).
    #[serde(rename = "slaplan-log")]
    SlaplanLog,
}

/// A batch of tasks submitted every day at a fixed time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// Time of day, UTC, `"HH:MM"`.
    pub at: String,
    /// Tasks per batch.
    pub tasks: u32,
    /// The tasks are spread evenly over this long (0: all at once).
    #[serde(default)]
    pub spread: Span,
}

impl Batch {
    /// Offset of `at` from midnight, if it is a valid `HH:MM`.
    pub fn time_of_day(&self) -> Option<Span> {
        let (h, m) = self.at.trim().split_once(':')?;
        let (h, m): (u64, u64) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60).then(|| Span::from_mins(h * 60 + m))
    }
}

/// A distribution of a small count (chain depth, swarm size).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum CountDist {
    /// Always `value`.
    Constant {
        /// The count.
        value: u32,
    },
    /// Uniform on `min..=max`.
    Uniform {
        /// Smallest.
        min: u32,
        /// Largest.
        max: u32,
    },
    /// Geometric on 1, 2, 3, … with the given mean (≥ 1).
    Geometric {
        /// Mean count.
        mean: f64,
    },
}

impl Default for CountDist {
    fn default() -> Self {
        CountDist::Constant { value: 1 }
    }
}

/// A tool call inside a chain step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolStep {
    /// Share of steps that call a tool, in [0, 1].
    #[serde(default = "one")]
    pub probability: f64,
    /// Mean tool duration (exponential).
    pub duration: Span,
    /// Probability the tool fails, in [0, 1]; a failed tool fails the task.
    #[serde(default)]
    pub failure_probability: f64,
    /// Tokens the tool's result adds to the context.
    #[serde(default)]
    pub result_tokens: u32,
    /// Model calls that interpret the result (tool amplification).
    #[serde(default = "one_u32")]
    pub followups: u32,
}

fn one() -> f64 {
    1.0
}

fn one_u32() -> u32 {
    1
}

/// The shape of one agent's work: one call, or a chain of steps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Number of model-call steps.
    #[serde(default)]
    pub depth: CountDist,
    /// Mean think time between steps (exponential; 0: none).
    #[serde(default)]
    pub think: Span,
    /// A tool call after each step, with follow-up interpretation calls.
    #[serde(default)]
    pub tool: Option<ToolStep>,
    /// Whether each call's input grows with the previous outputs and tool
    /// results (default true).
    #[serde(default = "yes")]
    pub grow_context: bool,
    /// Cap on the grown context, in tokens. Each call's whole input is also
    /// capped at the smallest `context_window` of the tenant's chain (the
    /// agent compacts its history).
    #[serde(default = "default_max_context")]
    pub max_context: u32,
}

fn yes() -> bool {
    true
}

impl Default for Step {
    /// One step, no tool, no think time, growing context up to 128k tokens:
    /// the same as an empty `{}` in a file.
    fn default() -> Self {
        Step {
            depth: CountDist::default(),
            think: Span::ZERO,
            tool: None,
            grow_context: true,
            max_context: default_max_context(),
        }
    }
}

fn default_max_context() -> u32 {
    128_000
}

/// What one task does.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Shape {
    /// One model call.
    #[default]
    Single,
    /// A chain of steps, each a model call, optionally a tool call with
    /// interpretation calls, and think time.
    Chain(Step),
    /// An orchestrator call fans out to `agents` sub-agents in parallel,
    /// each running `agent`; when all are done an aggregator call ends it.
    Swarm {
        /// Number of sub-agents.
        agents: CountDist,
        /// What each sub-agent does.
        #[serde(default)]
        agent: Step,
        /// Whether the swarm ends with an aggregator call (default true).
        #[serde(default = "yes")]
        aggregator: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Holder {
        shape: Shape,
    }

    #[test]
    fn shapes_parse_in_their_written_forms() {
        let h: Holder =
            toml::from_str(r#"shape = { kind = "chain", depth = { dist = "constant", value = 3 }, think = "2s" }"#)
                .unwrap();
        let Shape::Chain(step) = h.shape else {
            panic!("chain expected")
        };
        assert_eq!(step.depth, CountDist::Constant { value: 3 });
        assert_eq!(step.think, Span::from_secs(2));
        assert!(step.grow_context);
        let h: Holder = toml::from_str(
            r#"shape = { kind = "swarm", agents = { dist = "uniform", min = 2, max = 5 }, agent = { tool = { duration = "1s", followups = 2 } } }"#,
        )
        .unwrap();
        let Shape::Swarm {
            agents,
            agent,
            aggregator,
        } = h.shape
        else {
            panic!("swarm expected")
        };
        assert_eq!(agents, CountDist::Uniform { min: 2, max: 5 });
        assert_eq!(agent.tool.unwrap().followups, 2);
        assert!(aggregator);
        assert!(
            toml::from_str::<Holder>(r#"shape = { kind = "chain", depht = 3 }"#).is_err(),
            "typos are rejected"
        );
    }

    #[test]
    fn batch_time_of_day() {
        let b = |at: &str| {
            Batch {
                at: at.into(),
                tasks: 1,
                spread: Span::ZERO,
            }
            .time_of_day()
        };
        assert_eq!(b("02:00"), Some(Span::from_hours(2)));
        assert_eq!(b("23:59"), Some(Span::from_mins(23 * 60 + 59)));
        assert_eq!(b("24:00"), None);
        assert_eq!(b("2am"), None);
    }
}
