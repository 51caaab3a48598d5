//! OTLP JSON (the OpenTelemetry collector's file exporter): one
//! `ExportTraceServiceRequest` per line; each GenAI span becomes a
//! [`CallRecord`].
//!
//! Spans by `gen_ai.operation.name`: `chat`, `text_completion` and
//! `generate_content` are model calls, `execute_tool` tool calls,
//! `invoke_agent` agent runs; spans without it, or with another operation
//! (`embeddings`, `create_agent`), are not records. The task is the
//! `traceId`, the parent the `parentSpanId`, the session
//! `gen_ai.conversation.id`. Tenant: the span's `slaplan.tenant`, else the
//! resource's `service.name`; workflow: the span's `slaplan.workflow`, else
//! `gen_ai.agent.name`. Endpoint: `<gen_ai.request.model>@<provider>`
//! (`gen_ai.provider.name`, else `gen_ai.system`), plus `/<first label of
//! server.address>` when it names a host other than `api.*`. A span fails
//! when it has `error.type` or status code 2 (`STATUS_CODE_ERROR`); the
//! error type classifies it (429 and rate limits, timeouts, other errors).
//! 64-bit integers may be JSON numbers or strings, as OTLP JSON allows.

use std::collections::VecDeque;

use serde_json::{Map, Value};

use super::LogError;
use super::reader::{Row, tokens_of};
use super::{CallRecord, RecordKind, Status};

const EXPECT_NANOS: &str = "nanoseconds since 1970-01-01 UTC, as a string or a whole number";

/// Appends the GenAI spans of one line to `out`.
pub(super) fn records(row: &Row<'_>, value: &Value, out: &mut VecDeque<CallRecord>) -> Result<(), LogError> {
    let obj = row.object(value, "row")?;
    for (i, rs) in array(row, obj.get("resourceSpans"), "resourceSpans")?
        .iter()
        .enumerate()
    {
        let rpath = format!("resourceSpans[{i}]");
        let rs = row.object(rs, &rpath)?;
        let resource = match rs.get("resource") {
            None | Some(Value::Null) => Attributes::default(),
            Some(r) => {
                let r = row.object(r, &format!("{rpath}.resource"))?;
                Attributes::read(row, r.get("attributes"), &format!("{rpath}.resource.attributes"))?
            }
        };
        for (j, ss) in array(row, rs.get("scopeSpans"), &format!("{rpath}.scopeSpans"))?
            .iter()
            .enumerate()
        {
            let spath = format!("{rpath}.scopeSpans[{j}]");
            let ss = row.object(ss, &spath)?;
            for (k, span) in array(row, ss.get("spans"), &format!("{spath}.spans"))?
                .iter()
                .enumerate()
            {
                let path = format!("{spath}.spans[{k}]");
                if let Some(r) = span_record(row, span, &path, &resource)? {
                    out.push_back(r);
                }
            }
        }
    }
    Ok(())
}

fn array<'v>(row: &Row<'_>, value: Option<&'v Value>, field: &str) -> Result<&'v [Value], LogError> {
    match value {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(other) => Err(row.bad(field, "a JSON array", other)),
    }
}

/// The key-value attributes of a span or resource, as `(key, value, path)`.
#[derive(Default)]
struct Attributes {
    /// `(key, AnyValue kind such as "stringValue", value, field path)`.
    items: Vec<(String, String, Value, String)>,
}

impl Attributes {
    fn read(row: &Row<'_>, value: Option<&Value>, path: &str) -> Result<Attributes, LogError> {
        let mut items = Vec::new();
        for (i, kv) in array(row, value, path)?.iter().enumerate() {
            let kv = row.object(kv, &format!("{path}[{i}]"))?;
            let key = match kv.get("key") {
                Some(Value::String(k)) => k.clone(),
                Some(other) => return Err(row.bad(&format!("{path}[{i}].key"), "the attribute's name", other)),
                None => return Err(row.missing(&format!("{path}[{i}].key"), "the attribute's name")),
            };
            let field = format!("{path}[{key}]");
            let (kind, any) = match kv.get("value") {
                None | Some(Value::Null) => (String::new(), Value::Null),
                Some(v) => any_value(row, v, &field)?,
            };
            items.push((key, kind, any, field));
        }
        Ok(Attributes { items })
    }

