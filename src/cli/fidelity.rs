//! `load` (a scenario's workload driven against a gateway) and `fidelity`
//! (predicted against measured, on an emulated deployment): arguments,
//! the runtime, and the outputs.

use std::path::PathBuf;

use slaplan::fidelity::{self, FidelityConfig, fidelity_csv};
use slaplan::judge::coverage_csv;
use slaplan::load::{self, LoadConfig, LoadError};
use slaplan::plan;
use slaplan::report::{self, RunIdentity, RunMeta, Timing};
use slaplan::scenario;
use slaplan::time::Span;

use super::Failure;
use super::stdout::{note, outln};

fn span(text: &str) -> Result<Span, String> {
    Span::parse(text).map_err(|e| format!("{e}: expected a duration such as \"10m\" or \"90s\""))
}

#[derive(clap::Args)]
pub(crate) struct LoadArgs {
    /// The scenario file (TOML): its workflows are driven.
    scenario: PathBuf,
    /// The gateway's base URL, e.g. http://127.0.0.1:8080/v1 (nothing else
    /// is ever contacted).
    #[arg(long, value_name = "URL")]
    target: String,
    /// How long arrivals go on (wall time), e.g. 10m.
    #[arg(long, value_parser = span)]
    duration: Span,
    /// Scenario seconds per wall second: arrival rates K times higher,
    /// think and tool times K times shorter.
    #[arg(long, default_value_t = 1.0, value_name = "K")]
    time_scale: f64,
    /// Master seed (default: the scenario's).
    #[arg(long)]
    seed: Option<u64>,
    /// Write the client side of every call here (the request-log format).
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
    /// After --duration, how long running tasks may go on.
    #[arg(long, default_value = "60s", value_parser = span)]
    drain: Span,
    /// Requests in flight at most (a call beyond it is not sent, and fails).
    #[arg(long, default_value_t = 10_000)]
    max_in_flight: usize,
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start the async runtime: {e}")))
}

pub(crate) fn load(args: LoadArgs) -> Result<(), Failure> {
    let scenario = scenario::load(&args.scenario).map_err(Failure::input)?;
    let keys = load::keys_from_env(&scenario, &|name| std::env::var(name).ok());
    let mut config = LoadConfig::new(&scenario, &args.target, args.duration, keys);
    config.time_scale = args.time_scale;
    config.seed = args.seed.unwrap_or(scenario.simulation.seed);
    config.log = args.log;
    config.drain = args.drain;
    config.max_in_flight = args.max_in_flight.max(1);
    let shown = args.scenario.display();
    load::check(&scenario, &config).map_err(|e| Failure::input(format!("{shown}: {e}")))?;
    let summary = runtime()?
        .block_on(load::run(&scenario, &config))
        .map_err(|e| match e {
            LoadError::Log { .. } | LoadError::Client(_) => Failure::runtime(e),
            _ => Failure::input(format!("{shown}: {e}")),
        })?;
    let s = &summary;
    outln!(
        "{} task(s) ({} succeeded, {} unfinished), {} call(s) ({} succeeded, {} not sent, {} abandoned), {} tool \
         call(s), {} think time(s)",
        s.tasks,
        s.tasks_succeeded,
        s.tasks_unfinished,
        s.calls,
        s.calls_succeeded,
        s.calls_not_sent,
        s.calls_abandoned,
        s.tool_calls,
        s.thinks
    )
}

#[derive(clap::Args)]
pub(crate) struct FidelityArgs {
    /// The scenario file (TOML).
    scenario: PathBuf,
    /// The period driven and simulated (wall time), e.g. 10m.
    #[arg(long, value_parser = span)]
    duration: Span,
    /// Scenario seconds per wall second (scenarios without time-of-day
    /// shaping only).
    #[arg(long, default_value_t = 1.0, value_name = "K")]
    time_scale: f64,
    /// Output directory: fidelity.csv, fidelity.json, paired.csv and
    /// paired.json (the gateway's calls against the simulator's replication
    /// 0, call by call) and the judged log's outputs (summary.csv,
    /// windows.csv, ...).
    #[arg(long)]
    out: PathBuf,
    /// The simulator's replications (the prediction interval's sample).
    #[arg(long, default_value_t = 20)]
    replications: u32,
    /// The prediction interval's level.
    #[arg(long, default_value_t = 0.95)]
    level: f64,
    /// After --duration, how long running tasks may go on.
    #[arg(long, default_value = "60s", value_parser = span)]
    drain: Span,
    /// Also write the review report (with its fidelity section).
    #[arg(long)]
    report: bool,
    /// Keep the run's logs in this directory (created if missing): the
    /// gateway's request log `gateway.jsonl` and audit log
    /// `gateway-audit.jsonl`, the load's `client.jsonl`, and the
    /// simulator's replication 0's request log `replication-0.jsonl`.
    /// Without it they go to a scratch directory that is removed.
    #[arg(long, value_name = "DIR")]
    logs: Option<PathBuf>,
}

