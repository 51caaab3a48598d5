//! Calls through `serve` to `emulate`: answers intact, streaming and not;
//! fallback when the primary is down, with the audit log's tier change; a
//! hanging primary cut at the attempt timeout; a 429 storm; a gold tenant's
//! latency while a bronze tenant floods.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Stack, body, expected_text, run, stream_text, two_endpoints};

#[test]
fn non_streaming_and_streaming_answers_arrive_intact() {
    run(30, async {
        let stack = Stack::start(&two_endpoints("", "", "")).await;
        let r = stack.chat("tenant-acme-key-1", &body(false, 12)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["choices"][0]["message"]["content"], expected_text(12));
        assert_eq!(v["usage"]["completion_tokens"], 12);
        assert_eq!(v["model"], "primary");

        let r = stack.chat("tenant-acme-key-1", &body(true, 15)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "text/event-stream");
        let text = r.text().await.unwrap();
        let (content, done) = stream_text(&text);
        assert_eq!(content, expected_text(15));
        assert!(done, "the stream ends with [DONE]:\n{text}");
        // The gateway asked the upstream for usage; the client did not, so
        // no usage chunk reaches it.
        assert!(!text.contains("\"usage\""), "{text}");

        let (_, requests) = stack.stop().await;
        assert_eq!(requests.len(), 2, "{requests:?}");
        for (line, out) in requests.iter().zip([12, 15]) {
            assert_eq!(line["outcome"], "success");
            assert_eq!(line["endpoint"], "primary");
            assert_eq!(line["tier"], 0);
            assert_eq!(line["output_tokens"], out);
            assert_eq!(line["usage"], true);
            assert_eq!(line["tenant"], "acme");
        }
        assert!(requests[1]["first_token"].is_string());
    });
}

#[test]
fn streamed_chunks_are_passed_on_as_they_arrive() {
    run(30, async {
        // 40 ms to the first token, then 40 ms between tokens: a gateway
        // that buffered would deliver everything at once at the end.
        let scenario = two_endpoints("", "", "").replace("per_output_token = \"4ms\"", "per_output_token = \"40ms\"");
        let stack = Stack::start(&scenario).await;
        let mut r = stack.chat("tenant-acme-key-1", &body(true, 10)).send().await.unwrap();
        let start = Instant::now();
        let mut arrivals = Vec::new();
        while let Some(chunk) = r.chunk().await.unwrap() {
            if String::from_utf8_lossy(&chunk).contains("\"content\"") {
                arrivals.push(start.elapsed());
            }
        }
        assert!(arrivals.len() >= 5, "{arrivals:?}");
        let spread = *arrivals.last().unwrap() - arrivals[0];
        // 9 gaps of 40 ms: at least 300 ms between the first and last chunk.
        assert!(
            spread >= Duration::from_millis(300),
            "chunks arrived together: {arrivals:?}"
        );
    });
}

#[test]
fn a_down_primary_moves_calls_to_the_secondary_and_the_audit_log_says_so() {
    run(30, async {
        let down = r#"outages = [{ start = "0s", duration = "1h", mode = "down" }]"#;
        let stack = Stack::start(&two_endpoints("", down, "")).await;
        for _ in 0..3 {
            let r = stack.chat("tenant-acme-key-1", &body(false, 5)).send().await.unwrap();
            assert_eq!(r.status(), 200);
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["choices"][0]["message"]["content"], expected_text(5));
        }
        let (audit, requests) = stack.stop().await;
        for line in &requests {
            assert_eq!(line["endpoint"], "secondary", "{line}");
            assert_eq!(line["tier"], 1);
            assert_eq!(line["attempts"], 2);
            // The request log carries the fallback `judge` times: the
            // error on the primary, then the dispatch to the secondary.
            let f = &line["fallback"];
            assert_eq!(f["from"], "primary", "{line}");
            assert_eq!(f["to"], "secondary", "{line}");
            let (arrival, failed, left) = (
                line["arrival"].as_str().unwrap(),
                f["failed"].as_str().unwrap(),
                f["left"].as_str().unwrap(),
            );
            assert!(arrival <= failed && failed <= left, "{line}");
        }
        // The router's audit event for the move from tier 0 to tier 1 on
        // errors (per call, `tier_change`; per tenant, `degraded`).
        let moves: Vec<&Value> = audit
            .iter()
            .filter(|e| e["event"] == "tier_change" || e["event"] == "degraded")
            .collect();
        assert!(!moves.is_empty(), "{audit:?}");
        for e in moves {
            assert_eq!(e["from"], 0, "{e}");
            assert_eq!(e["to"], 1, "{e}");
            assert_eq!(e["trigger"], "error", "{e}");
            assert_eq!(e["tenant"], "acme");
        }
    });
}

