//! One attempt sent to an upstream: the request (model id and key of the
//! endpoint), the answer classified into the router's [`Outcome`], and for
//! streams the events passed on one by one as they arrive.
//!
//! An attempt runs as its own task; the driver aborts the task to cancel
//! the attempt, which drops the upstream connection, so the upstream sees
//! the request cancelled.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::config::UpstreamTarget;
use super::core_api;
use super::driver::{AttemptAnswer, Command};
use super::secret::Scrubber;
use super::wire::{self, SseSplitter, Usage};
use crate::policy::{AttemptId, Outcome};
use crate::time::Span;

/// The largest non-streamed answer read from an upstream.
const MAX_ANSWER: usize = 64 * 1024 * 1024;
/// The largest error body passed on to a client.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Everything an attempt needs.
pub struct AttemptJob {
    /// The attempt.
    pub attempt: AttemptId,
    /// Where it goes.
    pub target: Arc<UpstreamTarget>,
    /// The client's request body.
    pub body: Arc<Value>,
    /// Whether the client asked for a stream.
    pub stream: bool,
    /// Whether the client asked for the usage chunk of a stream.
    pub client_usage: bool,
    /// The call's draw key, passed on in its header.
    pub draw_key: Option<u64>,
    /// The call's chunk channel to its client.
    pub chunks: mpsc::Sender<Bytes>,
    /// The driver.
    pub commands: mpsc::Sender<Command>,
    /// The HTTP client (shared connection pool).
    pub client: reqwest::Client,
    /// Removes upstream keys from error bodies passed on.
    pub scrubber: Arc<Scrubber>,
}

/// Runs the attempt and reports how it ended to the driver.
pub async fn run(job: AttemptJob) {
    let (outcome, answer) = attempt(&job).await;
    let _ = job
        .commands
        .send(Command::AttemptEnded {
            attempt: job.attempt,
            outcome,
            answer,
        })
        .await;
}

async fn attempt(job: &AttemptJob) -> (Outcome, AttemptAnswer) {
    let mut body = (*job.body).clone();
    if let Some(obj) = body.as_object_mut() {
        obj.insert("model".into(), Value::String(job.target.model.clone()));
        if job.stream {
            let opts = obj
                .entry("stream_options")
                .or_insert_with(|| Value::Object(Default::default()));
            if let Some(o) = opts.as_object_mut() {
                o.insert("include_usage".into(), Value::Bool(true));
            }
        }
    }
    let mut req = job
        .client
        .post(&job.target.url)
        .header(CONTENT_TYPE, "application/json")
        .body(serde_json::to_vec(&body).unwrap_or_default());
    if let Some(k) = job.draw_key {
        req = req.header(super::request::DRAW_KEY_HEADER, super::request::draw_key_text(k));
    }
    if let Some(key) = &job.target.key {
        req = if job.target.azure {
            req.header("api-key", key.expose())
        } else {
            req.header(AUTHORIZATION, format!("Bearer {}", key.expose()))
        };
    }
    let Ok(resp) = req.send().await else {
        return (Outcome::ConnectionError, AttemptAnswer::Nothing);
    };
    let status = resp.status().as_u16();
    match status {
        200..=299 if job.stream => streamed(job, resp).await,
        200..=299 => match read_capped(resp, MAX_ANSWER).await {
            // A 2xx whose body is not a JSON object is no answer.
            Some(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(v) if v.is_object() => {
                    let usage = wire::usage(&v);
                    (Outcome::Success, AttemptAnswer::Body { bytes, usage })
                }
                _ => (Outcome::ServerError, AttemptAnswer::Nothing),
            },
            None => (Outcome::ConnectionError, AttemptAnswer::Nothing),
        },
        429 => {
            let retry_after = resp
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map_or(Span::ZERO, Span::from_secs_f64);
            (Outcome::RateLimited { retry_after }, AttemptAnswer::Nothing)
        }
        400..=499 => {
            let body = read_capped(resp, MAX_ERROR_BODY).await.unwrap_or_default();
            // The upstream refused our credentials: its body may describe
            // the key it was sent, so none of it is passed on.
            let body = if status == 401 || status == 403 {
                wire::error_body("the upstream refused the gateway's credentials", "upstream_error", None)
            } else {
                Bytes::from(job.scrubber.scrub(&body))
            };
            (core_api::client_error(status), AttemptAnswer::Refused { status, body })
        }
        _ => (Outcome::ServerError, AttemptAnswer::Nothing),
    }
}

/// The body, if it arrives whole and within `cap` bytes.
async fn read_capped(resp: reqwest::Response, cap: usize) -> Option<Bytes> {
    let mut out = bytes::BytesMut::new();
    let mut body = resp.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.ok()?;
        if out.len() + chunk.len() > cap {
            return None;
        }
        out.extend_from_slice(&chunk);
    }
    Some(out.freeze())
}

/// A streamed answer: asks the driver at the first event whether this
/// attempt is the one the client gets, then passes every event on. A
/// malformed event, or one longer than [`wire::MAX_EVENT`], ends the
/// attempt as a server error (before anything was passed on, the router
/// may still try elsewhere).
async fn streamed(job: &AttemptJob, resp: reqwest::Response) -> (Outcome, AttemptAnswer) {
    let mut body = resp.bytes_stream();
    let mut splitter = SseSplitter::default();
    let mut usage: Option<Usage> = None;
    let mut forwarding: Option<bool> = None;
    loop {
        let chunk = match body.next().await {
            Some(Ok(c)) => c,
            Some(Err(_)) => return (Outcome::ConnectionError, AttemptAnswer::Nothing),
            None => break,
        };
        let Ok(events) = splitter.push(&chunk) else {
            return (Outcome::ServerError, AttemptAnswer::Nothing);
        };
        for event in events {
            if !wire::event_well_formed(&event) {
                return (Outcome::ServerError, AttemptAnswer::Nothing);
            }
            // Only a usage event is parsed; the others pass through as bytes.
            let has_usage = event.windows(7).any(|w| w == b"\"usage\"");
            let json = if has_usage { wire::event_json(&event) } else { None };
            let usage_only = json.as_ref().is_some_and(|v| {
                v.get("choices").and_then(Value::as_array).is_some_and(Vec::is_empty) && v.get("usage").is_some()
            });
            if let Some(u) = json.as_ref().and_then(wire::usage) {
                usage = Some(u);
            }
            let forward = match forwarding {
                Some(f) => f,
                None => {
                    let (tx, rx) = oneshot::channel();
                    let asked = job
                        .commands
                        .send(Command::FirstToken {
                            attempt: job.attempt,
                            reply: tx,
                        })
                        .await;
                    let f = asked.is_ok() && rx.await.unwrap_or(false);
                    forwarding = Some(f);
                    f
                }
            };
            if forward && (!usage_only || job.client_usage) && job.chunks.send(event).await.is_err() {
                // The client is gone; the driver cancels the call.
                return (Outcome::ConnectionError, AttemptAnswer::Nothing);
            }
        }
    }
    if let Some(rest) = splitter.rest()
        && forwarding == Some(true)
        && wire::event_well_formed(&rest)
    {
        let _ = job.chunks.send(rest).await;
    }
    if forwarding.is_none() {
        // A 200 with no event at all is not an answer.
        return (Outcome::ServerError, AttemptAnswer::Nothing);
    }
    (Outcome::Success, AttemptAnswer::Streamed { usage })
}
