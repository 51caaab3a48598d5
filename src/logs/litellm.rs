//! LiteLLM spend logs: one `StandardLoggingPayload` per line (the schema of
//! `litellm/types/utils.py`), turned into a [`CallRecord`].
//!
//! Mapping (first present wins):
//! - tenant: `metadata.user_api_key_team_alias`, `metadata.user_api_key_team_id`,
//!   `metadata.user_api_key_alias`, `metadata.user_api_key_hash`, `end_user`;
//! - key: `metadata.user_api_key_alias`, `metadata.user_api_key_hash`;
//! - workflow, task, session: `metadata.spend_logs_metadata.{workflow,task,session}`
//!   (the payload's free-form key-value pairs for spend logs);
//! - call: `trace_id` (LiteLLM gives a call's retries and fallbacks one trace id);
//! - endpoint: `<model_group>@<custom_llm_provider>`, plus `/<first label of
//!   the api_base host>` when `api_base` names a host other than `api.*`;
//!   the group falls back to `model`, the provider to `model`'s `prefix/`;
//! - status: `success`, or a failure classified by
//!   `error_information.error_code` / `error_class` (429 and rate-limit
//!   errors, timeouts, other errors).

use serde_json::{Map, Value};

use super::LogError;
use super::reader::Row;
use super::{CallRecord, RecordKind, Status};

const EXPECT_EPOCH: &str = "a time in seconds since 1970-01-01 UTC, e.g. 1767225600.25";

pub(super) fn record(row: &Row<'_>, value: &Value) -> Result<CallRecord, LogError> {
    let obj = row.object(value, "row")?;
    let start = epoch(row, obj, "startTime")?.ok_or_else(|| row.missing("startTime", EXPECT_EPOCH))?;
    let end = epoch(row, obj, "endTime")?.ok_or_else(|| row.missing("endTime", EXPECT_EPOCH))?;
    if end < start {
        return Err(row.bad(
            "endTime",
            "a time no earlier than startTime",
            obj.get("endTime").unwrap_or(&Value::Null),
        ));
    }
    let first_token = epoch(row, obj, "completionStartTime")?;
    if let Some(t) = first_token
        && !(start..=end).contains(&t)
    {
        return Err(row.bad(
            "completionStartTime",
            "a time between startTime and endTime",
            obj.get("completionStartTime").unwrap_or(&Value::Null),
        ));
    }
    let status = match obj.get("status") {
        Some(Value::String(s)) if s == "success" => Status::Ok,
        Some(Value::String(s)) if s == "failure" => Status::Error,
        Some(other) => return Err(row.bad("status", "\"success\" or \"failure\"", other)),
        None => return Err(row.missing("status", "\"success\" or \"failure\"")),
    };
    let (status, error_type) = match status {
        Status::Ok => (Status::Ok, None),
        _ => failure(row, obj)?,
    };
    let metadata = match obj.get("metadata") {
        None | Some(Value::Null) => None,
        Some(m) => Some(row.object(m, "metadata")?),
    };
    let meta = |key: &str| -> Result<Option<String>, LogError> {
        match metadata {
            Some(m) => row.text(m, key, &format!("metadata.{key}")),
            None => Ok(None),
        }
    };
    let spend = match metadata.and_then(|m| m.get("spend_logs_metadata")) {
        None | Some(Value::Null) => None,
        Some(s) => Some(row.object(s, "metadata.spend_logs_metadata")?),
    };
    let spend_text = |key: &str| -> Result<Option<String>, LogError> {
        match spend {
            Some(s) => row.text(s, key, &format!("metadata.spend_logs_metadata.{key}")),
            None => Ok(None),
        }
    };
    let key = first_of([meta("user_api_key_alias")?, meta("user_api_key_hash")?]);
    let tenant = first_of([
        meta("user_api_key_team_alias")?,
        meta("user_api_key_team_id")?,
        key.clone(),
        row.text(obj, "end_user", "end_user")?,
    ]);
    let model = row.text(obj, "model", "model")?;
    let group = first_of([row.text(obj, "model_group", "model_group")?, model.clone()]);
    let provider = first_of([
        row.text(obj, "custom_llm_provider", "custom_llm_provider")?,
        model
            .as_deref()
            .and_then(|m| m.split_once('/'))
            .map(|(p, _)| p.to_string()),
    ]);
    let api_base = row.text(obj, "api_base", "api_base")?;
    let endpoint = group.as_ref().map(|g| {
        let mut name = format!("{g}@{}", provider.as_deref().unwrap_or("unknown"));
        if let Some(place) = api_base.as_deref().and_then(host_label) {
            name.push('/');
            name.push_str(&place);
        }
        name
    });
    let cost = match obj.get("response_cost") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_f64() {
            Some(c) if c.is_finite() && c >= 0.0 => Some(c),
            _ => return Err(row.bad("response_cost", "a price in USD, 0 or more", v)),
        },
    };
    Ok(CallRecord {
        kind: RecordKind::Model,
        tenant,
        key,
        workflow: spend_text("workflow")?,
        task: spend_text("task")?,
        session: spend_text("session")?,
        span: row.text(obj, "id", "id")?,
        parent: None,
        call: row.text(obj, "trace_id", "trace_id")?,
        start,
        first_token,
        end,
        input_tokens: row.tokens(obj, "prompt_tokens", "prompt_tokens")?,
        output_tokens: row.tokens(obj, "completion_tokens", "completion_tokens")?,
        model_group: group,
        endpoint,
        provider,
        status,
        error_type,
        cost,
        tier: None,
        turned_away: status == Status::RateLimited,
        fallback: None,
        fallback_recorded: false,
    })
}

