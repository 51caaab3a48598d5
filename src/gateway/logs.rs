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

/// Lines waiting for the writer, at most.
const BACKLOG: usize = 65_536;

/// One JSONL file being written.
pub struct LogFile {
    tx: Option<SyncSender<Vec<u8>>>,
    writer: Option<JoinHandle<()>>,
}

impl LogFile {
    /// Creates (truncates) `path` and starts its writer.
    pub fn create(path: &Path) -> Result<LogFile, GatewayError> {
        let file = File::create(path).map_err(|source| GatewayError::Log {
            path: path.display().to_string(),
            source,
        })?;
        let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(BACKLOG);
        let writer = std::thread::spawn(move || {
            let mut out = BufWriter::new(file);
            while let Ok(line) = rx.recv() {
                let _ = out.write_all(&line);
                // Flush when the backlog is empty: lines reach the file
                // promptly at low load, in large writes at high load.
                while let Ok(more) = rx.try_recv() {
                    let _ = out.write_all(&more);
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
}

impl RequestLine {
    /// The line as JSON, with its newline.
    pub fn to_jsonl(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec(self).unwrap_or_default();
        v.push(b'\n');
        v
    }
}

/// `t` as RFC 3339 UTC with nanoseconds, e.g. `2026-11-30T01:02:03.123456789Z`.
pub fn rfc3339(t: chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}
