//! The router core's inputs as the gateway drives them, end to end: a
//! hedge's loser is really cancelled upstream, an upstream 4xx reaches the
//! client as it is (no fallback, no breaker count), a per-request priority
//! lowers but never raises the tenant's class, and the first streamed token
//! stops the first-token timer.

use std::time::Duration;

use serde_json::Value;

use super::{Stack, body, expected_text, run, stream_text, two_endpoints};

/// The latency line of the primary (the first endpoint) in the template.
const PRIMARY_LATENCY: &str = "latency = { model = \"lognormal\", ttft = \"40ms\", per_output_token = \"4ms\", sigma = 0.0 }\nupstream = { base_url = \"http://EMU/v1\", api_key_env = \"UP_KEY_A\" }";

fn primary_latency(ttft: &str, per_token: &str) -> String {
    format!(
        "latency = {{ model = \"lognormal\", ttft = \"{ttft}\", per_output_token = \"{per_token}\", sigma = 0.0 }}\nupstream = {{ base_url = \"http://EMU/v1\", api_key_env = \"UP_KEY_A\" }}"
    )
}

/// Polls the emulator until `ok` holds of its counters (at most 2 s).
async fn stats_until(stack: &Stack, ok: impl Fn(&Value) -> bool) -> Value {
    let mut stats = stack.stats().await;
    for _ in 0..40 {
        if ok(&stats) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        stats = stack.stats().await;
    }
    stats
}

fn hedged_scenario() -> String {
    // The primary takes 1.5 s to its first token, the secondary 40 ms; the
    // gold tenant hedges after 100 ms.
    two_endpoints("", "", "")
        .replacen(PRIMARY_LATENCY, &primary_latency("1500ms", "4ms"), 1)
        .replace(
            "auth = { api_key_env = \"ACME_KEY\" }",
            "auth = { api_key_env = \"ACME_KEY\" }\nhedge_after = \"100ms\"",
        )
}

#[test]
fn a_hedges_loser_is_cancelled_upstream() {
    run(30, async {
        let stack = Stack::start(&hedged_scenario()).await;
        let r = stack.chat("tenant-acme-key-1", &body(false, 5)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let answer: Value = r.json().await.unwrap();
        assert_eq!(answer["choices"][0]["message"]["content"], expected_text(5));
        // The primary's request was dropped, not answered (it would have
        // been at 1.5 s).
        let stats = stats_until(&stack, |s| s["primary"]["cancelled"] == 1).await;
        assert_eq!(stats["primary"]["requests"], 1, "{stats}");
        assert_eq!(stats["primary"]["cancelled"], 1, "{stats}");
        assert_eq!(stats["primary"]["answered"], 0, "{stats}");
        assert_eq!(stats["primary"]["busy"], 0, "{stats}");
        assert_eq!(stats["secondary"]["answered"], 1, "{stats}");
        let (_, requests) = stack.stop().await;
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0]["endpoint"], "secondary");
        assert_eq!(requests[0]["attempts"], 2);
        assert_eq!(requests[0]["outcome"], "success");
    });
}

