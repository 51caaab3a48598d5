//! The gateway and the simulator drive the same router: for the same calls
//! and the same endpoint behaviour, their audit logs hold the same
//! decisions. The gateway serves a scripted sequence of calls against the
//! emulator; its request log, replayed by the simulator (`format =
//! "slaplan-log"`) against the same scenario, must give the same audit
//! events (kind, call, tenant, workflow, endpoint, tiers, trigger, breaker
//! states); only the instants differ, since the gateway's are wall-clock.

use serde_json::Value;

use super::{Stack, body, run, two_endpoints};

/// What must be equal in an audit event: everything but the times.
fn decision(e: &Value) -> Value {
    let mut e = e.clone();
    let o = e.as_object_mut().unwrap();
    o.remove("at");
    o.remove("time");
    // Instants: simulated time in one, wall-clock time in the other.
    o.remove("since");
    e
}

#[test]
fn the_gateway_audit_log_equals_the_simulators_for_the_same_calls() {
    let router = "[router]\nbreaker = { min_requests = 2, error_ratio = 0.5, window = \"60s\", open_for = \"60s\" }";
    let down = r#"outages = [{ start = "0s", duration = "1h", mode = "down" }]"#;
    let scenario = two_endpoints(router, down, "");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("requests.jsonl");
    let mut gateway_audit = Vec::new();
    // How long the gateway served, from the first arrival to the last end.
    let mut served_for = 0u64;
    run(60, async {
        let stack = Stack::start(&scenario).await;
        // One call at a time: each ends before the next arrives.
        for _ in 0..5 {
            let r = stack.chat("tenant-acme-key-1", &body(false, 4)).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.bytes().await.unwrap();
        }
        let (audit, requests) = stack.stop_raw().await;
        assert_eq!(requests.lines().count(), 5, "{requests}");
        std::fs::write(&log, &requests).unwrap();
        let instant = |line: &str, key: &str| {
            let v: Value = serde_json::from_str(line).unwrap();
            chrono::DateTime::parse_from_rfc3339(v[key].as_str().unwrap()).unwrap()
        };
        let first = instant(requests.lines().next().unwrap(), "arrival");
        let last = instant(requests.lines().last().unwrap(), "end");
        served_for = (last - first).num_nanoseconds().unwrap() as u64;
        gateway_audit = audit.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    });
    // The simulator replays the gateway's calls against the same scenario.
    // acme's workflow replays the log; the other tenant, which sent
    // nothing to the gateway, sends nothing here either (a rate whose
    // expected count over the day is 1e-4; the call count is checked).
    let replayed = scenario
        .replace("EMU", "127.0.0.1:9")
        .replace("rate = 1.0", "rate = 0.000000001")
        .replacen(
            "name = \"chat\"\nrate = 0.000000001",
            "name = \"chat\"\nrate = 1.0\nreplay = { path = \"requests.jsonl\", format = \"slaplan-log\" }",
            1,
        );
    let path = dir.path().join("replayed.toml");
    std::fs::write(&path, &replayed).unwrap();
    let s = match slaplan::scenario::load(&path) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let world = slaplan::model::World::new(&s, 0).unwrap();
    let (_, stats, samples) = world.log_audit(1000).run_sampled();
    assert_eq!(stats.calls, 5);
    let sim: Vec<Value> = String::from_utf8(slaplan::report::audit_jsonl(&s, &samples.audit))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let gw: Vec<Value> = gateway_audit.iter().map(decision).collect();
    // The simulator goes on after the last call (its breaker probes
    // later); the gateway stopped: compare the same stretch of time.
    let sim: Vec<Value> = sim
        .iter()
        .filter(|e| e["at"].as_u64().unwrap() <= served_for)
        .map(decision)
        .collect();
    // Two calls fail over on errors, the breaker opens, later calls skip it.
    assert!(gw.iter().any(|e| e["event"] == "breaker"), "{gw:#?}");
    assert!(gw.iter().any(|e| e["trigger"] == "breaker_open"), "{gw:#?}");
    assert_eq!(gw, sim);
}
