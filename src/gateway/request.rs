//! A client's chat request, read: the body and the `x-slaplan-*` headers
//! of `POST /v1/chat/completions` turned into what the router core is
//! asked ([`ChatInput`]), or the refusal the client gets ([`Refusal`]).
//!
//! Pure: no socket, no driver, no clock. The handler in `http` calls it
//! once it knows the tenant; the fuzz target `gateway` calls it on
//! arbitrary headers and bodies.

use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

use super::wire;
use crate::policy::{EndpointId, SlaClass};
use crate::scenario::Tenant;
use crate::time::Span;

/// The header carrying a call's draw key: its identity in the workload
/// (`slaplan load` sends it), which keys its attempts' random draws in the
/// simulator and the emulator. The gateway passes it on to the upstream
/// unchanged (a real provider ignores it) and logs it.
pub const DRAW_KEY_HEADER: &str = "x-slaplan-draw-key";

/// A draw key as the header carries it: 16 lowercase hex digits.
pub fn draw_key_text(key: u64) -> String {
    format!("{key:016x}")
}

/// A draw key read from its header's text (1 to 16 hex digits).
pub fn parse_draw_key(text: &str) -> Option<u64> {
    let ok = !text.is_empty() && text.len() <= 16 && text.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then(|| u64::from_str_radix(text, 16).ok()).flatten()
}

/// The longest session name (`x-slaplan-session`) accepted, in bytes.
pub const MAX_SESSION_NAME: usize = 256;

/// What a chat request asks, read and checked.
#[derive(Debug)]
pub struct ChatInput {
    /// The body, a JSON object with a `messages` array.
    pub body: Value,
    /// The workflow's index in the tenant (`x-slaplan-workflow`; 0 if absent).
    pub workflow: usize,
    /// `x-slaplan-deadline`.
    pub deadline: Option<Span>,
    /// `x-slaplan-priority`.
    pub priority: Option<SlaClass>,
    /// `x-slaplan-session`.
    pub session: Option<String>,
    /// `x-slaplan-task`.
    pub task: Option<String>,
    /// `x-slaplan-draw-key`.
    pub draw_key: Option<u64>,
    /// `stream`.
    pub stream: bool,
    /// `stream_options.include_usage`.
    pub client_usage: bool,
    /// The prompt's size, estimated.
    pub input_tokens: u32,
    /// The output asked for at most, else the workflow's expected output.
    pub output_tokens: u32,
}

/// A request refused: the HTTP status, the message and the OpenAI error code.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
    /// 400 or 404.
    pub status: StatusCode,
    /// What was wrong, naming the header or field.
    pub message: String,
    /// OpenAI's `code`, where it has one.
    pub code: Option<&'static str>,
}

impl Refusal {
    fn bad(message: String) -> Refusal {
        Refusal {
            status: StatusCode::BAD_REQUEST,
            message,
            code: None,
        }
    }
}

/// A header's value as text, if present; a value that is not visible
/// ASCII is refused rather than taken for an absent header.
fn header_text(headers: &HeaderMap, name: &str) -> Result<Option<String>, Refusal> {
    match headers.get(name).map(|v| v.to_str()) {
        None => Ok(None),
        Some(Ok(text)) => Ok(Some(text.to_string())),
        Some(Err(_)) => Err(Refusal::bad(format!("{name}: the value is not visible ASCII text"))),
    }
}

/// Reads the request of `tenant`, whose chain is `chain` (the endpoint
/// names a body may ask for) and whose workflows expect `expected_output`
/// output tokens each.
pub fn chat_input(
    tenant: &Tenant,
    chain: &[(EndpointId, String)],
    expected_output: &[u32],
    headers: &HeaderMap,
    body: &[u8],
) -> Result<ChatInput, Refusal> {
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return Err(Refusal::bad("the body is not a JSON object".into()));
    };
    if !body.is_object() || !body.get("messages").is_some_and(Value::is_array) {
        return Err(Refusal::bad("expected a JSON object with `messages`".into()));
    }
    // A body may name a model, never pick one outside the tenant's chain.
    if let Some(model) = body.get("model").and_then(Value::as_str)
        && !chain.iter().any(|(_, n)| n == model)
    {
        return Err(Refusal {
            status: StatusCode::NOT_FOUND,
            message: format!("the model `{model}` does not exist or you do not have access to it"),
            code: Some("model_not_found"),
        });
    }
    let workflow = match header_text(headers, "x-slaplan-workflow")? {
        None => 0,
        Some(name) => tenant.workflows.iter().position(|w| w.name == name).ok_or_else(|| {
            Refusal::bad(format!(
                "x-slaplan-workflow: tenant {:?} has no workflow {name:?}",
                tenant.name
            ))
        })?,
    };
    let deadline = match header_text(headers, "x-slaplan-deadline")? {
        None => None,
        Some(text) => Some(Span::parse(&text).map_err(|_| {
            Refusal::bad(format!(
                "x-slaplan-deadline: {text:?} is not a duration: expected e.g. \"30s\" or \"800ms\""
            ))
        })?),
    };
    let priority = match header_text(headers, "x-slaplan-priority")? {
        None => None,
        Some(text) => Some(SlaClass::ALL.into_iter().find(|c| c.name() == text).ok_or_else(|| {
            Refusal::bad(format!(
                "x-slaplan-priority: {text:?} is not a class: expected gold, silver or bronze"
            ))
        })?),
    };
    let session = header_text(headers, "x-slaplan-session")?;
    let task = header_text(headers, "x-slaplan-task")?;
    let draw_key = match header_text(headers, DRAW_KEY_HEADER)? {
        None => None,
        Some(text) => Some(parse_draw_key(&text).ok_or_else(|| {
            Refusal::bad(format!(
                "{DRAW_KEY_HEADER}: {text:?} is not a draw key: expected 1 to 16 hex digits"
            ))
        })?),
    };
    if session.as_ref().is_some_and(|v| v.len() > MAX_SESSION_NAME) {
        return Err(Refusal::bad(format!(
            "x-slaplan-session: longer than {MAX_SESSION_NAME} bytes"
        )));
    }
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let client_usage = body
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let input_tokens = wire::estimate_prompt_tokens(body.get("messages").unwrap_or(&Value::Null));
    let output_tokens =
        wire::requested_output_tokens(&body).unwrap_or_else(|| expected_output.get(workflow).copied().unwrap_or(1));
    Ok(ChatInput {
        body,
        workflow,
        deadline,
        priority,
        session,
        task,
        draw_key,
        stream,
        client_usage,
        input_tokens,
        output_tokens,
    })
}
