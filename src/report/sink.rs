//! The output files of a run written as its replications stream in, one
//! at a time and in index order, whether they come from the simulator
//! (`run`) or from shard files (`merge`): both go through this one path, so
//! the same replications give the same bytes.
//!
//! Memory does not grow with the replications: `windows.csv` rows are
//! written as they arrive and `windows.parquet` gets one row group per
//! [`ROW_GROUP_ROWS`] rows (a fixed cut, so the bytes do not depend on how
//! the replications were batched); per-clause counts, latency and driver
//! sums are running totals; the metric values behind `summary.csv`'s
//! percentiles and the budget curves behind `budget.csv`'s are spilled to
//! an unnamed temporary file and selected exactly at the end
//! (`plan::quantile`).

use std::path::{Path, PathBuf};

use super::columns::{Table, TableWriter};
use super::credits::write_credits;
use super::files::{
    OutputError, RunIdentity, RunMeta, Timing, WindowRow, io_err, window_rows, windows_table, write_run_json,
    write_summary,
};
use super::measures::{MeasureSums, clause_windows};
use crate::model::RunStats;
use crate::plan::credits::{CreditSummary, CreditTally};
use crate::plan::quantile::ValueStore;
use crate::plan::sequential::{BetaMixture, Sequential, UntilDecided};
use crate::plan::{ClauseSummary, Replication, Summarizer};
use crate::scenario::Scenario;
use crate::sla::{Attainment, Clause, Window};

/// Rows of `windows.parquet` per row group (the last may hold fewer).
pub const ROW_GROUP_ROWS: usize = 4_096;

/// An output directory being filled, one replication at a time.
pub struct OutputSink<'s> {
    dir: PathBuf,
    scenario: &'s Scenario,
    clauses: &'s [Clause],
    /// The clauses in the one-line grammar's words, as every file names them.
    texts: Vec<String>,
    windows: Vec<Vec<Window>>,
    table: TableWriter,
    /// Judgements not yet written as a row group.
    pending: Vec<(u64, Attainment)>,
    summary: Summarizer,
    credits: CreditTally,
    measures: MeasureSums,
    totals: RunStats,
    /// The index the next replication must have at least.
    next: u64,
    replications: u64,
    /// With `--until-decided`: the sequences whose intervals and verdicts
    /// replace the fixed-n ones, and what `run.json` records of the stop.
    until_decided: Option<(Sequential, UntilDecided)>,
}

/// What a finished output directory holds besides its files.
pub struct Written {
    /// Its `run.json`.
    pub meta: RunMeta,
    /// One summary per clause, as in `summary.csv`.
    pub summary: Vec<ClauseSummary>,
    /// Service credits: each credited clause, then each tenant's total
    /// (empty when no clause carries credits), as in `credits.csv`.
    pub credits: Vec<CreditSummary>,
}

