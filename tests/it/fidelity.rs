//! The short fidelity case CI runs: about 40 s of load on an emulated
//! deployment (emulator, gateway, load in process on 127.0.0.1), judged
//! and set against 30 simulated replications of the same period.
//!
//! Robustness on a loaded machine: the endpoint's own latency (about 2 s)
//! is large against what the emulator's model does not control (the
//! gateway's overhead, late timers on busy cores: milliseconds to tens of
//! them), and nothing queues (32 slots for about 8 calls in flight), so the
//! compared figures are those of the emulator's model. The tolerance is
//! the prediction interval of one replication at 99.9 % per figure (three
//! figures: a false alarm about 0.3 % of the time).

use slaplan::fidelity::{self, FidelityConfig};
use slaplan::time::Span;

const SCENARIO: &str = r#"
[simulation]
start = "2026-01-05"
duration = "1h"
seed = 21

[[endpoints]]
name = "model@p/eu"
provider = "p"
region = "eu"
concurrency = 32
attempt_timeout = "30s"
error_probability = 0.05
latency = { model = "lognormal", ttft = "1s", per_output_token = "25ms", sigma = 0.3 }

[[tenants]]
name = "acme"
class = "gold"
chain = ["model@p/eu"]

[[tenants.workflows]]
name = "assistant"
rate = 4.0
input_tokens = { dist = "uniform", min = 100, max = 300 }
output_tokens = { dist = "constant", value = 40 }

[[tenants.clauses]]
metric = "latency"
percentile = 95
threshold = "5s"

[[tenants.clauses]]
metric = "availability"
target = 0.9
"#;

#[test]
fn a_short_fidelity_run_agrees_with_its_prediction_interval() {
    let scenario = slaplan::scenario::parse(SCENARIO, std::path::Path::new("fidelity-ci.toml")).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let config = FidelityConfig {
        duration: Span::from_secs(40),
        time_scale: 1.0,
        replications: 30,
        level: 0.999,
        drain: Span::from_secs(20),
        scratch: scratch.path().to_path_buf(),
    };
    let found = fidelity::run(&scenario, &config).unwrap();
    let row = |metric: &str| {
        found
            .rows
            .iter()
            .find(|r| r.tenant == "acme" && r.metric == metric)
            .unwrap_or_else(|| panic!("no {metric} row: {:?}", found.rows))
    };
    let load = &found.load;
    assert!(load.calls > 100, "{load:?}");
    assert_eq!(
        found.gateway_calls, load.calls,
        "the gateway logged every call the load sent"
    );
    // The simulator's own count: Poisson(4/s × 40 s = 160) per replication.
    assert!((found.simulated_calls - 160.0).abs() < 3.29 * (160.0f64 / 30.0).sqrt() + 1.0);
    for metric in ["p50_ms", "p95_ms", "availability"] {
        let r = row(metric);
        assert!(
            !r.differs(),
            "{metric}: measured {:?}, predicted {} in [{}, {}] (load average {:?})",
            r.measured,
            r.predicted,
            r.low,
            r.high,
            found.load_average
        );
    }
    // The figures are the emulator's model: p50 near (1 s + 40 × 25 ms) = 2 s.
    assert!((row("p50_ms").predicted - 2000.0).abs() < 200.0, "{:?}", row("p50_ms"));
    // The clauses were judged on the gateway's log and compared too.
    assert!(found.rows.iter().any(|r| r.metric.starts_with("clause: availability")));

    // Replication 0 of the simulator shares the measured run's draws call
    // by call (arrivals, tasks and each attempt's service time and error,
    // keyed by the call): per call, the gateway's latency and replication
    // 0's correlate strongly. Without shared service draws they would
    // hardly correlate (0.14 was measured before): with about 160 pairs,
    // independent latencies give |r| < 3.29 / sqrt(160) = 0.26 at 99.9 %.
    let mut sim = scenario.clone();
    sim.simulation.duration = config.duration;
    let (_, _, calls) = slaplan::model::World::new(&sim, 0)
        .unwrap()
        .log_calls(usize::MAX)
        .run_logged();
    let simulated: std::collections::HashMap<String, f64> = calls
        .iter()
        .filter(|c| c.served)
        .filter_map(|c| {
            Some((
                format!("{:016x}", c.key),
                (c.ended? - c.submitted).as_nanos() as f64 / 1e6,
            ))
        })
        .collect();
    let log = std::fs::read_to_string(scratch.path().join("gateway.jsonl")).unwrap();
    let instant = |v: &serde_json::Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    let pairs: Vec<(f64, f64)> = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["outcome"] == "success")
        .filter_map(|v| {
            let sim_ms = *simulated.get(v["draw_key"].as_str()?)?;
            let ms = (instant(&v["end"]) - instant(&v["arrival"])).num_microseconds()? as f64 / 1e3;
            Some((ms, sim_ms))
        })
        .collect();
    let served = log.lines().filter(|l| l.contains("\"outcome\":\"success\"")).count();
    assert!(
        pairs.len() * 10 >= served * 9,
        "{} of {served} served calls found in replication 0 by their key",
        pairs.len()
    );
    let r = pearson(&pairs);
    assert!(
        r > 0.8,
        "per-call latencies correlate {r:.3} over {} calls",
        pairs.len()
    );

    // The paired comparison `fidelity` makes: its pairs are the calls
    // both sides made (keys judged in the gateway's log and in replication
    // 0's, counted here from the two logs), and the rest are counted
    // one-sided, none dropped.
    let keys = |name: &str| -> std::collections::HashSet<String> {
        std::fs::read_to_string(scratch.path().join(name))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| !["cancelled", "client_error", "invalid_request"].contains(&v["outcome"].as_str().unwrap()))
            .map(|v| v["draw_key"].as_str().unwrap().to_string())
            .collect()
    };
    let (gateway, replication_0) = (keys("gateway.jsonl"), keys(fidelity::REPLICATION_0_LOG));
    let both = gateway.intersection(&replication_0).count() as u64;
    let p = &found.paired;
    let counts = &p.tenants[0];
    assert_eq!(counts.pairs_judged, both, "{counts:?}");
    assert_eq!(counts.only_measured, gateway.len() as u64 - both, "{counts:?}");
    assert_eq!(counts.only_simulated, replication_0.len() as u64 - both, "{counts:?}");
    assert!(both * 10 >= gateway.len() as u64 * 9, "{counts:?}");
    assert!(p.correlation[0].unwrap() > 0.8, "{:?}", p.correlation);
    let csv = String::from_utf8(p.csv()).unwrap();
    assert!(csv.contains(&format!("\nacme,availability,{both},")), "{csv}");
}

