//! The gateway's HTTP surface: `POST /v1/chat/completions`, `GET
//! /v1/models`, `GET /healthz`, `GET /metrics`. A request is authenticated,
//! checked and turned into a [`Submission`]; the handler then waits for its
//! call's first streamed event or its end. A [`CallGuard`] tells the driver
//! when the client goes away before the end (the handler's future or the
//! streamed body is dropped).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::stream;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use super::auth::Keys;
use super::driver::{Command, DriverHandle, Final, Submission};
use super::metrics::Metrics;
use super::request;
use super::wire;
use crate::policy::{CallId, CallRequest, EndpointId, WorkflowId};
use crate::scenario::Scenario;

/// Streamed events buffered per call between the upstream and the client.
const CHUNK_BACKLOG: usize = 64;

/// The configuration the handlers read, replaced whole by a reload.
pub struct Serving {
    /// The scenario served.
    pub scenario: Arc<Scenario>,
    /// The tenants' keys.
    pub keys: Keys,
    /// Per tenant, per workflow: expected output tokens.
    pub expected_output: Vec<Vec<u32>>,
    /// Per tenant: the endpoints of its chain (ids), and their names.
    pub chains: Vec<Vec<(EndpointId, String)>>,
}

/// What the handlers share.
pub struct AppState {
    /// The configuration served (a handler takes it once, at its start).
    pub serving: std::sync::RwLock<Arc<Serving>>,
    /// The driver.
    pub driver: DriverHandle,
    /// The metrics.
    pub metrics: Arc<Metrics>,
}

/// The gateway's routes, with the request-body limit.
pub fn router(state: Arc<AppState>, body_limit: usize) -> axum::Router {
    axum::Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/v1/models", get(models))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        // A declared length over the limit is refused before the body is
        // read; a chunked body is cut where it passes the limit. Either way 413.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(tower_http::limit::RequestBodyLimitLayer::new(body_limit))
        .with_state(state)
}

fn error(status: StatusCode, message: &str, kind: &str, code: Option<&str>) -> Response {
    let mut r = (status, wire::error_body(message, kind, code)).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn unauthorized() -> Response {
    let mut r = error(
        StatusCode::UNAUTHORIZED,
        "missing or unknown API key: send Authorization: Bearer <your key>",
        "invalid_request_error",
        Some("invalid_api_key"),
    );
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    r
}

async fn metrics(State(s): State<Arc<AppState>>) -> Response {
    let (tx, rx) = oneshot::channel();
    if s.driver.commands.send(Command::Snapshot { reply: tx }).await.is_ok() {
        let _ = rx.await;
    }
    let mut r = s.metrics.encode().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    r
}

impl AppState {
    /// The configuration served now.
    pub fn serving(&self) -> Arc<Serving> {
        Arc::clone(&self.serving.read().unwrap_or_else(std::sync::PoisonError::into_inner))
    }
}

async fn models(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let s = state.serving();
    let Some(tenant) = s
        .keys
        .tenant(headers.get(header::AUTHORIZATION).map(HeaderValue::as_bytes))
    else {
        return unauthorized();
    };
    let data: Vec<Value> = s.chains[tenant.0 as usize]
        .iter()
        .map(|(e, name)| {
            let owner = s
                .scenario
                .endpoints
                .get(e.0 as usize)
                .map_or("", |x| x.provider.as_str());
            json!({ "id": name, "object": "model", "created": 0, "owned_by": owner })
        })
        .collect();
    axum::Json(json!({ "object": "list", "data": data })).into_response()
}

/// Tells the driver when the client goes away before its call ended.
struct CallGuard {
    call: CallId,
    gone: mpsc::UnboundedSender<CallId>,
    ended: bool,
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        if !self.ended {
            let _ = self.gone.send(self.call);
        }
    }
}

