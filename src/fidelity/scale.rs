//! A scenario compressed in time by a factor K: arrival rates K times
//! higher, think and tool times and task deadlines K times shorter, the
//! endpoints as they are. It is what `load --time-scale K` drives, written
//! as a scenario so that the simulator can predict it.
//!
//! Time-of-day shaping (diurnal and weekly profiles, bursts, daily
//! batches) would need the endpoints' clock compressed too, which a real
//! target cannot do: a scenario with any of it is compressed only at K = 1.

use super::FidelityError;
use crate::scenario::{Scenario, Shape, Step};
use crate::time::Span;

/// `scenario` compressed by `k` (a clone at `k == 1`).
pub fn compress(scenario: &Scenario, k: f64) -> Result<Scenario, FidelityError> {
    if !(k.is_finite() && k > 0.0) {
        return Err(FidelityError::TimeScale(format!("{k}: expected a positive number")));
    }
    let mut out = scenario.clone();
    if k == 1.0 {
        return Ok(out);
    }
    let shorter = |s: Span| Span::from_nanos((s.as_nanos() as f64 / k) as u64);
    let step = |s: &mut Step| {
        s.think = shorter(s.think);
        if let Some(tool) = &mut s.tool {
            tool.duration = shorter(tool.duration);
        }
    };
    for (ti, t) in out.tenants.iter_mut().enumerate() {
        for (wi, w) in t.workflows.iter_mut().enumerate() {
            let shaped = w.diurnal.is_some() || w.weekly.is_some() || w.bursts.is_some() || !w.batches.is_empty();
            if shaped {
                return Err(FidelityError::TimeScale(format!(
                    "{k}: tenants[{ti}].workflows[{wi}] ({:?}) has a diurnal or weekly profile, bursts or batches, \
                     which only run in real time: use --time-scale 1",
                    w.name
                )));
            }
            w.rate = w.rate.map(|r| r * k);
            w.deadline = w.deadline.map(shorter);
            match &mut w.shape {
                Shape::Single => {}
                Shape::Chain(s) => step(s),
                Shape::Swarm { agent, .. } => step(agent),
            }
        }
    }
    Ok(out)
}