/// Pearson's correlation of the pairs.
fn pearson(pairs: &[(f64, f64)]) -> f64 {
    let n = pairs.len() as f64;
    let (mx, my) = (
        pairs.iter().map(|p| p.0).sum::<f64>() / n,
        pairs.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let cov: f64 = pairs.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    let vx: f64 = pairs.iter().map(|(x, _)| (x - mx).powi(2)).sum();
    let vy: f64 = pairs.iter().map(|(_, y)| (y - my).powi(2)).sum();
    cov / (vx * vy).sqrt()
}

/// `fidelity --logs DIR` keeps the run's logs: the gateway's request log
/// holds one line per call the gateway logged (as `fidelity.json`
/// counts them), the load's log one per call sent, and the gateway's
/// audit log is there. A `--logs` that is a file exits 2 before anything
/// runs.
#[test]
fn fidelity_keeps_its_logs_where_asked() {
    let dir = crate::common::tempdir();
    let scenario = dir.path().join("short.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let (out_dir, logs) = (dir.path().join("out"), dir.path().join("logs"));
    let out = crate::common::slaplan()
        .args([
            "fidelity",
            scenario.to_str().unwrap(),
            "--duration",
            "3s",
            "--drain",
            "10s",
        ])
        .args(["--replications", "2", "--out", out_dir.to_str().unwrap()])
        .args(["--logs", logs.to_str().unwrap(), "--report"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines = |name: &str| std::fs::read_to_string(logs.join(name)).unwrap().lines().count() as u64;
    let notes: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("fidelity.json")).unwrap()).unwrap();
    let calls = notes["load"]["calls"].as_u64().unwrap();
    assert!(calls > 0, "{notes}");
    assert_eq!(lines("gateway.jsonl"), notes["gateway_calls"].as_u64().unwrap());
    assert_eq!(lines("client.jsonl"), calls);
    assert!(logs.join("gateway-audit.jsonl").is_file());
    assert!(logs.join("replication-0.jsonl").is_file());
    let paired = std::fs::read_to_string(out_dir.join("paired.csv")).unwrap();
    assert!(
        paired.starts_with("tenant,figure,pairs,") && paired.contains("\nacme,p95_ms,"),
        "{paired}"
    );
    assert!(out_dir.join("paired.json").is_file());
    // The review shows the paired table.
    let review = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    assert!(
        review.contains("Call by call") && review.contains("One side only"),
        "{review}"
    );

    let out = crate::common::slaplan()
        .args(["fidelity", scenario.to_str().unwrap(), "--duration", "3s"])
        .args(["--out", dir.path().join("out2").to_str().unwrap()])
        .args(["--logs", scenario.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--logs") && stderr.contains("a file"), "{stderr}");
    assert!(!dir.path().join("out2").exists(), "nothing written");
}