async fn chat(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let s = state.serving();
    let Some(tenant) = s
        .keys
        .tenant(headers.get(header::AUTHORIZATION).map(HeaderValue::as_bytes))
    else {
        return unauthorized();
    };
    let t = &s.scenario.tenants[tenant.0 as usize];
    let input = match request::chat_input(
        t,
        &s.chains[tenant.0 as usize],
        &s.expected_output[tenant.0 as usize],
        &headers,
        &body,
    ) {
        Ok(input) => input,
        Err(refused) => return error(refused.status, &refused.message, "invalid_request_error", refused.code),
    };
    let (chunks_tx, mut chunks) = mpsc::channel::<Bytes>(CHUNK_BACKLOG);
    let (done_tx, mut done) = oneshot::channel::<Final>();
    let (reply_tx, reply) = oneshot::channel();
    let mut request = CallRequest {
        tenant,
        workflow: WorkflowId(input.workflow as u32),
        input_tokens: input.input_tokens,
        output_tokens: input.output_tokens,
        deadline: None,
        affinity: None,
        priority: None,
    };
    super::core_api::set_priority(&mut request, input.priority);
    let submission = Submission {
        request,
        deadline_after: input.deadline,
        stream: input.stream,
        client_usage: input.client_usage,
        body: Arc::new(input.body),
        task: input.task,
        draw_key: input.draw_key,
        session: input.session,
        chunks: chunks_tx,
        done: done_tx,
        reply: reply_tx,
    };
    if state
        .driver
        .commands
        .send(Command::Submit(Box::new(submission)))
        .await
        .is_err()
    {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the gateway is stopping",
            "server_error",
            None,
        );
    }
    let Ok(call) = reply.await else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the gateway is stopping",
            "server_error",
            None,
        );
    };
    let mut guard = CallGuard {
        call,
        gone: state.driver.gone.clone(),
        ended: false,
    };
    let first = tokio::select! {
        biased;
        fin = &mut done => First::End(fin.ok()),
        Some(chunk) = chunks.recv() => First::Chunk(chunk),
    };
    match first {
        First::End(fin) => {
            guard.ended = true;
            // Events sent before the end (a stream) come first.
            let mut early = Vec::new();
            while let Ok(c) = chunks.try_recv() {
                early.push(c);
            }
            finish(fin, early)
        }
        First::Chunk(chunk) => stream_response(chunk, chunks, done, guard),
    }
}

/// What a call's handler sees first.
enum First {
    /// The call ended (`None`: the driver stopped).
    End(Option<Final>),
    /// A streamed event.
    Chunk(Bytes),
}

/// The response for a call that ended before any event was streamed
/// (`early` holds events sent just before the end).
fn finish(fin: Option<Final>, early: Vec<Bytes>) -> Response {
    match fin {
        Some(Final::Answer(bytes)) => {
            let mut r = Response::new(Body::from(bytes));
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r
        }
        Some(Final::End) => {
            let body: Vec<u8> = early.iter().flat_map(|b| b.to_vec()).collect();
            sse(Body::from(body))
        }
        Some(Final::Refused {
            status,
            body,
            retry_after,
        }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            let mut r = (status, body).into_response();
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            if let Some(secs) = retry_after {
                r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            r
        }
        None => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the gateway is stopping",
            "server_error",
            None,
        ),
    }
}

fn sse(body: Body) -> Response {
    let mut r = Response::new(body);
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// Where a streamed response stands.
enum Phase {
    Streaming,
    Over,
}

/// A streamed answer: the events as they arrive, then, if the call failed
/// after the stream started, one error event.
fn stream_response(
    first: Bytes,
    chunks: mpsc::Receiver<Bytes>,
    done: oneshot::Receiver<Final>,
    guard: CallGuard,
) -> Response {
    let state = (Some(first), chunks, done, guard, Phase::Streaming, Vec::<Bytes>::new());
    let body = stream::unfold(
        state,
        |(first, mut chunks, mut done, mut guard, phase, mut tail)| async move {
            if let Some(f) = first {
                return Some((
                    Ok::<Bytes, std::convert::Infallible>(f),
                    (None, chunks, done, guard, phase, tail),
                ));
            }
            if let Some(t) = tail.pop() {
                return Some((Ok(t), (None, chunks, done, guard, phase, tail)));
            }
            if matches!(phase, Phase::Over) {
                return None;
            }
            let next = tokio::select! {
                biased;
                Some(c) = chunks.recv() => First::Chunk(c),
                fin = &mut done => First::End(fin.ok()),
            };
            match next {
                First::Chunk(c) => Some((Ok(c), (None, chunks, done, guard, phase, tail))),
                First::End(fin) => {
                    guard.ended = true;
                    let mut rest = Vec::new();
                    while let Ok(c) = chunks.try_recv() {
                        rest.push(c);
                    }
                    if let Some(Final::Refused { body, .. }) = fin {
                        rest.push(wire::sse_event(&body));
                    }
                    rest.reverse();
                    tail = rest;
                    let next = tail.pop()?;
                    Some((Ok(next), (None, chunks, done, guard, Phase::Over, tail)))
                }
            }
        },
    );
    sse(Body::from_stream(body))
}
