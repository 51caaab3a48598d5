//! The `slaplan` command line: the only place that prints or exits.
//!
//! Parsing is two steps, as in ripgrep: clap checks the raw arguments without
//! side effects, then each command resolves them (loading and validating the
//! scenario) before anything is simulated or written.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use sha2::{Digest, Sha256};

use slaplan::plan::shard::{self, ShardMeta, ShardSpec};
use slaplan::plan::{self, sequential, summarize};
use slaplan::report::{self, RunIdentity, RunMeta, Timing};
use slaplan::scenario::{self, Scenario};
use slaplan::sla::Clause;

mod cli;
use cli::progress::Progress;
use cli::stdout::{note, out, outln};
use cli::{CheckArgs, EmulateArgs, FitArgs, FrontierArgs, ServeArgs, check, emulate, fit, frontier, serve};

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
    /// Translate a LiteLLM router config (YAML) into slaplan's router config
    /// (TOML); settings that do not map are listed on stderr.
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
    /// Fit a scenario (endpoints, incidents, workloads) to production logs:
    /// LiteLLM spend logs or OTLP GenAI spans.
    Fit(FitArgs),
    /// Serve the scenario's router on real traffic: an OpenAI-compatible
    /// gateway in front of the endpoints' upstreams.
    Serve(ServeArgs),
    /// Emulate the scenario's endpoints in wall-clock time as
    /// OpenAI-compatible upstreams (for tests and load tests).
    Emulate(EmulateArgs),
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
    /// Write the router config to this file (default: standard output).
    #[arg(long)]
    out: Option<PathBuf>,
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
    /// r mod N + 1) and write a shard directory for `slaplan merge`.
    #[arg(long, value_parser = ShardSpec::parse, conflicts_with = "until_decided")]
    shard: Option<ShardSpec>,
    /// Also write the review report (report.html, report.md, charts/) into
    /// the output directory, as `slaplan report` would.
    #[arg(long, conflicts_with = "shard")]
    report: bool,
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
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Validate { scenario } => validate(&scenario),
        Command::ImportLitellm(args) => import_litellm(&args),
        Command::Merge(args) => merge(args),
        Command::Check(args) => check(args),
        Command::Frontier(args) => frontier(args),
        Command::Report { out } => review_report(&out),
        Command::Fit(args) => fit(args),
        Command::Serve(args) => serve(args),
        Command::Emulate(args) => emulate(args),
    };
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
    outln!(
        "{}: ok ({} endpoints, {} tenants, {} clauses)",
        path.display(),
        s.endpoints.len(),
        s.tenants.len(),
        s.tenants.iter().map(|t| t.clauses.len()).sum::<usize>()
    )
}

fn import_litellm(args: &ImportArgs) -> Result<(), Failure> {
    let import = slaplan::import::litellm::load(&args.config).map_err(Failure::input)?;
    let body = toml::to_string_pretty(&import.router)
        .map_err(|e| Failure::runtime(format!("cannot write the router config as TOML: {e}")))?;
    let text = format!(
        "# Router config imported from {} by `slaplan import-litellm`.\n\n{body}",
        args.config.display()
    );
    for u in &import.unmapped {
        note!("unmapped: {}: {}", u.path, u.reason);
    }
    for note in &import.notes {
        note!("note: {note}");
    }
    match &args.out {
        None => out!("{text}")?,
        Some(out) => write_via_temp(out, text.as_bytes())
            .map_err(|e| Failure::runtime(format!("{}: cannot write: {e}", out.display())))?,
    }
    Ok(())
}

