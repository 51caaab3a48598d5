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
use slaplan::plan::{self, summarize};
use slaplan::report::{self, RunMeta, Timing};
use slaplan::scenario::{self, Scenario};
use slaplan::sla::{Clause, calendar_months};

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
}

#[derive(clap::Args)]
struct FrontierArgs {
    /// The scenario file (TOML).
    scenario: PathBuf,
    /// The tenant whose clause (or, with --capacity, whose clauses) to study.
    #[arg(long)]
    tenant: Option<String>,
    /// The clause: its 0-based position among the tenant's clauses.
    #[arg(long, conflicts_with = "clause")]
    clause_index: Option<usize>,
    /// The clause in one line (its threshold is ignored), e.g. "p95 latency <= 1s".
    #[arg(long)]
    clause: Option<String>,
    /// Bisect this endpoint's concurrency for the smallest value making every clause enforceable.
    #[arg(long, conflicts_with_all = ["clause", "clause_index"])]
    capacity: Option<String>,
    /// Largest concurrency the bisection may try.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..))]
    max_capacity: u32,
    /// Output directory for frontier.csv / capacity.csv (default: out/<scenario name>-frontier).
    #[arg(long)]
    out: Option<PathBuf>,
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
}

#[derive(clap::Args)]
struct CheckArgs {
    /// The scenario file (TOML): the baseline.
    scenario: PathBuf,
    /// The tenant the proposed clause is for (an existing one, or the new tenant's name).
    #[arg(long)]
    tenant: Option<String>,
    /// The proposed clause in one line, e.g. "p95 latency <= 800ms" (see README).
    #[arg(long)]
    clause: Option<String>,
    /// A TOML file with one [[tenants]] table (and its workflows and clauses) to add.
    #[arg(long)]
    new_tenant: Option<PathBuf>,
    /// Output directory for check.csv (default: out/<scenario name>-check).
    #[arg(long)]
    out: Option<PathBuf>,
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
}

#[derive(clap::Args)]
struct MergeArgs {
    /// Output directory for summary.csv, windows.csv and run.json.
    out: PathBuf,
    /// Shard directories written by `slaplan run --shard i/N`, in any order.
    #[arg(required = true)]
    shards: Vec<PathBuf>,
}

#[derive(clap::Args)]
struct ImportArgs {
    /// The LiteLLM config file (YAML, with `model_list`).
    config: PathBuf,
    /// Write the router config to this file (default: standard output).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(clap::Args)]
struct RunArgs {
    /// The scenario file (TOML).
    scenario: PathBuf,
    /// Output directory (default: out/<scenario name>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Monte Carlo replications (default: the scenario's `simulation.replications`).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    replications: Option<u32>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    threads: Option<u32>,
    /// Override the scenario's master seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Also write `audit.jsonl`: the first N router audit events of replication 0.
    #[arg(long, value_name = "N")]
    audit_sample: Option<usize>,
    /// Probability a clause must hold with to be called enforceable, in (0, 1).
    #[arg(long, default_value_t = 0.95, value_parser = parse_probability)]
    confidence: f64,
    /// Run only shard i of N (1-based; replication r belongs to shard
    /// r mod N + 1) and write a shard directory for `slaplan merge`.
    #[arg(long, value_parser = ShardSpec::parse)]
    shard: Option<ShardSpec>,
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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

fn validate(path: &Path) -> Result<(), Failure> {
    let s = scenario::load(path).map_err(Failure::input)?;
    println!(
        "{}: ok ({} endpoints, {} tenants, {} clauses)",
        path.display(),
        s.endpoints.len(),
        s.tenants.len(),
        s.tenants.iter().map(|t| t.clauses.len()).sum::<usize>()
    );
    Ok(())
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
        eprintln!("unmapped: {}: {}", u.path, u.reason);
    }
    for note in &import.notes {
        eprintln!("note: {note}");
    }
    match &args.out {
        None => print!("{text}"),
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
    if let Some(seed) = args.seed {
        scenario.simulation.seed = seed;
    }
    let replications = u64::from(args.replications.unwrap_or(scenario.simulation.replications));
    let out = args.out.clone().unwrap_or_else(|| {
        let stem = args
            .scenario
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "run".into());
        PathBuf::from("out").join(stem)
    });
    let threads = args
        .threads
        .map(|t| t as usize)
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start {threads} worker threads: {e}")))?;

