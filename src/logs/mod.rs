//! Production logs: one [`CallRecord`] per model call (or tool call, or
//! agent run) that happened, read in streaming from the formats people
//! already have.
//!
//! This module owns reading log files into records. It knows nothing of
//! scenarios, fitting, judging or replaying: `fit` and `judge` consume the
//! records, and a closed-loop replay (`model::trace`) groups OTLP records
//! into agent sessions.
//!
//! # Formats
//!
//! - [`LogFormat::Litellm`]: LiteLLM's spend-log export, its
//!   `StandardLoggingPayload` as JSON lines (`litellm/types/utils.py`):
//!   `startTime`, `endTime`, `completionStartTime` (epoch seconds),
//!   `status` (`success` or `failure`), `prompt_tokens`,
//!   `completion_tokens`, `model_group`, `model`, `model_id`, `api_base`,
//!   `custom_llm_provider`, `trace_id`, `response_cost`,
//!   `error_information.{error_code,error_class}`, and `metadata`
//!   (`user_api_key_team_alias`, `user_api_key_team_id`,
//!   `user_api_key_alias`, `user_api_key_hash`, `spend_logs_metadata`).
//! - [`LogFormat::Otlp`]: OpenTelemetry spans as the collector's file
//!   exporter writes them: one `ExportTraceServiceRequest` JSON object per
//!   line, `resourceSpans[].scopeSpans[].spans[]`, with the GenAI semantic
//!   conventions (`gen_ai.operation.name`, `gen_ai.request.model`,
//!   `gen_ai.provider.name` or `gen_ai.system`, `gen_ai.usage.*`,
//!   `error.type`, `gen_ai.conversation.id`, `gen_ai.agent.name`).
//!
//! - [`LogFormat::Slaplan`]: the request log `slaplan serve` writes (the
//!   `slaplan-log` format, the gateway's `RequestLine`; README, "Request
//!   log"): one call per line with its arrival, first token, end, tokens,
//!   endpoint, tier, attempts, outcome and HTTP status, and the call's
//!   fallback when an attempt on its first endpoint failed.
//!
//! Beside the call logs, [`AuditReader`] reads the router's audit log
//! (`serve --audit-log`, `run --audit-log`) back into audit events with
//! UTC instants: the tenants' tier changes and notices a request log lacks.
//!
//! A file's format is recognised from its first non-blank line. Rows are
//! read one line at a time: memory does not grow with the file. A row that
//! cannot be read is a [`LogError`] naming the file, the 1-based line and
//! the field; readers stop at the first one.
//!
//! **Architecture Invariant:** readers never print and never guess a value
//! a row does not hold: an absent optional field is `None`, an absent or
//! malformed required one is an error.

mod audit;
mod error;
mod litellm;
mod otlp;
mod reader;
mod slaplan;

pub use audit::{AuditReader, AuditRecord};
pub use error::LogError;
pub use litellm::to_line as litellm_line;
pub use reader::LogReader;
pub use slaplan::{CLIENT_OUTCOMES, OUTCOMES as REQUEST_LOG_OUTCOMES};

/// What a record is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// One request to a model endpoint (an attempt, when a router retried).
    Model,
    /// A tool the agent ran (`execute_tool` spans).
    Tool,
    /// An agent run (`invoke_agent` spans): the parent of its calls and tools.
    Agent,
}

/// How a record ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// Served.
    Ok,
    /// An error answer (5xx, connection, anything but the two below).
    Error,
    /// A 429: the provider's rate limit.
    RateLimited,
    /// No answer in time.
    Timeout,
}

impl Status {
    /// Lower-case name, as the fit report writes it.
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Error => "error",
            Status::RateLimited => "rate_limited",
            Status::Timeout => "timeout",
        }
    }

    /// Classifies an error by its type or code as logs write it (`429`,
    /// `RateLimitError`, `rate_limit_exceeded`, `408`, `Timeout`, ...).
    pub fn of_error(kind: &str) -> Status {
        let k = kind.to_ascii_lowercase();
        if k == "429" || k.contains("ratelimit") || k.contains("rate_limit") || k.contains("too_many_requests") {
            Status::RateLimited
        } else if k == "408" || k == "504" || k.contains("timeout") || k.contains("timed_out") || k.contains("deadline")
        {
            Status::Timeout
        } else {
            Status::Error
        }
    }
}