/// Writes `bytes` to a temporary file beside `path`, then renames it into
/// place, so `path` is never left half-written.
fn write_via_temp(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let written = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn run(args: RunArgs) -> Result<(), Failure> {
    if let Some(shard) = args.shard {
        return run_shard(args, shard);
    }
    let mut scenario: Scenario = scenario::load(&args.scenario).map_err(Failure::input)?;
    let bytes =
        std::fs::read(&args.scenario).map_err(|e| Failure::input(format!("{}: {e}", args.scenario.display())))?;
    if let Some(seed) = args.sim.seed {
        scenario.simulation.seed = seed;
    }
    let replications = u64::from(args.sim.replications.unwrap_or(scenario.simulation.replications));
    let out = args.out.clone().unwrap_or_else(|| {
        let stem = args
            .scenario
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "run".into());
        PathBuf::from("out").join(stem)
    });
    let threads = args
        .sim
        .threads
        .map(|t| t as usize)
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start {threads} worker threads: {e}")))?;

    let clauses = Clause::all(&scenario);
    let schedule = args.sim.schedule(replications)?;
    let progress = Progress::start("replications", schedule.map_or(replications, |s| s.max), args.sim.quiet);
    #[allow(clippy::disallowed_methods)] // the one wall clock: timing a whole run for run.json
    let started = Instant::now();
    let tick = |stats: &slaplan::model::RunStats| progress.done(stats.calls);
    let mut until = None;
    let reps = match schedule {
        None => pool.install(|| plan::run_replications_observed(&scenario, 0..replications, &tick)),
        Some(schedule) => {
            let mut seq = sequential::Sequential::new(clauses.len(), args.sim.confidence, plan::INTERVAL_LEVEL);
            let every = seq.every_clause();
            pool.install(|| {
                sequential::run_until_decided(&scenario, &schedule, &mut seq, &|s| s.all_decided(&every), &tick)
            })
            .map(|(reps, stop)| {
                until = Some((schedule, stop, seq));
                reps
            })
        }
    }
    .map_err(|e| Failure::input(format!("{}: {e}", args.scenario.display())))?;
    progress.finish();
    let wall = started.elapsed().as_secs_f64();
    let replications = reps.len() as u64;

    let mut summary = summarize(&reps, clauses.len(), args.sim.confidence, plan::INTERVAL_LEVEL);
    if let Some((_, _, seq)) = &until {
        seq.apply(&mut summary);
    }
    let totals = plan::totals(&reps);
    let meta = RunMeta::new(
        RunIdentity {
            scenario: args.scenario.display().to_string(),
            scenario_sha256: sha256_hex(&bytes),
            slaplan_version: env!("CARGO_PKG_VERSION").to_string(),
            replications,
            required_confidence: args.sim.confidence,
            interval_level: plan::INTERVAL_LEVEL,
        },
        &scenario,
        totals,
        Timing {
            wall_seconds: wall,
            threads,
            calls_per_second: totals.calls as f64 / wall.max(1e-9),
        },
    );
    let meta = match &until {
        Some((schedule, stop, seq)) => meta.until_decided(sequential::UntilDecided::new(
            &scenario, &clauses, *schedule, *stop, seq,
        )),
        None => meta,
    };
    let mut extra = Vec::new();
    if let Some(limit) = args.audit_sample {
        extra.push(("audit.jsonl", audit_sample(&scenario, limit)?));
    }
    report::write_outputs(&out, &meta, &scenario, &clauses, &summary, &reps, &extra).map_err(Failure::runtime)?;

    if args.report {
        write_review(&out)?;
    }
    out!("{}", report::attainment_table(&scenario, &clauses, &summary))?;
    outln!(
        "\n{} replication(s) of {} ({} window(s)), seed {}: {}, {:.1}s wall, {:.2}M calls/s",
        replications,
        scenario.simulation.duration,
        meta.windows.len(),
        meta.seed,
        report::outcome_counts(&totals),
        wall,
        meta.timing.calls_per_second / 1e6
    )?;
    if let Some((schedule, stop, _)) = &until {
        outln!("{}", cli::decide::stop_line(schedule, stop, &summary, "every verdict"))?;
    }
    outln!("wrote {}", out.display())
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

/// `run --shard i/N`: the shard's replications into a shard directory.
fn run_shard(args: RunArgs, spec: ShardSpec) -> Result<(), Failure> {
    let mut scenario: Scenario = scenario::load(&args.scenario).map_err(Failure::input)?;
    let bytes =
        std::fs::read(&args.scenario).map_err(|e| Failure::input(format!("{}: {e}", args.scenario.display())))?;
    if let Some(seed) = args.sim.seed {
        scenario.simulation.seed = seed;
    }
    let replications = u64::from(args.sim.replications.unwrap_or(scenario.simulation.replications));
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_out(&args.scenario, &format!("-shard-{}-of-{}", spec.index, spec.count)));
    let (pool, threads) = worker_pool(args.sim.threads)?;
    let indices = spec.replications(replications);
    let progress = Progress::start("replications", indices.len() as u64, args.sim.quiet);
    #[allow(clippy::disallowed_methods)] // timing a shard for its run.json
    let started = Instant::now();
    let tick = |stats: &slaplan::model::RunStats| progress.done(stats.calls);
    let reps = pool
        .install(|| plan::run_indices_observed(&scenario, &indices, &tick))
        .map_err(|e| Failure::input(format!("{}: {e}", args.scenario.display())))?;
    progress.finish();
    let meta = ShardMeta {
        slaplan_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: args.scenario.display().to_string(),
        scenario_sha256: sha256_hex(&bytes),
        seed: scenario.simulation.seed,
        replications,
        required_confidence: args.sim.confidence,
        interval_level: plan::INTERVAL_LEVEL,
        shard: spec,
        indices,
        wall_seconds: started.elapsed().as_secs_f64(),
        threads,
    };
    shard::write_shard(&out, &meta, &bytes, &reps).map_err(Failure::runtime)?;
    outln!(
        "shard {spec}: {} of {replications} replication(s), seed {}; wrote {}",
        meta.indices.len(),
        meta.seed,
        out.display()
    )
}

