//! A run's judgements read back from its output directory: `run.json`
//! (which run it is) and `windows.parquet` (every clause judged in every
//! window of every replication, values at full precision). This lets
//! `frontier --from DIR` judge thresholds over a run made elsewhere (a
//! merge of shards run on a cluster) exactly as over its own simulation.

use std::path::{Path, PathBuf};

use polars::prelude::{DataFrame, ParquetReader, SerReader};
use serde::Deserialize;

use crate::sla::Attainment;

/// Reading an output directory back failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadBackError {
    /// A file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not what `slaplan run` or `merge` writes.
    #[error("{path}: {why}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What was expected.
        why: String,
    },
}

/// What identifies the run in its `run.json`.
#[derive(Clone, Debug, Deserialize)]
pub struct RunRecord {
    /// SHA-256 of the scenario file's bytes.
    pub scenario_sha256: String,
    /// Master seed.
    pub seed: u64,
    /// Replications.
    pub replications: u64,
}

/// Reads `dir/run.json`.
pub fn read_run_record(dir: &Path) -> Result<RunRecord, ReadBackError> {
    let path = dir.join("run.json");
    let text = std::fs::read_to_string(&path).map_err(|source| ReadBackError::Io {
        path: path.clone(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| ReadBackError::Malformed {
        path,
        why: format!("not a run.json written by `slaplan run` or `merge`: {e}"),
    })
}

/// Every judgement of clause `clause` in `dir/windows.parquet`, with its
/// value, whether it held and its eligible and good counts (the window is
/// not read back: its index is 0).
pub fn read_judgements(dir: &Path, clause: usize) -> Result<Vec<Attainment>, ReadBackError> {
    let path = dir.join("windows.parquet");
    let file = std::fs::File::open(&path).map_err(|source| ReadBackError::Io {
        path: path.clone(),
        source,
    })?;
    let malformed = |why: String| ReadBackError::Malformed {
        path: path.clone(),
        why,
    };
    let frame: DataFrame = ParquetReader::new(file)
        .finish()
        .map_err(|e| malformed(format!("not a Parquet file: {e}")))?;
    let column = |name: &str| frame.column(name).map_err(|_| malformed(format!("no column {name:?}")));
    let wrong = |name: &str, ty: &str| malformed(format!("column {name:?} is not of type {ty}"));
    let clauses = column("clause_index")?
        .u64()
        .map_err(|_| wrong("clause_index", "UINT64"))?;
    let values = column("value")?.f64().map_err(|_| wrong("value", "DOUBLE"))?;
    let met = column("met")?.bool().map_err(|_| wrong("met", "BOOLEAN"))?;
    let eligible = column("eligible_calls")?
        .u64()
        .map_err(|_| wrong("eligible_calls", "UINT64"))?;
    let succeeded = column("succeeded_calls")?
        .u64()
        .map_err(|_| wrong("succeeded_calls", "UINT64"))?;
    let mut out = Vec::new();
    for i in 0..frame.height() {
        let missing = |name: &str| malformed(format!("row {i}: {name} is empty"));
        let c = clauses.get(i).ok_or_else(|| missing("clause_index"))?;
        if c != clause as u64 {
            continue;
        }
        out.push(Attainment {
            clause,
            window: 0,
            value: values.get(i),
            met: met.get(i).ok_or_else(|| missing("met"))?,
            eligible: eligible.get(i).ok_or_else(|| missing("eligible_calls"))?,
            succeeded: succeeded.get(i).ok_or_else(|| missing("succeeded_calls"))?,
            mean_latency_ms: None,
        });
    }
    Ok(out)
}
