//! The `slaplan-log` trace format: the request log `slaplan serve` writes,
//! one JSON object per call (schema in the README, "Request log"). A
//! replay reads `arrival` (RFC 3339 UTC, up to nanoseconds), `tenant`,
//! `workflow`, `task`, `session`, `input_tokens` and `output_tokens`; the
//! other keys (what the gateway observed: first token, end, endpoint, tier,
//! attempts, outcome, status, call, usage) are for `judge` and skipped here.

use serde::Deserialize;
use serde_json::Value;

/// One request-log line, as far as a replay needs it.
#[derive(Deserialize)]
pub(super) struct LogLine {
    pub(super) arrival: Option<Value>,
    pub(super) tenant: Option<Value>,
    pub(super) workflow: Option<Value>,
    pub(super) input_tokens: Option<Value>,
    pub(super) output_tokens: Option<Value>,
    pub(super) task: Option<Value>,
    pub(super) session: Option<Value>,
}

/// What `arrival` must be.
pub(super) const EXPECT_ARRIVAL: &str = "an RFC 3339 UTC time such as \"2026-11-30T01:02:03.123456789Z\"";

/// `arrival` in nanoseconds since the Unix epoch, with its text.
pub(super) fn arrival(value: &Value) -> Option<(i128, String)> {
    let text = value.as_str()?.trim();
    let civil = text.strip_suffix('Z').or_else(|| text.strip_suffix("+00:00"))?;
    Some((super::field::datetime(civil)?, text.to_string()))
}