    let progress = progress_bar(replications);
    #[allow(clippy::disallowed_methods)] // the one wall clock: timing a whole run for run.json
    let started = Instant::now();
    let tick = || progress.inc(1);
    let reps = pool
        .install(|| plan::run_replications(&scenario, 0..replications, &tick))
        .map_err(|e| Failure::input(format!("{}: {e}", args.scenario.display())))?;
    progress.finish_and_clear();
    let wall = started.elapsed().as_secs_f64();

    let clauses = Clause::all(&scenario);
    let summary = summarize(&reps, clauses.len(), args.confidence, 0.95);
    let totals = plan::totals(&reps);
    let meta = RunMeta {
        slaplan_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: args.scenario.display().to_string(),
        scenario_sha256: sha256_hex(&bytes),
        seed: scenario.simulation.seed,
        replications,
        required_confidence: args.confidence,
        interval_level: 0.95,
        windows: calendar_months(scenario.start(), scenario.simulation.duration),
        totals,
        timing: Timing {
            wall_seconds: wall,
            threads,
            calls_per_second: totals.calls as f64 / wall.max(1e-9),
        },
    };
    let mut extra = Vec::new();
    if let Some(limit) = args.audit_sample {
        extra.push(("audit.jsonl", audit_sample(&scenario, limit)?));
    }
    report::write_outputs(&out, &meta, &scenario, &clauses, &summary, &reps, &extra).map_err(Failure::runtime)?;

    print!("{}", report::attainment_table(&scenario, &clauses, &summary));
    println!(
        "\n{} replication(s) of {} ({} window(s)), seed {}: {} calls, {} failed, {:.1}s wall, {:.2}M calls/s",
        replications,
        scenario.simulation.duration,
        meta.windows.len(),
        meta.seed,
        totals.calls,
        totals.failed,
        wall,
        meta.timing.calls_per_second / 1e6
    );
    println!("wrote {}", out.display());
    Ok(())
}

/// Re-runs replication 0 (deterministic: the same run as in the results) to
/// keep its first `limit` audit events.
fn audit_sample(scenario: &Scenario, limit: usize) -> Result<Vec<u8>, Failure> {
    let world = slaplan::model::World::new(scenario, 0).map_err(Failure::input)?;
    let (_, _, samples) = world.log_audit(limit).run_sampled();
    Ok(report::audit_jsonl(scenario, &samples.audit))
}

fn progress_bar(total: u64) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() || total < 2 {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} replications ({eta} left)") {
        bar.set_style(style);
    }
    bar
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
    if let Some(seed) = args.seed {
        scenario.simulation.seed = seed;
    }
    let replications = u64::from(args.replications.unwrap_or(scenario.simulation.replications));
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_out(&args.scenario, &format!("-shard-{}-of-{}", spec.index, spec.count)));
    let (pool, threads) = worker_pool(args.threads)?;
    let indices = spec.replications(replications);
    let progress = progress_bar(indices.len() as u64);
    #[allow(clippy::disallowed_methods)] // timing a shard for its run.json
    let started = Instant::now();
    let tick = || progress.inc(1);
    let reps = pool
        .install(|| plan::run_indices(&scenario, &indices, &tick))
        .map_err(|e| Failure::input(format!("{}: router configuration: {e}", args.scenario.display())))?;
    progress.finish_and_clear();
    let meta = ShardMeta {
        slaplan_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: args.scenario.display().to_string(),
        scenario_sha256: sha256_hex(&bytes),
        seed: scenario.simulation.seed,
        replications,
        required_confidence: args.confidence,
        interval_level: 0.95,
        shard: spec,
        indices,
        wall_seconds: started.elapsed().as_secs_f64(),
        threads,
    };
    shard::write_shard(&out, &meta, &bytes, &reps).map_err(Failure::runtime)?;
    println!(
        "shard {spec}: {} of {replications} replication(s), seed {}; wrote {}",
        meta.indices.len(),
        meta.seed,
        out.display()
    );
    Ok(())
}

