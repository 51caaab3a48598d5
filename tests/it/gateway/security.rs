//! The gateway's security: keys, chains, secrets, body size, idle connections.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{KEYS, Options, Stack, body, run, two_endpoints};

#[test]
fn a_wrong_or_missing_key_gets_401_and_reaches_no_upstream() {
    run(30, async {
        let stack = Stack::start(&two_endpoints("", "", "")).await;
        for key in [
            Some("nope"),
            Some("tenant-acme-key-"),
            Some("sk-upstream-secret-aaaa"),
            None,
        ] {
            let mut req = stack.http.post(stack.url("/v1/chat/completions")).json(&body(false, 3));
            if let Some(k) = key {
                req = req.bearer_auth(k);
            }
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), 401, "key {key:?}");
        }
        let r = stack.http.get(stack.url("/v1/models")).send().await.unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(stack.upstream_requests().await, 0);
    });
}

#[test]
fn a_tenant_cannot_reach_an_endpoint_outside_its_chain() {
    run(30, async {
        let stack = Stack::start(&two_endpoints("", "", "")).await;
        // "other" may use only "secondary".
        let models: Value = stack
            .http
            .get(stack.url("/v1/models"))
            .bearer_auth("tenant-other-key-3")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ids: Vec<&str> = models["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, vec!["secondary"]);
        let r = stack.chat("tenant-other-key-3", &body(false, 3)).send().await.unwrap();
        assert_eq!(r.status(), 404, "naming `primary` must not reach it");
        let stats = stack.stats().await;
        assert_eq!(stats["primary"]["requests"], 0);
        assert_eq!(stats["secondary"]["requests"], 0);
        // Without a model, or naming its own, it is served by its chain.
        let mut b = body(false, 3);
        b["model"] = "secondary".into();
        let r = stack.chat("tenant-other-key-3", &b).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let stats = stack.stats().await;
        assert_eq!(stats["primary"]["requests"], 0);
        assert_eq!(stats["secondary"]["requests"], 1);
    });
}

#[test]
fn upstream_keys_appear_in_no_log_metric_or_error() {
    run(30, async {
        // The primary is down: its errors, the fallback and a client error
        // (a prompt over the context window) all pass through the logs.
        let down = r#"outages = [{ start = "0s", duration = "1h", mode = "down" }]"#;
        let stack = Stack::start(&two_endpoints("", down, "context_window = 5")).await;
        let mut answers = String::new();
        for b in [body(false, 3), body(true, 3)] {
            let r = stack.chat("tenant-acme-key-1", &b).send().await.unwrap();
            answers.push_str(&format!("{:?}", r.headers()));
            answers.push_str(&r.text().await.unwrap());
        }
        let mut long = body(false, 3);
        long["messages"][0]["content"] = "x".repeat(400).into();
        let r = stack.chat("tenant-acme-key-1", &long).send().await.unwrap();
        assert!(r.status().is_client_error() || r.status().is_server_error());
        answers.push_str(&r.text().await.unwrap());
        let metrics = stack
            .http
            .get(stack.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(metrics.contains("slaplan_requests_total"), "{metrics}");
        let (audit, requests) = stack.stop_raw().await;
        assert!(!audit.is_empty() && !requests.is_empty());
        for (name, value) in KEYS.iter().filter(|(n, _)| n.starts_with("UP_")) {
            for (what, text) in [
                ("answers", &answers),
                ("metrics", &metrics),
                ("audit", &audit),
                ("requests", &requests),
            ] {
                assert!(!text.contains(value), "{name} leaked into {what}");
            }
        }
    });
}

#[test]
fn a_10_mb_body_gets_413_without_being_read_whole() {
    run(30, async {
        let stack = Stack::start_with(&two_endpoints("", "", ""), Options::default()).await;
        // Declared length over the limit: refused before the body is read.
        let mut sock = tokio::net::TcpStream::connect(stack.gateway).await.unwrap();
        let head = format!(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tenant-acme-key-1\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            10 * 1024 * 1024
        );
        sock.write_all(head.as_bytes()).await.unwrap();
        sock.write_all(&[b' '; 64 * 1024]).await.unwrap();
        let mut reply = vec![0u8; 512];
        let n = tokio::time::timeout(Duration::from_secs(5), sock.read(&mut reply))
            .await
            .unwrap()
            .unwrap();
        let reply = String::from_utf8_lossy(&reply[..n]);
        assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
        // Chunked, with no declared length: cut at the limit.
        let big = vec![b'x'; 10 * 1024 * 1024];
        let r = stack
            .http
            .post(stack.url("/v1/chat/completions"))
            .bearer_auth("tenant-acme-key-1")
            .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
                big.chunks(64 * 1024)
                    .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
                    .collect::<Vec<_>>(),
            )))
            .send()
            .await;
        if let Ok(r) = r {
            assert_eq!(r.status(), 413);
        }
        assert_eq!(stack.upstream_requests().await, 0);
    });
}

#[test]
fn a_connection_that_sends_nothing_is_dropped() {
    run(30, async {
        let options = Options {
            header_timeout: Duration::from_millis(500),
            ..Options::default()
        };
        let stack = Stack::start_with(&two_endpoints("", "", ""), options).await;
        let mut sock = tokio::net::TcpStream::connect(stack.gateway).await.unwrap();
        let start = Instant::now();
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(5), sock.read(&mut buf))
            .await
            .expect("the gateway closes an idle connection")
            .unwrap_or(0);
        let took = start.elapsed();
        // Closed (EOF), or answered 408 then closed; never kept open.
        assert!(
            n == 0 || String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 408"),
            "{n}"
        );
        assert!(took >= Duration::from_millis(400), "{took:?}");
    });
}
