//! `slaplan emulate` and `slaplan serve` end to end, in process, on
//! 127.0.0.1 with ephemeral ports and real sockets. Every test runs on its
//! own tokio runtime, bounded in time; when a test fails or panics, the
//! runtime is dropped and with it every server it started.

// These tests measure real time on real sockets.
#![allow(clippy::disallowed_methods)]

mod cancel;
mod draw_key;
mod e2e;
mod equivalence;
mod hostile;
mod reload;
mod security;
mod wiring;

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use slaplan::emulate::{EmulateConfig, Emulator};
use slaplan::gateway::{ConnLimits, Gateway, Reloader, ServeSettings};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The keys of the test environment: tenants' and upstreams'.
pub const KEYS: [(&str, &str); 5] = [
    ("ACME_KEY", "tenant-acme-key-1"),
    ("BRONZE_KEY", "tenant-bronze-key-2"),
    ("OTHER_KEY", "tenant-other-key-3"),
    ("UP_KEY_A", "sk-upstream-secret-aaaa"),
    ("UP_KEY_B", "sk-upstream-secret-bbbb"),
];

pub fn env(name: &str) -> Option<String> {
    KEYS.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_string())
}

/// An emulator and a gateway in front of it.
pub struct Stack {
    /// The emulator's address.
    pub emulator: SocketAddr,
    /// The gateway's address.
    pub gateway: SocketAddr,
    stop: watch::Sender<bool>,
    servers: Vec<JoinHandle<()>>,
    /// Holds the log files.
    pub dir: tempfile::TempDir,
    /// An HTTP client.
    pub http: reqwest::Client,
    /// Reloads the gateway's scenario.
    pub reloader: Reloader,
}

/// Settings a test may change.
pub struct Options {
    pub body_limit: usize,
    pub header_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            body_limit: 1024 * 1024,
            header_timeout: Duration::from_secs(5),
        }
    }
}

impl Stack {
    /// Starts the emulator, then the gateway, on `scenario` (where `EMU`
    /// stands for the emulator's address).
    pub async fn start(scenario: &str) -> Stack {
        Stack::start_with(scenario, Options::default()).await
    }

    pub async fn start_with(scenario: &str, options: Options) -> Stack {
        let emu_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let emulator = emu_listener.local_addr().unwrap();
        let text = scenario.replace("EMU", &emulator.to_string());
        let scenario = match slaplan::scenario::parse(&text, std::path::Path::new("gateway-test.toml")) {
            Ok(s) => s,
            Err(e) => panic!("test scenario is invalid: {e}"),
        };
        let (stop, stopped) = watch::channel(false);
        let limits = ConnLimits {
            header_timeout: Duration::from_secs(5),
            grace: Duration::from_secs(2),
        };
        let emu = Emulator::new(
            &scenario,
            emu_listener,
            &EmulateConfig {
                replication: 0,
                default_output_tokens: 10,
                limits,
            },
            &env,
        );
        let dir = tempfile::tempdir().unwrap();
        let settings = ServeSettings {
            default_upstream: Some(format!("http://{emulator}/v1")),
            body_limit: options.body_limit,
            header_timeout: options.header_timeout,
            grace: Duration::from_secs(2),
            audit_log: Some(dir.path().join("audit.jsonl")),
            request_log: Some(dir.path().join("requests.jsonl")),
        };
        let gw_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let gateway_addr = gw_listener.local_addr().unwrap();
        let gateway = Gateway::new(scenario, gw_listener, &settings, &env).unwrap();
        let reloader = gateway.reloader();
        let s1 = stopped.clone();
        let servers = vec![
            tokio::spawn(async move {
                let _ = emu.run(s1).await;
            }),
            tokio::spawn(async move {
                let _ = gateway.run(stopped).await;
            }),
        ];
        Stack {
            emulator,
            gateway: gateway_addr,
            stop,
            servers,
            dir,
            http: reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap(),
            reloader,
        }
    }

