//! Reloading the served scenario: through the gateway's [`Reloader`] (what
//! `SIGHUP` calls), and the `SIGHUP` of `slaplan serve` itself. A
//! configuration that is refused changes nothing.
//!
//! [`Reloader`]: slaplan::gateway::Reloader

use std::io::{BufRead, BufReader, Read};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Stack, body, env, parse_for, run, two_endpoints};

/// Which endpoint served each call of the request log.
fn served(requests: &[Value]) -> Vec<&str> {
    requests.iter().map(|r| r["endpoint"].as_str().unwrap_or("-")).collect()
}

#[test]
fn a_reload_applies_a_new_chain_and_a_refused_one_changes_nothing() {
    run(30, async {
        let stack = Stack::start(&two_endpoints("", "", "")).await;
        // No model named: the chain decides (a reload may drop the primary).
        let mut b = body(false, 2);
        b.as_object_mut().unwrap().remove("model");
        let call = || async { assert_eq!(stack.chat("tenant-acme-key-1", &b).send().await.unwrap().status(), 200) };
        call().await;
        // acme now goes to the secondary only.
        let only_secondary =
            two_endpoints("", "", "").replace("chain = [\"primary\", \"secondary\"]", "chain = [\"secondary\"]");
        let report = stack
            .reloader
            .reload(parse_for(&stack, &only_secondary), &env)
            .await
            .unwrap();
        assert_eq!(report.calls_requeued, 0);
        assert!(report.endpoints_removed.is_empty() && report.tenants_removed.is_empty());
        call().await;
        // Refused, each for its own reason: a zero first-token timeout
        // (the scenario's one validation, which is the router's, refuses it
        // before any reload: the binary-level test below shows a bad file
        // leaves the running config); an endpoint added; a key not in the
        // environment. The chain stays the reloaded one.
        let zero = two_endpoints("", "first_token_timeout = \"0s\"", "");
        let e = slaplan::scenario::parse(&zero, std::path::Path::new("zero.toml")).unwrap_err();
        assert!(e.to_string().contains("first_token_timeout"), "{e}");
        let extra = format!(
            "{}\n[[endpoints]]\nname = \"third\"\nprovider = \"p3\"\nconcurrency = 1\nlatency = {{ model = \"lognormal\", ttft = \"40ms\", sigma = 0.0 }}\nupstream = {{ base_url = \"http://EMU/v1\" }}\n",
            two_endpoints("", "", "")
        );
        let e = stack
            .reloader
            .reload(parse_for(&stack, &extra), &env)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("third"), "{e}");
        let unset = two_endpoints("", "", "").replace("UP_KEY_B", "UP_KEY_UNSET");
        let e = stack
            .reloader
            .reload(parse_for(&stack, &unset), &env)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("UP_KEY_UNSET"), "{e}");
        // A latency threshold the histograms, fixed at start, have no
        // boundary for is refused (restart to monitor it exactly); one on
        // their grid is applied.
        let clause =
            |t: &str| format!("\n[[tenants.clauses]]\nmetric = \"latency\"\npercentile = 95\nthreshold = \"{t}\"\n");
        let off_grid = format!("{only_secondary}{}", clause("777ms"));
        let e = stack
            .reloader
            .reload(parse_for(&stack, &off_grid), &env)
            .await
            .unwrap_err();
        assert!(
            e.to_string().contains("777ms") && e.to_string().contains("restart"),
            "{e}"
        );
        let on_grid = format!("{only_secondary}{}", clause("800ms"));
        stack.reloader.reload(parse_for(&stack, &on_grid), &env).await.unwrap();
        call().await;
        let models: Value = stack
            .http
            .get(stack.url("/v1/models"))
            .bearer_auth("tenant-acme-key-1")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(models["data"].as_array().unwrap().len(), 1, "{models}");
        assert_eq!(models["data"][0]["id"], "secondary");
        let (_, requests) = stack.stop().await;
        assert_eq!(served(&requests), ["primary", "secondary", "secondary"]);
    });
}

/// `slaplan serve` on `file`, its address, stdout and stderr readers.
struct Served {
    child: std::process::Child,
    addr: String,
    stderr: std::sync::mpsc::Receiver<String>,
}

impl Served {
    fn start(file: &std::path::Path) -> Served {
        let mut child = crate::common::slaplan()
            .args(["serve", file.to_str().unwrap(), "--listen", "127.0.0.1:0"])
            .args(["--default-upstream", "http://127.0.0.1:9/v1"])
            .env("ACME_KEY", "tenant-acme-key-1")
            .env("UP_KEY_A", "a")
            .env("UP_KEY_B", "b")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string();
        let (tx, stderr) = std::sync::mpsc::channel();
        let mut err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            let mut text = String::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                text.push_str(&String::from_utf8_lossy(&buf[..n]));
                while let Some(i) = text.find('\n') {
                    let _ = tx.send(text[..i].to_string());
                    text.drain(..=i);
                }
            }
        });
        Served { child, addr, stderr }
    }

    fn hangup(&self) {
        let ok = std::process::Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }

    /// The next line on stderr, within 10 s.
    /// The next line on stderr about a reload, within 10 s each.
    fn next_note(&self) -> String {
        loop {
            let line = self
                .stderr
                .recv_timeout(Duration::from_secs(10))
                .expect("a note on stderr");
            if line.contains("reload") {
                return line;
            }
        }
    }

    fn models(&self) -> Vec<String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let v: Value = reqwest::Client::new()
                .get(format!("http://{}/v1/models", self.addr))
                .bearer_auth("tenant-acme-key-1")
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_str().unwrap().to_string())
                .collect()
        })
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn sighup_reloads_the_scenario_and_a_bad_file_keeps_the_old_one() {
    let dir = crate::common::tempdir();
    let file = dir.path().join("serve.toml");
    let scenario = two_endpoints("", "", "").replace(
        "upstream = { base_url = \"http://EMU/v1\", api_key_env",
        "upstream = { base_url = \"http://127.0.0.1:9/v1\", api_key_env",
    );
    let scenario = scenario.replace("auth = { api_key_sha256", "# auth = { api_key_sha256");
    std::fs::write(&file, &scenario).unwrap();
    let served = Served::start(&file);
    let began = Instant::now();
    assert_eq!(served.models(), ["primary", "secondary"]);
    // A file that does not parse: refused, with the file and line.
    std::fs::write(&file, "[[endpoints]\nname = ").unwrap();
    served.hangup();
    let note = served.next_note();
    assert!(note.contains("reload refused") && note.contains("serve.toml"), "{note}");
    assert_eq!(served.models(), ["primary", "secondary"]);
    // A good one: applied.
    std::fs::write(
        &file,
        scenario.replace("chain = [\"primary\", \"secondary\"]", "chain = [\"secondary\"]"),
    )
    .unwrap();
    served.hangup();
    let note = served.next_note();
    assert!(note.starts_with("reloaded"), "{note}");
    assert_eq!(served.models(), ["secondary"]);
    assert!(began.elapsed() < Duration::from_secs(60));
}