#[test]
fn a_hanging_primary_is_cut_at_the_attempt_timeout() {
    run(30, async {
        let hang = r#"outages = [{ start = "0s", duration = "1h", mode = "hang" }]"#;
        let scenario =
            two_endpoints("", hang, "").replacen("attempt_timeout = \"2s\"", "attempt_timeout = \"300ms\"", 1);
        let stack = Stack::start(&scenario).await;
        let start = Instant::now();
        let r = stack.chat("tenant-acme-key-1", &body(false, 5)).send().await.unwrap();
        let took = start.elapsed();
        assert_eq!(r.status(), 200);
        // 300 ms on the hung primary, then about 60 ms on the secondary.
        assert!(took >= Duration::from_millis(300), "{took:?}");
        assert!(took < Duration::from_millis(1500), "{took:?}");
        // The hung request was abandoned: the primary saw it cancelled.
        let stats = stack.stats().await;
        assert_eq!(stats["primary"]["requests"], 1);
        assert_eq!(stats["primary"]["cancelled"], 1, "{stats}");
        let (_, requests) = stack.stop().await;
        assert_eq!(requests[0]["endpoint"], "secondary");
        // The attempt cut at its timeout is the fallback's failure.
        let f = &requests[0]["fallback"];
        assert_eq!((&f["from"], &f["to"]), (&"primary".into(), &"secondary".into()), "{f}");
        let at = |t: &Value| slaplan::model::log_instant(t.as_str().unwrap()).unwrap();
        let waited = at(&f["failed"]) - at(&requests[0]["arrival"]);
        assert!(waited >= 300_000_000, "{waited} ns");
        assert_eq!(requests[0]["attempts"], 2);
    });
}

#[test]
fn a_gold_tenant_keeps_its_latency_while_a_bronze_tenant_floods() {
    run(60, async {
        // One endpoint, 4 slots, 100 ms per call (no noise), shared by a
        // gold and a bronze tenant. Strict priority: when a slot frees, a
        // waiting gold call takes it before any bronze call, so a gold call
        // waits at most one service time (every slot busy with bronze
        // calls that just started): 100 ms + 100 ms of service.
        let scenario = r#"
[simulation]
start = "2026-01-01"
duration = "1d"

[[endpoints]]
name = "shared"
concurrency = 4
attempt_timeout = "10s"
latency = { model = "lognormal", ttft = "100ms", sigma = 0.0 }

[[tenants]]
name = "gold"
class = "gold"
chain = ["shared"]
auth = { api_key_env = "ACME_KEY" }
[[tenants.workflows]]
name = "chat"
rate = 1.0
[[tenants.clauses]]
metric = "latency"
percentile = 99
threshold = "500ms"

[[tenants]]
name = "bronze"
class = "bronze"
chain = ["shared"]
auth = { api_key_env = "BRONZE_KEY" }
[[tenants.workflows]]
name = "chat"
rate = 1.0
"#;
        let stack = std::sync::Arc::new(Stack::start(scenario).await);
        let mut body = body(false, 1);
        body["model"] = "shared".into();
        let mut flood = Vec::new();
        for _ in 0..60 {
            let s = std::sync::Arc::clone(&stack);
            let b = body.clone();
            flood.push(tokio::spawn(async move {
                s.chat("tenant-bronze-key-2", &b)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            }));
        }
        // Let the flood fill the slots and the router's queue.
        tokio::time::sleep(Duration::from_millis(150)).await;
        let mut worst = Duration::ZERO;
        for _ in 0..5 {
            let start = Instant::now();
            let r = stack.chat("tenant-acme-key-1", &body).send().await.unwrap();
            assert_eq!(r.status(), 200);
            worst = worst.max(start.elapsed());
        }
        // The bronze backlog (60 calls over 4 slots: 1.5 s) was still
        // waiting while gold was served.
        let stats = stack.stats().await;
        assert!(stats["shared"]["requests"].as_u64().unwrap() < 60, "{stats}");
        assert!(
            worst <= Duration::from_millis(500),
            "gold's worst latency {worst:?} is over its 500 ms budget"
        );
        for f in flood {
            assert_eq!(f.await.unwrap().unwrap(), 200);
        }
    });
}