/// `merge OUT SHARD...`: exactly the outputs of the unsharded run.
fn merge(args: MergeArgs) -> Result<(), Failure> {
    let shards = args
        .shards
        .iter()
        .map(|d| shard::read_shard(d))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::input)?;
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
    let summary = summarize(&reps, clauses.len(), meta0.required_confidence, meta0.interval_level);
    let totals = plan::totals(&reps);
    let meta = RunMeta {
        slaplan_version: meta0.slaplan_version.clone(),
        scenario: meta0.scenario.clone(),
        scenario_sha256: meta0.scenario_sha256.clone(),
        seed: meta0.seed,
        replications: meta0.replications,
        required_confidence: meta0.required_confidence,
        interval_level: meta0.interval_level,
        windows: calendar_months(scenario.start(), scenario.simulation.duration),
        totals,
        timing: Timing {
            wall_seconds: wall,
            threads,
            calls_per_second: totals.calls as f64 / f64::max(wall, 1e-9),
        },
    };
    report::write_outputs(&args.out, &meta, &scenario, &clauses, &summary, &reps, &[]).map_err(Failure::runtime)?;
    print!("{}", report::attainment_table(&scenario, &clauses, &summary));
    println!(
        "\nmerged {} shard(s): {} replication(s), seed {}; wrote {}",
        args.shards.len(),
        meta.replications,
        meta.seed,
        args.out.display()
    );
    Ok(())
}

/// The scenario at `path` with the one `[[tenants]]` table of `tenant_file`
/// appended, validated as a whole; problems are reported against the tenant file.
fn with_new_tenant(path: &Path, tenant_file: &Path) -> Result<Scenario, Failure> {
    let base = std::fs::read_to_string(path).map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
    let extra = std::fs::read_to_string(tenant_file)
        .map_err(|e| Failure::input(format!("{}: cannot read: {e}", tenant_file.display())))?;
    let table: toml::Table =
        toml::from_str(&extra).map_err(|e| Failure::input(format!("{}: {e}", tenant_file.display())))?;
    let one_tenant = table.len() == 1
        && table
            .get("tenants")
            .and_then(|t| t.as_array())
            .is_some_and(|a| a.len() == 1);
    if !one_tenant {
        return Err(Failure::input(format!(
            "{}: expected exactly one [[tenants]] table (with its [[tenants.workflows]] and [[tenants.clauses]]) and nothing else",
            tenant_file.display()
        )));
    }
    // The tenant file's line 1 is the combined text's line `offset + 1`.
    let base = base.trim_end_matches(['\n', '\r']);
    let offset = base.lines().count();
    let combined = format!("{base}\n{extra}");
    scenario::parse(&combined, tenant_file).map_err(|mut e| {
        for p in &mut e.problems {
            p.line = p.line.and_then(|l| l.checked_sub(offset));
        }
        Failure::input(format!("the new tenant does not fit the scenario: {e}"))
    })
}

