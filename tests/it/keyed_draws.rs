//! Draws keyed by identity: a task's shape and tokens are a function of
//! (seed, replication, workflow, the task's index in its arrivals), not of
//! the order in which calls complete, so two runs of one scenario that
//! differ only in capacity or a router setting make exactly the same tasks.

use slaplan::model::{CallRecord, World};

use crate::common::scenario;

/// Agentic workflows whose tasks cannot fail (no errors, no tool failures,
/// no deadlines, generous timeouts): every task runs to its end whatever
/// the capacity, so the calls it makes depend only on its draws.
fn agentic(concurrency: u32, router: &str) -> String {
    format!(
        r#"
[simulation]
start = "2026-01-05"
duration = "2h"
seed = 23

[router]
{router}

[[endpoints]]
name = "e"
concurrency = {concurrency}
queue_limit = 100000
attempt_timeout = "1h"
latency = {{ model = "lognormal", ttft = "300ms", per_input_token = "20us", per_output_token = "10ms", sigma = 0.5 }}

[[endpoints]]
name = "f"
concurrency = {concurrency}
queue_limit = 100000
attempt_timeout = "1h"
latency = {{ model = "exponential", mean = "900ms" }}

[[tenants]]
name = "coder"
class = "gold"
chain = [{{ endpoint = "e", tier = 0 }}, {{ endpoint = "f", tier = 0 }}]

[[tenants.workflows]]
name = "fix"
rate = 0.3
input_tokens = {{ dist = "uniform", min = 100, max = 900 }}
output_tokens = {{ dist = "lognormal", mean = 80, sigma = 0.6 }}
shape = {{ kind = "chain", depth = {{ dist = "geometric", mean = 3 }}, think = "400ms", tool = {{ probability = 0.5, duration = "700ms", result_tokens = 200, followups = 2 }}, max_context = 1000000 }}

[[tenants]]
name = "researcher"
class = "silver"
chain = [{{ endpoint = "f", tier = 0 }}, {{ endpoint = "e", tier = 0 }}]

[[tenants.workflows]]
name = "survey"
rate = 0.1
input_tokens = {{ dist = "uniform", min = 100, max = 900 }}
output_tokens = {{ dist = "uniform", min = 20, max = 200 }}
shape = {{ kind = "swarm", agents = {{ dist = "uniform", min = 2, max = 6 }}, agent = {{ depth = {{ dist = "uniform", min = 1, max = 3 }}, tool = {{ probability = 0.5, duration = "1500ms", result_tokens = 300 }}, max_context = 1000000 }}, aggregator = true }}
"#
    )
}

/// A call as made: its key, tenant, workflow, input and output tokens.
type Made = (u64, u32, u32, u32, u32);

/// Every call of the run, sorted, with the number of calls, tool calls and
/// tasks.
fn calls_made(text: &str) -> (Vec<Made>, u64, u64, u64) {
    let s = scenario(text);
    let (_, stats, calls) = World::new(&s, 0)
        .expect("valid scenario")
        .log_calls(usize::MAX)
        .run_logged();
    assert_eq!(
        stats.failed, 0,
        "a task failed: the comparison needs every task to run to its end"
    );
    let mut rows: Vec<Made> = calls
        .iter()
        .map(|c: &CallRecord| (c.key, c.tenant.0, c.workflow.0, c.input_tokens, c.output_tokens))
        .collect();
    rows.sort_unstable();
    (rows, stats.calls, stats.tool_calls, stats.tasks)
}

#[test]
fn capacity_and_router_settings_do_not_change_the_tasks_made() {
    let roomy = calls_made(&agentic(64, ""));
    let tight = calls_made(&agentic(3, ""));
    let routed = calls_made(&agentic(64, r#"balance = "weighted_random""#));
    assert!(roomy.1 > 2000, "too few calls to tell: {}", roomy.1);
    let keys: std::collections::HashSet<u64> = roomy.0.iter().map(|r| r.0).collect();
    assert_eq!(keys.len(), roomy.0.len(), "two calls share a key");
    // The tight run queues (calls complete in another order than in the
    // roomy one): the comparison would be empty otherwise.
    for (name, other) in [("concurrency 3", &tight), ("least-loaded balancing", &routed)] {
        assert_eq!(
            (roomy.1, roomy.2, roomy.3),
            (other.1, other.2, other.3),
            "{name}: calls, tool calls and tasks differ"
        );
        assert!(roomy.0 == other.0, "{name}: the calls' keys or tokens differ");
    }
}

/// Per call key, the endpoint that served it and its latency, for calls
/// served.
fn served_latencies(text: &str) -> std::collections::HashMap<u64, (u32, u64)> {
    let s = scenario(text);
    let (_, _, calls) = World::new(&s, 0)
        .expect("valid scenario")
        .log_calls(usize::MAX)
        .run_logged();
    calls
        .iter()
        .filter(|c| c.served)
        .filter_map(|c| Some((c.key, (c.endpoint?, (c.ended? - c.submitted).as_nanos()))))
        .collect()
}

/// With room to spare (no call waits for a slot), a call's latency is its
/// first attempt's service time: keyed by the call, the same at the same
/// endpoint whatever other calls do. Balancing another way sends some
/// calls elsewhere and changes the order in which the rest reach their
/// endpoints; drawn from an endpoint's stream in arrival order (the old
/// way), their service times would all differ.
#[test]
fn a_call_served_at_the_same_endpoint_gets_the_same_service_time_whatever_the_routing() {
    let p2c = served_latencies(&agentic(64, ""));
    let random = served_latencies(&agentic(64, r#"balance = "weighted_random""#));
    let (mut same_endpoint, mut moved) = (0, 0);
    for (key, (endpoint, latency)) in &p2c {
        let Some((other_endpoint, other_latency)) = random.get(key) else {
            panic!("call {key:#x} served in one run only");
        };
        if endpoint == other_endpoint {
            same_endpoint += 1;
            assert_eq!(latency, other_latency, "call {key:#x} at endpoint {endpoint}");
        } else {
            moved += 1;
        }
    }
    assert!(
        same_endpoint > 5000 && moved > 5000,
        "{same_endpoint} stayed, {moved} moved"
    );
}
