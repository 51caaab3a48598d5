//! [`Replay`]: default names, time scaling and looping over a [`TraceReader`].

use super::{TraceError, TraceReader, TraceRecord};
use crate::time::Span;

const PPB: u128 = 1_000_000_000;

/// How trace records become calls; see the module docs for the rules.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplayRules {
    /// The tenant of records that name none.
    pub default_tenant: String,
    /// The workflow of records that name none.
    pub default_workflow: String,
    /// Speed-up factor: 2.0 replays twice as fast, 0.5 half as fast.
    pub time_scale: f64,
    /// Replay lap after lap until this period is filled; `None` for one pass.
    pub loop_to_fill: Option<Span>,
}

impl Default for ReplayRules {
    fn default() -> Self {
        ReplayRules {
            default_tenant: "trace".into(),
            default_workflow: "replay".into(),
            time_scale: 1.0,
            loop_to_fill: None,
        }
    }
}

/// Rules that cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum ReplayRulesError {
    /// The speed-up factor is zero, negative, not finite or too small.
    #[error("time_scale: expected a finite factor of at least 0.000000001 (2.0 replays twice as fast), got {0}")]
    TimeScale(f64),
}

/// One call of a replay: a record with its tenant and workflow settled and
/// its offset scaled and shifted by its lap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayedRecord {
    /// The record, with `tenant` and `workflow` always `Some` and `at` the
    /// replay offset.
    pub record: TraceRecord,
    /// Which pass over the trace (0 for the first).
    pub lap: u64,
}

/// A trace replayed under [`ReplayRules`]: yields records sorted by offset.
pub struct Replay {
    reader: TraceReader,
    tenant: String,
    workflow: String,
    scale_ppb: u128,
    period: Option<Span>,
    lap: u64,
    lap_length: Option<u64>,
    shift: u64,
    last_scaled: u64,
    done: bool,
}

impl ReplayRules {
    /// `time_scale` in parts per billion, checked.
    pub(super) fn scale_ppb(&self) -> Result<u128, ReplayRulesError> {
        let ppb = (self.time_scale * PPB as f64).round();
        if !(1.0..=1e30).contains(&ppb) {
            return Err(ReplayRulesError::TimeScale(self.time_scale));
        }
        Ok(ppb as u128)
    }

    /// Replays `reader` under these rules.
    pub fn apply(self, reader: TraceReader) -> Result<Replay, ReplayRulesError> {
        let scale_ppb = self.scale_ppb()?;
        Ok(Replay {
            reader,
            tenant: self.default_tenant,
            workflow: self.default_workflow,
            scale_ppb,
            period: self.loop_to_fill,
            lap: 0,
            lap_length: None,
            shift: 0,
            last_scaled: 0,
            done: false,
        })
    }
}

impl Replay {
    /// The lap length `L` (scaled span plus one mean gap), known once the
    /// first lap has been read to its end and looping was asked for.
    pub fn lap_length(&self) -> Option<Span> {
        self.lap_length.map(Span::from_nanos)
    }

    /// Starts the next lap, or ends the replay.
    fn next_lap(&mut self) -> Result<bool, TraceError> {
        let Some(period) = self.period else {
            return Ok(false);
        };
        let length = match self.lap_length {
            Some(length) => length,
            None => {
                let records = self.reader.records();
                if records == 0 {
                    return Ok(false);
                }
                if records < 2 || self.last_scaled == 0 {
                    return Err(TraceError::CannotLoop {
                        file: self.reader.file().to_string(),
                        line: self.reader.line(),
                        field: self.reader.time_field().to_string(),
                        records,
                    });
                }
                let length = self.last_scaled + self.last_scaled / (records - 1);
                self.lap_length = Some(length);
                length
            }
        };
        match next_lap(self.lap, length, period) {
            Some((lap, shift)) => {
                self.reader = self.reader.rewind()?;
                self.lap = lap;
                self.shift = shift;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn step(&mut self) -> Result<Option<ReplayedRecord>, TraceError> {
        loop {
            let Some(record) = self.reader.next().transpose()? else {
                if self.next_lap()? {
                    continue;
                }
                return Ok(None);
            };
            let scaled = scale(record.at.as_nanos(), self.scale_ppb);
            if self.lap == 0 {
                self.last_scaled = scaled;
            }
            let at = self.shift.saturating_add(scaled);
            if self.period.is_some_and(|p| at >= p.as_nanos()) {
                return Ok(None);
            }
            let record = TraceRecord {
                at: Span::from_nanos(at),
                tenant: record.tenant.or_else(|| Some(self.tenant.clone())),
                workflow: record.workflow.or_else(|| Some(self.workflow.clone())),
                ..record
            };
            return Ok(Some(ReplayedRecord { record, lap: self.lap }));
        }
    }
}

impl Iterator for Replay {
    type Item = Result<ReplayedRecord, TraceError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.step().transpose();
        if !matches!(item, Some(Ok(_))) {
            self.done = true;
        }
        item
    }
}

/// `nanos` divided by a time scale given in parts per billion, halves
/// rounded up.
pub(super) fn scale(nanos: u64, scale_ppb: u128) -> u64 {
    let scaled = (u128::from(nanos) * PPB + scale_ppb / 2) / scale_ppb;
    u64::try_from(scaled).unwrap_or(u64::MAX)
}

/// The lap after `lap` of a trace looped to fill `period`, each lap
/// `length` ns long: its number and its time shift, or `None` once the
/// lap would start at or after the period's end (or overflow).
pub(super) fn next_lap(lap: u64, length: u64, period: Span) -> Option<(u64, u64)> {
    let lap = lap.checked_add(1)?;
    let shift = lap.checked_mul(length)?;
    (shift < period.as_nanos()).then_some((lap, shift))
}