pub(crate) fn fidelity(args: FidelityArgs) -> Result<(), Failure> {
    let scenario = scenario::load(&args.scenario).map_err(Failure::input)?;
    let shown = args.scenario.display().to_string();
    if !(args.level > 0.0 && args.level < 1.0) {
        return Err(Failure::input(format!(
            "--level {}: expected a number between 0 and 1",
            args.level
        )));
    }
    if args.duration == Span::ZERO {
        return Err(Failure::input(
            "--duration: expected a positive duration such as \"10m\"",
        ));
    }
    let bytes = std::fs::read(&args.scenario).map_err(|e| Failure::input(format!("{shown}: {e}")))?;
    let scratch = tempfile::Builder::new()
        .prefix("slaplan-fidelity-")
        .tempdir()
        .map_err(|e| Failure::runtime(format!("cannot make a scratch directory: {e}")))?;
    let logs = match &args.logs {
        Some(dir) => {
            if dir.exists() && !dir.is_dir() {
                return Err(Failure::input(format!(
                    "--logs {}: expected a directory, and this is a file",
                    dir.display()
                )));
            }
            std::fs::create_dir_all(dir)
                .map_err(|e| Failure::runtime(format!("--logs {}: cannot create it: {e}", dir.display())))?;
            dir.clone()
        }
        None => scratch.path().to_path_buf(),
    };
    let config = FidelityConfig {
        duration: args.duration,
        time_scale: args.time_scale,
        replications: args.replications.max(2),
        level: args.level,
        drain: args.drain,
        scratch: logs,
    };
    let found = fidelity::run(&scenario, &config).map_err(|e| {
        let message = format!("{shown}: {e}");
        if e.is_input() {
            Failure::input(message)
        } else {
            Failure::runtime(message)
        }
    })?;
    let judged = &found.judged;
    let reps = [judged.replication.clone()];
    let meta = RunMeta::new(
        RunIdentity {
            scenario: shown.clone(),
            scenario_sha256: super::sha256_hex(&bytes),
            slaplan_version: env!("CARGO_PKG_VERSION").to_string(),
            replications: 1,
            required_confidence: plan::INTERVAL_LEVEL,
            interval_level: plan::INTERVAL_LEVEL,
        },
        &found.judged_scenario,
        judged.replication.stats,
        Timing {
            wall_seconds: 0.0,
            threads: 1,
            calls_per_second: 0.0,
        },
    );
    let coverage = coverage_csv(&found.judged_scenario, &judged.coverage).map_err(Failure::runtime)?;
    let mut notes = serde_json::to_vec_pretty(&found.notes(&config)).map_err(Failure::runtime)?;
    notes.push(b'\n');
    let extra = [
        ("fidelity.csv", fidelity_csv(&found.rows)),
        ("fidelity.json", notes),
        ("coverage.csv", coverage),
        ("paired.csv", found.paired.csv()),
        ("paired.json", found.paired.json()),
    ];
    report::write_outputs(&args.out, &meta, &found.judged_scenario, &judged.clauses, &reps, &extra)
        .map_err(Failure::runtime)?;
    if args.report {
        super::write_review(&args.out)?;
    }
    for r in &found.rows {
        let measured = r.measured.map_or("-".to_string(), |m| format!("{m:.4}"));
        outln!(
            "{:<16} {:<40} predicted {:>10.4} [{:.4}, {:.4}]  measured {:>10}{}",
            r.tenant,
            r.metric,
            r.predicted,
            r.low,
            r.high,
            measured,
            if r.differs() {
                "  DIFFERS beyond the interval"
            } else {
                ""
            }
        )?;
    }
    let differing = found.rows.iter().filter(|r| r.differs()).count();
    if differing > 0 {
        note!(
            "{differing} of {} comparison(s) differ beyond the prediction interval",
            found.rows.len()
        );
    }
    super::print_paired(&found.paired)?;
    outln!("wrote {}", args.out.display())
}