fn check(args: CheckArgs) -> Result<(), Failure> {
    use slaplan::plan::check::{self as chk, Comparison};
    let mut baseline: Scenario = scenario::load(&args.scenario).map_err(Failure::input)?;
    let mut proposal = match &args.new_tenant {
        Some(file) => with_new_tenant(&args.scenario, file)?,
        None => baseline.clone(),
    };
    match (&args.clause, &args.tenant, &args.new_tenant) {
        (None, _, None) => {
            return Err(Failure::input(
                "nothing to check: give --tenant T --clause \"...\", or --new-tenant FILE.toml",
            ));
        }
        (Some(_), None, None) => return Err(Failure::input("--clause needs --tenant: the tenant the clause is for")),
        (Some(text), tenant, _) => {
            let clause =
                plan::grammar::parse_clause(text).map_err(|e| Failure::input(format!("--clause {text:?}: {e}")))?;
            let tenant = match tenant {
                Some(t) => t.clone(),
                None => proposal.tenants.last().map(|t| t.name.clone()).unwrap_or_default(),
            };
            chk::add_clause(&mut proposal, &tenant, clause).map_err(Failure::input)?;
        }
        (None, _, Some(_)) => {}
    }
    if let Some(seed) = args.seed {
        baseline.simulation.seed = seed;
        proposal.simulation.seed = seed;
    }
    let replications = u64::from(args.replications.unwrap_or(baseline.simulation.replications));
    let (pool, _) = worker_pool(args.threads)?;
    let simulate = |s: &Scenario| {
        pool.install(|| plan::run_replications(s, 0..replications, &|| {}))
            .map_err(|e| Failure::input(format!("router configuration: {e}")))
            .map(|reps| summarize(&reps, Clause::all(s).len(), args.confidence, 0.95))
    };
    let base_summary = simulate(&baseline)?;
    let prop_summary = simulate(&proposal)?;
    let rows: Vec<Comparison> = chk::compare(&baseline, &base_summary, &proposal, &prop_summary);
    let cells = |r: &Comparison| -> Vec<String> {
        vec![
            r.tenant.clone(),
            r.clause.clone(),
            r.baseline.as_ref().map(chk::cell).unwrap_or_else(|| "-".into()),
            chk::cell(&r.proposal),
            r.change(),
        ]
    };
    let shown: Vec<Vec<String>> = rows.iter().filter(|r| r.notable()).map(cells).collect();
    print!(
        "{}",
        report::grid(
            &[
                "tenant",
                "clause",
                "baseline P(hold) [95% CI] verdict",
                "proposal P(hold) [95% CI] verdict",
                "change"
            ],
            &shown
        )
    );
    let unchanged = rows.iter().filter(|r| !r.notable()).count();
    println!(
        "\n{unchanged} existing clause(s) unchanged; {} replication(s), seed {}, common random numbers",
        replications, baseline.simulation.seed
    );
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_out(&args.scenario, "-check"));
    std::fs::create_dir_all(&out).map_err(|e| Failure::runtime(format!("cannot create {}: {e}", out.display())))?;
    let path = out.join("check.csv");
    let write = || -> Result<(), Box<dyn std::error::Error>> {
        let mut w = csv::Writer::from_path(&path)?;
        w.write_record([
            "tenant",
            "clause",
            "proposed",
            "baseline_probability",
            "baseline_ci_low",
            "baseline_ci_high",
            "baseline_verdict",
            "proposal_probability",
            "proposal_ci_low",
            "proposal_ci_high",
            "proposal_verdict",
            "change",
        ])?;
        let f = |x: f64| format!("{x:.6}");
        for r in &rows {
            let b = r.baseline.as_ref();
            let p = &r.proposal;
            w.write_record([
                r.tenant.clone(),
                r.clause.clone(),
                r.proposed.to_string(),
                b.map(|b| f(b.probability)).unwrap_or_default(),
                b.map(|b| f(b.ci_low)).unwrap_or_default(),
                b.map(|b| f(b.ci_high)).unwrap_or_default(),
                b.map(|b| b.verdict.label().replace(' ', "_")).unwrap_or_default(),
                f(p.probability),
                f(p.ci_low),
                f(p.ci_high),
                p.verdict.label().replace(' ', "_"),
                r.change(),
            ])?;
        }
        w.flush()?;
        Ok(())
    };
    write().map_err(|e| Failure::runtime(format!("cannot write {}: {e}", path.display())))?;
    println!("wrote {}", path.display());
    Ok(())
}

