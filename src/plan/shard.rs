//! Sharded runs: `--shard i/N` runs a deterministic slice of the
//! replications, and `merge` recombines the slices into exactly the
//! single-machine result.
//!
//! Shards are **1-based** and **round-robin**: replication `r` (0-based)
//! belongs to shard `i` of `N` when `r mod N == i - 1`. Round-robin keeps the
//! shards balanced whatever the replication count. Because replication `r`
//! depends only on the scenario, the seed and `r`, the union of the shards is
//! the direct run.
//!
//! A shard directory holds `run.json` ([`ShardMeta`]), `replications.jsonl`
//! (one replication of the slice per line, in index order, floats written
//! in Rust's shortest round-trip form so they are read back bit for bit)
//! and `scenario.toml` (the scenario's bytes, so `merge` needs nothing
//! else).
//!
//! Both sides stream: [`ShardWriter`] writes each replication as it is
//! simulated, and [`MergedShards`] reads the shards side by side, one line
//! of each at a time, handing out the replications of the whole run in
//! index order. Memory holds one replication per shard, and for the
//! coverage checks a few bytes per replication (its index in its shard's
//! `run.json`), never the replications themselves.

use std::collections::{BTreeSet, BinaryHeap};
use std::fmt;
use std::fs;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Replication;
use crate::model::{RunStats, TimelineRow};
use crate::sla::{Attainment, Measures};

/// Shard `index` (1-based) of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardSpec {
    /// 1 to `count`.
    pub index: u64,
    /// Number of shards, at least 1.
    pub count: u64,
}

impl ShardSpec {
    /// Parses `i/N` with `1 <= i <= N`.
    pub fn parse(text: &str) -> Result<ShardSpec, String> {
        let bad = |why: &str| format!("bad shard {text:?}: {why}; expected i/N with 1 <= i <= N, e.g. 1/3");
        let (i, n) = text.split_once('/').ok_or_else(|| bad("no '/'"))?;
        let index: u64 = i
            .trim()
            .parse()
            .map_err(|_| bad("the shard index is not a whole number"))?;
        let count: u64 = n
            .trim()
            .parse()
            .map_err(|_| bad("the shard count is not a whole number"))?;
        if count == 0 {
            return Err(bad("the shard count must be at least 1"));
        }
        if index == 0 {
            return Err(bad("shards are numbered from 1"));
        }
        if index > count {
            return Err(bad("the shard index exceeds the shard count"));
        }
        Ok(ShardSpec { index, count })
    }

    /// The replications of `0..total` in this shard, ascending.
    pub fn replications(self, total: u64) -> Vec<u64> {
        (self.index - 1..total).step_by(self.count as usize).collect()
    }
}

/// What `--shard` was given: a shard, or `auto` (read from a Slurm array
/// or a Kubernetes Indexed Job: see [`super::array_job`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShardChoice {
    /// `i/N`.
    Given(ShardSpec),
    /// `auto`.
    Auto,
}

impl ShardChoice {
    /// Parses `auto` or `i/N`.
    pub fn parse(text: &str) -> Result<ShardChoice, String> {
        if text == "auto" {
            return Ok(ShardChoice::Auto);
        }
        ShardSpec::parse(text)
            .map(ShardChoice::Given)
            .map_err(|e| format!("{e}, or auto (from a Slurm array or a Kubernetes Indexed Job)"))
    }
}

impl fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// A shard's `run.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardMeta {
    /// slaplan's version.
    pub slaplan_version: String,
    /// The scenario file as given on the command line.
    pub scenario: String,
    /// SHA-256 of the scenario file's bytes.
    pub scenario_sha256: String,
    /// Master seed.
    pub seed: u64,
    /// Replications of the whole run (all shards).
    pub replications: u64,
    /// Required probability for a verdict of enforceable.
    pub required_confidence: f64,
    /// Confidence level of the intervals.
    pub interval_level: f64,
    /// Which shard this is.
    pub shard: ShardSpec,
    /// The replications this shard ran.
    pub indices: Vec<u64>,
    /// Wall-clock seconds of this shard's simulation.
    pub wall_seconds: f64,
    /// Worker threads this shard used.
    pub threads: usize,
}

