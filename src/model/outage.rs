//! Outage schedules: stochastic renewal processes generated up front for a
//! replication, and the merge of every incident that hits one endpoint into
//! one timeline of disjoint stretches.
//!
//! A process alternates up times and repair times drawn from its laws (a
//! process naming a profile is several such processes, one per process of
//! the profile, drawn independently); its incidents hit every endpoint in
//! its scope (one endpoint, a provider's endpoints, a region's endpoints)
//! at the same instants. Where incidents overlap, the more severe mode is
//! in force (`Down` > `Hang` > `Brownout` > `QuotaSqueeze`; two of one kind
//! combine to the worst of each parameter).
//! This module owns no runtime state: the endpoint consults the timeline.

use rand::RngExt;
use rand_distr::{Distribution, Exp1, StandardNormal};

use crate::engine::{self, Rng};
use crate::scenario::{Law, OutageMode, Renewal, Scenario, Scope};
use crate::time::{Span, Time};

/// An incident in simulation time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Incident {
    /// First affected instant.
    pub start: Time,
    /// First unaffected instant.
    pub end: Time,
    /// Behaviour meanwhile.
    pub mode: OutageMode,
}

/// One draw from `law` with mean `mean` (at least 1 ns).
fn draw(rng: &mut Rng, law: Law, mean: Span, sigma: f64) -> Span {
    let m = mean.as_nanos() as f64;
    let x = match law {
        Law::Exponential => {
            let e: f64 = Exp1.sample(rng);
            m * e
        }
        Law::Lognormal => {
            let z: f64 = StandardNormal.sample(rng);
            m * (sigma * z - 0.5 * sigma * sigma).exp()
        }
    };
    Span::from_nanos(x.clamp(1.0, 1e18) as u64)
}

/// The incidents of one renewal process over `[0, horizon)`.
///
/// The process starts in its long-run state: down with probability
/// MTTR / (MTBF + MTTR), else up, the first stretch drawn from the ordinary
/// law (exact for exponential laws by memorylessness; for lognormal ones
/// the first stretch is slightly off its equilibrium law).
pub fn renewal_incidents(process: &Renewal, rng: &mut Rng, horizon: Time) -> Vec<Incident> {
    let (up, down) = (process.mtbf.as_nanos() as f64, process.mttr.as_nanos() as f64);
    let mut incidents = Vec::new();
    let mut now = Time::ZERO;
    let mut is_up = rng.random::<f64>() * (up + down) < up;
    while now < horizon {
        if is_up {
            now += draw(rng, process.uptime, process.mtbf, process.uptime_sigma);
        } else {
            let end = now + draw(rng, process.repair, process.mttr, process.repair_sigma);
            incidents.push(Incident {
                start: now,
                end: end.min(horizon),
                mode: process.mode,
            });
            now = end;
        }
        is_up = !is_up;
    }
    incidents
}

/// The stream name of process `index` of `processes`: `outages/<scope>`,
/// with `:<name>` appended for a profile's process (e.g.
/// `outages/provider/openai:major`) and `#k` for the k-th (k ≥ 1) earlier
/// process of the same name, so that two processes on one scope are
/// independent.
fn stream_name(processes: &[(Scope<'_>, Renewal)], index: usize) -> String {
    let label = |(scope, renewal): &(Scope<'_>, Renewal)| match renewal.component {
        Some(name) => format!("{}:{name}", scope.label()),
        None => scope.label(),
    };
    let own = label(&processes[index]);
    let repeats = processes[..index].iter().filter(|p| label(p) == own).count();
    if repeats == 0 {
        format!("outages/{own}")
    } else {
        format!("outages/{own}#{repeats}")
    }
}

/// Every process-generated incident of replication `replication`, per
/// endpoint (in the scenario's endpoint order), over `[0, horizon)`.
/// Unsorted; [`timeline`] orders and merges them.
pub fn process_incidents(scenario: &Scenario, replication: u64, horizon: Time) -> Vec<Vec<Incident>> {
    let processes: Vec<(Scope<'_>, Renewal)> = scenario
        .outage_processes
        .iter()
        .filter_map(|p| Some((p.scope()?, p.renewals())))
        .flat_map(|(scope, renewals)| renewals.into_iter().map(move |r| (scope, r)))
        .collect();
    let mut per_endpoint = vec![Vec::new(); scenario.endpoints.len()];
    for (i, (scope, renewal)) in processes.iter().enumerate() {
        let mut rng = engine::stream(scenario.simulation.seed, replication, &stream_name(&processes, i));
        let incidents = renewal_incidents(renewal, &mut rng, horizon);
        for (e, endpoint) in scenario.endpoints.iter().enumerate() {
            let hit = match *scope {
                Scope::Endpoint(n) => endpoint.name == n,
                Scope::Provider(n) => endpoint.provider == n,
                Scope::Region(n) => endpoint.region == n,
            };
            if hit {
                per_endpoint[e].extend_from_slice(&incidents);
            }
        }
    }
    per_endpoint
}

/// Merges possibly overlapping incidents into disjoint stretches sorted by
/// start, each with the worst mode in force ([`OutageMode::worst`]);
/// adjacent stretches with the same mode are joined.
pub fn timeline(incidents: &[Incident]) -> Vec<Incident> {
    let mut cuts: Vec<Time> = incidents
        .iter()
        .filter(|i| i.start < i.end)
        .flat_map(|i| [i.start, i.end])
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut by_start: Vec<&Incident> = incidents.iter().filter(|i| i.start < i.end).collect();
    by_start.sort_by_key(|i| i.start);
    let mut active: Vec<&Incident> = Vec::new();
    let mut next = 0;
    let mut out: Vec<Incident> = Vec::new();
    for pair in cuts.windows(2) {
        let (from, to) = (pair[0], pair[1]);
        active.retain(|i| i.end > from);
        while next < by_start.len() && by_start[next].start <= from {
            if by_start[next].end > from {
                active.push(by_start[next]);
            }
            next += 1;
        }
        let Some(mode) = active.iter().map(|i| i.mode).reduce(OutageMode::worst) else {
            continue;
        };
        match out.last_mut() {
            Some(last) if last.end == from && last.mode == mode => last.end = to,
            _ => out.push(Incident {
                start: from,
                end: to,
                mode,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u64) -> Time {
        Time::ZERO + Span::from_hours(h)
    }

    #[test]
    fn overlaps_resolve_to_the_more_severe_mode() {
        let brown = OutageMode::Brownout {
            latency_factor: 2.0,
            error_probability: 0.1,
        };
        let t = timeline(&[
            Incident {
                start: at(0),
                end: at(10),
                mode: brown,
            },
            Incident {
                start: at(2),
                end: at(4),
                mode: OutageMode::Down,
            },
            Incident {
                start: at(3),
                end: at(6),
                mode: OutageMode::QuotaSqueeze { rpm: 5 },
            },
        ]);
        let got: Vec<(Time, Time, u8)> = t.iter().map(|i| (i.start, i.end, i.mode.severity())).collect();
        assert_eq!(got, vec![(at(0), at(2), 1), (at(2), at(4), 3), (at(4), at(10), 1)]);
    }

    #[test]
    fn two_brownouts_combine_to_the_worst_of_each_parameter() {
        let a = OutageMode::Brownout {
            latency_factor: 3.0,
            error_probability: 0.1,
        };
        let b = OutageMode::Brownout {
            latency_factor: 2.0,
            error_probability: 0.4,
        };
        assert_eq!(
            a.worst(b),
            OutageMode::Brownout {
                latency_factor: 3.0,
                error_probability: 0.4
            }
        );
    }
}