    fn get(&self, key: &str) -> Option<(&str, &Value, &str)> {
        self.items
            .iter()
            .find(|(k, _, _, _)| k == key)
            .map(|(_, kind, v, p)| (kind.as_str(), v, p.as_str()))
    }

    fn text(&self, row: &Row<'_>, key: &str) -> Result<Option<String>, LogError> {
        match self.get(key) {
            None | Some((_, Value::Null, _)) => Ok(None),
            Some(("stringValue", Value::String(s), _)) if s.is_empty() => Ok(None),
            Some(("stringValue", Value::String(s), _)) => Ok(Some(s.clone())),
            Some((_, other, path)) => Err(row.bad(path, "a stringValue", other)),
        }
    }

    fn tokens(&self, row: &Row<'_>, key: &str) -> Result<Option<u32>, LogError> {
        const EXPECTED: &str = "an intValue: a whole number of tokens (0 to 4294967295)";
        match self.get(key) {
            None | Some((_, Value::Null, _)) => Ok(None),
            Some(("intValue", v, path)) => tokens_of(v).map(Some).ok_or_else(|| row.bad(path, EXPECTED, v)),
            Some((_, v, path)) => Err(row.bad(path, EXPECTED, v)),
        }
    }
}

/// The plain value inside an OTLP `AnyValue` (`stringValue`, `intValue`,
/// `doubleValue`, `boolValue`; arrays and maps are kept as JSON).
fn any_value(row: &Row<'_>, v: &Value, field: &str) -> Result<(String, Value), LogError> {
    let obj = row.object(v, field)?;
    let Some((kind, inner)) = obj.iter().next() else {
        return Ok((String::new(), Value::Null));
    };
    match kind.as_str() {
        "stringValue" | "intValue" | "doubleValue" | "boolValue" | "arrayValue" | "kvlistValue" | "bytesValue" => {
            Ok((kind.clone(), inner.clone()))
        }
        _ => Err(row.bad(
            field,
            "an OTLP AnyValue: {\"stringValue\": ...}, {\"intValue\": ...}, {\"doubleValue\": ...} or {\"boolValue\": ...}",
            v,
        )),
    }
}

fn nanos(row: &Row<'_>, span: &Map<String, Value>, key: &str, path: &str) -> Result<u64, LogError> {
    let field = format!("{path}.{key}");
    match span.get(key) {
        None | Some(Value::Null) => Err(row.missing(&field, EXPECT_NANOS)),
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| row.bad(&field, EXPECT_NANOS, &span[key])),
        Some(Value::String(s)) => s.parse::<u64>().map_err(|_| row.bad(&field, EXPECT_NANOS, &span[key])),
        Some(other) => Err(row.bad(&field, EXPECT_NANOS, other)),
    }
}

fn hex_id(
    row: &Row<'_>,
    span: &Map<String, Value>,
    key: &str,
    path: &str,
    len: usize,
) -> Result<Option<String>, LogError> {
    let field = format!("{path}.{key}");
    let expected = format!("{len} hexadecimal digits");
    match span.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) if s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(Some(s.to_ascii_lowercase()))
        }
        Some(other) => Err(row.bad(&field, &expected, other)),
    }
}

