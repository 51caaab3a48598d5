//! Per-tenant call figures from request-log lines (the gateway's schema,
//! which the simulator also writes): latency percentiles of the calls
//! served and availability. The same code reads the gateway's log and the
//! simulator's lines, so both sides of a comparison are computed alike.
//!
//! A call's latency is its `end` less its `arrival`; availability is the
//! share of calls served among those that are not the client's doing
//! (`cancelled`, `client_error`, `invalid_request` are left out, as
//! `judge` leaves them out). Percentiles come from an HDR histogram of
//! microseconds (3 significant digits): memory is fixed per tenant, never
//! by the lines read.

use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use hdrhistogram::Histogram;

use crate::gateway::RequestLine;
use crate::logs::CLIENT_OUTCOMES;
use crate::model::log_instant;

/// The largest latency recorded (longer ones count as this), in µs: an hour.
const MAX_MICROS: u64 = 3_600_000_000;

/// The figures of one tenant's calls.
#[derive(Clone, Debug)]
pub struct TenantCalls {
    /// Latency of the calls served, in microseconds.
    latency: Histogram<u64>,
    /// Calls judged (not the client's doing).
    pub eligible: u64,
    /// Of those, served.
    pub served: u64,
    /// Calls left out as the client's doing.
    pub client_outcomes: u64,
}

impl TenantCalls {
    fn new() -> TenantCalls {
        TenantCalls {
            // 1 µs to an hour, 3 significant digits: a fixed size.
            latency: Histogram::new_with_bounds(1, MAX_MICROS, 3)
                .unwrap_or_else(|_| unreachable!("1 µs to an hour at 3 significant digits is a valid histogram")),
            eligible: 0,
            served: 0,
            client_outcomes: 0,
        }
    }

    /// The `q` quantile of the served calls' latency, in milliseconds.
    pub fn latency_ms(&self, q: f64) -> Option<f64> {
        (!self.latency.is_empty()).then(|| self.latency.value_at_quantile(q) as f64 / 1000.0)
    }

    /// Served / eligible.
    pub fn availability(&self) -> Option<f64> {
        (self.eligible > 0).then(|| self.served as f64 / self.eligible as f64)
    }
}

/// Every tenant's figures, by tenant name order of the scenario.
#[derive(Clone, Debug)]
pub struct CallFigures {
    names: Vec<String>,
    /// Per tenant, in the scenario's order.
    pub tenants: Vec<TenantCalls>,
    /// Lines that could not be read or name no tenant of the scenario.
    pub unreadable: u64,
}

impl CallFigures {
    /// Empty figures for the tenants `names`.
    pub fn new(names: Vec<String>) -> CallFigures {
        let tenants = names.iter().map(|_| TenantCalls::new()).collect();
        CallFigures {
            names,
            tenants,
            unreadable: 0,
        }
    }

    /// Adds one JSON line.
    pub fn add_line(&mut self, bytes: &[u8]) {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        let Ok(line) = serde_json::from_slice::<RequestLine>(bytes) else {
            self.unreadable += 1;
            return;
        };
        self.add(&line);
    }

    /// Adds one call.
    pub fn add(&mut self, line: &RequestLine) {
        let Some(t) = self.names.iter().position(|n| *n == line.tenant) else {
            self.unreadable += 1;
            return;
        };
        let calls = &mut self.tenants[t];
        if CLIENT_OUTCOMES.contains(&line.outcome.as_str()) {
            calls.client_outcomes += 1;
            return;
        }
        calls.eligible += 1;
        if line.outcome != "success" {
            return;
        }
        let (Some(a), Some(e)) = (log_instant(&line.arrival), log_instant(&line.end)) else {
            self.unreadable += 1;
            return;
        };
        calls.served += 1;
        let micros = u64::try_from((e - a).max(0) / 1000).unwrap_or(u64::MAX).max(1);
        let _ = calls.latency.record(micros.min(MAX_MICROS));
    }

