//! The gateway's JSONL logs: the router's audit events (the very lines
//! `run --audit-sample` writes, by [`crate::report::audit_line`]) and the
//! request log, one line per call, whose schema is the `slaplan-log` trace
//! format (see the README, "Request log").
//!
//! Each file has a writer thread fed through a bounded channel: the
//! router's driver never blocks on a disk. A line that finds the channel
//! full is dropped and counted (`slaplan_log_lines_dropped_total`), so a
//! slow disk costs log lines, never memory or latency.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::thread::JoinHandle;

use serde::Serialize;

use super::config::GatewayError;
use super::wire::Usage;
use crate::scenario::Scenario;
use crate::time::Time;

/// Lines waiting for the writer, at most.
const BACKLOG: usize = 65_536;

/// A line for the writer: written as is, or rendered there first.
enum Pending {
    Bytes(Vec<u8>),
    Render(Box<dyn FnOnce() -> Vec<u8> + Send>),
}

impl Pending {
    fn bytes(self) -> Vec<u8> {
        match self {
            Pending::Bytes(b) => b,
            Pending::Render(f) => f(),
        }
    }
}

/// One JSONL file being written.
pub struct LogFile {
    tx: Option<SyncSender<Pending>>,
    writer: Option<JoinHandle<()>>,
}

impl LogFile {
    /// Creates (truncates) `path` and starts its writer.
    pub fn create(path: &Path) -> Result<LogFile, GatewayError> {
        let file = File::create(path).map_err(|source| GatewayError::Log {
            path: path.display().to_string(),
            source,
        })?;
        let (tx, rx) = mpsc::sync_channel::<Pending>(BACKLOG);
        let writer = std::thread::spawn(move || {
            let mut out = BufWriter::new(file);
            while let Ok(line) = rx.recv() {
                let _ = out.write_all(&line.bytes());
                // Flush when the backlog is empty: lines reach the file
                // promptly at low load, in large writes at high load.
                while let Ok(more) = rx.try_recv() {
                    let _ = out.write_all(&more.bytes());
                }
                let _ = out.flush();
            }
            let _ = out.flush();
        });
        Ok(LogFile {
            tx: Some(tx),
            writer: Some(writer),
        })
    }

    /// Queues `line` (ending in a newline); false if it had to be dropped.
    pub fn write(&self, line: Vec<u8>) -> bool {
        self.send(Pending::Bytes(line))
    }

    /// Queues the line `render` makes, on the writer thread; false if it
    /// had to be dropped.
    pub fn write_with(&self, render: impl FnOnce() -> Vec<u8> + Send + 'static) -> bool {
        self.send(Pending::Render(Box::new(render)))
    }

    fn send(&self, line: Pending) -> bool {
        match &self.tx {
            Some(tx) => !matches!(
                tx.try_send(line),
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_))
            ),
            None => false,
        }
    }
}

impl Drop for LogFile {
    /// Writes out every queued line before returning.
    fn drop(&mut self) {
        self.tx.take();
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

/// One line of the request log: one call, as the gateway saw it. This is
/// the `slaplan-log` trace format (schema version 1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RequestLine {
    /// The router's call number (from 0 at gateway start).
    pub call: u64,
    /// The tenant's name.
    pub tenant: String,
    /// The workflow's name.
    pub workflow: String,
    /// `x-slaplan-task`, if sent.
    pub task: Option<String>,
    /// `x-slaplan-session`, if sent.
    pub session: Option<String>,
    /// `x-slaplan-draw-key`, if sent: the call's identity, which keys its
    /// attempts' draws in the simulator and the emulator (16 hex digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draw_key: Option<String>,
    /// When the request arrived (RFC 3339, UTC, nanoseconds).
    pub arrival: String,
    /// When the first streamed token was passed on, if it was.
    pub first_token: Option<String>,
    /// When the answer (or the refusal) ended.
    pub end: String,
    /// Prompt tokens: the upstream's `usage.prompt_tokens`, else the
    /// gateway's estimate (see `usage`).
    pub input_tokens: u32,
    /// Output tokens: the upstream's `usage.completion_tokens`, else the
    /// tokens the request asked for at most (or the workflow's mean).
    pub output_tokens: u32,
    /// Whether the token counts come from the upstream's `usage`.
    pub usage: bool,
    /// The endpoint that served the call, if one did.
    pub endpoint: Option<String>,
    /// The tier it was served at, if it was.
    pub tier: Option<u8>,
    /// Attempts dispatched for the call.
    pub attempts: u32,
    /// `success`, or why it failed (the router's reasons, `suspended`,
    /// `cancelled`, `client_error`).
    pub outcome: String,
    /// The HTTP status the client got (0 if it went away first).
    pub status: u16,
    /// The call's fallback, when an attempt on its first endpoint failed
    /// (`null`: it never left, or never failed there): what the
    /// fallback-time clause judges. Absent where the writer cannot know
    /// (`slaplan load`'s client side, logs written before the field
    /// existed): such lines cannot judge that clause.
    #[serde(default, skip_serializing_if = "FallbackField::is_unrecorded")]
    pub fallback: FallbackField,
}

/// What one request-log line says of its call's fallback.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum FallbackField {
    /// The writer could not know (the field is absent).
    #[default]
    Unrecorded,
    /// No fallback (`null`).
    Never,
    /// This fallback.
    Left(FallbackLine),
}

