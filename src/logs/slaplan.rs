//! The gateway's request log (`slaplan serve`, the `slaplan-log` format):
//! one [`RequestLine`] per call, read into a [`CallRecord`].
//!
//! The schema is the gateway's own type, [`RequestLine`]; this module only
//! maps it. A line the type does not accept is an error naming the field
//! serde stopped at; times must be RFC 3339 UTC, `end` not before
//! `arrival`, and `outcome` one the gateway writes.

use serde_json::Value;

use super::reader::Row;
use super::{CallRecord, Fallback, LogError, RecordKind, Status};
use crate::gateway::RequestLine;
use crate::model::{EXPECT_LOG_TIME, log_instant};

/// The outcomes the gateway writes (README, "Request log").
pub const OUTCOMES: [&str; 12] = [
    "success",
    "attempts_exhausted",
    "no_eligible_endpoint",
    "deadline_unreachable",
    "shed",
    "suspended",
    "suspended_too_long",
    "client_error",
    "cancelled",
    "invalid_request",
    "reconfigured",
    "gateway_stopped",
];

/// Outcomes that are the client's doing, not the service's: `judge` leaves
/// these calls out of every clause (and counts them).
pub const CLIENT_OUTCOMES: [&str; 3] = ["client_error", "cancelled", "invalid_request"];

/// Whether a first line looks like a request-log line.
pub(super) fn recognised(obj: &serde_json::Map<String, Value>) -> bool {
    obj.contains_key("arrival") && obj.contains_key("outcome") && obj.contains_key("end")
}

/// One request-log line (`bytes`, already parsed as `value`) as a record.
pub(super) fn record(row: &Row, bytes: &[u8], value: &Value) -> Result<CallRecord, LogError> {
    let line: RequestLine = serde_json::from_slice(bytes).map_err(|e| schema_error(row, value, &e))?;
    let time = |text: &str, field: &str| -> Result<u64, LogError> {
        log_instant(text)
            .and_then(|t| u64::try_from(t).ok())
            .ok_or_else(|| row.bad(field, EXPECT_LOG_TIME, &Value::String(text.to_string())))
    };
    let start = time(&line.arrival, "arrival")?;
    let end = time(&line.end, "end")?;
    if end < start {
        return Err(row.bad("end", "a time at or after `arrival`", &Value::String(line.end.clone())));
    }
    let first_token = match &line.first_token {
        Some(t) => {
            let at = time(t, "first_token")?;
            if at < start || at > end {
                return Err(row.bad(
                    "first_token",
                    "a time between `arrival` and `end`",
                    &Value::String(t.clone()),
                ));
            }
            Some(at)
        }
        None => None,
    };
    if !OUTCOMES.contains(&line.outcome.as_str()) {
        return Err(row.bad(
            "outcome",
            &format!("one of {}", OUTCOMES.join(", ")),
            &Value::String(line.outcome.clone()),
        ));
    }
    let success = line.outcome == "success";
    if success && (line.endpoint.is_none() || line.tier.is_none()) {
        let field = if line.endpoint.is_none() { "endpoint" } else { "tier" };
        return Err(row.missing(field, "the endpoint and tier that served a successful call"));
    }
    let status = if success {
        Status::Ok
    } else if line.status == 429 {
        Status::RateLimited
    } else if line.status == 504 || line.outcome == "deadline_unreachable" {
        Status::Timeout
    } else {
        Status::Error
    };
    let turned_away = !success && (line.status == 429 || line.outcome == "no_eligible_endpoint");
    let fallback_recorded = !line.fallback.is_unrecorded();
    let fallback = match line.fallback.line() {
        None => None,
        Some(f) => {
            let within = |text: &str, field: &str, from: u64| -> Result<u64, LogError> {
                let at = time(text, field)?;
                if at < from || at > end {
                    let after = if from == start {
                        "`arrival`"
                    } else {
                        "`fallback.failed`"
                    };
                    return Err(row.bad(
                        field,
                        &format!("a time between {after} and `end`"),
                        &Value::String(text.to_string()),
                    ));
                }
                Ok(at)
            };
            let failed = within(&f.failed, "fallback.failed", start)?;
            let left = match (&f.to, &f.left) {
                (Some(to), Some(at)) => Some((to.clone(), within(at, "fallback.left", failed)?)),
                (None, None) => None,
                (None, Some(_)) => return Err(row.missing("fallback.to", "the endpoint the call fell back to")),
                (Some(_), None) => return Err(row.missing("fallback.left", "when the call fell back")),
            };
            Some(Fallback {
                from: f.from.clone(),
                failed,
                left,
            })
        }
    };
    Ok(CallRecord {
        kind: RecordKind::Model,
        tenant: Some(line.tenant),
        key: None,
        workflow: Some(line.workflow),
        task: line.task,
        session: line.session,
        span: None,
        parent: None,
        call: Some(line.call.to_string()),
        start,
        first_token,
        end,
        input_tokens: Some(line.input_tokens),
        output_tokens: Some(line.output_tokens),
        model_group: None,
        endpoint: line.endpoint,
        provider: None,
        status,
        error_type: (!success).then_some(line.outcome),
        cost: None,
        tier: line.tier,
        turned_away,
        fallback,
        fallback_recorded,
    })
}

