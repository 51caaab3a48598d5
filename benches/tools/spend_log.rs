//! Writes a synthetic LiteLLM spend log of N rows to standard output, for
//! measuring `slaplan fit` (BENCHMARKS.md): a 31-day month from
//! 2026-01-01, three endpoints (lognormal latency on tokens, 0.5% errors, a
//! two-hour outage of the first), four tenants' workflows with lognormal
//! tokens, rows spread evenly over the month (with jitter in the working
//! hours). Deterministic: the same N gives the same bytes.
//!
//! ```sh
//! cargo run --release --example spend_log -- 1000000 > spend-1m.jsonl
//! ```

use std::io::{BufWriter, Write};

use rand::RngExt;
use rand_distr::{Distribution, LogNormal};
use slaplan::logs::{CallRecord, Status, litellm_line};

const S: u64 = 1_000_000_000;
const START: u64 = 1_767_225_600 * S;
const MONTH: u64 = 31 * 86_400 * S;

fn main() {
    let rows: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let mut rng = slaplan::engine::stream(7, 0, "bench/spend-log");
    let endpoints = [
        ("gpt-4o@openai", 0.4, 50e-6, 0.015),
        ("gpt-4o@azure/eastus", 0.5, 40e-6, 0.014),
        ("claude@anthropic", 0.3, 30e-6, 0.010),
    ];
    let flows = [
        ("insurer", "claims", 1500.0, 200.0),
        ("insurer", "support", 600.0, 90.0),
        ("tutor", "homework", 400.0, 120.0),
        ("bank", "fraud", 3000.0, 60.0),
    ];
    let noise = LogNormal::new(-0.35f64 * 0.35 / 2.0, 0.35).expect("valid");
    let out = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, out.lock());
    for i in 0..rows {
        // Evenly spread arrivals, jittered by up to one gap in the working hours.
        let mut start = START + (u128::from(i) * u128::from(MONTH) / u128::from(rows)) as u64;
        let hour = (start / 3600 / S) % 24;
        if (8..20).contains(&hour) || rng.random::<f64>() < 0.5 {
            start += rng.random_range(0..MONTH / rows.max(1));
        }
        let (e, ttft, per_in, per_out) = endpoints[(i % 3) as usize];
        let (tenant, workflow, mean_in, mean_out) = flows[(i % 4) as usize];
        let input = (mean_in * LogNormal::new(-0.125f64, 0.5).expect("valid").sample(&mut rng))
            .round()
            .max(1.0) as u32;
        let output = (mean_out * LogNormal::new(-0.08f64, 0.4).expect("valid").sample(&mut rng))
            .round()
            .max(1.0) as u32;
        let down = e == "gpt-4o@openai" && (3 * 86_400 * S..3 * 86_400 * S + 7200 * S).contains(&(start - START));
        let failed = down || rng.random::<f64>() < 0.005;
        let secs = if down {
            0.02
        } else {
            (ttft + per_in * f64::from(input) + per_out * f64::from(output)) * noise.sample(&mut rng)
        };
        let mut r = CallRecord::model(
            start,
            start + (secs * 1e9) as u64,
            input,
            if failed { 0 } else { output },
        );
        r.status = if failed { Status::Error } else { Status::Ok };
        r.endpoint = Some(e.to_string());
        r.tenant = Some(tenant.to_string());
        r.workflow = Some(workflow.to_string());
        r.call = Some(format!("c{i}"));
        r.cost = (!failed).then(|| f64::from(input) * 2.5e-6 + f64::from(output) * 1e-5);
        if writeln!(out, "{}", litellm_line(&r)).is_err() {
            return;
        }
    }
}
