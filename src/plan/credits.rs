//! Service credits across replications: per clause with a credit schedule
//! and per tenant (the sum of its clauses' credits), the expected credits
//! per month and per year with an interval, the probability that a month
//! pays any credit, and the 95th percentile of yearly credits.
//!
//! A replication's months are one sample of the contract: its mean monthly
//! credit is one draw, and the interval is Student's t over replications
//! (months of one replication may be correlated; replications are
//! independent). A year is 12 months: the expected yearly credit is 12
//! times the monthly one, and a replication's yearly credit is its total
//! scaled to 12 months (exact when the period is a year of 12 months).
//! Memory: running sums per clause and tenant, and one value per
//! replication and entity in a [`ValueStore`] for the exact quantile.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};

use super::quantile::ValueStore;
use super::{Replication, clopper_pearson};
use crate::sla::Clause;

/// Months in a year, for yearly credits.
const MONTHS_PER_YEAR: f64 = 12.0;

/// The quantile of yearly credits reported.
pub const YEAR_QUANTILE: f64 = 0.95;

/// Credits of one clause, or of a tenant's clauses together.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CreditSummary {
    /// Index of the tenant.
    pub tenant: usize,
    /// Index of the clause; `None` for the tenant's total.
    pub clause: Option<usize>,
    /// Months judged (replications × months).
    pub months: u64,
    /// Months that paid any credit.
    pub months_paying: u64,
    /// Expected credit per month, USD.
    pub month_mean: f64,
    /// Its interval (Student's t over replications); `None` with fewer
    /// than two replications.
    pub month_interval: Option<(f64, f64)>,
    /// The probability that a month pays any credit.
    pub p_any: f64,
    /// Its Clopper-Pearson interval.
    pub p_any_interval: (f64, f64),
    /// The 95th percentile (nearest rank) of a replication's yearly credit.
    pub year_p95: f64,
}

impl CreditSummary {
    /// Expected credit per year, USD.
    pub fn year_mean(&self) -> f64 {
        self.month_mean * MONTHS_PER_YEAR
    }

    /// Its interval.
    pub fn year_interval(&self) -> Option<(f64, f64)> {
        self.month_interval
            .map(|(lo, hi)| (lo * MONTHS_PER_YEAR, hi * MONTHS_PER_YEAR))
    }
}

/// Running figures of one entity (a clause or a tenant).
#[derive(Clone, Copy, Debug, Default)]
struct Running {
    replications: u64,
    /// Welford's mean and sum of squared deviations of the replications'
    /// mean monthly credit.
    mean: f64,
    m2: f64,
    months: u64,
    months_paying: u64,
}

impl Running {
    fn add(&mut self, x: f64) {
        self.replications += 1;
        let delta = x - self.mean;
        self.mean += delta / self.replications as f64;
        self.m2 += delta * (x - self.mean);
    }
}

/// The credit tally of a run, one replication at a time.
pub struct CreditTally {
    /// For each clause with a schedule: its index and tenant.
    credited: Vec<(usize, usize)>,
    /// Tenants with a credited clause, in index order.
    tenants: Vec<usize>,
    /// Entities: the credited clauses, then the tenants.
    running: Vec<Running>,
    /// Yearly credit per replication, keyed by entity.
    years: ValueStore,
}

impl CreditTally {
    /// A tally of the credited clauses of `clauses`, keeping yearly credits in `years`.
    pub fn new(clauses: &[Clause], years: ValueStore) -> CreditTally {
        let credited: Vec<(usize, usize)> = clauses
            .iter()
            .enumerate()
            .filter(|(_, c)| c.credits.is_some())
            .map(|(i, c)| (i, c.tenant))
            .collect();
        let mut tenants: Vec<usize> = credited.iter().map(|&(_, t)| t).collect();
        tenants.sort_unstable();
        tenants.dedup();
        let running = vec![Running::default(); credited.len() + tenants.len()];
        CreditTally {
            credited,
            tenants,
            running,
            years,
        }
    }

    /// Whether any clause carries credits.
    pub fn is_empty(&self) -> bool {
        self.credited.is_empty()
    }

    /// Counts one replication.
    pub fn add(&mut self, clauses: &[Clause], rep: &Replication) -> std::io::Result<()> {
        if self.is_empty() {
            return Ok(());
        }
        // Per tenant, the credit of each month (window index).
        let mut tenant_months: Vec<Vec<f64>> = vec![Vec::new(); self.tenants.len()];
        for e in 0..self.credited.len() {
            let (ci, tenant) = self.credited[e];
            let clause = &clauses[ci];
            let Some(schedule) = &clause.credits else {
                continue;
            };
            let ti = self.tenant_entity(tenant);
            let (mut total, mut months, mut paying) = (0.0, 0u64, 0u64);
            for a in rep.attainment.iter().filter(|a| a.clause == ci) {
                let usd = schedule.usd(clause.direction(), a);
                total += usd;
                months += 1;
                paying += u64::from(usd > 0.0);
                let per_month = &mut tenant_months[ti];
                if per_month.len() <= a.window {
                    per_month.resize(a.window + 1, 0.0);
                }
                per_month[a.window] += usd;
            }
            self.record(e, total, months, paying)?;
        }
        for (ti, per_month) in tenant_months.iter().enumerate() {
            let total: f64 = per_month.iter().sum();
            let paying = per_month.iter().filter(|&&x| x > 0.0).count() as u64;
            self.record(self.credited.len() + ti, total, per_month.len() as u64, paying)?;
        }
        Ok(())
    }

    fn tenant_entity(&self, tenant: usize) -> usize {
        self.tenants.binary_search(&tenant).unwrap_or_default()
    }

    fn record(&mut self, entity: usize, total: f64, months: u64, paying: u64) -> std::io::Result<()> {
        let r = &mut self.running[entity];
        let mean = if months == 0 { 0.0 } else { total / months as f64 };
        r.add(mean);
        r.months += months;
        r.months_paying += paying;
        self.years.push(entity as u32, mean * MONTHS_PER_YEAR)
    }

    /// The summaries: each credited clause, then each tenant's total;
    /// intervals at `level`.
    pub fn finish(self, level: f64) -> std::io::Result<Vec<CreditSummary>> {
        let quantiles = self.years.quantiles(&[YEAR_QUANTILE])?;
        let entities = self
            .credited
            .iter()
            .map(|&(ci, t)| (t, Some(ci)))
            .chain(self.tenants.iter().map(|&t| (t, None)));
        Ok(entities
            .zip(&self.running)
            .enumerate()
            .map(|(e, ((tenant, clause), r))| CreditSummary {
                tenant,
                clause,
                months: r.months,
                months_paying: r.months_paying,
                month_mean: r.mean,
                month_interval: t_interval(r, level),
                p_any: if r.months == 0 {
                    0.0
                } else {
                    r.months_paying as f64 / r.months as f64
                },
                p_any_interval: clopper_pearson(r.months_paying, r.months, level),
                year_p95: quantiles.get(e).and_then(|q| q.as_ref()).map_or(0.0, |q| q[0]),
            })
            .collect())
    }
}

/// Student's t interval of the mean at `level`, from two replications on.
fn t_interval(r: &Running, level: f64) -> Option<(f64, f64)> {
    if r.replications < 2 {
        return None;
    }
    let n = r.replications as f64;
    let t = StudentsT::new(0.0, 1.0, n - 1.0).ok()?.inverse_cdf(0.5 + level / 2.0);
    let half = t * (r.m2 / (n - 1.0) / n).sqrt();
    Some((r.mean - half, r.mean + half))
}
