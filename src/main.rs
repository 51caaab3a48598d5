//! The `slaplan` command line: the only place that prints or exits.
//!
//! Parsing is two steps, as in ripgrep: clap checks the raw arguments without
//! side effects, then each command resolves them (loading and validating the
//! scenario) before anything is simulated or written.

// As in the library: no `unwrap`/`expect` outside tests.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use sha2::{Digest, Sha256};

use slaplan::plan::shard::{self, MergedShards, ShardChoice, ShardMeta, ShardReader, ShardSpec, ShardWriter};
use slaplan::plan::{self, StreamError, sequential};
use slaplan::report::{self, OutputSink, RunIdentity, Written};
use slaplan::scenario::{self, Scenario};
use slaplan::sla::Clause;

mod cli;
use cli::progress::Progress;
use cli::stdout::{note, out, outln};
use cli::{
    CheckArgs, EmulateArgs, ExportSloArgs, FidelityArgs, FidelityPoolArgs, FitArgs, FrontierArgs, JudgeArgs, LoadArgs,
    ServeArgs, check, emulate, export_slo, fidelity, fidelity_pool, fit, frontier, judge, load, serve,
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
}

#[derive(clap::Args)]
struct MergeArgs {
    /// Output directory for summary.csv, windows.csv and run.json.
    out: PathBuf,
    /// Shard directories written by `slaplan run --shard i/N`, in any order.
    #[arg(required = true)]
    shards: Vec<PathBuf>,
    /// No progress on standard error.
    #[arg(long)]
    quiet: bool,
}

#[derive(clap::Args)]
struct ImportArgs {
    /// The LiteLLM config file (YAML, with `model_list`).
    config: PathBuf,
    /// Write the router part of a scenario to this file (default: standard
    /// output).
    #[arg(long, conflicts_with = "scenario")]
    out: Option<PathBuf>,
    /// Write a whole runnable scenario to this file instead: the imported
    /// router settings plus generic defaults, each marked as an assumption.
    #[arg(long, value_name = "OUT.toml")]
    scenario: Option<PathBuf>,
}

/// The Monte Carlo settings shared by `run`, `check` and `frontier`.
#[derive(clap::Args)]
struct SimArgs {
    /// Monte Carlo replications (default: the scenario's `simulation.replications`).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    replications: Option<u32>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    threads: Option<u32>,
    /// Override the scenario's master seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Stop with exit 2 when one replication has more calls than this in
    /// flight (the overload guard; default: the scenario's
    /// `max_live_calls`, else half the available memory shared by the
    /// worker threads, at about 512 bytes a call).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_live_calls: Option<u64>,
    /// Probability a clause must hold with to be called enforceable, in (0, 1).
    #[arg(long, default_value_t = 0.95, value_parser = parse_probability)]
    confidence: f64,
    /// Run replications in batches and stop as soon as every verdict is
    /// settled, judged on an anytime-valid confidence sequence (see README).
    /// `--replications` (or the default) is then the first look.
    #[arg(long)]
    until_decided: bool,
    /// With --until-decided: the most replications to run.
    #[arg(long, requires = "until_decided", value_parser = clap::value_parser!(u32).range(1..))]
    max_replications: Option<u32>,
    /// With --until-decided: replications between two looks (default 8).
    #[arg(long, requires = "until_decided", value_parser = clap::value_parser!(u32).range(1..))]
    batch: Option<u32>,
    /// No progress on standard error (by default a bar on a terminal, else
    /// a line every 10 s).
    #[arg(long)]
    quiet: bool,
}

impl SimArgs {
    /// The looks of `--until-decided`, starting after `first` replications;
    /// `None` for a fixed-n run. Warns when the cap cannot prove the
    /// required confidence even for a clause that holds in every window.
    fn schedule(&self, first: u64) -> Result<Option<sequential::Schedule>, Failure> {
        if !self.until_decided {
            return Ok(None);
        }
        let batch = self.batch.map_or(sequential::DEFAULT_BATCH, u64::from);
        let max = match self.max_replications {
            Some(m) => u64::from(m),
            None => first.max(sequential::DEFAULT_MAX_REPLICATIONS),
        };
        let schedule = sequential::Schedule::new(first, batch, max).map_err(Failure::input)?;
        let needed = sequential::BetaMixture::new(plan::INTERVAL_LEVEL, self.confidence)
            .clean_replications_needed(self.confidence);
        if needed > max {
            note!(
                "warning: --until-decided cannot prove {} confidence for any clause within {max} replication(s): \
                 a clause that holds in every window needs {needed}; raise --max-replications",
                self.confidence
            );
        }
        Ok(Some(schedule))
    }
}