#[test]
fn a_hedged_stream_is_the_winners_alone_and_the_loser_is_cancelled() {
    run(30, async {
        let stack = Stack::start(&hedged_scenario()).await;
        let r = stack.chat("tenant-acme-key-1", &body(true, 8)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let (text, done) = stream_text(&r.text().await.unwrap());
        assert_eq!(text, expected_text(8));
        assert!(done);
        let stats = stats_until(&stack, |s| s["primary"]["cancelled"] == 1).await;
        assert_eq!(stats["primary"]["cancelled"], 1, "{stats}");
        assert_eq!(stats["primary"]["answered"], 0, "{stats}");
    });
}

/// The secondary's latency line in the template.
const SECONDARY_LATENCY: &str = "latency = { model = \"lognormal\", ttft = \"40ms\", per_output_token = \"4ms\", sigma = 0.0 }\nupstream = { base_url = \"http://EMU/v1\", api_key_env = \"UP_KEY_B\" }";

#[test]
fn a_hedged_stream_goes_to_the_first_token_and_the_loser_is_cancelled_then() {
    run(30, async {
        // The primary's first token comes at 300 ms and its answer right
        // after; the hedge (sent at 100 ms) streams from 140 ms but slowly,
        // to about 1.3 s. The hedge's first token wins: the primary, which
        // would have answered first, is cancelled at 140 ms.
        let scenario = two_endpoints("", "", "")
            .replacen(PRIMARY_LATENCY, &primary_latency("300ms", "1ms"), 1)
            .replacen(
                SECONDARY_LATENCY,
                &SECONDARY_LATENCY.replace("per_output_token = \"4ms\"", "per_output_token = \"150ms\""),
                1,
            )
            .replace(
                "auth = { api_key_env = \"ACME_KEY\" }",
                "auth = { api_key_env = \"ACME_KEY\" }\nhedge_after = \"100ms\"",
            );
        assert!(scenario.contains("150ms"));
        let stack = Stack::start(&scenario).await;
        let mut r = stack.chat("tenant-acme-key-1", &body(true, 8)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let mut sse = Vec::new();
        sse.extend_from_slice(&r.chunk().await.unwrap().expect("a first chunk"));
        // The winner is still streaming, and the loser's request is gone.
        let stats = stats_until(&stack, |s| s["primary"]["cancelled"] == 1).await;
        assert_eq!(stats["primary"]["requests"], 1, "{stats}");
        assert_eq!(stats["primary"]["cancelled"], 1, "{stats}");
        assert_eq!(stats["primary"]["answered"], 0, "{stats}");
        assert_eq!(stats["secondary"]["answered"], 0, "the winner still streams: {stats}");
        while let Some(c) = r.chunk().await.unwrap() {
            sse.extend_from_slice(&c);
        }
        let (text, done) = stream_text(&String::from_utf8(sse).unwrap());
        assert_eq!(text, expected_text(8), "one intact stream");
        assert!(done);
        let stats = stats_until(&stack, |s| s["secondary"]["answered"] == 1).await;
        assert_eq!(stats["secondary"]["answered"], 1, "{stats}");
        assert_eq!(stats["primary"]["answered"], 0, "{stats}");
        let (_, requests) = stack.stop().await;
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0]["endpoint"], "secondary");
        assert_eq!(requests[0]["outcome"], "success");
    });
}

#[test]
fn an_upstream_400_reaches_the_client_without_fallback_or_breaker() {
    run(30, async {
        // The primary's window is 100 tokens; its breaker would open after
        // two failures in three calls.
        let primary = "context_window = 100\nbreaker = { window = \"30s\", min_requests = 2, error_ratio = 0.5, open_for = \"30s\", half_open_probes = 1 }";
        let stack = Stack::start(&two_endpoints("", primary, "")).await;
        let mut long = body(false, 5);
        long["messages"][0]["content"] = "x".repeat(4000).into();
        for _ in 0..4 {
            let r = stack.chat("tenant-acme-key-1", &long).send().await.unwrap();
            assert_eq!(r.status(), 400);
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["error"]["code"], "context_length_exceeded", "{v}");
        }
        // The breaker stayed closed: a short call is served by the primary.
        let r = stack.chat("tenant-acme-key-1", &body(false, 5)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let stats = stack.stats().await;
        assert_eq!(stats["primary"]["requests"], 5, "{stats}");
        assert_eq!(stats["secondary"]["requests"], 0, "{stats}");
        let metrics = stack
            .http
            .get(stack.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            metrics.contains("slaplan_endpoint_breaker_state{endpoint=\"primary\"} 0"),
            "{metrics}"
        );
        let (audit, requests) = stack.stop().await;
        assert!(!audit.iter().any(|e| e["event"] == "breaker"), "{audit:?}");
        let outcomes: Vec<(&str, u64)> = requests
            .iter()
            .map(|r| (r["outcome"].as_str().unwrap(), r["status"].as_u64().unwrap()))
            .collect();
        assert_eq!(
            outcomes,
            [
                ("client_error", 400),
                ("client_error", 400),
                ("client_error", 400),
                ("client_error", 400),
                ("success", 200)
            ]
        );
        assert!(requests.iter().all(|r| r["attempts"] == 1), "{requests:?}");
    });
}