fn first_of<const N: usize>(options: [Option<String>; N]) -> Option<String> {
    options.into_iter().flatten().next()
}

/// An optional epoch time in seconds, to nanoseconds.
fn epoch(row: &Row<'_>, obj: &Map<String, Value>, key: &str) -> Result<Option<u64>, LogError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => seconds_to_nanos(n)
            .map(Some)
            .ok_or_else(|| row.bad(key, EXPECT_EPOCH, &obj[key])),
        Some(v) => Err(row.bad(key, EXPECT_EPOCH, v)),
    }
}

/// Seconds as JSON wrote them, to nanoseconds: exactly from the number's
/// shortest decimal form (so `1767225600.25` is exactly 1767225600250000000
/// ns, digits past the nanosecond rounded), through `f64` only for exponent
/// forms. `None` when negative or past the year 2286.
fn seconds_to_nanos(n: &serde_json::Number) -> Option<u64> {
    const LIMIT: u64 = 10_000_000_000;
    if let Some(s) = n.as_u64() {
        return (s < LIMIT).then(|| s * 1_000_000_000);
    }
    let text = n.to_string();
    if text.contains(['e', 'E']) || text.starts_with('-') {
        let s = n.as_f64()?;
        return (s.is_finite() && (0.0..LIMIT as f64).contains(&s)).then(|| (s * 1e9).round() as u64);
    }
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let whole: u64 = int.parse().ok()?;
    if whole >= LIMIT {
        return None;
    }
    let mut digits: Vec<u64> = frac.bytes().map(|b| u64::from(b - b'0')).collect();
    digits.resize(10, 0);
    let mut nanos = digits[..9].iter().fold(0, |acc, d| acc * 10 + d);
    if digits[9] >= 5 {
        nanos += 1;
    }
    Some(whole * 1_000_000_000 + nanos)
}

/// The status and error type of a failed call.
fn failure(row: &Row<'_>, obj: &Map<String, Value>) -> Result<(Status, Option<String>), LogError> {
    let info = match obj.get("error_information") {
        None | Some(Value::Null) => return Ok((Status::Error, None)),
        Some(i) => row.object(i, "error_information")?,
    };
    let code = match info.get("error_code") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) if n.as_u64().is_some() => Some(n.to_string()),
        Some(other) => {
            return Err(row.bad(
                "error_information.error_code",
                "an HTTP status code such as \"429\"",
                other,
            ));
        }
    };
    let class = row.text(info, "error_class", "error_information.error_class")?;
    let status = [code.as_deref(), class.as_deref()]
        .into_iter()
        .flatten()
        .map(Status::of_error)
        .find(|s| *s != Status::Error)
        .unwrap_or(Status::Error);
    Ok((status, first_of([class, code])))
}

/// The first DNS label of an API base URL's host, unless it is a provider's
/// public `api.` host (which says nothing about where the deployment is).
fn host_label(api_base: &str) -> Option<String> {
    let rest = api_base.split_once("://").map_or(api_base, |(_, r)| r);
    let host = rest.split(['/', ':', '?']).next()?;
    let label = host.split('.').next()?;
    (!label.is_empty() && label != "api" && host.contains('.')).then(|| label.to_string())
}

/// One record as a LiteLLM spend-log line (the inverse of the reader, to
/// microseconds): for tests, benchmarks and simulated logs. The endpoint
/// `group@provider/place` becomes `model_group`, `custom_llm_provider` and
/// an `api_base` of `https://place.<provider>.example`.
pub fn to_line(r: &CallRecord) -> String {
    use serde_json::{Map, json};
    let secs = |ns: u64| -> Value {
        let text = format!("{}.{:06}", ns / 1_000_000_000, ns % 1_000_000_000 / 1000);
        serde_json::from_str(&text).unwrap_or(Value::Null)
    };
    let (group, provider, place) = match r.endpoint.as_deref() {
        Some(e) => {
            let (group, rest) = e.split_once('@').unwrap_or((e, "unknown"));
            let (provider, place) = match rest.split_once('/') {
                Some((p, w)) => (p, Some(w)),
                None => (rest, None),
            };
            (Some(group), Some(provider), place)
        }
        None => (r.model_group.as_deref(), r.provider.as_deref(), None),
    };
    let mut spend = Map::new();
    for (k, v) in [("workflow", &r.workflow), ("task", &r.task), ("session", &r.session)] {
        if let Some(v) = v {
            spend.insert(k.into(), json!(v));
        }
    }
    let (code, class) = match r.status {
        Status::Ok => ("", ""),
        Status::RateLimited => ("429", "RateLimitError"),
        Status::Timeout => ("408", "Timeout"),
        Status::Error => ("500", "InternalServerError"),
    };
    let line = json!({
        "id": r.span,
        "trace_id": r.call,
        "call_type": "acompletion",
        "status": if r.status == Status::Ok { "success" } else { "failure" },
        "startTime": secs(r.start),
        "endTime": secs(r.end),
        "completionStartTime": r.first_token.map(secs),
        "prompt_tokens": r.input_tokens,
        "completion_tokens": r.output_tokens,
        "model_group": group,
        "custom_llm_provider": provider,
        "api_base": match (place, provider) {
            (Some(w), Some(p)) => Some(format!("https://{w}.{p}.example/")),
            _ => None,
        },
        "response_cost": r.cost,
        "metadata": {
            "user_api_key_team_alias": r.tenant,
            "user_api_key_alias": r.key,
            "spend_logs_metadata": if spend.is_empty() { Value::Null } else { Value::Object(spend) },
        },
        "error_information": if r.status == Status::Ok {
            Value::Null
        } else {
            json!({ "error_code": code, "error_class": r.error_type.as_deref().unwrap_or(class) })
        },
    });
    line.to_string()
}
