//! The gateway's request log (`slaplan-log`, written by `slaplan serve`;
//! schema [`crate::gateway::RequestLine`]) as recorded agent sessions: one
//! line is one model call from `arrival` to `end`, with its token counts;
//! a session is the calls of one task (`task`, else `session`; a call with
//! neither is a session of its own). The gateway writes a line when its
//! call ends, so a task's calls are interleaved with others' and come in
//! order of their ends: the session reader's look-ahead groups them.

use serde_json::Value;

use super::TraceError;
use super::error::shown_json;
use super::session::{Step, StepKind};
use super::slaplan_log::{EXPECT_ARRIVAL, arrival};
use crate::gateway::RequestLine;

const EXPECT_TOKENS: &str = "a whole number of tokens (0 to 4294967295)";

/// The session key and the step of one request-log line.
pub(super) fn step(file: &str, line: u64, text: &str) -> Result<(String, Step), TraceError> {
    let bad = |field: &str, expected: &str, got: String| TraceError::Field {
        file: file.into(),
        line,
        field: field.into(),
        expected: expected.into(),
        got,
    };
    let missing = |field: &str, expected: &str| TraceError::Missing {
        file: file.into(),
        line,
        field: field.into(),
        expected: expected.into(),
    };
    let value: Value = serde_json::from_str(text).map_err(|e| {
        bad(
            "record",
            "one JSON object per line: a request-log line of slaplan serve",
            format!("invalid JSON ({e})"),
        )
    })?;
    let Some(obj) = value.as_object() else {
        return Err(bad("record", "a JSON object", shown_json(&value)));
    };
    // The fields a replay uses, each checked for a message naming it.
    let time = |key: &str| match obj.get(key) {
        None | Some(Value::Null) => Err(missing(key, EXPECT_ARRIVAL)),
        Some(v) => arrival(v)
            .map(|(t, _)| t)
            .ok_or_else(|| bad(key, EXPECT_ARRIVAL, shown_json(v))),
    };
    let (start, end) = (time("arrival")?, time("end")?);
    if end < start {
        let got = obj.get("end").map(shown_json).unwrap_or_default();
        return Err(bad("end", "a time no earlier than arrival", got));
    }
    for key in ["input_tokens", "output_tokens"] {
        match obj.get(key) {
            None | Some(Value::Null) => return Err(missing(key, EXPECT_TOKENS)),
            Some(v) if v.as_u64().and_then(|n| u32::try_from(n).ok()).is_none() => {
                return Err(bad(key, EXPECT_TOKENS, shown_json(v)));
            }
            Some(_) => {}
        }
    }
    for key in ["tenant", "workflow", "task", "session"] {
        if let Some(v) = obj.get(key).filter(|v| !matches!(v, Value::Null | Value::String(_))) {
            return Err(bad(key, "text", shown_json(v)));
        }
    }
    // Then the whole line against the gateway's own schema.
    let row: RequestLine = serde_json::from_value(value).map_err(|e| {
        bad(
            "record",
            "a request-log line of slaplan serve (see its schema)",
            e.to_string(),
        )
    })?;
    let key = match (&row.task, &row.session) {
        (Some(task), _) => format!("task {task}"),
        (None, Some(session)) => format!("session {session}"),
        (None, None) => format!("call on line {line}"),
    };
    let step = Step {
        kind: StepKind::Call {
            input: row.input_tokens,
            output: row.output_tokens,
        },
        start,
        end,
        id: None,
        parent: None,
        after: None,
        tenant: Some(row.tenant),
        workflow: Some(row.workflow),
        line,
    };
    Ok((key, step))
}