    /// The figures of a request-log file, read line by line.
    pub fn read(path: &Path, names: Vec<String>) -> std::io::Result<CallFigures> {
        let mut figures = CallFigures::new(names);
        let mut reader = std::io::BufReader::new(std::fs::File::open(path)?);
        let mut line = Vec::new();
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 {
                return Ok(figures);
            }
            figures.add_line(&line);
        }
    }
}

/// A writer that feeds every line written to it into shared
/// [`CallFigures`] (the simulator's request log, counted as it streams).
pub struct FigureSink {
    figures: Arc<Mutex<CallFigures>>,
    pending: Vec<u8>,
}

impl FigureSink {
    /// A sink into `figures`.
    pub fn new(figures: Arc<Mutex<CallFigures>>) -> FigureSink {
        FigureSink {
            figures,
            pending: Vec::new(),
        }
    }
}

impl Write for FigureSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if let Some(last) = self.pending.iter().rposition(|&b| b == b'\n') {
            let mut figures = self.figures.lock().unwrap_or_else(PoisonError::into_inner);
            for line in self.pending[..last].split(|&b| b == b'\n') {
                figures.add_line(line);
            }
            self.pending.drain(..=last);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(tenant: &str, outcome: &str, ms: u64) -> RequestLine {
        RequestLine {
            call: 0,
            tenant: tenant.into(),
            workflow: "w".into(),
            task: None,
            session: None,
            draw_key: None,
            arrival: "2026-01-01T00:00:00.000000000Z".into(),
            first_token: None,
            end: format!("2026-01-01T00:00:{:02}.{:03}000000Z", ms / 1000, ms % 1000),
            input_tokens: 1,
            output_tokens: 1,
            usage: true,
            endpoint: Some("e".into()),
            tier: Some(0),
            attempts: 1,
            outcome: outcome.into(),
            status: 200,
            fallback: crate::gateway::FallbackField::Never,
        }
    }

    #[test]
    fn hand_counted_lines_give_their_figures() {
        let mut f = CallFigures::new(vec!["a".into(), "b".into()]);
        let mut sink_figures = Arc::new(Mutex::new(CallFigures::new(vec!["a".into(), "b".into()])));
        let mut sink = FigureSink::new(Arc::clone(&sink_figures));
        // a: 100 served calls of 1..=100 ms, 3 failed, 2 cancelled (left out).
        let mut lines = Vec::new();
        for ms in 1..=100 {
            lines.push(line("a", "success", ms));
        }
        for _ in 0..3 {
            lines.push(line("a", "attempts_exhausted", 5));
        }
        for _ in 0..2 {
            lines.push(line("a", "cancelled", 5));
        }
        lines.push(line("nobody", "success", 5));
        for l in &lines {
            f.add(l);
            let bytes = l.to_jsonl();
            // Split mid-line, as a writer may.
            sink.write_all(&bytes[..7]).unwrap();
            sink.write_all(&bytes[7..]).unwrap();
        }
        drop(sink);
        let from_sink = Arc::get_mut(&mut sink_figures).unwrap().get_mut().unwrap().clone();
        for figures in [f, from_sink] {
            let a = &figures.tenants[0];
            assert_eq!((a.eligible, a.served, a.client_outcomes), (103, 100, 2));
            assert_eq!(a.availability(), Some(100.0 / 103.0));
            // Nearest rank: the 50th of 100 is 50 ms, the 95th 95 ms, the
            // 99th 99 ms, to the histogram's 0.1%.
            for (q, ms) in [(0.5, 50.0), (0.95, 95.0), (0.99, 99.0)] {
                let got = a.latency_ms(q).unwrap();
                assert!((got - ms).abs() <= ms * 1e-3, "p{q}: {got} ms, expected {ms} ms");
            }
            assert_eq!(figures.tenants[1].availability(), None);
            assert_eq!(figures.unreadable, 1);
        }
    }
}