/// `merge OUT SHARD...`: exactly the outputs of the unsharded run.
fn merge(args: MergeArgs) -> Result<(), Failure> {
    let progress = Progress::start("shards read", args.shards.len() as u64, args.quiet);
    let shards = args
        .shards
        .iter()
        .map(|d| {
            let s = shard::read_shard(d)?;
            progress.done(s.replications.iter().map(|r| r.stats.calls).sum());
            Ok(s)
        })
        .collect::<Result<Vec<_>, shard::ShardError>>()
        .map_err(Failure::input)?;
    progress.finish();
    let first = &shards[0];
    let meta0 = first.meta.clone();
    let bytes = first.scenario_bytes.clone();
    if sha256_hex(&bytes) != meta0.scenario_sha256 {
        return Err(Failure::input(format!(
            "{}: scenario.toml does not match the sha256 in run.json",
            first.dir.display()
        )));
    }
    let (wall, threads) = shards
        .iter()
        .fold((0.0, 0), |(w, t), s| (w + s.meta.wall_seconds, t.max(s.meta.threads)));
    let reps = shard::merge_shards(shards).map_err(Failure::input)?;
    let text = String::from_utf8(bytes).map_err(|_| Failure::input("the shards' scenario.toml is not UTF-8"))?;
    let mut scenario = scenario::parse(&text, Path::new(&meta0.scenario)).map_err(Failure::input)?;
    scenario.simulation.seed = meta0.seed;
    let clauses = Clause::all(&scenario);
    let windows: Vec<usize> = report::clause_windows(&scenario, &clauses)
        .iter()
        .map(Vec::len)
        .collect();
    shard::check_judgements(&reps, &windows).map_err(Failure::input)?;
    let summary = summarize(&reps, clauses.len(), meta0.required_confidence, meta0.interval_level);
    let totals = plan::totals(&reps);
    let meta = RunMeta::new(
        RunIdentity {
            scenario: meta0.scenario.clone(),
            scenario_sha256: meta0.scenario_sha256.clone(),
            slaplan_version: meta0.slaplan_version.clone(),
            replications: meta0.replications,
            required_confidence: meta0.required_confidence,
            interval_level: meta0.interval_level,
        },
        &scenario,
        totals,
        Timing {
            wall_seconds: wall,
            threads,
            calls_per_second: totals.calls as f64 / f64::max(wall, 1e-9),
        },
    );
    report::write_outputs(&args.out, &meta, &scenario, &clauses, &summary, &reps, &[]).map_err(Failure::runtime)?;
    out!("{}", report::attainment_table(&scenario, &clauses, &summary))?;
    outln!(
        "\nmerged {} shard(s): {} replication(s), seed {}; wrote {}",
        args.shards.len(),
        meta.replications,
        meta.seed,
        args.out.display()
    )
}
