//! A client that disconnects mid-stream: its slot frees and the upstream
//! sees the request cancelled.

use std::time::Duration;

use super::{Stack, body, run, two_endpoints};

#[test]
fn a_client_that_disconnects_mid_stream_frees_its_slot_and_cancels_upstream() {
    run(30, async {
        // 50 tokens at 100 ms each: the answer would take 5 s.
        let scenario = two_endpoints("", "", "").replace("per_output_token = \"4ms\"", "per_output_token = \"100ms\"");
        let stack = Stack::start(&scenario).await;
        let mut r = stack.chat("tenant-acme-key-1", &body(true, 50)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let first = r.chunk().await.unwrap().unwrap();
        assert!(String::from_utf8_lossy(&first).contains("w0"));
        drop(r);
        // Within a second the upstream saw the request go, and the slot freed.
        let mut stats = stack.stats().await;
        for _ in 0..20 {
            if stats["primary"]["cancelled"] == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            stats = stack.stats().await;
        }
        assert_eq!(stats["primary"]["cancelled"], 1, "{stats}");
        assert_eq!(stats["primary"]["busy"], 0, "{stats}");
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
            metrics.contains("slaplan_endpoint_in_flight{endpoint=\"primary\"} 0"),
            "{metrics}"
        );
    });
}

#[test]
fn a_client_that_disconnects_mid_stream_has_its_call_withdrawn() {
    run(30, async {
        let scenario = two_endpoints("", "", "").replace("per_output_token = \"4ms\"", "per_output_token = \"100ms\"");
        let stack = Stack::start(&scenario).await;
        let mut r = stack.chat("tenant-acme-key-1", &body(true, 50)).send().await.unwrap();
        r.chunk().await.unwrap().unwrap();
        drop(r);
        tokio::time::sleep(Duration::from_millis(500)).await;
        // The call was withdrawn, not retried elsewhere.
        assert_eq!(stack.upstream_requests().await, 1, "{}", stack.stats().await);
        let (_, requests) = stack.stop().await;
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0]["outcome"], "cancelled");
    });
}