#[derive(clap::Args)]
struct RunArgs {
    /// The scenario file (TOML).
    scenario: PathBuf,
    /// Output directory (default: out/<scenario name>).
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    sim: SimArgs,
    /// Also write `audit.jsonl`: the first N router audit events of replication 0.
    #[arg(long, value_name = "N")]
    audit_sample: Option<usize>,
    /// Run only shard i of N (1-based; replication r belongs to shard
    /// r mod N + 1) and write a shard directory for `slaplan merge`. `auto`
    /// reads i and N from a Slurm job array (SLURM_ARRAY_TASK_*) or a
    /// Kubernetes Indexed Job (JOB_COMPLETION_INDEX and SLAPLAN_SHARD_COUNT).
    #[arg(long, value_name = "i/N|auto", value_parser = ShardChoice::parse, conflicts_with = "until_decided")]
    shard: Option<ShardChoice>,
    /// Also write the review report (report.html, report.md, charts/) into
    /// the output directory, as `slaplan report` would.
    #[arg(long, conflicts_with = "shard")]
    report: bool,
    /// Also write replication 0's calls to FILE in the gateway's
    /// request-log schema (what `slaplan judge` reads).
    #[arg(long, value_name = "FILE", conflicts_with = "shard")]
    request_log: Option<PathBuf>,
    /// Also write replication 0's router audit events, every one, to FILE
    /// as the gateway's audit log (what `slaplan judge --audit-log` reads
    /// for the notification clause).
    #[arg(long, value_name = "FILE", conflicts_with = "shard")]
    audit_log: Option<PathBuf>,
    /// With --until-decided: a wall-time budget (e.g. "2m"). The run stops
    /// at the first look after it and reports every verdict still open as
    /// undecided (at risk), with its interval.
    #[arg(long, value_name = "DURATION", requires = "until_decided", value_parser = cli::decide::parse_budget)]
    max_wall: Option<std::time::Duration>,
}

fn parse_probability(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(p) if p > 0.0 && p < 1.0 => Ok(p),
        _ => Err(format!(
            "expected a probability strictly between 0 and 1, e.g. 0.95, got {text:?}"
        )),
    }
}

/// An error and the exit code it deserves: 2 for bad input, 1 otherwise.
struct Failure {
    code: u8,
    message: String,
}

impl From<report::OutputError> for Failure {
    fn from(e: report::OutputError) -> Failure {
        Failure::runtime(e)
    }
}

