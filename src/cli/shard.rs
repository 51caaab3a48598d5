//! `run --shard i/N` and `merge`: a run split over machines, each shard's
//! replications in a shard directory, merged into the outputs of the
//! unsharded run.

use std::path::{Path, PathBuf};
use std::time::Instant;

use slaplan::plan;
use slaplan::plan::shard::{self, MergedShards, ShardMeta, ShardReader, ShardSpec, ShardWriter};
use slaplan::report::{self, OutputSink, RunIdentity, Written};
use slaplan::scenario::{self, Scenario};
use slaplan::sla::Clause;

use super::progress::Progress;
use super::run::RunArgs;
use super::stdout::{out, outln};
use super::{Failure, default_out, sha256_hex, stream_failure, worker_pool};

/// `run --shard i/N`: the shard's replications into a shard directory,
/// written as they are simulated.
pub(crate) fn run_shard(args: RunArgs, spec: ShardSpec) -> Result<(), Failure> {
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
    super::Judged::all(&scenario, &clauses, args.sim.confidence)
        .warn_if_unreachable(schedule.map_or(replications, |s| s.max));
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_out(&args.scenario, &format!("-shard-{}-of-{}", spec.index, spec.count)));
    let (pool, threads) = worker_pool(args.sim.threads)?;
    super::guard::apply(&mut scenario, args.sim.max_live_calls, threads);
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

#[derive(clap::Args)]
pub(crate) struct MergeArgs {
    /// Output directory for summary.csv, windows.csv and run.json.
    pub(crate) out: PathBuf,
    /// Shard directories written by `slaplan run --shard i/N`, in any order.
    #[arg(required = true)]
    pub(crate) shards: Vec<PathBuf>,
    /// No progress on standard error.
    #[arg(long)]
    pub(crate) quiet: bool,
}

/// `merge OUT SHARD...`: exactly the outputs of the unsharded run, the
/// shards read side by side and streamed into the output files.
pub(crate) fn merge(args: MergeArgs) -> Result<(), Failure> {
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
