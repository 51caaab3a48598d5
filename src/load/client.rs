//! One call sent to the gateway, streamed, and what the client saw of it.
//!
//! The request carries a prompt whose size the gateway's estimate (one
//! token per four characters) reads back as exactly the call's input
//! tokens, `max_tokens` set to its output tokens, `stream: true` with
//! usage. The first content chunk is the first token; `usage` gives the
//! tokens; the chunks' `model` names the endpoint that served (its tier is
//! that endpoint's tier in the tenant's chain).
//!
//! The client's outcome comes from the HTTP status, as the gateway maps
//! its reasons ([`client_outcome`]); a stream broken before its end, or a
//! connection that failed, is `attempts_exhausted` with status 0 (the
//! client cannot tell more).

use std::sync::Arc;

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::gateway::clock::Clock;
use crate::gateway::request::{DRAW_KEY_HEADER, draw_key_text};
use crate::time::{Span, Time};

/// The largest error body read, in bytes.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// One call to send.
#[derive(Clone, Debug)]
pub(super) struct CallSpec {
    pub url: Arc<str>,
    pub key: Arc<str>,
    pub workflow: Arc<str>,
    pub task: Arc<str>,
    pub draw_key: u64,
    pub deadline: Option<Span>,
    pub input_tokens: u32,
    pub output_tokens: u32,
}

/// What the client saw of one call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallResult {
    /// When it was sent (the load's clock).
    pub sent: Time,
    /// When the first content chunk arrived, if one did.
    pub first_token: Option<Time>,
    /// When the answer ended.
    pub end: Time,
    /// The HTTP status (0: no answer).
    pub status: u16,
    /// Whether the answer was complete and successful.
    pub success: bool,
    /// `usage` from the answer: (prompt, completion) tokens.
    pub usage: Option<(u32, u32)>,
    /// The model the answer named.
    pub model: Option<String>,
}

/// The gateway's outcome name for an HTTP status it answered a failed call
/// with (the reasons `serve` maps to statuses).
pub fn client_outcome(status: u16) -> &'static str {
    match status {
        200..=299 => "success",
        429 => "shed",
        504 => "deadline_unreachable",
        503 => "no_eligible_endpoint",
        400 | 404 | 413 => "invalid_request",
        401 | 403 => "client_error",
        499 => "cancelled",
        _ => "attempts_exhausted",
    }
}

/// A prompt the gateway's estimate reads as `tokens` tokens.
fn prompt(tokens: u32) -> String {
    "tok ".repeat(tokens.max(1) as usize)
}

/// Sends `spec` and waits for the whole answer.
pub(super) async fn send(http: reqwest::Client, spec: CallSpec, clock: Clock) -> CallResult {
    let body = json!({
        "messages": [{ "role": "user", "content": prompt(spec.input_tokens) }],
        "max_tokens": spec.output_tokens,
        "stream": true,
        "stream_options": { "include_usage": true },
    });
    let mut request = http
        .post(&*spec.url)
        .bearer_auth(&*spec.key)
        .header("x-slaplan-workflow", &*spec.workflow)
        .header("x-slaplan-task", &*spec.task)
        .header("x-slaplan-session", &*spec.task)
        .header(DRAW_KEY_HEADER, draw_key_text(spec.draw_key))
        .json(&body);
    if let Some(d) = spec.deadline {
        request = request.header("x-slaplan-deadline", format!("{}ms", d.as_nanos().div_ceil(1_000_000)));
    }
    let sent = clock.now();
    let mut result = CallResult {
        sent,
        first_token: None,
        end: sent,
        status: 0,
        success: false,
        usage: None,
        model: None,
    };
    let response = match request.send().await {
        Ok(r) => r,
        Err(_) => {
            result.end = clock.now();
            return result;
        }
    };
    result.status = response.status().as_u16();
    if !response.status().is_success() {
        let mut stream = response.bytes_stream();
        let mut read = 0usize;
        while let Some(Ok(chunk)) = stream.next().await {
            read += chunk.len();
            if read > ERROR_BODY_LIMIT {
                break;
            }
        }
        result.end = clock.now();
        return result;
    }
    let mut events = SseEvents::default();
    let mut stream = response.bytes_stream();
    let mut done = false;
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else { break };
        for event in events.push(&chunk) {
            if event == b"[DONE]" {
                done = true;
                continue;
            }
            let Ok(v) = serde_json::from_slice::<Value>(&event) else {
                continue;
            };
            if result.model.is_none() {
                result.model = v.get("model").and_then(Value::as_str).map(str::to_string);
            }
            let content = v
                .pointer("/choices/0/delta/content")
                .and_then(Value::as_str)
                .is_some_and(|c| !c.is_empty());
            if content && result.first_token.is_none() {
                result.first_token = Some(clock.now());
            }
            if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
                let n = |k: &str| {
                    u.get(k)
                        .and_then(Value::as_u64)
                        .map(|x| x.min(u64::from(u32::MAX)) as u32)
                };
                if let (Some(p), Some(c)) = (n("prompt_tokens"), n("completion_tokens")) {
                    result.usage = Some((p, c));
                }
            }
        }
    }
    result.end = clock.now();
    result.success = done;
    if !done {
        // A stream that broke off: the client got no whole answer.
        result.status = 0;
    }
    result
}

/// Server-sent events split out of a byte stream: the `data:` payload of
/// each event, as it completes.
#[derive(Default)]
struct SseEvents {
    pending: Vec<u8>,
}

impl SseEvents {
    fn push(&mut self, bytes: &[u8]) -> Vec<Vec<u8>> {
        self.pending.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some(end) = self.pending.windows(2).position(|w| w == b"\n\n") {
            let event: Vec<u8> = self.pending.drain(..end + 2).collect();
            for line in event.split(|&b| b == b'\n') {
                if let Some(data) = line.strip_prefix(b"data: ").or_else(|| line.strip_prefix(b"data:")) {
                    out.push(data.to_vec());
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gateway_reads_the_prompt_as_the_tokens_meant() {
        for n in [1u32, 2, 7, 1000] {
            let messages = json!([{ "role": "user", "content": prompt(n) }]);
            assert_eq!(crate::gateway::wire::estimate_prompt_tokens(&messages), n);
        }
    }

    #[test]
    fn events_split_across_chunks_come_out_whole() {
        let mut e = SseEvents::default();
        assert!(e.push(b"data: {\"a\"").is_empty());
        assert_eq!(
            e.push(b":1}\n\ndata: [DONE]\n\n"),
            vec![b"{\"a\":1}".to_vec(), b"[DONE]".to_vec()]
        );
    }

    #[test]
    fn statuses_map_to_the_gateways_outcomes() {
        assert_eq!(client_outcome(200), "success");
        assert_eq!(client_outcome(429), "shed");
        assert_eq!(client_outcome(502), "attempts_exhausted");
        assert_eq!(client_outcome(503), "no_eligible_endpoint");
        assert_eq!(client_outcome(504), "deadline_unreachable");
    }
}
