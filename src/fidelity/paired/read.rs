//! Reading one request log (the gateway's schema) for the paired
//! comparison: line by line, each call with its key, tenant, arrival and
//! latency; bad lines are errors naming the file, the line and the field.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::PairedError;
use crate::logs::CLIENT_OUTCOMES;
use crate::model::{EXPECT_LOG_TIME, log_instant};

/// The fields the comparison reads (others are ignored).
#[derive(Deserialize)]
struct Row {
    draw_key: Option<String>,
    tenant: Option<String>,
    arrival: Option<String>,
    end: Option<String>,
    outcome: Option<String>,
}

/// One call judged (not the client's doing), as read.
#[derive(Clone, Debug)]
pub(super) struct Call {
    pub key: String,
    pub tenant: String,
    /// Nanoseconds since the epoch.
    pub arrival: i128,
    /// Nanoseconds since the epoch (the arrival when the line has no end).
    pub end: i128,
    /// End less arrival, in nanoseconds, of a call served.
    pub latency: Option<i128>,
    /// The line it was read from (1-based).
    pub line: u64,
    pub outcome: String,
}

/// What a line held.
pub(super) enum Line {
    /// A call judged.
    Call(Call),
    /// A call ended by the client (left out, as `fidelity` leaves it out).
    Client { tenant: String, arrival: i128 },
}

/// A request log read line by line.
pub(super) struct LogReader {
    path: PathBuf,
    reader: std::io::BufReader<std::fs::File>,
    line: u64,
    buf: Vec<u8>,
}

impl LogReader {
    pub fn open(path: &Path) -> Result<LogReader, PairedError> {
        let file = std::fs::File::open(path).map_err(|e| PairedError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        Ok(LogReader {
            path: path.to_path_buf(),
            reader: std::io::BufReader::new(file),
            line: 0,
            buf: Vec::new(),
        })
    }

    fn bad(&self, message: String) -> PairedError {
        PairedError::Line {
            path: self.path.clone(),
            line: self.line,
            message,
        }
    }

    /// The next line that is not blank, or `None` at the end.
    pub fn next_line(&mut self) -> Result<Option<Line>, PairedError> {
        loop {
            self.buf.clear();
            let n = self
                .reader
                .read_until(b'\n', &mut self.buf)
                .map_err(|e| PairedError::Io {
                    path: self.path.clone(),
                    source: e,
                })?;
            if n == 0 {
                return Ok(None);
            }
            self.line += 1;
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return self.parse().map(Some);
        }
    }

    fn parse(&self) -> Result<Line, PairedError> {
        let row: Row = serde_json::from_slice(&self.buf)
            .map_err(|e| self.bad(format!("expected a JSON object of the gateway's request log: {e}")))?;
        let missing = |field: &str| self.bad(format!("field `{field}`: missing"));
        let time = |field: &str, text: &str| {
            log_instant(text).ok_or_else(|| self.bad(format!("field `{field}`: {text:?}, expected {EXPECT_LOG_TIME}")))
        };
        let tenant = row.tenant.ok_or_else(|| missing("tenant"))?;
        let arrival = time("arrival", row.arrival.as_deref().ok_or_else(|| missing("arrival"))?)?;
        let outcome = row.outcome.ok_or_else(|| missing("outcome"))?;
        if CLIENT_OUTCOMES.contains(&outcome.as_str()) {
            return Ok(Line::Client { tenant, arrival });
        }
        let key = match row.draw_key {
            Some(k) if !k.trim().is_empty() => k,
            _ => {
                return Err(self.bad(
                    "field `draw_key`: missing; pairing needs each call's key (logs written before keyed draws \
                     cannot be paired)"
                        .into(),
                ));
            }
        };
        let end = match row.end.as_deref() {
            Some(text) => Some(time("end", text)?),
            None => None,
        };
        let latency = if outcome == "success" {
            let end = end.ok_or_else(|| missing("end"))?;
            Some((end - arrival).max(0))
        } else {
            None
        };
        Ok(Line::Call(Call {
            key,
            tenant,
            arrival,
            end: end.unwrap_or(arrival),
            latency,
            line: self.line,
            outcome,
        }))
    }
}

/// The earliest arrival of every line of a log (the calls ended by the
/// client included, as the script counts them): the origin of the
/// bootstrap's one-minute blocks. `None` for a log without lines.
pub(super) fn first_arrival(path: &Path) -> Result<Option<i128>, PairedError> {
    let mut reader = LogReader::open(path)?;
    let mut first: Option<i128> = None;
    while let Some(line) = reader.next_line()? {
        let arrival = match line {
            Line::Call(c) => c.arrival,
            Line::Client { arrival, .. } => arrival,
        };
        first = Some(first.map_or(arrival, |f| f.min(arrival)));
    }
    Ok(first)
}
