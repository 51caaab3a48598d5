//! The emulator's HTTP surface: chat completions (JSON or a stream of
//! server-sent events), the model list, and per-endpoint counters.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::stream;
use serde_json::{Value, json};

use super::Shared;
use super::slots::{Emulated, QueueGuard, RequestLife, SlotGuard};
use crate::gateway::request::{DRAW_KEY_HEADER, parse_draw_key};
use crate::gateway::wire;
use crate::model::{Admission, AttemptDraws, Pace};
use crate::time::{Span, Time};

/// The emulator's routes.
pub(super) fn router(shared: Arc<Shared>) -> axum::Router {
    axum::Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/v1/models", get(models))
        .route("/emulator/stats", get(stats))
        .with_state(shared)
}

fn error(status: StatusCode, message: &str, kind: &str, code: Option<&str>) -> Response {
    let mut r = (status, wire::error_body(message, kind, code)).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

async fn models(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let data: Vec<Value> = shared
        .endpoints
        .iter()
        .map(|e| json!({ "id": e.name, "object": "model", "created": 0, "owned_by": "slaplan-emulate" }))
        .collect();
    Json(json!({ "object": "list", "data": data }))
}

async fn stats(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let mut out = serde_json::Map::new();
    for e in &shared.endpoints {
        let c = &e.counters;
        let (busy, queued) = {
            let s = e.lock();
            (s.sim.busy, s.sim.queue.len())
        };
        out.insert(
            e.name.clone(),
            json!({
                "requests": c.requests.load(Ordering::Relaxed),
                "answered": c.answered.load(Ordering::Relaxed),
                "cancelled": c.cancelled.load(Ordering::Relaxed),
                "busy": busy,
                "queued": queued,
            }),
        );
    }
    Json(Value::Object(out))
}

/// Whether the request carries the endpoint's key (`Authorization: Bearer`
/// or Azure's `api-key`), when it has one.
fn authorized(endpoint: &Emulated, headers: &HeaderMap) -> bool {
    let Some(key) = &endpoint.key else { return true };
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let azure = headers.get("api-key").and_then(|v| v.to_str().ok());
    use subtle::ConstantTimeEq;
    [bearer, azure]
        .into_iter()
        .flatten()
        .any(|k| bool::from(k.as_bytes().ct_eq(key.as_bytes())))
}

/// What one request asked for.
struct Ask {
    model: String,
    stream: bool,
    include_usage: bool,
    input: u32,
    output: u32,
}

async fn chat(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "the body is not JSON",
            "invalid_request_error",
            None,
        );
    };
    let Some(model) = req.get("model").and_then(Value::as_str) else {
        return error(
            StatusCode::BAD_REQUEST,
            "missing `model`",
            "invalid_request_error",
            None,
        );
    };
    let Some(&index) = shared.by_model.get(model) else {
        let msg = format!("the model `{model}` does not exist");
        return error(
            StatusCode::NOT_FOUND,
            &msg,
            "invalid_request_error",
            Some("model_not_found"),
        );
    };
    let endpoint = Arc::clone(&shared.endpoints[index]);
    if !authorized(&endpoint, &headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid API key",
            "invalid_request_error",
            Some("invalid_api_key"),
        );
    }
    let ask = Ask {
        model: model.to_string(),
        stream: req.get("stream").and_then(Value::as_bool).unwrap_or(false),
        include_usage: req
            .pointer("/stream_options/include_usage")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        input: wire::estimate_prompt_tokens(req.get("messages").unwrap_or(&Value::Null)),
        output: wire::requested_output_tokens(&req)
            .unwrap_or(shared.default_output_tokens)
            .max(1),
    };
    let draw_key = match headers
        .get(DRAW_KEY_HEADER)
        .map(|v| v.to_str().ok().and_then(parse_draw_key))
    {
        None => None,
        Some(Some(key)) => Some(key),
        Some(None) => {
            let msg = format!("{DRAW_KEY_HEADER}: expected 1 to 16 hex digits");
            return error(StatusCode::BAD_REQUEST, &msg, "invalid_request_error", None);
        }
    };
    let keyed = draw_key.map(|key| {
        let mut counts = shared
            .attempts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        AttemptDraws::keyed(key, counts.next(key))
    });
    let life = RequestLife::start(Arc::clone(&endpoint));
    let clock = shared.clock;
    let arrived = clock.now();
    let (admission, attempt, waiter, service, draws) = {
        let mut s = endpoint.lock();
        let attempt = s.next_attempt();
        let draws = keyed.unwrap_or_else(|| s.sim.unkeyed_draws());
        let admission = s.sim.admit(arrived, attempt, draws, ask.input, ask.output);
        let waiter = matches!(admission, Admission::Queued).then(|| s.wait(attempt));
        (admission, attempt, waiter, s.sim.service, draws)
    };
    let sleep_until = |t: Time| tokio::time::sleep_until(clock.instant(t).into());
    let (slot, total, started) = match admission {
        Admission::Serve(total) => (SlotGuard::new(Arc::clone(&endpoint), clock), total, arrived),
        Admission::Queued => {
            let guard = QueueGuard::new(Arc::clone(&endpoint), clock, attempt);
            let Some(Ok(total)) = (match waiter {
                Some(rx) => Some(rx.await),
                None => None,
            }) else {
                return error(StatusCode::SERVICE_UNAVAILABLE, "queue lost", "server_error", None);
            };
            (guard.granted(), total, clock.now())
        }
        Admission::Reject(after) => {
            sleep_until(arrived + after).await;
            life.answered();
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the endpoint is down",
                "server_error",
                None,
            );
        }
        Admission::TooLong(after) => {
            sleep_until(arrived + after).await;
            life.answered();
            let msg = "the prompt is longer than the model's context window";
            return error(
                StatusCode::BAD_REQUEST,
                msg,
                "invalid_request_error",
                Some("context_length_exceeded"),
            );
        }
        Admission::Full(after) => {
            sleep_until(arrived + after).await;
            life.answered();
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "every slot is busy and the queue is full",
                "server_error",
                None,
            );
        }
        Admission::RateLimited { after, retry_after } => {
            sleep_until(arrived + after).await;
            life.answered();
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                "rate limit reached",
                "rate_limit_error",
                Some("rate_limit_exceeded"),
            );
            let secs = retry_after.as_nanos().div_ceil(1_000_000_000);
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
            return r;
        }
        // No answer, ever: the client gives up (and is counted cancelled).
        Admission::Hang => return std::future::pending::<Response>().await,
    };
    let pace = service.pace(total, ask.input, ask.output);
    let id = format!("chatcmpl-emu-{index}-{}", attempt.0);
    let created = clock.unix_millis(started) / 1000;
    if !ask.stream {
        sleep_until(started + total).await;
        let failed = endpoint.lock().sim.draw_error(clock.now(), draws.uniform);
        drop(slot);
        life.answered();
        if failed {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the endpoint failed",
                "server_error",
                None,
            );
        }
        let content: String = (0..ask.output).map(token_text).collect();
        let v = json!({
            "id": id, "object": "chat.completion", "created": created, "model": ask.model,
            "choices": [{ "index": 0, "message": { "role": "assistant", "content": content }, "finish_reason": "stop" }],
            "usage": { "prompt_tokens": ask.input, "completion_tokens": ask.output, "total_tokens": ask.input + ask.output },
        });
        return Json(v).into_response();
    }
    sleep_until(started + pace.first_token).await;
    if endpoint.lock().sim.draw_error(clock.now(), draws.uniform) {
        drop(slot);
        life.answered();
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the endpoint failed",
            "server_error",
            None,
        );
    }
    let body = Body::from_stream(chunks(Streamed {
        id,
        created,
        ask,
        pace,
        started,
        clock,
        slot: Some(slot),
        life: Some(life),
    }));
    let mut r = Response::new(body);
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// The text of output token `i`: distinct, so a reordered or lost chunk shows.
fn token_text(i: u32) -> String {
    format!("w{i} ")
}