    /// A gateway URL.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.gateway)
    }

    /// A chat completion through the gateway as `key`.
    pub fn chat(&self, key: &str, body: &Value) -> reqwest::RequestBuilder {
        self.http
            .post(self.url("/v1/chat/completions"))
            .bearer_auth(key)
            .json(body)
    }

    /// The emulator's counters.
    pub async fn stats(&self) -> Value {
        let url = format!("http://{}/emulator/stats", self.emulator);
        self.http.get(url).send().await.unwrap().json().await.unwrap()
    }

    /// Requests the emulator received, over all endpoints.
    pub async fn upstream_requests(&self) -> u64 {
        let s = self.stats().await;
        s.as_object()
            .unwrap()
            .values()
            .map(|v| v["requests"].as_u64().unwrap())
            .sum()
    }

    /// Stops both servers (draining), and returns the gateway's audit and
    /// request logs, parsed.
    pub async fn stop(self) -> (Vec<Value>, Vec<Value>) {
        let (audit, requests) = self.stop_raw().await;
        let parse = |text: &str| -> Vec<Value> { text.lines().map(|l| serde_json::from_str(l).unwrap()).collect() };
        (parse(&audit), parse(&requests))
    }

    /// Stops both servers (draining), and returns the gateway's audit and
    /// request logs as written.
    pub async fn stop_raw(mut self) -> (String, String) {
        let _ = self.stop.send(true);
        for s in self.servers.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(10), s).await;
        }
        let read = |name: &str| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        (read("audit.jsonl"), read("requests.jsonl"))
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for s in &self.servers {
            s.abort();
        }
    }
}

/// `scenario` (as for [`Stack::start`]) with the emulator of `stack`, parsed.
pub fn parse_for(stack: &Stack, scenario: &str) -> slaplan::scenario::Scenario {
    let text = scenario.replace("EMU", &stack.emulator.to_string());
    match slaplan::scenario::parse(&text, std::path::Path::new("gateway-test.toml")) {
        Ok(s) => s,
        Err(e) => panic!("test scenario is invalid: {e}"),
    }
}

/// A small chat body.
pub fn body(stream: bool, max_tokens: u32) -> Value {
    json!({
        "model": "primary",
        "messages": [{ "role": "user", "content": "Say something." }],
        "max_tokens": max_tokens,
        "stream": stream,
    })
}

/// The text of a streamed answer's content chunks, and whether it ended with `[DONE]`.
pub fn stream_text(sse: &str) -> (String, bool) {
    let mut text = String::new();
    let mut done = false;
    for event in sse.split("\n\n") {
        let Some(data) = event.trim().strip_prefix("data: ") else {
            continue;
        };
        if data == "[DONE]" {
            done = true;
            continue;
        }
        let v: Value = serde_json::from_str(data).unwrap();
        if let Some(c) = v["choices"][0]["delta"]["content"].as_str() {
            text.push_str(c);
        }
    }
    (text, done)
}

/// The text of `n` emulated output tokens.
pub fn expected_text(n: u32) -> String {
    (0..n).map(|i| format!("w{i} ")).collect()
}

/// Two endpoints (`primary`, `secondary`, each keyed) and the tenants
/// `acme` (gold, both endpoints) and `other` (bronze, `secondary` only).
/// `{PRIMARY}` and `{SECONDARY}` take extra endpoint lines; `{ROUTER}`,
/// router-wide lines.
pub const TWO_ENDPOINTS: &str = r#"
[simulation]
start = "2026-01-01"
duration = "1d"
seed = 11

{ROUTER}

[[endpoints]]
name = "primary"
provider = "p1"
concurrency = 4
attempt_timeout = "2s"
latency = { model = "lognormal", ttft = "40ms", per_output_token = "4ms", sigma = 0.0 }
upstream = { base_url = "http://EMU/v1", api_key_env = "UP_KEY_A" }
{PRIMARY}

[[endpoints]]
name = "secondary"
provider = "p2"
concurrency = 4
attempt_timeout = "2s"
latency = { model = "lognormal", ttft = "40ms", per_output_token = "4ms", sigma = 0.0 }
upstream = { base_url = "http://EMU/v1", api_key_env = "UP_KEY_B" }
{SECONDARY}

[[tenants]]
name = "acme"
class = "gold"
chain = ["primary", "secondary"]
auth = { api_key_env = "ACME_KEY" }
retry = { max_attempts = 3 }
[[tenants.workflows]]
name = "chat"
rate = 1.0

[[tenants]]
name = "other"
class = "bronze"
chain = ["secondary"]
auth = { api_key_sha256 = "SHA_OTHER" }
[[tenants.workflows]]
name = "chat"
rate = 1.0
"#;

/// [`TWO_ENDPOINTS`] with its blanks filled.
pub fn two_endpoints(router: &str, primary: &str, secondary: &str) -> String {
    use sha2::Digest;
    let sha: String = sha2::Sha256::digest(env("OTHER_KEY").unwrap().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    TWO_ENDPOINTS
        .replace("{ROUTER}", router)
        .replace("{PRIMARY}", primary)
        .replace("{SECONDARY}", secondary)
        .replace("SHA_OTHER", &sha)
}

/// Runs `f` on a fresh multi-threaded runtime, failing after `secs`.
pub fn run<F: std::future::Future<Output = ()>>(secs: u64, f: F) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        if tokio::time::timeout(Duration::from_secs(secs), f).await.is_err() {
            panic!("the test did not finish within {secs} s");
        }
    });
}
