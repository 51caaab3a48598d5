//! `slaplan load` against an emulator and a gateway in process: the time
//! scale and the task shapes, checked from the load's own request log
//! against the scenario's laws (tolerances from their sampling
//! distributions), and the task ids it carries in the headers, checked
//! from the gateway's log.

use std::collections::BTreeMap;

use slaplan::gateway::RequestLine;
use slaplan::load::{self, LoadConfig};
use slaplan::model::log_instant;
use slaplan::time::Span;

use crate::gateway::{Stack, env, parse_for};

/// Fast endpoints with room for every call (no queueing), three workflows:
/// single calls, chains with tools and think time, swarms.
const SCENARIO: &str = r#"
[simulation]
start = "2026-01-05"
duration = "1h"
seed = 5

[[endpoints]]
name = "fast"
provider = "p"
concurrency = 256
latency = { model = "lognormal", ttft = "5ms", sigma = 0.1 }

[[tenants]]
name = "acme"
class = "gold"
chain = ["fast"]
auth = { api_key_env = "ACME_KEY" }

[[tenants.workflows]]
name = "calls"
rate = 5.0
output_tokens = { dist = "constant", value = 2 }

[[tenants.workflows]]
name = "chains"
rate = 0.6
output_tokens = { dist = "constant", value = 2 }
shape = { kind = "chain", depth = { dist = "constant", value = 3 }, think = "2s", tool = { duration = "2s", result_tokens = 10, followups = 1 } }

[[tenants.workflows]]
name = "swarms"
rate = 0.3
output_tokens = { dist = "constant", value = 2 }
shape = { kind = "swarm", agents = { dist = "constant", value = 3 }, agent = { depth = { dist = "constant", value = 1 } }, aggregator = true }
"#;

/// (arrival, end) in nanoseconds since the epoch.
fn times(l: &RequestLine) -> (i128, i128) {
    (log_instant(&l.arrival).unwrap(), log_instant(&l.end).unwrap())
}

/// 99.9 % two-sided normal quantile.
const Z: f64 = 3.29;

