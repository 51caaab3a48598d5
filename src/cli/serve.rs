//! `slaplan serve` and `slaplan emulate`: arguments, the tokio runtime,
//! and the signals that stop them (SIGTERM, SIGINT: stop accepting, drain
//! in-flight calls up to the grace period, stop).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use slaplan::emulate::{EmulateConfig, Emulator};
use slaplan::gateway::{ConnLimits, Drained, Gateway, ServeSettings};
use slaplan::scenario;
use slaplan::time::Span;
use tokio::sync::watch;

use super::Failure;

#[derive(clap::Args)]
pub(crate) struct ServeArgs {
    /// The scenario file (TOML): its router configuration is served.
    scenario: PathBuf,
    /// Address to listen on, e.g. 127.0.0.1:8080.
    #[arg(long)]
    listen: SocketAddr,
    /// Upstream base URL for endpoints without an `upstream` table (the
    /// endpoint's name is sent as model id), e.g. an emulator's
    /// http://127.0.0.1:9000/v1.
    #[arg(long, value_name = "URL")]
    default_upstream: Option<String>,
    /// Append the router's audit events here (JSONL, as `run --audit-sample`).
    #[arg(long, value_name = "FILE")]
    audit_log: Option<PathBuf>,
    /// Write one JSON line per call here (the `slaplan-log` trace format).
    #[arg(long, value_name = "FILE")]
    request_log: Option<PathBuf>,
    /// Request bodies larger than this many bytes get 413.
    #[arg(long, default_value_t = 4 * 1024 * 1024)]
    body_limit: usize,
    /// A request's headers must arrive within this (idle connections too).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    header_timeout: Duration,
    /// On SIGTERM/SIGINT, in-flight calls get this long to finish.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    grace: Duration,
}

#[derive(clap::Args)]
pub(crate) struct EmulateArgs {
    /// The scenario file (TOML): its endpoints are emulated.
    scenario: PathBuf,
    /// Address to listen on, e.g. 127.0.0.1:9000.
    #[arg(long)]
    listen: SocketAddr,
    /// Which replication's random draws to use (outage processes, latency).
    #[arg(long, default_value_t = 0)]
    replication: u64,
    /// Output tokens of a request without max_tokens.
    #[arg(long, default_value_t = 200)]
    default_output_tokens: u32,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    Span::parse(text)
        .map(|s| Duration::from_nanos(s.as_nanos()))
        .map_err(|e| format!("{e}: expected a duration such as \"10s\" or \"500ms\""))
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start the async runtime: {e}")))
}

/// A watch that turns true at the first SIGTERM or SIGINT.
fn stop_on_signal() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = ctrl_c.await;
                    let _ = tx.send(true);
                    return;
                }
            };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        let _ = tx.send(true);
    });
    rx
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

pub(crate) fn serve(args: ServeArgs) -> Result<(), Failure> {
    let scenario = scenario::load(&args.scenario).map_err(Failure::input)?;
    let settings = ServeSettings {
        default_upstream: args.default_upstream,
        body_limit: args.body_limit,
        header_timeout: args.header_timeout,
        grace: args.grace,
        audit_log: args.audit_log,
        request_log: args.request_log,
    };
    let rt = runtime()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| Failure::input(format!("--listen {}: {e}", args.listen)))?;
        let gateway = Gateway::new(scenario, listener, &settings, &env)
            .map_err(|e| Failure::input(format!("{}: {e}", args.scenario.display())))?;
        let addr = gateway.local_addr().map_err(Failure::runtime)?;
        println!("serving {} on http://{addr}/v1", args.scenario.display());
        let drained = gateway.run(stop_on_signal()).await.map_err(Failure::runtime)?;
        let note = match drained {
            Drained::Clean => "stopped: every in-flight call finished",
            Drained::GraceExpired => "stopped: the grace period ran out with calls in flight",
        };
        // Whoever read our address may be gone by now: a closed stdout is
        // no reason to fail a clean stop.
        let _ = writeln!(std::io::stdout(), "{note}");
        Ok(())
    })
}

pub(crate) fn emulate(args: EmulateArgs) -> Result<(), Failure> {
    let scenario = scenario::load(&args.scenario).map_err(Failure::input)?;
    let config = EmulateConfig {
        replication: args.replication,
        default_output_tokens: args.default_output_tokens.max(1),
        limits: ConnLimits {
            header_timeout: Duration::from_secs(30),
            grace: Duration::from_secs(5),
        },
    };
    let rt = runtime()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| Failure::input(format!("--listen {}: {e}", args.listen)))?;
        let emulator = Emulator::new(&scenario, listener, &config, &env);
        let addr = emulator.local_addr().map_err(Failure::runtime)?;
        println!(
            "emulating {} endpoint(s) of {} on http://{addr}/v1 (models: {})",
            emulator.models().len(),
            args.scenario.display(),
            emulator.models().join(", ")
        );
        emulator.run(stop_on_signal()).await.map_err(Failure::runtime)?;
        Ok(())
    })
}