impl Failure {
    fn input(message: impl ToString) -> Failure {
        Failure {
            code: 2,
            message: message.to_string(),
        }
    }
    fn runtime(message: impl ToString) -> Failure {
        Failure {
            code: 1,
            message: message.to_string(),
        }
    }
    /// Adds that the output directory `out` was left as it was.
    fn nothing_written(self, out: &Path) -> Failure {
        Failure {
            message: format!("{}; nothing was written to {}", self.message, out.display()),
            ..self
        }
    }
    /// Standard output was closed by its reader (`| head`): a normal end,
    /// exit 0 and no message.
    fn closed_stdout() -> Failure {
        Failure {
            code: 0,
            message: String::new(),
        }
    }
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

fn validate(path: &Path) -> Result<(), Failure> {
    let s = scenario::load(path).map_err(Failure::input)?;
    print_warnings(path, &s.warnings);
    outln!(
        "{}: ok ({} endpoints, {} tenants, {} clauses)",
        path.display(),
        s.endpoints.len(),
        s.tenants.len(),
        s.tenants.iter().map(|t| t.clauses.len()).sum::<usize>()
    )
}

/// Prints a loaded scenario's warnings on stderr, one a line, placed like
/// its problems: `warning: FILE:LINE: PATH: MESSAGE`.
fn print_warnings(file: &Path, warnings: &[scenario::Problem]) {
    for w in warnings {
        let line = w.line.map(|l| format!(":{l}")).unwrap_or_default();
        note!("warning: {}{line}: {}: {}", file.display(), w.path, w.message);
    }
}

fn import_litellm(args: &ImportArgs) -> Result<(), Failure> {
    let import = slaplan::import::litellm::load(&args.config).map_err(Failure::input)?;
    let source = args.config.display().to_string();
    let (text, target) = match &args.scenario {
        Some(target) => {
            let text = slaplan::import::render::scenario(&import, &source);
            // Never write a scenario slaplan itself would reject.
            scenario::parse(&text, target)
                .map_err(|e| Failure::runtime(format!("the written scenario would not load: {e}")))?;
            (text, Some(target))
        }
        None => (
            slaplan::import::render::router_part(&import, &source),
            args.out.as_ref(),
        ),
    };
    for u in &import.unmapped {
        note!("unmapped: {}: {}", u.path, u.reason);
    }
    for note in &import.notes {
        note!("note: {note}");
    }
    match target {
        None => out!("{text}")?,
        Some(out) => report::write_file_atomically(out, text.as_bytes())
            .map_err(|e| Failure::runtime(format!("{}: cannot write: {e}", out.display())))?,
    }
    Ok(())
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn run(args: RunArgs) -> Result<(), Failure> {
    match args.shard {
        Some(ShardChoice::Given(spec)) => return run_shard(args, spec),
        Some(ShardChoice::Auto) => {
            let (spec, job) = plan::array_job::shard_from_env(|name| {
                std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
            })
            .map_err(Failure::input)?;
            outln!("--shard auto: shard {spec} ({job})")?;
            return run_shard(args, spec);
        }
        None => {}
    }
    let mut scenario: Scenario = scenario::load(&args.scenario).map_err(Failure::input)?;
    print_warnings(&args.scenario, &scenario.warnings);
    let bytes =
        std::fs::read(&args.scenario).map_err(|e| Failure::input(format!("{}: {e}", args.scenario.display())))?;
    if let Some(seed) = args.sim.seed {
        scenario.simulation.seed = seed;
    }
    let replications = u64::from(args.sim.replications.unwrap_or(scenario.simulation.replications));
    let out = args.out.clone().unwrap_or_else(|| default_out(&args.scenario, ""));
    let (pool, threads) = worker_pool(args.sim.threads)?;
    cli::guard::apply(&mut scenario, args.sim.max_live_calls, threads);
    let clauses = Clause::all(&scenario);
    let schedule = args.sim.schedule(replications)?;
    // Under --until-decided the cap bounds what the run can prove.
    cli::Judged::all(&scenario, &clauses, args.sim.confidence)
        .warn_if_unreachable(schedule.map_or(replications, |s| s.max));
    let identity = RunIdentity {
        scenario: args.scenario.display().to_string(),
        scenario_sha256: sha256_hex(&bytes),
        slaplan_version: env!("CARGO_PKG_VERSION").to_string(),
        replications,
        required_confidence: args.sim.confidence,
        interval_level: plan::INTERVAL_LEVEL,
    };

    let progress = Progress::start("replications", schedule.map_or(replications, |s| s.max), args.sim.quiet);
    #[allow(clippy::disallowed_methods)] // the one wall clock: timing a whole run for run.json, and --max-wall
    let started = Instant::now();
    // The replications stream into the output files (a temporary directory
    // renamed into place at the end): memory holds a few at a time. Under
    // --until-decided they come look by look, each replication also fed to
    // the confidence sequences in index order, until every verdict is
    // settled: the first N replications of a fixed run.
    let mut written: Option<Written> = None;
    let mut until = None;
    report::write_dir_atomically(
        &out,
        |tmp| {
            let mut sink = OutputSink::create(tmp, &scenario, &clauses).map_err(Failure::runtime)?;
            let tick = |stats: &slaplan::model::RunStats| progress.done(stats.calls);
            let mut identity = identity;
            match &schedule {
                None => plan::stream_indices(&pool, &scenario, 0..replications, &tick, |r| sink.add(&r))
                    .map_err(|e| stream_failure(e, &args.scenario))?,
                Some(schedule) => {
                    let mut seq = sequential::Sequential::new(clauses.len(), args.sim.confidence, plan::INTERVAL_LEVEL);
                    let every = seq.every_clause();
                    let clean = sequential::BetaMixture::new(plan::INTERVAL_LEVEL, args.sim.confidence)
                        .clean_replications_needed(args.sim.confidence);
                    let budget = args.max_wall.map(|d| d.as_secs_f64());
                    let elapsed = || started.elapsed().as_secs_f64();
                    let mut told = false;
                    let stop = schedule.drive_within(&|| budget.is_some_and(|b| elapsed() >= b), |looked| {
                        plan::stream_indices(&pool, &scenario, looked, &tick, |mut r| {
                            if r.index != 0 {
                                r.timeline = None; // as in a fixed run: only replication 0 keeps it
                            }
                            seq.observe(&r);
                            sink.add(&r)
                        })
                        .map_err(|e| stream_failure(e, &args.scenario))?;
                        let settled = seq.all_decided(&every);
                        // Said once, as soon as a clean clause would have
                        // settled: which clauses keep the run going.
                        if !settled && !told && seq.replications() >= clean {
                            told = true;
                            let pace = elapsed() / seq.replications() as f64;
                            if let Some(text) =
                                cli::decide::open_clauses_note(&seq, &scenario, &clauses, schedule, pace, budget)
                            {
                                progress.suspend(|| note!("{text}"));
                            }
                        }
                        Ok::<_, Failure>(settled)
                    })?;
                    identity.replications = stop.replications;
                    let mut record = sequential::UntilDecided::new(&scenario, &clauses, *schedule, stop, &seq);
                    record.max_wall_seconds = budget;
                    sink.until_decided(seq, record);
                    until = Some((*schedule, stop));
                }
            }
            progress.finish();
            let wall = started.elapsed().as_secs_f64();
            let mut extra = Vec::new();
            if let Some(limit) = args.audit_sample {
                extra.push(("audit.jsonl", audit_sample(&scenario, limit)?));
            }
            written = Some(sink.finish(identity, wall, threads, &extra).map_err(Failure::runtime)?);
            // The review report goes into the directory before it is put in
            // place.
            if args.report {
                write_review(tmp)?;
            }
            Ok(())
        },
        |path, e| Failure::runtime(format!("cannot write {}: {e}", path.display())),
    )
    .map_err(|f: Failure| f.nothing_written(&out))?;
    let Some(Written { meta, summary, credits }) = written else {
        return Err(Failure::runtime("the run wrote no results"));
    };
    let replications = meta.replications;
    if args.request_log.is_some() || args.audit_log.is_some() {
        write_replication_logs(&scenario, args.request_log.as_deref(), args.audit_log.as_deref())?;
    }
    out!("{}", report::attainment_table(&scenario, &clauses, &summary))?;
    out!("{}", report::credits_table(&scenario, &credits))?;
    out!("{}", report::internal_table(&scenario, &clauses, &summary))?;
    outln!(
        "\n{} replication(s) of {} ({} window(s)), seed {}: {}, {:.1}s wall, {:.2}M calls/s",
        replications,
        scenario.simulation.duration,
        meta.windows.len(),
        meta.seed,
        report::outcome_counts(&meta.totals),
        meta.timing.wall_seconds,
        meta.timing.calls_per_second / 1e6
    )?;
    if let Some((schedule, stop)) = &until {
        outln!("{}", cli::decide::stop_line(schedule, stop, &summary, "every verdict"))?;
    }
    outln!("wrote {}", out.display())
}

/// A failure of a streamed run: a refused router config is bad input (exit
/// 2), a failure to write is not (exit 1).
fn stream_failure<E: std::fmt::Display>(e: StreamError<E>, scenario: &Path) -> Failure {
    match e {
        StreamError::Build(e) => Failure::input(format!("{}: {e}", scenario.display())),
        StreamError::Sink(e) => Failure::runtime(e),
    }
}

/// `report OUT`: the review report of an existing output directory.
fn review_report(out: &Path) -> Result<(), Failure> {
    let summary = write_review(out)?;
    for line in &summary.unavailable {
        outln!("{line}")?;
    }
    let charts = summary
        .written
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "svg"))
        .count();
    outln!(
        "wrote {} and {} ({charts} chart(s) in {})",
        out.join("report.html").display(),
        out.join("report.md").display(),
        out.join("charts").display()
    )
}