/// The layout of a log file; see the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// LiteLLM's `StandardLoggingPayload`, one JSON object per line.
    Litellm,
    /// OTLP JSON from the OpenTelemetry collector's file exporter.
    Otlp,
    /// The gateway's request log (`slaplan serve`).
    Slaplan,
}

impl LogFormat {
    /// Its name in messages and reports.
    pub fn name(self) -> &'static str {
        match self {
            LogFormat::Litellm => "litellm",
            LogFormat::Otlp => "otlp",
            LogFormat::Slaplan => "slaplan-log",
        }
    }
}

/// One model call (or tool call, or agent run) that happened. Times are
/// nanoseconds since the Unix epoch (UTC).
#[derive(Clone, Debug, PartialEq)]
pub struct CallRecord {
    /// Model call, tool call or agent run.
    pub kind: RecordKind,
    /// The tenant: a team, a service, whoever the platform bills.
    pub tenant: Option<String>,
    /// The API key (alias or hash) the call came with.
    pub key: Option<String>,
    /// The kind of task inside the tenant.
    pub workflow: Option<String>,
    /// The task (agent run, trace) the call belongs to.
    pub task: Option<String>,
    /// The conversation or session.
    pub session: Option<String>,
    /// This record's own span id, if the log has spans.
    pub span: Option<String>,
    /// The parent span (an agent run, an orchestrator).
    pub parent: Option<String>,
    /// Groups the attempts of one call (a router's retries and fallbacks).
    pub call: Option<String>,
    /// When the request left (ns since the epoch).
    pub start: u64,
    /// When the first token came back, if the log says.
    pub first_token: Option<u64>,
    /// When the answer (or the error) was complete.
    pub end: u64,
    /// Prompt tokens, if the log says.
    pub input_tokens: Option<u32>,
    /// Generated tokens, if the log says.
    pub output_tokens: Option<u32>,
    /// The model group (what the client asked for).
    pub model_group: Option<String>,
    /// The endpoint (deployment) that served or failed it: `model@provider[/where]`.
    pub endpoint: Option<String>,
    /// The provider.
    pub provider: Option<String>,
    /// How it ended.
    pub status: Status,
    /// The error's type or code, as the log wrote it.
    pub error_type: Option<String>,
    /// Price in USD, if the log says.
    pub cost: Option<f64>,
    /// The chain tier that served it, if the log says (the gateway's log).
    pub tier: Option<u8>,
    /// Capacity turned it away: a 429 (the provider's or the gateway's
    /// shedding) or no endpoint able to take it. Throughput clauses count
    /// these as not admitted.
    pub turned_away: bool,
    /// The call's fallback, if the log says (the gateway's log): what the
    /// fallback-time clause judges.
    pub fallback: Option<Fallback>,
    /// Whether the log says if the call fell back at all (the request logs
    /// of the gateway and the simulator); false where it cannot know
    /// (LiteLLM, OTLP, `slaplan load`'s client side, request logs written
    /// before the field existed).
    pub fallback_recorded: bool,
}

/// A call's fallback as a log records it (times in ns since the epoch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fallback {
    /// The endpoint its first attempt went to.
    pub from: String,
    /// When the attempt there first failed.
    pub failed: u64,
    /// Where and when it was next dispatched elsewhere (`None`: it never
    /// left).
    pub left: Option<(String, u64)>,
}

impl CallRecord {
    /// A successful model call of the given times and tokens, every other
    /// field empty: a starting point for writers and tests.
    pub fn model(start: u64, end: u64, input_tokens: u32, output_tokens: u32) -> CallRecord {
        CallRecord {
            kind: RecordKind::Model,
            tenant: None,
            key: None,
            workflow: None,
            task: None,
            session: None,
            span: None,
            parent: None,
            call: None,
            start,
            first_token: None,
            end,
            input_tokens: Some(input_tokens),
            output_tokens: Some(output_tokens),
            model_group: None,
            endpoint: None,
            provider: None,
            status: Status::Ok,
            error_type: None,
            cost: None,
            tier: None,
            turned_away: false,
            fallback: None,
            fallback_recorded: false,
        }
    }

    /// `end - start`, in nanoseconds.
    pub fn duration(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }
}

#[cfg(test)]
mod tests;
