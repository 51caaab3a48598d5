//! The `slaplan` command line: the only place that prints or exits. This
//! file parses and dispatches; each command lives in [`cli`].
//!
//! Parsing is two steps, as in ripgrep: clap checks the raw arguments without
//! side effects, then each command resolves them (loading and validating the
//! scenario) before anything is simulated or written.

// As in the library: no `unwrap`/`expect` outside tests.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;
use cli::stdout::note;
use cli::{
    CheckArgs, EmulateArgs, ExportSloArgs, FidelityArgs, FidelityPairedArgs, FidelityPoolArgs, FitArgs, FrontierArgs,
    ImportArgs, JudgeArgs, LoadArgs, MergeArgs, RunArgs, ServeArgs, check, emulate, export_slo, fidelity,
    fidelity_paired, fidelity_pool, fit, frontier, import_litellm, judge, load, merge, review_report, run, serve,
    validate,
};

/// Vet per-tenant SLA clauses for AI-agent inference before signing.
#[derive(Parser)]
#[command(name = "slaplan", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate the scenario's billing period and judge every clause.
    Run(RunArgs),
    /// Check a scenario file and report every problem found.
    Validate {
        /// The scenario file (TOML).
        scenario: PathBuf,
    },
    /// Translate a LiteLLM router config (YAML) into the router part of a
    /// scenario (TOML), or a whole scenario with --scenario; settings that do
    /// not map are listed on stderr.
    ImportLitellm(ImportArgs),
    /// Combine the shard directories of `run --shard` into the outputs of
    /// one unsharded run.
    Merge(MergeArgs),
    /// Vet a proposed clause or new tenant: every clause whose verdict or
    /// probability changes, baseline against proposal, same random numbers.
    Check(CheckArgs),
    /// The tightest enforceable threshold (or highest target) of a clause,
    /// or the smallest capacity of an endpoint making clauses enforceable.
    Frontier(FrontierArgs),
    /// Write report.html, report.md and charts/ into a run's output
    /// directory, from its files alone.
    Report {
        /// The output directory of `slaplan run` (or `merge`).
        out: PathBuf,
    },
    /// Write the vetted clauses of a run's output directory as monitoring:
    /// OpenSLO v1 SLO documents at each clause's internal objective, and
    /// Prometheus recording and burn-rate alert rules over the gateway's
    /// metrics.
    ExportSlo(ExportSloArgs),
    /// Judge the scenario's clauses on real request logs (the gateway's,
    /// LiteLLM spend logs or OTLP GenAI spans): one replication's outputs,
    /// so `report` draws the review for a real period.
    Judge(JudgeArgs),
    /// Fit a scenario (endpoints, incidents, workloads) to production logs:
    /// LiteLLM spend logs or OTLP GenAI spans; or, with --status-page,
    /// provider outage profiles to status-page histories.
    Fit(FitArgs),
    /// Serve the scenario's router on real traffic: an OpenAI-compatible
    /// gateway in front of the endpoints' upstreams.
    Serve(ServeArgs),
    /// Emulate the scenario's endpoints in wall-clock time as
    /// OpenAI-compatible upstreams (for tests and load tests).
    Emulate(EmulateArgs),
    /// Drive a gateway with the scenario's workload in wall-clock time (the
    /// simulator's arrivals and task state machine, real HTTP requests with
    /// the tenants' keys); stops by itself.
    Load(LoadArgs),
    /// Predicted against measured: run the scenario on an emulated
    /// deployment (emulate + serve + load on 127.0.0.1), judge the
    /// gateway's log, simulate the same period, and compare per tenant.
    Fidelity(FidelityArgs),
    /// Combine several fidelity runs of one scenario (each at its own
    /// seed): per figure the runs' errors, the bias's interval, and whether
    /// it decides the goal (latency within 5 %, availability within
    /// 0.1 pp).
    FidelityPool(FidelityPoolArgs),
    /// Call by call: a gateway's request log against the simulator's
    /// replication 0 of the same scenario (`run --request-log`), paired by
    /// draw_key: per tenant the pairs, the calls on one side only, the
    /// latency correlation, p50/p95/p99 and availability with the error's
    /// block bootstrap interval (`fidelity` writes the same paired.csv).
    FidelityPaired(FidelityPairedArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    // `serve` and `emulate` stop on SIGINT/SIGTERM by draining their
    // connections; every other command writes outputs and is interrupted.
    if !matches!(cli.command, Command::Serve(_) | Command::Emulate(_)) {
        cli::interrupt::install();
    }
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Judge(args) => judge(args),
        Command::Validate { scenario } => validate(&scenario),
        Command::ImportLitellm(args) => import_litellm(&args),
        Command::Merge(args) => merge(args),
        Command::Check(args) => check(args),
        Command::Frontier(args) => frontier(args),
        Command::Report { out } => review_report(&out),
        Command::ExportSlo(args) => export_slo(args),
        Command::Fit(args) => fit(args),
        Command::Serve(args) => serve(args),
        Command::Emulate(args) => emulate(args),
        Command::Load(args) => load(args),
        Command::Fidelity(args) => fidelity(args),
        Command::FidelityPool(args) => fidelity_pool(args),
        Command::FidelityPaired(args) => fidelity_paired(args),
    };
    cli::interrupt::finish();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) if f.code == 0 => ExitCode::SUCCESS,
        Err(f) => {
            note!("error: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}
