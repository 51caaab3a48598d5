//! `run`: the scenario's billing period simulated, every clause judged,
//! the replications streamed into the output directory; and replication 0's
//! audit sample and logs, re-run on request.

use std::path::{Path, PathBuf};
use std::time::Instant;

use slaplan::plan::shard::ShardChoice;
use slaplan::plan::{self, sequential};
use slaplan::report::{self, OutputSink, RunIdentity, Written};
use slaplan::scenario::{self, Scenario};
use slaplan::sla::Clause;

use super::progress::Progress;
use super::shard::run_shard;
use super::stdout::{note, out, outln};
use super::{Failure, SimArgs, default_out, print_warnings, sha256_hex, stream_failure, worker_pool, write_review};

#[derive(clap::Args)]
pub(crate) struct RunArgs {
    /// The scenario file (TOML).
    pub(crate) scenario: PathBuf,
    /// Output directory (default: out/<scenario name>).
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) sim: SimArgs,
    /// Also write `audit.jsonl`: the first N router audit events of replication 0.
    #[arg(long, value_name = "N")]
    pub(crate) audit_sample: Option<usize>,
    /// Run only shard i of N (1-based; replication r belongs to shard
    /// r mod N + 1) and write a shard directory for `slaplan merge`. `auto`
    /// reads i and N from a Slurm job array (SLURM_ARRAY_TASK_*) or a
    /// Kubernetes Indexed Job (JOB_COMPLETION_INDEX and SLAPLAN_SHARD_COUNT).
    #[arg(long, value_name = "i/N|auto", value_parser = ShardChoice::parse, conflicts_with = "until_decided")]
    pub(crate) shard: Option<ShardChoice>,
    /// Also write the review report (report.html, report.md, charts/) into
    /// the output directory, as `slaplan report` would.
    #[arg(long, conflicts_with = "shard")]
    pub(crate) report: bool,
    /// Also write replication 0's calls to FILE in the gateway's
    /// request-log schema (what `slaplan judge` reads).
    #[arg(long, value_name = "FILE", conflicts_with = "shard")]
    pub(crate) request_log: Option<PathBuf>,
    /// Also write replication 0's router audit events, every one, to FILE
    /// as the gateway's audit log (what `slaplan judge --audit-log` reads
    /// for the notification clause).
    #[arg(long, value_name = "FILE", conflicts_with = "shard")]
    pub(crate) audit_log: Option<PathBuf>,
    /// With --until-decided: a wall-time budget (e.g. "2m"). The run stops
    /// at the first look after it and reports every verdict still open as
    /// undecided (at risk), with its interval.
    #[arg(long, value_name = "DURATION", requires = "until_decided", value_parser = super::decide::parse_budget)]
    pub(crate) max_wall: Option<std::time::Duration>,
}

pub(crate) fn run(args: RunArgs) -> Result<(), Failure> {
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
    super::guard::apply(&mut scenario, args.sim.max_live_calls, threads);
    let clauses = Clause::all(&scenario);
    let schedule = args.sim.schedule(replications)?;
    // Under --until-decided the cap bounds what the run can prove.
    super::Judged::all(&scenario, &clauses, args.sim.confidence)
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
                                super::decide::open_clauses_note(&seq, &scenario, &clauses, schedule, pace, budget)
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
        outln!(
            "{}",
            super::decide::stop_line(schedule, stop, &summary, "every verdict")
        )?;
    }
    outln!("wrote {}", out.display())
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