/// A valid line, used to find which field of a bad one serde refused.
fn sample() -> Value {
    let line = RequestLine {
        call: 0,
        tenant: String::new(),
        workflow: String::new(),
        task: None,
        session: None,
        draw_key: None,
        arrival: String::new(),
        first_token: None,
        end: String::new(),
        input_tokens: 0,
        output_tokens: 0,
        usage: false,
        endpoint: None,
        tier: None,
        attempts: 0,
        outcome: String::new(),
        status: 0,
        fallback: crate::gateway::FallbackField::Left(crate::gateway::FallbackLine {
            from: String::new(),
            failed: String::new(),
            to: None,
            left: None,
        }),
    };
    serde_json::to_value(line).unwrap_or_default()
}

/// The error for a line the schema refused, naming the field: a missing
/// field as serde names it; otherwise the first field whose replacement by
/// a valid value changes serde's complaint.
fn schema_error(row: &Row, value: &Value, e: &serde_json::Error) -> LogError {
    let message = e.to_string();
    if let Some(rest) = message.strip_prefix("missing field `")
        && let Some(field) = rest.split('`').next()
    {
        return row.missing(field, "a value (the request log's schema: README, \"Request log\")");
    }
    let sample = sample();
    let (Some(fields), Some(obj)) = (sample.as_object(), value.as_object()) else {
        return row.bad("row", "a request-log JSON object", value);
    };
    // Compared as `from_value` words it (`from_slice` adds the column).
    let Err(base) = serde_json::from_value::<RequestLine>(value.clone()) else {
        return row.bad("row", &format!("a request-log line ({message})"), value);
    };
    let base = base.to_string();
    let mut fixed = obj.clone();
    for (key, good) in fields {
        let Some(got) = obj.get(key) else { continue };
        fixed.insert(key.clone(), good.clone());
        let still = serde_json::from_value::<RequestLine>(Value::Object(fixed.clone()));
        if still.as_ref().err().map(ToString::to_string) != Some(base.clone()) {
            return row.bad(key, &expected(key), got);
        }
    }
    row.bad("row", &format!("a request-log line ({message})"), value)
}

/// What a request-log field holds.
fn expected(field: &str) -> String {
    match field {
        "call" | "attempts" => "a whole number, 0 or more".into(),
        "input_tokens" | "output_tokens" => "a whole number of tokens (0 to 4294967295)".into(),
        "status" => "an HTTP status (0 to 65535)".into(),
        "tier" => "a chain tier (0 to 255) or null".into(),
        "usage" => "true or false".into(),
        "arrival" | "end" => EXPECT_LOG_TIME.into(),
        "first_token" => format!("{EXPECT_LOG_TIME} or null"),
        "task" | "session" | "endpoint" => "text or null".into(),
        "fallback" => "an object {from, failed, to, left}: the first endpoint, when it failed there, and where and \
                       when the call went next (both null if it never left)"
            .into(),
        _ => "text".into(),
    }
}
