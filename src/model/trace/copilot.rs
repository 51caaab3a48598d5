//! The GitHub Copilot coding-agent trace (Azure Public Dataset, 2026,
//! CC-BY; `analysis/GitHubCopilotCodingAgents/schema.json`): one session per
//! line, as JSON, read into recorded [`Step`]s.
//!
//! A line is `{"session_id", "date", "turns": [{"turn_id", "llm_calls": [...],
//! "tool_batches": [...]}]}`. Each of `llm_calls` is a model call:
//! `timestamp` (ISO 8601, its start), `duration_ms` (end to end),
//! `tokens.prompt` and `tokens.completion`, `message_id`. Each of
//! `tool_batches` is a tool wait: `timestamp`, `duration_ms` (the batch's
//! wall clock), `request_id` (the `message_id` of the call that asked for
//! it: the batch waits for that call), and `function_calls`, each with a
//! `status` (1 success, 2 failure or timeout): a batch with a failed call is
//! a failed tool. A batch without function calls is skipped, as the
//! dataset's own loader does. Other keys (`model`, `result`, `status_code`,
//! `initiator_type`, `tokens.cached`, `message_metadata`, ...) are not used.
//! Turns are not scopes: the session's calls and batches are ordered by
//! their times, so a turn's first call waits for the previous turn's end by
//! the user's recorded idle time.

use serde_json::{Map, Value};

use super::TraceError;
use super::error::shown_json;
use super::field;
use super::session::{Step, StepKind};

const EXPECT_TIME: &str = "an ISO 8601 time such as \"2026-06-01T12:34:56.789Z\"";
const EXPECT_MILLIS: &str = "a non-negative number of milliseconds";
const EXPECT_TOKENS: &str = "a whole number of tokens (0 to 4294967295)";

/// Where a value is being read, for errors.
struct At<'a> {
    file: &'a str,
    line: u64,
}

impl At<'_> {
    fn bad(&self, field: &str, expected: &str, got: &Value) -> TraceError {
        TraceError::Field {
            file: self.file.into(),
            line: self.line,
            field: field.into(),
            expected: expected.into(),
            got: shown_json(got),
        }
    }

    fn missing(&self, field: &str, expected: &str) -> TraceError {
        TraceError::Missing {
            file: self.file.into(),
            line: self.line,
            field: field.into(),
            expected: expected.into(),
        }
    }

    fn object<'v>(&self, value: &'v Value, field: &str) -> Result<&'v Map<String, Value>, TraceError> {
        value.as_object().ok_or_else(|| self.bad(field, "a JSON object", value))
    }

    /// An array, absent or `null` being empty.
    fn array<'v>(&self, obj: &'v Map<String, Value>, key: &str, field: &str) -> Result<&'v [Value], TraceError> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(&[]),
            Some(Value::Array(a)) => Ok(a),
            Some(other) => Err(self.bad(field, "a JSON array", other)),
        }
    }

    fn text(&self, obj: &Map<String, Value>, key: &str, field: &str) -> Result<Option<String>, TraceError> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.bad(field, "text", other)),
        }
    }

    /// `timestamp` and `duration_ms` of `obj` as (start, end) in nanoseconds.
    fn interval(&self, obj: &Map<String, Value>, path: &str) -> Result<(i128, i128), TraceError> {
        let field = format!("{path}.timestamp");
        let start = match obj.get("timestamp") {
            None | Some(Value::Null) => return Err(self.missing(&field, EXPECT_TIME)),
            Some(v) => v
                .as_str()
                .and_then(|t| field::iso_datetime(t.trim()))
                .ok_or_else(|| self.bad(&field, EXPECT_TIME, v))?,
        };
        let field = format!("{path}.duration_ms");
        let duration = match obj.get("duration_ms") {
            None | Some(Value::Null) => return Err(self.missing(&field, EXPECT_MILLIS)),
            Some(v) => v
                .as_f64()
                .and_then(field::millis)
                .ok_or_else(|| self.bad(&field, EXPECT_MILLIS, v))?,
        };
        Ok((start, start + i128::from(duration)))
    }

    fn tokens(&self, obj: &Map<String, Value>, key: &str, path: &str) -> Result<u32, TraceError> {
        let field = format!("{path}.{key}");
        match obj.get(key) {
            None | Some(Value::Null) => Err(self.missing(&field, EXPECT_TOKENS)),
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| self.bad(&field, EXPECT_TOKENS, v)),
        }
    }
}