#[test]
fn a_request_priority_lowers_the_class_but_never_raises_it() {
    run(30, async {
        // Both tenants use only the secondary: one slot, 1 s per call, at
        // most one call waiting (the newest of the lowest class is shed).
        let scenario = two_endpoints("[router]\nmax_queue = 1", "", "")
            .replace("chain = [\"primary\", \"secondary\"]", "chain = [\"secondary\"]")
            .replace(
                "name = \"secondary\"\nprovider = \"p2\"\nconcurrency = 4",
                "name = \"secondary\"\nprovider = \"p2\"\nconcurrency = 1",
            )
            .replacen(
                "latency = { model = \"lognormal\", ttft = \"40ms\", per_output_token = \"4ms\", sigma = 0.0 }\nupstream = { base_url = \"http://EMU/v1\", api_key_env = \"UP_KEY_B\" }",
                "latency = { model = \"lognormal\", ttft = \"1s\", sigma = 0.0 }\nupstream = { base_url = \"http://EMU/v1\", api_key_env = \"UP_KEY_B\" }",
                1,
            );
        let stack = std::sync::Arc::new(Stack::start(&scenario).await);
        let call = |key: &'static str, priority: Option<&'static str>| {
            let s = std::sync::Arc::clone(&stack);
            let mut b = body(false, 2);
            b["model"] = "secondary".into();
            tokio::spawn(async move {
                let mut req = s.chat(key, &b);
                if let Some(p) = priority {
                    req = req.header("x-slaplan-priority", p);
                }
                req.send().await.unwrap().status().as_u16()
            })
        };
        let gap = Duration::from_millis(150);
        // A: gold, takes the slot.
        let a = call("tenant-acme-key-1", None);
        tokio::time::sleep(gap).await;
        // B: bronze asking for gold: stays bronze, waits.
        let b = call("tenant-other-key-3", Some("gold"));
        tokio::time::sleep(gap).await;
        // C: gold asking for bronze: bronze, and the newer of two bronze
        // calls waiting: shed.
        let c = call("tenant-acme-key-1", Some("bronze"));
        tokio::time::sleep(gap).await;
        // D: gold: B is now the lowest class waiting, and is shed.
        let d = call("tenant-acme-key-1", None);
        let statuses = [a.await.unwrap(), b.await.unwrap(), c.await.unwrap(), d.await.unwrap()];
        assert_eq!(statuses, [200, 429, 429, 200]);
        let stack = std::sync::Arc::into_inner(stack).expect("every call finished");
        let (audit, _) = stack.stop().await;
        let sheds: Vec<(&str, &str)> = audit
            .iter()
            .filter(|e| e["event"] == "shed")
            .map(|e| (e["tenant"].as_str().unwrap(), e["class"].as_str().unwrap()))
            .collect();
        assert_eq!(sheds, [("acme", "bronze"), ("other", "bronze")], "{audit:?}");
    });
}

#[test]
fn a_priority_header_that_names_no_class_is_refused() {
    run(30, async {
        let stack = Stack::start(&two_endpoints("", "", "")).await;
        let r = stack
            .chat("tenant-acme-key-1", &body(false, 2))
            .header("x-slaplan-priority", "platinum")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let v: Value = r.json().await.unwrap();
        assert!(
            v["error"]["message"].as_str().unwrap().contains("x-slaplan-priority"),
            "{v}"
        );
        assert_eq!(stack.upstream_requests().await, 0);
    });
}

