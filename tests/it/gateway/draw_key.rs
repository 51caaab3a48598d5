//! A call's draw key through `serve` to `emulate`: the gateway passes
//! `x-slaplan-draw-key` on and logs it, and the emulator draws the
//! attempt's service time from the key and its attempt number, as the
//! simulator does (`AttemptDraws::keyed`).

use std::time::{Duration, Instant};

use slaplan::model::AttemptDraws;

use super::{Stack, body, run, two_endpoints};

const SIGMA_ZERO: &str = r#"latency = { model = "lognormal", ttft = "40ms", per_output_token = "4ms", sigma = 0.0 }"#;

/// The service time of attempt `attempt` of the call keyed `key` at an
/// exponential endpoint of mean 400 ms.
fn service(key: u64, attempt: u32) -> Duration {
    Duration::from_secs_f64(0.4 * AttemptDraws::keyed(key, attempt).exponential)
}

#[test]
fn the_emulator_serves_a_keyed_call_in_the_time_its_key_draws() {
    run(60, async {
        let scenario =
            two_endpoints("", "", "").replacen(SIGMA_ZERO, r#"latency = { model = "exponential", mean = "400ms" }"#, 1);
        let stack = Stack::start(&scenario).await;
        // Keys whose first two attempts take 150 ms to 1.5 s (under the 2 s
        // attempt timeout, and far enough apart to tell draws apart).
        let range = Duration::from_millis(150)..Duration::from_millis(1500);
        let keys: Vec<u64> = (1u64..)
            .filter(|k| (0..2).all(|a| range.contains(&service(*k, a))))
            .take(3)
            .collect();
        for &key in &keys {
            // The same key twice: attempts 0 and 1 of the call.
            for attempt in 0..2 {
                let expected = service(key, attempt);
                let start = Instant::now();
                let r = stack
                    .chat("tenant-acme-key-1", &body(false, 5))
                    .header("x-slaplan-draw-key", format!("{key:016x}"))
                    .send()
                    .await
                    .unwrap();
                let took = start.elapsed();
                assert_eq!(r.status(), 200);
                let _ = r.bytes().await;
                assert!(
                    took >= expected && took <= expected + Duration::from_millis(200),
                    "key {key}, attempt {attempt}: took {took:?}, its draw is {expected:?}"
                );
            }
        }
        let r = stack
            .chat("tenant-acme-key-1", &body(false, 5))
            .header("x-slaplan-draw-key", "not-hex")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert!(r.text().await.unwrap().contains("x-slaplan-draw-key"));
        let (_, requests) = stack.stop().await;
        assert_eq!(requests.len(), 6, "{requests:?}");
        for (i, line) in requests.iter().enumerate() {
            assert_eq!(line["draw_key"], format!("{:016x}", keys[i / 2]), "{line}");
        }
    });
}