/// One attainment with floats as exact decimal text.
#[derive(Serialize, Deserialize)]
struct AttainmentRecord {
    clause: usize,
    window: usize,
    value: Option<String>,
    met: bool,
    eligible: u64,
    succeeded: u64,
    mean_latency_ms: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct ReplicationRecord {
    index: u64,
    stats: RunStats,
    attainment: Vec<AttainmentRecord>,
    /// Integers only: exact in JSON.
    measures: Measures,
    timeline: Option<Vec<TimelineRow>>,
}

fn exact(x: Option<f64>) -> Option<String> {
    // `Display` for f64 is the shortest text that parses back to the same bits.
    x.map(|v| v.to_string())
}

fn parse_exact(x: Option<String>, what: &Path) -> Result<Option<f64>, ShardError> {
    x.map(|s| {
        s.parse::<f64>().map_err(|_| ShardError::Corrupt {
            path: what.to_path_buf(),
            why: format!("{s:?} is not a number"),
        })
    })
    .transpose()
}

/// Reading, writing or merging shards failed.
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A shard file is not what `run --shard` writes.
    #[error("{path}: not a shard file: {why}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// The shards cannot be merged.
    #[error("cannot merge: {0}")]
    Mismatch(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ShardError + '_ {
    move |source| ShardError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The replications file of a shard directory.
pub const REPLICATIONS_FILE: &str = "replications.jsonl";

fn record_of(r: &Replication) -> ReplicationRecord {
    ReplicationRecord {
        index: r.index,
        stats: r.stats,
        attainment: r
            .attainment
            .iter()
            .map(|a| AttainmentRecord {
                clause: a.clause,
                window: a.window,
                value: exact(a.value),
                met: a.met,
                eligible: a.eligible,
                succeeded: a.succeeded,
                mean_latency_ms: exact(a.mean_latency_ms),
            })
            .collect(),
        measures: r.measures.clone(),
        timeline: r.timeline.clone(),
    }
}

fn replication_of(r: ReplicationRecord, path: &Path) -> Result<Replication, ShardError> {
    let mut attainment = Vec::with_capacity(r.attainment.len());
    for a in r.attainment {
        attainment.push(Attainment {
            clause: a.clause,
            window: a.window,
            value: parse_exact(a.value, path)?,
            met: a.met,
            eligible: a.eligible,
            succeeded: a.succeeded,
            mean_latency_ms: parse_exact(a.mean_latency_ms, path)?,
        });
    }
    Ok(Replication {
        index: r.index,
        attainment,
        stats: r.stats,
        measures: r.measures,
        timeline: r.timeline,
    })
}

/// A shard directory being written into `dir` (a temporary directory the
/// caller renames into place): one line per replication as it comes.
pub struct ShardWriter {
    dir: PathBuf,
    lines: BufWriter<fs::File>,
}

impl ShardWriter {
    /// Starts the shard files in `dir`.
    pub fn create(dir: &Path) -> Result<ShardWriter, ShardError> {
        let p = dir.join(REPLICATIONS_FILE);
        let file = fs::File::create(&p).map_err(io(&p))?;
        Ok(ShardWriter {
            dir: dir.to_path_buf(),
            lines: BufWriter::new(file),
        })
    }

    /// Appends one replication.
    pub fn add(&mut self, r: &Replication) -> Result<(), ShardError> {
        let p = self.dir.join(REPLICATIONS_FILE);
        serde_json::to_writer(&mut self.lines, &record_of(r)).map_err(|e| ShardError::Io {
            path: p.clone(),
            source: e.into(),
        })?;
        self.lines.write_all(b"\n").map_err(io(&p))
    }

    /// Writes `run.json` and `scenario.toml` and flushes the replications.
    pub fn finish(mut self, meta: &ShardMeta, scenario_bytes: &[u8]) -> Result<(), ShardError> {
        let p = self.dir.join(REPLICATIONS_FILE);
        self.lines.flush().map_err(io(&p))?;
        let p = self.dir.join("run.json");
        let json = serde_json::to_string_pretty(meta).map_err(|e| ShardError::Io {
            path: p.clone(),
            source: e.into(),
        })?;
        fs::write(&p, json + "\n").map_err(io(&p))?;
        let p = self.dir.join("scenario.toml");
        fs::write(&p, scenario_bytes).map_err(io(&p))
    }
}

/// A shard directory opened for reading: its `run.json` and scenario are
/// read at once, its replications one line at a time.
pub struct ShardReader {
    /// Its directory.
    pub dir: PathBuf,
    /// Its `run.json`.
    pub meta: ShardMeta,
    /// The scenario's bytes.
    pub scenario_bytes: Vec<u8>,
    path: PathBuf,
    lines: BufReader<fs::File>,
    line: String,
    line_no: usize,
    last: Option<u64>,
}

impl ShardReader {
    /// Opens the shard directory `dir`.
    pub fn open(dir: &Path) -> Result<ShardReader, ShardError> {
        let p = dir.join("run.json");
        let text = fs::read_to_string(&p).map_err(io(&p))?;
        let meta: ShardMeta = serde_json::from_str(&text).map_err(|e| ShardError::Corrupt {
            path: p.clone(),
            why: format!("{e} (is this a directory written by `slaplan run --shard`?)"),
        })?;
        for (field, value) in [
            ("required_confidence", meta.required_confidence),
            ("interval_level", meta.interval_level),
        ] {
            if !(value > 0.0 && value < 1.0) {
                return Err(ShardError::Corrupt {
                    path: p,
                    why: format!("field \"{field}\": expected a probability strictly between 0 and 1, got {value}"),
                });
            }
        }
        let p = dir.join("scenario.toml");
        let scenario_bytes = fs::read(&p).map_err(io(&p))?;
        let path = dir.join(REPLICATIONS_FILE);
        let file = fs::File::open(&path).map_err(io(&path))?;
        Ok(ShardReader {
            dir: dir.to_path_buf(),
            meta,
            scenario_bytes,
            path,
            lines: BufReader::new(file),
            line: String::new(),
            line_no: 0,
            last: None,
        })
    }

    /// The next replication of the shard, or `None` at the end. Indices
    /// must rise from line to line.
    pub fn next_replication(&mut self) -> Result<Option<Replication>, ShardError> {
        self.line.clear();
        let n = self.lines.read_line(&mut self.line).map_err(io(&self.path))?;
        if n == 0 {
            return Ok(None);
        }
        self.line_no += 1;
        let corrupt = |why: String| ShardError::Corrupt {
            path: self.path.clone(),
            why,
        };
        let record: ReplicationRecord =
            serde_json::from_str(&self.line).map_err(|e| corrupt(format!("line {}: {e}", self.line_no)))?;
        let r = replication_of(record, &self.path)?;
        if self.last.is_some_and(|last| r.index <= last) {
            return Err(corrupt(format!(
                "line {}: replication {} does not follow replication {}",
                self.line_no,
                r.index,
                self.last.unwrap_or_default()
            )));
        }
        self.last = Some(r.index);
        Ok(Some(r))
    }
}

/// Checks that the shards come from the same run (scenario hash, seed,
/// replication count, confidence, version, scenario path) and that their
/// `run.json` indices cover every replication exactly once.
pub fn check_shards(shards: &[ShardReader]) -> Result<(), ShardError> {
    let Some(first) = shards.first() else {
        return Err(ShardError::Mismatch("no shard directories given".into()));
    };
    let (d0, m0) = (first.dir.display().to_string(), &first.meta);
    for s in &shards[1..] {
        let (d, m) = (s.dir.display(), &s.meta);
        let differ = |what: &str, a: &dyn fmt::Display, b: &dyn fmt::Display| {
            ShardError::Mismatch(format!(
                "{d0} and {d} are not shards of the same run: {what} {a} vs {b}"
            ))
        };
        if m.scenario_sha256 != m0.scenario_sha256 {
            return Err(differ(
                "different scenarios (sha256)",
                &m0.scenario_sha256,
                &m.scenario_sha256,
            ));
        }
        if m.seed != m0.seed {
            return Err(differ("different seeds", &m0.seed, &m.seed));
        }
        if m.replications != m0.replications {
            return Err(differ(
                "different replication counts",
                &m0.replications,
                &m.replications,
            ));
        }
        if m.required_confidence != m0.required_confidence || m.interval_level != m0.interval_level {
            return Err(differ(
                "different --confidence",
                &m0.required_confidence,
                &m.required_confidence,
            ));
        }
        if m.slaplan_version != m0.slaplan_version {
            return Err(differ(
                "different slaplan versions",
                &m0.slaplan_version,
                &m.slaplan_version,
            ));
        }
        if m.scenario != m0.scenario {
            return Err(differ("different scenario paths", &m0.scenario, &m.scenario));
        }
    }
    let total = m0.replications;
    let count = m0.shard.count;
    let missing_shards = |absent: String| {
        let given: BTreeSet<u64> = shards.iter().map(|s| s.meta.shard.index).collect();
        let names: Vec<String> = (1..=count)
            .filter(|i| !given.contains(i))
            .map(|i| format!("{i}/{count}"))
            .collect();
        ShardError::Mismatch(format!(
            "missing shards: {absent}; shard(s) {} not given",
            if names.is_empty() { "?".into() } else { names.join(", ") }
        ))
    };
    // Fewer replications listed than the run has: some are missing, found
    // without allocating a slot per replication of a (possibly corrupt) count.
    let listed: u64 = shards.iter().map(|s| s.meta.indices.len() as u64).sum();
    if listed < total {
        return Err(missing_shards(format!(
            "the shards list {listed} of the run's {total} replications"
        )));
    }
    // Which shard holds each replication: one entry per replication, the
    // one record of the merge that grows with the run (4 bytes each).
    let mut owner: Vec<u32> = vec![u32::MAX; usize::try_from(total).unwrap_or(usize::MAX)];
    for (k, s) in shards.iter().enumerate() {
        for &r in &s.meta.indices {
            let Some(slot) = owner.get_mut(r as usize).filter(|_| r < total) else {
                return Err(ShardError::Mismatch(format!(
                    "{} has replication {r} but the run has only {total}",
                    s.dir.display()
                )));
            };
            if *slot != u32::MAX {
                return Err(ShardError::Mismatch(format!(
                    "overlapping shards: replication {r} is in both {} and {}",
                    shards[*slot as usize].dir.display(),
                    s.dir.display()
                )));
            }
            *slot = k as u32;
        }
    }
    let missing: Vec<u64> = (0..total).filter(|&i| owner[i as usize] == u32::MAX).collect();
    if !missing.is_empty() {
        let shown: Vec<String> = missing.iter().take(10).map(u64::to_string).collect();
        return Err(missing_shards(format!(
            "{} of {total} replications absent (replication {}{})",
            missing.len(),
            shown.join(", "),
            if missing.len() > 10 { ", …" } else { "" },
        )));
    }
    Ok(())
}

/// The replications of a whole run read from its shards side by side, in
/// index order. Each shard's lines must be the replications its `run.json`
/// lists, and every judgement must name a clause and window of the
/// scenario: `windows[c]` is the number of windows of clause `c`.
pub struct MergedShards {
    readers: Vec<ShardReader>,
    /// (next index, shard) of every shard not yet exhausted, smallest first.
    heads: BinaryHeap<std::cmp::Reverse<(u64, usize)>>,
    buffered: Vec<Option<Replication>>,
    /// Each shard's `run.json` indices, consumed from the front.
    expected: Vec<std::collections::VecDeque<u64>>,
    next: u64,
    total: u64,
    windows: Vec<usize>,
}

impl MergedShards {
    /// Starts reading `readers` (checked with [`check_shards`]).
    pub fn new(mut readers: Vec<ShardReader>, windows: Vec<usize>) -> Result<MergedShards, ShardError> {
        let total = readers.first().map_or(0, |r| r.meta.replications);
        let expected = readers
            .iter_mut()
            .map(|r| std::mem::take(&mut r.meta.indices).into())
            .collect();
        let mut merged = MergedShards {
            heads: BinaryHeap::new(),
            buffered: (0..readers.len()).map(|_| None).collect(),
            readers,
            expected,
            next: 0,
            total,
            windows,
        };
        for k in 0..merged.readers.len() {
            merged.refill(k)?;
        }
        Ok(merged)
    }

    /// Reads shard `k`'s next replication into its slot.
    fn refill(&mut self, k: usize) -> Result<(), ShardError> {
        let reader = &mut self.readers[k];
        let got = reader.next_replication()?;
        let want = self.expected[k].pop_front();
        let corrupt = |why: String| ShardError::Corrupt {
            path: reader.path.clone(),
            why,
        };
        match (got, want) {
            (None, None) => Ok(()),
            (Some(r), Some(w)) if r.index == w => {
                check_judgements(&r, &self.windows)?;
                self.heads.push(std::cmp::Reverse((r.index, k)));
                self.buffered[k] = Some(r);
                Ok(())
            }
            (got, want) => Err(corrupt(format!(
                "its replications do not match the indices in run.json: found {}, run.json lists {}",
                got.map_or("the end of the file".into(), |r| format!("replication {}", r.index)),
                want.map_or("no more".into(), |w| format!("replication {w}"))
            ))),
        }
    }

    /// The next replication of the run, or `None` when all have been read.
    /// Only replication 0 keeps its timeline, as in an unsharded run.
    pub fn next_replication(&mut self) -> Result<Option<Replication>, ShardError> {
        let Some(std::cmp::Reverse((index, k))) = self.heads.pop() else {
            return if self.next == self.total {
                Ok(None)
            } else {
                Err(ShardError::Mismatch(format!(
                    "the shards end after {} of {} replications",
                    self.next, self.total
                )))
            };
        };
        let Some(mut r) = self.buffered[k].take() else {
            return Err(ShardError::Mismatch(format!("replication {index} was read twice")));
        };
        if index != self.next {
            return Err(ShardError::Mismatch(format!(
                "replication {} is missing from the shards",
                self.next
            )));
        }
        self.next += 1;
        if r.index != 0 {
            r.timeline = None;
        }
        self.refill(k)?;
        Ok(Some(r))
    }
}

/// Checks that every judgement of `r` names a clause and a window of the
/// scenario: `windows[c]` is the number of windows of clause `c`. A shard
/// edited by hand, or written for another scenario with the same hash, is
/// refused.
pub fn check_judgements(r: &Replication, windows: &[usize]) -> Result<(), ShardError> {
    if let Some(a) = r
        .attainment
        .iter()
        .find(|a| windows.get(a.clause).is_none_or(|&n| a.window >= n))
    {
        return Err(ShardError::Mismatch(format!(
            "replication {} judges clause {} in window {}, but the shards' scenario has {} clause(s){}",
            r.index,
            a.clause,
            a.window,
            windows.len(),
            windows
                .get(a.clause)
                .map(|n| format!(" and {n} window(s) for that clause"))
                .unwrap_or_default()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_specs() {
        assert_eq!(ShardSpec::parse("1/3"), Ok(ShardSpec { index: 1, count: 3 }));
        assert_eq!(ShardSpec::parse("3/3"), Ok(ShardSpec { index: 3, count: 3 }));
        for bad in ["0/3", "4/3", "x/y", "3", "1/0", "-1/3", "1/3/4"] {
            assert!(ShardSpec::parse(bad).is_err(), "{bad}");
        }
        let s = ShardSpec { index: 2, count: 3 };
        assert_eq!(s.replications(8), vec![1, 4, 7]);
        assert_eq!(ShardSpec { index: 3, count: 3 }.replications(2), Vec::<u64>::new());
    }

    #[test]
    fn floats_round_trip_exactly() {
        for v in [0.1 + 0.2, 1.0 / 3.0, 123.456_789_012_345_67, f64::MIN_POSITIVE, 5e-324] {
            let back = parse_exact(exact(Some(v)), Path::new("x")).unwrap().unwrap();
            assert_eq!(back.to_bits(), v.to_bits());
        }
    }
}