#[test]
fn load_honours_the_time_scale_and_the_task_shapes() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let stack = Stack::start(SCENARIO).await;
        let scenario = parse_for(&stack, SCENARIO);
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("client.jsonl");
        // Four scenario seconds per wall second, for 10 s of arrivals.
        let (k, wall) = (4.0, 10.0);
        let keys = load::keys_from_env(&scenario, &env);
        let mut config = LoadConfig::new(
            &scenario,
            &format!("http://{}/v1", stack.gateway),
            Span::from_secs(10),
            keys,
        );
        config.time_scale = k;
        config.drain = Span::from_secs(30);
        config.log = Some(log.clone());
        let summary = tokio::time::timeout(std::time::Duration::from_secs(60), load::run(&scenario, &config))
            .await
            .expect("the load stops by itself")
            .unwrap();
        let (_, gateway) = stack.stop().await;
        let lines: Vec<RequestLine> = std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len() as u64, summary.calls);
        assert_eq!(summary.tasks_unfinished, 0, "{summary:?}");
        assert!(lines.iter().all(|l| l.outcome == "success"), "every call served");

        // Every call reached the gateway carrying its task as task and session.
        assert_eq!(gateway.len(), lines.len());
        for g in &gateway {
            assert!(g["task"].is_string(), "{g}");
            assert_eq!(g["task"], g["session"], "{g}");
        }

        let mut tasks: BTreeMap<(String, String), Vec<&RequestLine>> = BTreeMap::new();
        for l in &lines {
            tasks
                .entry((l.workflow.clone(), l.task.clone().unwrap()))
                .or_default()
                .push(l);
        }
        for calls in tasks.values_mut() {
            calls.sort_by_key(|l| times(l).0);
        }
        let of = |w: &'static str| tasks.iter().filter(move |((wf, _), _)| wf == w).map(|(_, c)| c);

        // Single calls: Poisson with mean rate × K × wall = 200 tasks (at
        // real time it would be 50).
        let mean = 5.0 * k * wall;
        let singles = of("calls").count() as f64;
        assert!(
            (singles - mean).abs() <= Z * mean.sqrt(),
            "{singles} single-call tasks, expected {mean} ± {}",
            Z * mean.sqrt()
        );
        assert!(of("calls").all(|c| c.len() == 1));

        // Chains: 3 steps of a call and its tool's follow-up: 6 calls, each
        // sent after the previous answer; the gaps after a step's call are
        // tool times, after a follow-up think times, both exponential with
        // mean 2 s / K.
        let (mut tool_gaps, mut think_gaps) = (Vec::new(), Vec::new());
        for calls in of("chains") {
            assert_eq!(calls.len(), 6, "a chain of 3 steps with one follow-up each");
            for (i, pair) in calls.windows(2).enumerate() {
                let gap = times(pair[1]).0 - times(pair[0]).1;
                assert!(gap >= 0, "a chain's next call waits for the last answer");
                let secs = gap as f64 / 1e9;
                if i % 2 == 0 {
                    tool_gaps.push(secs)
                } else {
                    think_gaps.push(secs)
                }
            }
        }
        for (name, gaps) in [("tool", &tool_gaps), ("think", &think_gaps)] {
            let n = gaps.len() as f64;
            assert!(n >= 10.0, "too few {name} gaps ({n}) to judge");
            let mean = gaps.iter().sum::<f64>() / n;
            let expected = 2.0 / k;
            let tolerance = Z * expected / n.sqrt();
            assert!(
                (mean - expected).abs() <= tolerance,
                "mean {name} time {mean:.3} s, expected {expected} s ± {tolerance:.3} (n = {n})"
            );
        }

        // Swarms: an orchestrator call, 3 sub-agents sent after its answer,
        // and an aggregator sent after all of theirs (the join).
        let mut swarms = 0;
        for calls in of("swarms") {
            swarms += 1;
            assert_eq!(calls.len(), 5, "orchestrator, 3 sub-agents, aggregator");
            let orchestrator_end = times(calls[0]).1;
            let agents = &calls[1..4];
            assert!(
                agents.iter().all(|c| times(c).0 >= orchestrator_end),
                "fan-out after the orchestrator"
            );
            let joined = agents.iter().map(|c| times(c).1).max().unwrap();
            assert!(times(calls[4]).0 >= joined, "the aggregator waits for every sub-agent");
        }
        assert!(swarms >= 3, "too few swarms ({swarms}) to judge");
        assert_eq!(summary.tasks as usize, tasks.len());
    });
}

#[test]
fn load_refuses_what_it_cannot_drive() {
    let scenario = slaplan::scenario::parse(
        &SCENARIO.replace("EMU", "127.0.0.1:1"),
        std::path::Path::new("load-test.toml"),
    )
    .unwrap();
    let keys = load::keys_from_env(&scenario, &env);
    let ok = LoadConfig::new(&scenario, "http://127.0.0.1:1/v1", Span::from_secs(1), keys);
    assert!(load::check(&scenario, &ok).is_ok());
    let bad_target = LoadConfig {
        target: "ftp://example".into(),
        ..ok.clone()
    };
    assert!(
        load::check(&scenario, &bad_target)
            .unwrap_err()
            .to_string()
            .contains("--target")
    );
    let no_key = LoadConfig {
        keys: vec![None],
        ..ok.clone()
    };
    let e = load::check(&scenario, &no_key).unwrap_err().to_string();
    assert!(e.contains("tenants[0]") && e.contains("acme"), "{e}");
    let bad_scale = LoadConfig { time_scale: 0.0, ..ok };
    assert!(
        load::check(&scenario, &bad_scale)
            .unwrap_err()
            .to_string()
            .contains("--time-scale")
    );
}