/// Writes the review report into `out`; bad input exits 2, failing to
/// draw or write exits 1.
fn write_review(out: &Path) -> Result<report::ReportSummary, Failure> {
    report::write_report(out).map_err(|e| {
        if e.is_input() {
            Failure::input(e)
        } else {
            Failure::runtime(e)
        }
    })
}

/// Re-runs replication 0 (deterministic: the same run as in the results) to
/// keep its first `limit` audit events.
fn audit_sample(scenario: &Scenario, limit: usize) -> Result<Vec<u8>, Failure> {
    let world = slaplan::model::World::new(scenario, 0).map_err(Failure::input)?;
    let (_, _, samples) = world.log_audit(limit).run_sampled();
    Ok(report::audit_jsonl(scenario, &samples.audit))
}

/// A log file written through a temporary sibling, renamed into place.
struct LogTarget<'a> {
    path: &'a Path,
    tmp: PathBuf,
}

impl<'a> LogTarget<'a> {
    fn new(path: &'a Path) -> LogTarget<'a> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
        LogTarget { path, tmp }
    }

    fn cannot(&self, e: &dyn std::fmt::Display) -> Failure {
        Failure::runtime(format!("{}: cannot write: {e}", self.path.display()))
    }

    fn create(&self) -> Result<Box<dyn std::io::Write + Send>, Failure> {
        let file = std::fs::File::create(&self.tmp).map_err(|e| self.cannot(&e))?;
        Ok(Box::new(std::io::BufWriter::new(file)))
    }