/// The session on one line: its id and its steps (calls, then batches, per turn).
pub(super) fn session(file: &str, line: u64, text: &str) -> Result<(String, Vec<Step>), TraceError> {
    let at = At { file, line };
    let value: Value = serde_json::from_str(text).map_err(|e| TraceError::Field {
        file: file.into(),
        line,
        field: "record".into(),
        expected: "one JSON object per line: a session with session_id and turns".into(),
        got: format!("invalid JSON ({e})"),
    })?;
    let obj = at.object(&value, "record")?;
    let id = at
        .text(obj, "session_id", "session_id")?
        .ok_or_else(|| at.missing("session_id", "the session's id"))?;
    if !obj.contains_key("turns") {
        return Err(at.missing("turns", "an array of turns"));
    }
    let mut steps = Vec::new();
    for (t, turn) in at.array(obj, "turns", "turns")?.iter().enumerate() {
        let tpath = format!("turns[{t}]");
        let turn = at.object(turn, &tpath)?;
        for (c, call) in at
            .array(turn, "llm_calls", &format!("{tpath}.llm_calls"))?
            .iter()
            .enumerate()
        {
            let path = format!("{tpath}.llm_calls[{c}]");
            let call = at.object(call, &path)?;
            let (start, end) = at.interval(call, &path)?;
            let tpath_tokens = format!("{path}.tokens");
            let tokens = match call.get("tokens") {
                None | Some(Value::Null) => {
                    return Err(at.missing(&tpath_tokens, "an object with prompt and completion"));
                }
                Some(v) => at.object(v, &tpath_tokens)?,
            };
            steps.push(Step {
                kind: StepKind::Call {
                    input: at.tokens(tokens, "prompt", &tpath_tokens)?,
                    output: at.tokens(tokens, "completion", &tpath_tokens)?,
                },
                start,
                end,
                id: at.text(call, "message_id", &format!("{path}.message_id"))?,
                parent: None,
                after: None,
                tenant: None,
                workflow: None,
                line,
            });
        }
        for (b, batch) in at
            .array(turn, "tool_batches", &format!("{tpath}.tool_batches"))?
            .iter()
            .enumerate()
        {
            let path = format!("{tpath}.tool_batches[{b}]");
            let batch = at.object(batch, &path)?;
            let calls = at.array(batch, "function_calls", &format!("{path}.function_calls"))?;
            let mut failed = false;
            for (f, fc) in calls.iter().enumerate() {
                let fpath = format!("{path}.function_calls[{f}].status");
                let fc = at.object(fc, &format!("{path}.function_calls[{f}]"))?;
                const EXPECTED: &str = "1 (success) or 2 (failure or timeout)";
                match fc.get("status") {
                    None | Some(Value::Null) => return Err(at.missing(&fpath, EXPECTED)),
                    Some(v) => match v.as_u64() {
                        Some(1) => {}
                        Some(2) => failed = true,
                        _ => return Err(at.bad(&fpath, EXPECTED, v)),
                    },
                }
            }
            let (start, end) = at.interval(batch, &path)?;
            if calls.is_empty() {
                continue;
            }
            steps.push(Step {
                kind: StepKind::Tool { failed },
                start,
                end,
                id: None,
                parent: None,
                after: at.text(batch, "request_id", &format!("{path}.request_id"))?,
                tenant: None,
                workflow: None,
                line,
            });
        }
    }
    Ok((id, steps))
}