#[test]
fn the_first_streamed_token_stops_the_first_token_timer() {
    run(30, async {
        // First token after 40 ms, the whole answer after about 1 s: the
        // 300 ms first-token timer must not cut it.
        let primary = "first_token_timeout = \"300ms\"";
        let scenario = two_endpoints("", primary, "").replacen(PRIMARY_LATENCY, &primary_latency("40ms", "20ms"), 1);
        let stack = Stack::start(&scenario).await;
        let r = stack.chat("tenant-acme-key-1", &body(true, 50)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let (text, done) = stream_text(&r.text().await.unwrap());
        assert_eq!(text, expected_text(50));
        assert!(done);
        let (_, requests) = stack.stop().await;
        assert_eq!(requests[0]["endpoint"], "primary", "{requests:?}");
        assert_eq!(requests[0]["attempts"], 1, "{requests:?}");
        assert!(requests[0]["first_token"].is_string(), "{requests:?}");
    });
}

#[test]
fn a_stream_without_a_first_token_in_time_moves_to_the_next_endpoint() {
    run(30, async {
        // First token after 1.5 s: cut at 300 ms, then served by the secondary.
        let primary = "first_token_timeout = \"300ms\"";
        let scenario = two_endpoints("", primary, "").replacen(PRIMARY_LATENCY, &primary_latency("1500ms", "4ms"), 1);
        let stack = Stack::start(&scenario).await;
        let r = stack.chat("tenant-acme-key-1", &body(true, 8)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let (text, done) = stream_text(&r.text().await.unwrap());
        assert_eq!(text, expected_text(8));
        assert!(done);
        let stats = stats_until(&stack, |s| s["primary"]["cancelled"] == 1).await;
        assert_eq!(stats["primary"]["cancelled"], 1, "{stats}");
        let (_, requests) = stack.stop().await;
        assert_eq!(requests[0]["endpoint"], "secondary", "{requests:?}");
        assert_eq!(requests[0]["attempts"], 2, "{requests:?}");
    });
}

#[test]
fn a_session_stays_on_the_endpoint_it_fell_back_to() {
    run(30, async {
        // The primary is down for the first 1.5 s.
        let down = r#"outages = [{ start = "0s", duration = "1500ms", mode = "down" }]"#;
        let stack = Stack::start(&two_endpoints("", down, "")).await;
        let began = std::time::Instant::now();
        let call = |session: Option<&'static str>| {
            let mut req = stack.chat("tenant-acme-key-1", &body(false, 3));
            if let Some(s) = session {
                req = req.header("x-slaplan-session", s);
            }
            async move { assert_eq!(req.send().await.unwrap().status(), 200) }
        };
        // Falls back to the secondary.
        call(Some("s1")).await;
        let wait = Duration::from_millis(1700).saturating_sub(began.elapsed());
        tokio::time::sleep(wait).await;
        // The primary is up again: s1 stays on the secondary; a new
        // session, and a call without one, start at the primary.
        call(Some("s1")).await;
        call(Some("s2")).await;
        call(None).await;
        call(Some("s1")).await;
        let (_, requests) = stack.stop().await;
        let served: Vec<(&str, u64)> = requests
            .iter()
            .map(|r| (r["endpoint"].as_str().unwrap(), r["attempts"].as_u64().unwrap()))
            .collect();
        assert_eq!(
            served,
            [
                ("secondary", 2),
                ("secondary", 1),
                ("primary", 1),
                ("primary", 1),
                ("secondary", 1)
            ]
        );
        assert_eq!(requests[1]["session"], "s1");
    });
}

#[test]
fn a_session_name_over_256_bytes_is_refused() {
    run(30, async {
        let stack = Stack::start(&two_endpoints("", "", "")).await;
        let r = stack
            .chat("tenant-acme-key-1", &body(false, 2))
            .header("x-slaplan-session", "s".repeat(257))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert_eq!(stack.upstream_requests().await, 0);
    });
}
