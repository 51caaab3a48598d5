//! `loadgen`: an open-loop load generator for the gateway overhead figures
//! in BENCHMARKS.md. Requests start on a fixed schedule (`--rate` per
//! second for `--seconds`), whatever the answers do, so a slow server
//! cannot slow the load down (no coordinated omission). For each request it
//! records the latency (send to last byte); for streams also the time to
//! the first content event and every gap between content events. Prints
//! one JSON object of percentiles (microseconds).
//!
//! Build with `cargo build --release --example loadgen`, run (after
//! starting the servers, see BENCHMARKS.md and benches/gateway_overhead.sh;
//! the binary lands in target/release/examples/):
//! `target/release/examples/loadgen --url http://127.0.0.1:8080/v1 --key KEY
//!  --model NAME --rate 2000 --seconds 20 [--stream] [--tokens 10]`

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use hdrhistogram::Histogram;
use serde_json::json;

struct Args {
    url: String,
    key: String,
    model: String,
    rate: f64,
    seconds: f64,
    stream: bool,
    tokens: u32,
    warmup: f64,
}

fn args() -> Args {
    let mut a = Args {
        url: String::new(),
        key: "none".into(),
        model: String::new(),
        rate: 100.0,
        seconds: 10.0,
        stream: false,
        tokens: 10,
        warmup: 2.0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => a.url = value(),
            "--key" => a.key = value(),
            "--model" => a.model = value(),
            "--rate" => a.rate = value().parse().expect("--rate: a number"),
            "--seconds" => a.seconds = value().parse().expect("--seconds: a number"),
            "--warmup" => a.warmup = value().parse().expect("--warmup: a number"),
            "--tokens" => a.tokens = value().parse().expect("--tokens: a number"),
            "--stream" => a.stream = true,
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(
        !a.url.is_empty() && !a.model.is_empty(),
        "--url and --model are required"
    );
    a
}

#[derive(Default)]
struct Record {
    latency: Option<Histogram<u64>>,
    ttft: Option<Histogram<u64>>,
    gap: Option<Histogram<u64>>,
    errors: u64,
    done: u64,
}

fn hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 120_000_000, 3).expect("histogram bounds")
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

async fn one(client: reqwest::Client, args: Arc<Args>, record: Arc<Mutex<Record>>, measure: bool) {
    let body = json!({
        "model": args.model,
        "max_tokens": args.tokens,
        "stream": args.stream,
        "messages": [{ "role": "user", "content": "Hello, how are you today?" }],
    });
    #[allow(clippy::disallowed_methods)] // a load generator measures wall time
    let start = Instant::now();
    let sent = client
        .post(format!("{}/chat/completions", args.url))
        .bearer_auth(&args.key)
        .json(&body)
        .send()
        .await;
    let Ok(resp) = sent else {
        record.lock().unwrap().errors += 1;
        return;
    };
    if !resp.status().is_success() {
        let _ = resp.bytes().await;
        record.lock().unwrap().errors += 1;
        return;
    }
    let mut first = None;
    let mut gaps = Vec::new();
    let mut last = None;
    let mut body = resp.bytes_stream();
    while let Some(chunk) = body.next().await {
        let Ok(chunk) = chunk else {
            record.lock().unwrap().errors += 1;
            return;
        };
        if args.stream && chunk.windows(9).any(|w| w == b"\"content\"") {
            let now = start.elapsed();
            if first.is_none() {
                first = Some(now);
            }
            if let Some(l) = last {
                gaps.push(now - l);
            }
            last = Some(now);
        }
    }
    let latency = start.elapsed();
    if !measure {
        return;
    }
    let mut r = record.lock().unwrap();
    r.done += 1;
    r.latency.get_or_insert_with(hist).record(micros(latency)).ok();
    if let Some(f) = first {
        r.ttft.get_or_insert_with(hist).record(micros(f)).ok();
    }
    let g = r.gap.get_or_insert_with(hist);
    for d in gaps {
        g.record(micros(d)).ok();
    }
}

fn summary(h: &Option<Histogram<u64>>) -> serde_json::Value {
    match h {
        None => serde_json::Value::Null,
        Some(h) => json!({
            "count": h.len(),
            "p50_us": h.value_at_quantile(0.5),
            "p99_us": h.value_at_quantile(0.99),
            "max_us": h.max(),
        }),
    }
}

fn main() {
    let args = Arc::new(args());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let out = rt.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(4096)
            .tcp_nodelay(true)
            .build()
            .expect("client");
        let record = Arc::new(Mutex::new(Record::default()));
        let period = Duration::from_secs_f64(1.0 / args.rate);
        let warm = (args.warmup * args.rate) as u64;
        let total = warm + (args.seconds * args.rate) as u64;
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        // Requests still out; no handle is kept per request, so a run of
        // millions holds memory only for those in flight.
        let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        for i in 0..total {
            tick.tick().await;
            let done = done_tx.clone();
            let job = one(client.clone(), Arc::clone(&args), Arc::clone(&record), i >= warm);
            tokio::spawn(async move {
                job.await;
                let _ = done.send(());
            });
        }
        for _ in 0..total {
            let _ = done_rx.recv().await;
        }
        let r = record.lock().unwrap();
        json!({
            "url": args.url, "rate": args.rate, "seconds": args.seconds, "stream": args.stream,
            "tokens": args.tokens, "measured": r.done, "errors": r.errors,
            "latency": summary(&r.latency), "ttft": summary(&r.ttft), "gap": summary(&r.gap),
        })
    });
    println!("{out}");
}