impl FallbackField {
    /// What a writer that sees the router records: `None` is no fallback.
    pub fn recorded(line: Option<FallbackLine>) -> FallbackField {
        line.map_or(FallbackField::Never, FallbackField::Left)
    }

    /// Whether the line leaves the fallback out (the writer could not know).
    pub fn is_unrecorded(&self) -> bool {
        *self == FallbackField::Unrecorded
    }

    /// The fallback, if the line records one.
    pub fn line(&self) -> Option<&FallbackLine> {
        match self {
            FallbackField::Left(f) => Some(f),
            _ => None,
        }
    }
}

impl Serialize for FallbackField {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            FallbackField::Left(f) => s.serialize_some(f),
            _ => s.serialize_none(),
        }
    }
}

impl<'de> serde::Deserialize<'de> for FallbackField {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Option::<FallbackLine>::deserialize(d).map(FallbackField::recorded)
    }
}

/// A call's fallback in the request log: its first endpoint, when the
/// attempt there failed, and the dispatch elsewhere that ended the
/// fallback (absent: it never left, a fallback that never happened).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FallbackLine {
    /// The first endpoint's name.
    pub from: String,
    /// When its attempt there first failed (an error answer, a 429, or
    /// cancelled at a timeout or latency ceiling), RFC 3339 UTC.
    pub failed: String,
    /// The endpoint the call was next dispatched to, if it left.
    pub to: Option<String>,
    /// When, if it left.
    pub left: Option<String>,
}

impl FallbackLine {
    /// The line of an observed call's fallback, with endpoint names and
    /// instants rendered by the caller's functions.
    pub fn of(
        call: &crate::observe::ObservedCall,
        name: impl Fn(u32) -> String,
        utc: impl Fn(Time) -> String,
    ) -> Option<FallbackLine> {
        let f = call.fallback()?;
        Some(FallbackLine {
            from: name(f.from),
            failed: utc(f.failed),
            to: f.left.map(|(_, e)| name(e)),
            left: f.left.map(|(at, _)| utc(at)),
        })
    }
}

impl RequestLine {
    /// The line as JSON, with its newline.
    pub fn to_jsonl(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec(self).unwrap_or_default();
        v.push(b'\n');
        v
    }
}

/// A call as it ended, in the driver's terms: rendered into its
/// [`RequestLine`] by the log's writer thread.
pub struct EndedCall {
    /// The router's call number.
    pub call: u64,
    /// Tenant and workflow indices in the scenario.
    pub tenant: u32,
    /// See `tenant`.
    pub workflow: u32,
    /// `x-slaplan-task`.
    pub task: Option<String>,
    /// `x-slaplan-session`.
    pub session: Option<String>,
    /// `x-slaplan-draw-key`.
    pub draw_key: Option<u64>,
    /// Gateway instants.
    pub arrival: Time,
    /// See `arrival`.
    pub first_token: Option<Time>,
    /// See `arrival`.
    pub end: Time,
    /// The upstream's `usage`, if it sent one.
    pub usage: Option<Usage>,
    /// The gateway's estimates (used without `usage`).
    pub input_tokens: u32,
    /// See `input_tokens`.
    pub output_tokens: u32,
    /// Endpoint index and tier that served it.
    pub served: Option<(u32, u8)>,
    /// Attempts dispatched.
    pub attempts: u32,
    /// As in [`RequestLine::outcome`].
    pub outcome: &'static str,
    /// As in [`RequestLine::status`].
    pub status: u16,
    /// What the observers followed of it (its fallback).
    pub observed: crate::observe::ObservedCall,
}

impl EndedCall {
    /// The request-log line (JSON, with its newline); `start` is the UTC
    /// wall-clock time of the gateway's instant zero.
    pub fn render(self, scenario: &Scenario, start: chrono::NaiveDateTime) -> Vec<u8> {
        let utc = |t: Time| rfc3339(start + chrono::Duration::nanoseconds(t.as_nanos() as i64));
        let tenant = scenario.tenants.get(self.tenant as usize);
        RequestLine {
            call: self.call,
            tenant: tenant.map(|t| t.name.clone()).unwrap_or_default(),
            workflow: tenant
                .and_then(|t| t.workflows.get(self.workflow as usize))
                .map(|w| w.name.clone())
                .unwrap_or_default(),
            task: self.task,
            session: self.session,
            draw_key: self.draw_key.map(super::request::draw_key_text),
            arrival: utc(self.arrival),
            first_token: self.first_token.map(utc),
            end: utc(self.end),
            input_tokens: self.usage.map_or(self.input_tokens, |u| u.input),
            output_tokens: self.usage.map_or(self.output_tokens, |u| u.output),
            usage: self.usage.is_some(),
            endpoint: self
                .served
                .and_then(|(e, _)| scenario.endpoints.get(e as usize).map(|x| x.name.clone())),
            tier: self.served.map(|(_, t)| t),
            attempts: self.attempts,
            outcome: self.outcome.to_string(),
            status: self.status,
            fallback: FallbackField::recorded(FallbackLine::of(
                &self.observed,
                |e| {
                    scenario
                        .endpoints
                        .get(e as usize)
                        .map(|x| x.name.clone())
                        .unwrap_or_default()
                },
                utc,
            )),
        }
        .to_jsonl()
    }
}

/// `t` as RFC 3339 UTC with nanoseconds, e.g. `2026-11-30T01:02:03.123456789Z`.
pub fn rfc3339(t: chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}