fn span_record(row: &Row<'_>, span: &Value, path: &str, resource: &Attributes) -> Result<Option<CallRecord>, LogError> {
    let span = row.object(span, path)?;
    let attrs = Attributes::read(row, span.get("attributes"), &format!("{path}.attributes"))?;
    let kind = match attrs.text(row, "gen_ai.operation.name")?.as_deref() {
        Some("chat" | "text_completion" | "generate_content") => RecordKind::Model,
        Some("execute_tool") => RecordKind::Tool,
        Some("invoke_agent") => RecordKind::Agent,
        _ => return Ok(None),
    };
    let trace = hex_id(row, span, "traceId", path, 32)?;
    if trace.is_none() {
        return Err(row.missing(&format!("{path}.traceId"), "32 hexadecimal digits"));
    }
    let span_id = hex_id(row, span, "spanId", path, 16)?;
    if span_id.is_none() {
        return Err(row.missing(&format!("{path}.spanId"), "16 hexadecimal digits"));
    }
    let parent = hex_id(row, span, "parentSpanId", path, 16)?;
    let start = nanos(row, span, "startTimeUnixNano", path)?;
    let end = nanos(row, span, "endTimeUnixNano", path)?;
    if end < start {
        return Err(row.bad(
            &format!("{path}.endTimeUnixNano"),
            "a time no earlier than startTimeUnixNano",
            &span["endTimeUnixNano"],
        ));
    }
    let failed_status = match span.get("status") {
        None | Some(Value::Null) => false,
        Some(s) => {
            let s = row.object(s, &format!("{path}.status"))?;
            match s.get("code") {
                None | Some(Value::Null) => false,
                Some(Value::Number(n)) if n.as_u64().is_some_and(|c| c <= 2) => n.as_u64() == Some(2),
                Some(Value::String(c)) if matches!(c.as_str(), "STATUS_CODE_UNSET" | "STATUS_CODE_OK") => false,
                Some(Value::String(c)) if c == "STATUS_CODE_ERROR" => true,
                Some(other) => {
                    return Err(row.bad(
                        &format!("{path}.status.code"),
                        "0, 1 or 2 (unset, ok, error), or its STATUS_CODE_ name",
                        other,
                    ));
                }
            }
        }
    };
    let error_type = attrs.text(row, "error.type")?;
    let status = match (&error_type, failed_status) {
        (Some(t), _) => Status::of_error(t),
        (None, true) => Status::Error,
        (None, false) => Status::Ok,
    };
    let provider = match attrs.text(row, "gen_ai.provider.name")? {
        Some(p) => Some(p),
        None => attrs.text(row, "gen_ai.system")?,
    };
    let model = attrs.text(row, "gen_ai.request.model")?;
    let server = attrs.text(row, "server.address")?;
    let endpoint = match (kind, &model) {
        (RecordKind::Model, Some(m)) => {
            let mut name = format!("{m}@{}", provider.as_deref().unwrap_or("unknown"));
            if let Some(label) = server.as_deref().and_then(host_label) {
                name.push('/');
                name.push_str(&label);
            }
            Some(name)
        }
        _ => None,
    };
    let tenant = match attrs.text(row, "slaplan.tenant")? {
        Some(t) => Some(t),
        None => resource.text(row, "service.name")?,
    };
    let workflow = match attrs.text(row, "slaplan.workflow")? {
        Some(w) => Some(w),
        None => attrs.text(row, "gen_ai.agent.name")?,
    };
    Ok(Some(CallRecord {
        kind,
        tenant,
        key: None,
        workflow,
        task: trace,
        session: attrs.text(row, "gen_ai.conversation.id")?,
        span: span_id,
        parent,
        call: None,
        start,
        first_token: None,
        end,
        input_tokens: attrs.tokens(row, "gen_ai.usage.input_tokens")?,
        output_tokens: attrs.tokens(row, "gen_ai.usage.output_tokens")?,
        model_group: model,
        endpoint,
        provider,
        status,
        error_type,
        cost: None,
        tier: None,
        turned_away: status == Status::RateLimited,
        fallback: None,
        fallback_recorded: false,
    }))
}

/// The first DNS label of a server address, unless it is a provider's
/// public `api.` host.
fn host_label(address: &str) -> Option<String> {
    let label = address.split('.').next()?;
    (!label.is_empty() && label != "api" && address.contains('.')).then(|| label.to_string())
}