    fn commit(&self) -> Result<(), Failure> {
        std::fs::rename(&self.tmp, self.path).map_err(|e| self.cannot(&e))
    }

    fn discard(&self) {
        let _ = std::fs::remove_file(&self.tmp);
    }
}

/// Re-runs replication 0 (the same run as in the results) writing its calls
/// in the gateway's request-log schema and its router audit events as the
/// gateway's audit log, each through a temporary file renamed into place.
fn write_replication_logs(scenario: &Scenario, requests: Option<&Path>, audit: Option<&Path>) -> Result<(), Failure> {
    let targets: Vec<LogTarget> = [requests, audit].into_iter().flatten().map(LogTarget::new).collect();
    let mut world = slaplan::model::World::new(scenario, 0).map_err(Failure::input)?;
    let written = (|| {
        let mut next = targets.iter();
        if requests.is_some()
            && let Some(t) = next.next()
        {
            world = world.write_requests(slaplan::model::RequestLog::new(scenario, t.create()?));
        }
        if audit.is_some()
            && let Some(t) = next.next()
        {
            world = world.write_audit(slaplan::model::AuditLog::new(scenario, t.create()?));
        }
        let result = world.run_full();
        if let Some(e) = result.request_log_error {
            let shown = targets.iter().map(|t| t.path.display().to_string()).collect::<Vec<_>>();
            return Err(Failure::runtime(format!("{}: cannot write: {e}", shown.join(" or "))));
        }
        targets.iter().try_for_each(LogTarget::commit)
    })();
    if written.is_err() {
        targets.iter().for_each(LogTarget::discard);
    }
    written
}

fn worker_pool(threads: Option<u32>) -> Result<(rayon::ThreadPool, usize), Failure> {
    let threads = threads
        .map(|t| t as usize)
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start {threads} worker threads: {e}")))?;
    Ok((pool, threads))
}

fn default_out(scenario: &Path, suffix: &str) -> PathBuf {
    let stem = scenario
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    PathBuf::from("out").join(format!("{stem}{suffix}"))
}

/// `run --shard i/N`: the shard's replications into a shard directory,
/// written as they are simulated.
fn run_shard(args: RunArgs, spec: ShardSpec) -> Result<(), Failure> {
    let mut scenario: Scenario = scenario::load(&args.scenario).map_err(Failure::input)?;
    let bytes =
        std::fs::read(&args.scenario).map_err(|e| Failure::input(format!("{}: {e}", args.scenario.display())))?;
    if let Some(seed) = args.sim.seed {
        scenario.simulation.seed = seed;
    }
    let replications = u64::from(args.sim.replications.unwrap_or(scenario.simulation.replications));
    let clauses = Clause::all(&scenario);
    let schedule = args.sim.schedule(replications)?;
    // Under --until-decided the cap bounds what the run can prove.
    cli::Judged::all(&scenario, &clauses, args.sim.confidence)
        .warn_if_unreachable(schedule.map_or(replications, |s| s.max));
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_out(&args.scenario, &format!("-shard-{}-of-{}", spec.index, spec.count)));
    let (pool, threads) = worker_pool(args.sim.threads)?;
    cli::guard::apply(&mut scenario, args.sim.max_live_calls, threads);
    let indices = spec.replications(replications);
    let progress = Progress::start("replications", indices.len() as u64, args.sim.quiet);
    #[allow(clippy::disallowed_methods)] // timing a shard for its run.json
    let started = Instant::now();
    let mut meta = ShardMeta {
        slaplan_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: args.scenario.display().to_string(),
        scenario_sha256: sha256_hex(&bytes),
        seed: scenario.simulation.seed,
        replications,
        required_confidence: args.sim.confidence,
        interval_level: plan::INTERVAL_LEVEL,
        shard: spec,
        indices,
        wall_seconds: 0.0,
        threads,
    };
    report::write_dir_atomically(
        &out,
        |tmp| {
            let mut writer = ShardWriter::create(tmp).map_err(Failure::runtime)?;
            let indices = meta.indices.iter().copied();
            let tick = |stats: &slaplan::model::RunStats| progress.done(stats.calls);
            plan::stream_indices(&pool, &scenario, indices, &tick, |r| writer.add(&r))
                .map_err(|e| stream_failure(e, &args.scenario))?;
            progress.finish();
            meta.wall_seconds = started.elapsed().as_secs_f64();
            writer.finish(&meta, &bytes).map_err(Failure::runtime)
        },
        |path, e| Failure::runtime(format!("cannot write {}: {e}", path.display())),
    )
    .map_err(|f: Failure| f.nothing_written(&out))?;
    outln!(
        "shard {spec}: {} of {replications} replication(s), seed {}; wrote {}",
        meta.indices.len(),
        meta.seed,
        out.display()
    )
}