fn write_csv(path: &Path, header: &[&str], rows: &[Vec<String>]) -> Result<(), Failure> {
    let write = || -> Result<(), Box<dyn std::error::Error>> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut w = csv::Writer::from_path(path)?;
        w.write_record(header)?;
        for r in rows {
            w.write_record(r)?;
        }
        w.flush()?;
        Ok(())
    };
    write().map_err(|e| Failure::runtime(format!("cannot write {}: {e}", path.display())))
}

fn frontier(args: FrontierArgs) -> Result<(), Failure> {
    use slaplan::plan::frontier as fr;
    use slaplan::sla::ClauseKind;
    let mut scenario: Scenario = scenario::load(&args.scenario).map_err(Failure::input)?;
    if let Some(seed) = args.seed {
        scenario.simulation.seed = seed;
    }
    let replications = u64::from(args.replications.unwrap_or(scenario.simulation.replications));
    let (pool, _) = worker_pool(args.threads)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_out(&args.scenario, "-frontier"));
    let tenant_index = match &args.tenant {
        Some(name) => Some(scenario.tenants.iter().position(|t| &t.name == name).ok_or_else(|| {
            let names: Vec<&str> = scenario.tenants.iter().map(|t| t.name.as_str()).collect();
            Failure::input(format!("no tenant {name:?}: expected one of {}", names.join(", ")))
        })?),
        None => None,
    };
    let simulate = |s: &Scenario| {
        pool.install(|| plan::run_replications(s, 0..replications, &|| {}))
            .map_err(|e| Failure::input(format!("router configuration: {e}")))
    };

    if let Some(endpoint) = &args.capacity {
        let Some(ei) = scenario.endpoints.iter().position(|e| &e.name == endpoint) else {
            let names: Vec<&str> = scenario.endpoints.iter().map(|e| e.name.as_str()).collect();
            return Err(Failure::input(format!(
                "no endpoint {endpoint:?}: expected one of {}",
                names.join(", ")
            )));
        };
        let clauses = Clause::all(&scenario);
        let judged: Vec<usize> = (0..clauses.len())
            .filter(|&c| tenant_index.is_none_or(|t| clauses[c].tenant == t))
            .collect();
        if judged.is_empty() {
            return Err(Failure::input("no clause to make enforceable"));
        }
        let mut probes: Vec<Vec<String>> = Vec::new();
        let mut error = None;
        let start = scenario.endpoints[ei].concurrency;
        let answer = fr::bisect_capacity(start, args.max_capacity, |c| {
            let mut s = scenario.clone();
            s.endpoints[ei].concurrency = c;
            let reps = match simulate(&s) {
                Ok(r) => r,
                Err(e) => {
                    error.get_or_insert(e);
                    return false;
                }
            };
            let summary = summarize(&reps, clauses.len(), args.confidence, 0.95);
            let ok = judged
                .iter()
                .filter(|&&c| summary[c].verdict == plan::Verdict::Enforceable)
                .count();
            let worst = judged
                .iter()
                .map(|&c| &summary[c])
                .min_by(|a, b| a.ci_low.total_cmp(&b.ci_low))
                .map(|w| format!("{} {}", clauses[w.clause].tenant_name, clauses[w.clause].describe(&s)))
                .unwrap_or_default();
            let pass = ok == judged.len();
            println!(
                "probe concurrency {c}: {ok}/{} clause(s) enforceable -> {}",
                judged.len(),
                if pass { "passes" } else { "fails" }
            );
            probes.push(vec![
                c.to_string(),
                pass.to_string(),
                ok.to_string(),
                judged.len().to_string(),
                worst,
            ]);
            pass
        });
        if let Some(e) = error {
            return Err(e);
        }
        probes.sort_by_key(|p| p[0].parse::<u32>().unwrap_or(0));
        write_csv(
            &out.join("capacity.csv"),
            &[
                "concurrency",
                "all_enforceable",
                "enforceable",
                "clauses",
                "weakest_clause",
            ],
            &probes,
        )?;
        match answer {
            Some(c) => println!("smallest concurrency of {endpoint} making every clause enforceable: {c}"),
            None => println!(
                "no concurrency of {endpoint} up to {} makes every clause enforceable",
                args.max_capacity
            ),
        }
        println!("wrote {}", out.join("capacity.csv").display());
        return Ok(());
    }

    let Some(ti) = tenant_index else {
        return Err(Failure::input(
            "frontier needs --tenant T with --clause-index K or --clause \"...\" (or --capacity ENDPOINT)",
        ));
    };
    let tenant_name = scenario.tenants[ti].name.clone();
    let k = match (&args.clause, args.clause_index) {
        (Some(text), _) => {
            let clause =
                plan::grammar::parse_clause(text).map_err(|e| Failure::input(format!("--clause {text:?}: {e}")))?;
            plan::check::add_clause(&mut scenario, &tenant_name, clause).map_err(Failure::input)?;
            scenario.tenants[ti].clauses.len() - 1
        }
        (None, Some(k)) => {
            let n = scenario.tenants[ti].clauses.len();
            if k >= n {
                return Err(Failure::input(format!(
                    "--clause-index {k}: tenant {tenant_name:?} has {n} clause(s), numbered from 0"
                )));
            }
            k
        }
        (None, None) => return Err(Failure::input("frontier needs --clause-index K or --clause \"...\"")),
    };
    let clauses = Clause::all(&scenario);
    let global: usize = scenario.tenants[..ti].iter().map(|t| t.clauses.len()).sum::<usize>() + k;
    let clause = &clauses[global];
    let reps = simulate(&scenario)?;
    let f = fr::frontier(
        reps.iter().flat_map(|r| &r.attainment),
        global,
        clause.kind,
        args.confidence,
        0.95,
    );
    let latency = matches!(clause.kind, ClauseKind::Latency { .. });
    let rows: Vec<Vec<String>> = f
        .points
        .iter()
        .map(|p| {
            vec![
                format!("{:.6}", p.threshold),
                p.met.to_string(),
                p.windows.to_string(),
                format!("{:.6}", p.probability),
                format!("{:.6}", p.ci_low),
                format!("{:.6}", p.ci_high),
                p.enforceable.to_string(),
            ]
        })
        .collect();
    write_csv(
        &out.join("frontier.csv"),
        &[
            "threshold",
            "met",
            "windows",
            "probability",
            "ci_low",
            "ci_high",
            "enforceable",
        ],
        &rows,
    )?;
    let what = format!("{tenant_name} {}", clause.describe(&scenario));
    match f.best {
        Some(p) if latency => println!(
            "{what}: tightest enforceable threshold at {} confidence: {:.3}ms (P(hold) {:.3} [{:.3}, {:.3}], {}/{} windows)",
            args.confidence, p.threshold, p.probability, p.ci_low, p.ci_high, p.met, p.windows
        ),
        Some(p) => println!(
            "{what}: highest enforceable target at {} confidence: {}% (P(hold) {:.3} [{:.3}, {:.3}], {}/{} windows)",
            args.confidence,
            slaplan::sla::trim_pct(p.threshold),
            p.probability,
            p.ci_low,
            p.ci_high,
            p.met,
            p.windows
        ),
        None => println!(
            "{what}: no threshold is enforceable at {} confidence with {} window(s); run more replications",
            args.confidence,
            f.points.first().map_or(0, |p| p.windows)
        ),
    }
    println!("wrote {}", out.join("frontier.csv").display());
    Ok(())
}
