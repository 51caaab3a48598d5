//! `merge`'s inputs: a shard directory's `run.json`, `replications.jsonl`
//! and `scenario.toml`, read, merged and checked against the scenario, as
//! `slaplan merge` does before writing anything.
//!
//! A real shard (two replications of the shared-endpoint fixture) is made
//! once per process; the first byte of each input picks the file the rest
//! replaces.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use slaplan::plan::shard::{self, ShardMeta, ShardSpec};
use slaplan::report;
use slaplan::sla::Clause;

const SCENARIO: &str = include_str!("../../tests/fixtures/shared_endpoint.toml");
const NAMES: [&str; 3] = ["run.json", shard::REPLICATIONS_FILE, "scenario.toml"];

/// The process's work directory and the real shard's three files.
fn base() -> &'static (PathBuf, Vec<Vec<u8>>) {
    static BASE: OnceLock<(PathBuf, Vec<Vec<u8>>)> = OnceLock::new();
    BASE.get_or_init(|| {
        // `fuzz/run` points TMPDIR at a directory of its own (on /dev/shm
        // where there is one) and deletes it when it ends.
        let root = std::env::temp_dir();
        let root = root.join(format!("slaplan-fuzz-shard-{}", std::process::id()));
        let real = root.join("real");
        let scenario = slaplan::scenario::parse(SCENARIO, Path::new("shared_endpoint.toml")).expect("fixture");
        let spec = ShardSpec::parse("1/1").expect("spec");
        let indices = spec.replications(2);
        let reps = slaplan::plan::run_indices(&scenario, &indices, &|| {}).expect("fixture runs");
        let meta = ShardMeta {
            slaplan_version: "fuzz".into(),
            scenario: "shared_endpoint.toml".into(),
            scenario_sha256: String::new(),
            seed: scenario.simulation.seed,
            replications: 2,
            required_confidence: 0.95,
            interval_level: 0.95,
            shard: spec,
            indices,
            wall_seconds: 0.0,
            threads: 1,
        };
        std::fs::create_dir_all(&real).expect("shard directory");
        let mut writer = shard::ShardWriter::create(&real).expect("shard writer");
        for r in &reps {
            writer.add(r).expect("write a replication");
        }
        writer.finish(&meta, SCENARIO.as_bytes()).expect("write the real shard");
        let files = NAMES
            .iter()
            .map(|n| std::fs::read(real.join(n)).expect("read back"))
            .collect();
        let dir = root.join("fuzz");
        std::fs::create_dir_all(&dir).expect("fuzz work directory");
        (dir, files)
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let (dir, files) = base();
    let pick = usize::from(pick) % NAMES.len();
    for (i, name) in NAMES.iter().enumerate() {
        let bytes = if i == pick { body } else { &files[i][..] };
        std::fs::write(dir.join(name), bytes).expect("write fuzz input");
    }
    let Ok(one) = shard::ShardReader::open(dir) else {
        return;
    };
    let text = String::from_utf8_lossy(&one.scenario_bytes).into_owned();
    let (seed, required, level) = (one.meta.seed, one.meta.required_confidence, one.meta.interval_level);
    let Ok(mut scenario) = slaplan::scenario::parse(&text, Path::new("scenario.toml")) else {
        return;
    };
    scenario.simulation.seed = seed;
    let clauses = Clause::all(&scenario);
    let windows: Vec<usize> = report::clause_windows(&scenario, &clauses)
        .iter()
        .map(Vec::len)
        .collect();
    let readers = vec![one];
    if shard::check_shards(&readers).is_err() {
        return;
    }
    let Ok(mut merged) = shard::MergedShards::new(readers, windows.clone()) else {
        return;
    };
    let mut reps = Vec::new();
    while let Ok(Some(r)) = merged.next_replication() {
        if shard::check_judgements(&r, &windows).is_err() {
            return;
        }
        reps.push(r);
    }
    let _ = slaplan::plan::summarize(&reps, clauses.len(), required, level);
});