/// `merge OUT SHARD...`: exactly the outputs of the unsharded run, the
/// shards read side by side and streamed into the output files.
fn merge(args: MergeArgs) -> Result<(), Failure> {
    let readers = args
        .shards
        .iter()
        .map(|d| ShardReader::open(d))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::input)?;
    shard::check_shards(&readers).map_err(Failure::input)?;
    let first = &readers[0];
    let meta0 = ShardMeta {
        indices: Vec::new(),
        ..first.meta.clone()
    };
    if sha256_hex(&first.scenario_bytes) != meta0.scenario_sha256 {
        return Err(Failure::input(format!(
            "{}: scenario.toml does not match the sha256 in run.json",
            first.dir.display()
        )));
    }
    let (wall, threads) = readers
        .iter()
        .fold((0.0, 0), |(w, t), s| (w + s.meta.wall_seconds, t.max(s.meta.threads)));
    let text = String::from_utf8(first.scenario_bytes.clone())
        .map_err(|_| Failure::input("the shards' scenario.toml is not UTF-8"))?;
    let mut scenario = scenario::parse(&text, Path::new(&meta0.scenario)).map_err(Failure::input)?;
    scenario.simulation.seed = meta0.seed;
    let clauses = Clause::all(&scenario);
    let windows: Vec<usize> = report::clause_windows(&scenario, &clauses)
        .iter()
        .map(Vec::len)
        .collect();
    let total = meta0.replications;
    let mut merged = MergedShards::new(readers, windows).map_err(Failure::input)?;
    let identity = RunIdentity {
        scenario: meta0.scenario.clone(),
        scenario_sha256: meta0.scenario_sha256.clone(),
        slaplan_version: meta0.slaplan_version.clone(),
        replications: meta0.replications,
        required_confidence: meta0.required_confidence,
        interval_level: meta0.interval_level,
    };
    let mut written: Option<Written> = None;
    report::write_dir_atomically(
        &args.out,
        |tmp| {
            let mut sink = OutputSink::create(tmp, &scenario, &clauses).map_err(Failure::runtime)?;
            let progress = Progress::start("replications merged", total, args.quiet);
            while let Some(r) = merged.next_replication().map_err(Failure::input)? {
                progress.done(r.stats.calls);
                sink.add(&r).map_err(Failure::runtime)?;
            }
            progress.finish();
            written = Some(sink.finish(identity, wall, threads, &[]).map_err(Failure::runtime)?);
            Ok(())
        },
        |path, e| Failure::runtime(format!("cannot write {}: {e}", path.display())),
    )?;
    let Some(Written { meta, summary, credits }) = written else {
        return Err(Failure::runtime("the merge wrote no results"));
    };
    out!("{}", report::attainment_table(&scenario, &clauses, &summary))?;
    out!("{}", report::credits_table(&scenario, &credits))?;
    out!("{}", report::internal_table(&scenario, &clauses, &summary))?;
    outln!(
        "\nmerged {} shard(s): {} replication(s), seed {}; wrote {}",
        args.shards.len(),
        meta.replications,
        meta.seed,
        args.out.display()
    )
}