impl<'s> OutputSink<'s> {
    /// Starts the files of a run of `scenario` in directory `dir` (a
    /// temporary directory that the caller renames into place).
    pub fn create(dir: &Path, scenario: &'s Scenario, clauses: &'s [Clause]) -> Result<OutputSink<'s>, OutputError> {
        let windows = clause_windows(scenario, clauses);
        let table = TableWriter::create(
            &dir.join("windows.csv"),
            &dir.join("windows.parquet"),
            &windows_table(&[]),
        )?;
        let spill = |name: &str| ValueStore::spill_in(dir).map_err(io_err(&dir.join(name)));
        Ok(OutputSink {
            dir: dir.to_path_buf(),
            scenario,
            clauses,
            texts: super::clause_texts(scenario, clauses),
            windows,
            table,
            pending: Vec::with_capacity(ROW_GROUP_ROWS),
            summary: Summarizer::new(clauses.len(), spill("summary.csv")?),
            credits: CreditTally::new(clauses, spill("credits.csv")?),
            measures: MeasureSums::new(spill("budget.csv")?),
            totals: RunStats::default(),
            next: 0,
            replications: 0,
            until_decided: None,
        })
    }

    /// Adds the next replication: its index must be larger than the last one's.
    pub fn add(&mut self, rep: &Replication) -> Result<(), OutputError> {
        if rep.index < self.next {
            return Err(OutputError::Inconsistent(format!(
                "replication {} arrived after replication {}: replications must come in index order",
                rep.index,
                self.next - 1
            )));
        }
        self.next = rep.index + 1;
        self.replications += 1;
        let path = self.dir.join("summary.csv");
        self.summary.add(rep).map_err(io_err(&path))?;
        let path = self.dir.join("credits.csv");
        self.credits.add(self.clauses, rep).map_err(io_err(&path))?;
        let path = self.dir.join("budget.csv");
        self.measures.add(self.clauses, rep).map_err(io_err(&path))?;
        self.totals.add(&rep.stats);
        for a in &rep.attainment {
            self.pending.push((rep.index, *a));
            if self.pending.len() == ROW_GROUP_ROWS {
                self.flush_rows()?;
            }
        }
        Ok(())
    }

    /// Writes the pending judgements as rows (one row group).
    fn flush_rows(&mut self) -> Result<(), OutputError> {
        let rows: Vec<WindowRow<'_>> = window_rows(self.clauses, &self.texts, &self.windows, &self.pending)?;
        let part: Table<'_, WindowRow<'_>> = windows_table(&rows);
        self.table.write(&part)?;
        self.pending.clear();
        Ok(())
    }

    /// Replications added so far.
    pub fn replications(&self) -> u64 {
        self.replications
    }

    /// Marks the run as stopped by `--until-decided`: `summary.csv` then
    /// carries `sequential`'s intervals and verdicts, and `run.json`
    /// records `record`.
    pub fn until_decided(&mut self, sequential: Sequential, record: UntilDecided) {
        self.until_decided = Some((sequential, record));
    }

    /// Writes the remaining files and `run.json` (with `extra` files beside
    /// them): `wall_seconds` and `threads` describe the run for its timing.
    pub fn finish(
        mut self,
        id: RunIdentity,
        wall_seconds: f64,
        threads: usize,
        extra: &[(&str, Vec<u8>)],
    ) -> Result<Written, OutputError> {
        if self.replications != id.replications {
            return Err(OutputError::Inconsistent(format!(
                "{} replication(s) written for a run of {}",
                self.replications, id.replications
            )));
        }
        if !self.pending.is_empty() {
            self.flush_rows()?;
        }
        self.table.finish()?;
        let path = self.dir.join("summary.csv");
        let kinds = crate::plan::clause_kinds(self.clauses);
        let sequence = self
            .until_decided
            .as_ref()
            .map(|_| BetaMixture::new(id.interval_level, id.required_confidence));
        let mut summary = self
            .summary
            .finish(id.required_confidence, id.interval_level, &kinds, sequence)
            .map_err(io_err(&path))?;
        if let Some((sequential, _)) = &self.until_decided {
            sequential.apply(&mut summary);
        }
        let credits_path = self.dir.join("credits.csv");
        let credits_written = !self.credits.is_empty();
        let credits = self.credits.finish(id.interval_level).map_err(io_err(&credits_path))?;
        write_summary(&path, self.scenario, self.clauses, &summary, &credits)?;
        if credits_written {
            write_credits(&credits_path, self.scenario, self.clauses, &credits)?;
        }
        self.measures
            .write(&self.dir, self.scenario, self.clauses, &self.texts, &self.windows)?;
        let totals = self.totals;
        let meta = RunMeta::new(
            id,
            self.scenario,
            totals,
            Timing {
                wall_seconds,
                threads,
                calls_per_second: totals.calls as f64 / wall_seconds.max(1e-9),
            },
        );
        let meta = match self.until_decided {
            Some((_, record)) => meta.until_decided(record),
            None => meta,
        };
        write_run_json(&self.dir, &meta)?;
        for (name, bytes) in extra {
            let path = self.dir.join(name);
            std::fs::write(&path, bytes).map_err(io_err(&path))?;
        }
        Ok(Written { meta, summary, credits })
    }
}
