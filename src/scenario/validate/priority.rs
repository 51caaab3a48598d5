//! Warnings: settings the router accepts that let a call wait where the
//! router's class order cannot help it.
//!
//! The router serves waiting calls in strict class priority, but only the
//! calls it holds in its own queues. An endpoint whose `max_concurrency`
//! is above the provider's `concurrency` hands the extra attempts to the
//! provider, where they wait first come, first served (with a provider
//! queue) or are refused with a 503 (without one). Neither is an error: a
//! scenario may model exactly that. They are reported as warnings, with
//! their lines, and the scenario loads.
//!
//! What is deliberately not warned about: lower-class attempts holding
//! every slot of a shared endpoint. Attempts are never preempted, so a
//! higher-class call then waits for the first slot to free (the residual
//! service time, which the router's priority already keeps to one slot's
//! worth); no endpoint setting removes it (`reserved` slots can be
//! borrowed while their class is idle), only a lower tenant's own
//! `max_concurrency` below the endpoint's cap does.

use std::collections::BTreeSet;

use super::SourceMap;
use crate::policy::SlaClass;
use crate::scenario::{Problem, Scenario};

/// Every warning for `scenario`, sorted by line; `source` is its text.
pub fn warnings(scenario: &Scenario, source: &str) -> Vec<Problem> {
    let map = SourceMap::parse(source);
    let mut out = Vec::new();
    for (i, e) in scenario.endpoints.iter().enumerate() {
        let Some(cap) = e.router.max_concurrency else {
            continue; // the default: the provider's slots
        };
        let slots = e.concurrency;
        if cap <= slots {
            continue;
        }
        let path = format!("endpoints[{i}].max_concurrency");
        let line = map.nearest_line(&path);
        let extra = cap - slots;
        if e.queue_limit == 0 {
            out.push(Problem::new(
                path,
                line,
                format!(
                    "max_concurrency {cap} is above the provider's concurrency {slots} and there is no \
                     provider queue (queue_limit = 0): the router sends up to {extra} attempts the provider \
                     refuses at once with a 503; leave max_concurrency out (it defaults to concurrency) so \
                     they wait in the router's queues instead"
                ),
            ));
            continue;
        }
        let classes = classes_on(scenario, &e.router.name);
        if classes.len() < 2 {
            continue;
        }
        let names: Vec<&str> = classes.iter().map(|c| c.name()).collect();
        out.push(Problem::new(
            path,
            line,
            format!(
                "max_concurrency {cap} is above the provider's concurrency {slots} with a provider queue \
                 (queue_limit = {}): up to {} attempts wait in the provider's first-come-first-served queue, \
                 where a {} call can wait behind {} ones, and the router's class priority no longer applies; \
                 leave max_concurrency out (it defaults to concurrency) so waiting calls stay in the \
                 router's class-ordered queues",
                e.queue_limit,
                extra.min(e.queue_limit),
                names[0],
                names[1..].join(" and "),
            ),
        ));
    }
    out.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
    out
}

/// The classes of the tenants whose chain names endpoint `name`, highest
/// first.
fn classes_on(scenario: &Scenario, name: &str) -> BTreeSet<SlaClass> {
    scenario
        .tenants
        .iter()
        .filter(|t| t.router.chain.iter().any(|s| s.endpoint == name))
        .map(|t| t.router.class)
        .collect()
}