#[test]
fn a_429_storm_moves_gold_to_the_secondary_and_sheds_bronze_first() {
    run(60, async {
        // The primary grants one request a minute: every later one gets a
        // 429 with a retry-after, so the router cools it down and moves gold
        // calls to the secondary. The secondary takes one call at a time
        // (200 ms each); the router keeps at most 2 calls waiting for it and
        // sheds the newest of the lowest class beyond that.
        let router = "[router]\nmax_queue = 2";
        let primary = "provider_rpm = 1";
        let scenario = two_endpoints(router, primary, "")
            .replace(
                "name = \"secondary\"\nprovider = \"p2\"\nconcurrency = 4",
                "name = \"secondary\"\nprovider = \"p2\"\nconcurrency = 1",
            )
            .replacen(
                "latency = { model = \"lognormal\", ttft = \"40ms\", per_output_token = \"4ms\", sigma = 0.0 }\nupstream = { base_url = \"http://EMU/v1\", api_key_env = \"UP_KEY_B\" }",
                "latency = { model = \"lognormal\", ttft = \"200ms\", sigma = 0.0 }\nupstream = { base_url = \"http://EMU/v1\", api_key_env = \"UP_KEY_B\" }",
                1,
            );
        let stack = std::sync::Arc::new(Stack::start(&scenario).await);
        let call = |key: &'static str, model: &'static str| {
            let s = std::sync::Arc::clone(&stack);
            let mut b = body(false, 2);
            b["model"] = model.into();
            tokio::spawn(async move {
                let r = s.chat(key, &b).send().await.unwrap();
                let retry = r.headers().get("retry-after").is_some();
                (r.status().as_u16(), retry)
            })
        };
        let bronze: Vec<_> = (0..6).map(|_| call("tenant-other-key-3", "secondary")).collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        // Three gold calls: one served by the primary, two moved by its 429s
        // to the secondary's queue, where they pass the waiting bronze
        // calls (a fourth would find only gold waiting and be shed itself).
        let gold: Vec<_> = (0..3).map(|_| call("tenant-acme-key-1", "primary")).collect();
        for g in gold {
            assert_eq!(g.await.unwrap().0, 200, "a gold call failed");
        }
        let mut shed = 0;
        for b in bronze {
            let (status, retry) = b.await.unwrap();
            if status == 429 {
                assert!(retry, "a shed call gets a retry-after");
                shed += 1;
            } else {
                assert_eq!(status, 200);
            }
        }
        assert!(shed >= 3, "{shed} bronze calls shed");
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
            metrics.contains("slaplan_endpoint_rate_limited_total{endpoint=\"primary\"}"),
            "{metrics}"
        );
        assert!(
            !metrics.contains("slaplan_endpoint_rate_limited_total{endpoint=\"primary\"} 0"),
            "{metrics}"
        );
        let stack = std::sync::Arc::into_inner(stack).expect("every call finished");
        let (audit, _) = stack.stop().await;
        let sheds: Vec<&Value> = audit.iter().filter(|e| e["event"] == "shed").collect();
        assert_eq!(sheds.len(), shed, "{audit:?}");
        assert!(
            sheds.iter().all(|e| e["class"] == "bronze" && e["tenant"] == "other"),
            "{sheds:?}"
        );
    });
}