/// A streamed answer in progress.
struct Streamed {
    id: String,
    created: i64,
    ask: Ask,
    pace: Pace,
    started: Time,
    clock: crate::gateway::clock::Clock,
    slot: Option<SlotGuard>,
    life: Option<RequestLife>,
}

/// The events of a streamed answer: one chunk per output token at the
/// endpoint's pace, a final chunk, the usage chunk if asked, `[DONE]`.
fn chunks(s: Streamed) -> impl futures_util::Stream<Item = Result<Bytes, std::convert::Infallible>> {
    stream::unfold((s, 0u32), |(mut s, i)| async move {
        let n = s.ask.output;
        if i == n {
            // The service is over: the slot frees before the last events.
            drop(s.slot.take());
        }
        let usage_next = i == n + 1 && s.ask.include_usage;
        if i > n && !usage_next {
            let life = s.life.take()?;
            life.answered();
            return Some((Ok(wire::sse_event(b"[DONE]")), (s, i + 1)));
        }
        if i > 0 && i < n {
            let due = s.started + s.pace.first_token + Span::from_nanos(s.pace.token_gap.as_nanos() * u64::from(i));
            tokio::time::sleep_until(s.clock.instant(due).into()).await;
        }
        let (choices, usage) = if i < n {
            let delta = if i == 0 {
                json!({ "role": "assistant", "content": token_text(i) })
            } else {
                json!({ "content": token_text(i) })
            };
            (json!([{ "index": 0, "delta": delta, "finish_reason": null }]), None)
        } else if i == n {
            (json!([{ "index": 0, "delta": {}, "finish_reason": "stop" }]), None)
        } else {
            let input = s.ask.input;
            (
                json!([]),
                Some(json!({ "prompt_tokens": input, "completion_tokens": n, "total_tokens": input + n })),
            )
        };
        let mut event = json!({ "id": s.id, "object": "chat.completion.chunk", "created": s.created,
                                "model": s.ask.model, "choices": choices });
        if let Some(u) = usage {
            event["usage"] = u;
        }
        let bytes = wire::sse_event(&serde_json::to_vec(&event).unwrap_or_default());
        Some((Ok(bytes), (s, i + 1)))
    })
}
