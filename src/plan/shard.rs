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
//! A shard directory holds `run.json` ([`ShardMeta`]), `replications.json`
//! (every replication of the slice, floats written in Rust's shortest
//! round-trip form so they are read back bit for bit) and `scenario.toml`
//! (the scenario's bytes, so `merge` needs nothing else).

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
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

/// Writes a shard directory atomically (temporary sibling, then rename).
pub fn write_shard(
    out: &Path,
    meta: &ShardMeta,
    scenario_bytes: &[u8],
    replications: &[Replication],
) -> Result<(), ShardError> {
    let records: Vec<ReplicationRecord> = replications
        .iter()
        .map(|r| ReplicationRecord {
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
        })
        .collect();
    crate::report::write_dir_atomically(
        out,
        |tmp| {
            let json = |v: serde_json::Result<String>, p: &Path| -> Result<String, ShardError> {
                v.map_err(|e| ShardError::Io {
                    path: p.to_path_buf(),
                    source: e.into(),
                })
            };
            let p = tmp.join("run.json");
            fs::write(&p, json(serde_json::to_string_pretty(meta), &p)? + "\n").map_err(io(&p))?;
            let p = tmp.join("replications.json");
            fs::write(&p, json(serde_json::to_string(&records), &p)? + "\n").map_err(io(&p))?;
            let p = tmp.join("scenario.toml");
            fs::write(&p, scenario_bytes).map_err(io(&p))?;
            Ok(())
        },
        |path, source| ShardError::Io { path, source },
    )
}

/// One shard read back.
pub struct Shard {
    /// Its directory.
    pub dir: PathBuf,
    /// Its `run.json`.
    pub meta: ShardMeta,
    /// Its replications.
    pub replications: Vec<Replication>,
    /// The scenario's bytes.
    pub scenario_bytes: Vec<u8>,
}

/// Reads the shard directory `dir`.
pub fn read_shard(dir: &Path) -> Result<Shard, ShardError> {
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
    let p = dir.join("replications.json");
    let text = fs::read_to_string(&p).map_err(io(&p))?;
    let records: Vec<ReplicationRecord> = serde_json::from_str(&text).map_err(|e| ShardError::Corrupt {
        path: p.clone(),
        why: e.to_string(),
    })?;
    let mut replications = Vec::with_capacity(records.len());
    for r in records {
        let mut attainment = Vec::with_capacity(r.attainment.len());
        for a in r.attainment {
            attainment.push(Attainment {
                clause: a.clause,
                window: a.window,
                value: parse_exact(a.value, &p)?,
                met: a.met,
                eligible: a.eligible,
                succeeded: a.succeeded,
                mean_latency_ms: parse_exact(a.mean_latency_ms, &p)?,
            });
        }
        replications.push(Replication {
            index: r.index,
            attainment,
            stats: r.stats,
            measures: r.measures,
            timeline: r.timeline,
        });
    }
    let got: Vec<u64> = replications.iter().map(|r| r.index).collect();
    if got != meta.indices {
        return Err(ShardError::Corrupt {
            path: p,
            why: "its replications do not match the indices in run.json".into(),
        });
    }
    let p = dir.join("scenario.toml");
    let scenario_bytes = fs::read(&p).map_err(io(&p))?;
    Ok(Shard {
        dir: dir.to_path_buf(),
        meta,
        replications,
        scenario_bytes,
    })
}

/// Checks that `shards` come from the same run (scenario hash, seed,
/// replication count, confidence, version) and cover every replication
/// exactly once; returns every replication in index order.
pub fn merge_shards(shards: Vec<Shard>) -> Result<Vec<Replication>, ShardError> {
    let Some(first) = shards.first() else {
        return Err(ShardError::Mismatch("no shard directories given".into()));
    };
    let m0 = first.meta.clone();
    let d0 = first.dir.display().to_string();
    for s in &shards[1..] {
        let m = &s.meta;
        let d = s.dir.display();
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
    let mut owner: BTreeMap<u64, (String, Replication)> = BTreeMap::new();
    for s in shards {
        let d = s.dir.display().to_string();
        for r in s.replications {
            if r.index >= total {
                return Err(ShardError::Mismatch(format!(
                    "{d} has replication {} but the run has only {total}",
                    r.index
                )));
            }
            if let Some((other, _)) = owner.get(&r.index) {
                return Err(ShardError::Mismatch(format!(
                    "overlapping shards: replication {} is in both {other} and {d}",
                    r.index
                )));
            }
            owner.insert(r.index, (d.clone(), r));
        }
    }
    if owner.len() as u64 != total {
        let missing: Vec<u64> = (0..total).filter(|i| !owner.contains_key(i)).collect();
        let shown: Vec<String> = missing.iter().take(10).map(u64::to_string).collect();
        let count = m0.shard.count;
        let shards_missing: std::collections::BTreeSet<u64> = missing.iter().map(|r| r % count + 1).collect();
        let names: Vec<String> = shards_missing.iter().map(|i| format!("{i}/{count}")).collect();
        return Err(ShardError::Mismatch(format!(
            "missing shards: {} of {total} replications absent (replication {}{}); shard(s) {} not given",
            missing.len(),
            shown.join(", "),
            if missing.len() > 10 { ", …" } else { "" },
            names.join(", ")
        )));
    }
    // Each shard kept its first replication's timeline; the whole run keeps
    // replication 0's only.
    let mut merged: Vec<Replication> = owner.into_values().map(|(_, r)| r).collect();
    for r in merged.iter_mut().skip(1) {
        r.timeline = None;
    }
    Ok(merged)
}

/// Checks that every judgement names a clause and a window of the
/// scenario: `windows[c]` is the number of windows of clause `c`. A shard
/// edited by hand, or written for another scenario with the same hash, is
/// refused before anything is written.
pub fn check_judgements(replications: &[Replication], windows: &[usize]) -> Result<(), ShardError> {
    for r in replications {
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
