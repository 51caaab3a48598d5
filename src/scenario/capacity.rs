//! Offered load against capacity, from the scenario alone: for each
//! endpoint, the work its tenants' first tier sends there (arrival rates ×
//! calls per task × mean service time) against its slots, and the calls and
//! tokens per minute against its rate limits. `validate` and `run` warn when
//! an endpoint is offered as much as it can serve or more: its queue then
//! grows without bound (see the overload guard of `model::World`).
//!
//! It is an estimate of the steady state with every call served at its
//! tenant's first tier (a pool shares its calls in proportion to its
//! members' capacity), every model call succeeding (tool failures, which
//! end a task, are counted), and a chain's context growing by the mean
//! outputs and tool results of the steps before, capped. Replayed workflows
//! are left out: their rate is the trace's.

use super::error::Problem;
use super::spans::SourceMap;
use super::types::{CountDist, Endpoint, Latency, Scenario, Shape, Step, Tenant, TokenDist, Workflow};

/// What one endpoint is offered.
#[derive(Clone, Debug, PartialEq)]
pub struct EndpointLoad {
    /// The endpoint's index in the scenario.
    pub endpoint: usize,
    /// Offered work over capacity, on average over the period: the share
    /// of its slots busy, or of its calls or tokens per minute used,
    /// whichever is largest (1 or more: the queue grows without bound).
    pub utilisation: f64,
    /// The same in the busiest hour (the largest hour-of-day, day-of-week
    /// and burst factors at once).
    pub peak: f64,
    /// What binds: `"slots"`, `"rpm"` or `"tpm"`.
    pub limit: &'static str,
    /// Each tenant's share of `utilisation`, by tenant index, largest first.
    pub by_tenant: Vec<(usize, f64)>,
}

/// The offered load of every endpoint some tenant sends calls to.
pub fn offered_load(s: &Scenario) -> Vec<EndpointLoad> {
    let n = s.endpoints.len();
    // Per endpoint: slot-seconds per second, calls per second, tokens per
    // second, each per tenant; and the same at peak.
    let mut work = vec![vec![0.0; s.tenants.len()]; n];
    let mut calls = vec![0.0; n];
    let mut tokens = vec![0.0; n];
    let mut peak_work = vec![0.0; n];
    let mut peak_calls = vec![0.0; n];
    let mut peak_tokens = vec![0.0; n];
    for (t, tenant) in s.tenants.iter().enumerate() {
        let pool = first_pool(s, tenant);
        if pool.is_empty() {
            continue;
        }
        for w in tenant.workflows.iter().filter(|w| w.replay.is_none()) {
            let (rate, peak_rate) = task_rates(w);
            let per_task = calls_per_task(&w.shape);
            let input = mean_input(w);
            let output = mean_tokens(&w.output_tokens);
            let service: Vec<f64> = pool
                .iter()
                .map(|&e| mean_service(&s.endpoints[e], input, output))
                .collect();
            let capacity: Vec<f64> = pool
                .iter()
                .zip(&service)
                .map(|(&e, &sv)| f64::from(s.endpoints[e].concurrency) / sv.max(f64::MIN_POSITIVE))
                .collect();
            let total: f64 = capacity.iter().sum();
            for ((&e, &sv), &cap) in pool.iter().zip(&service).zip(&capacity) {
                let share = if total > 0.0 {
                    cap / total
                } else {
                    1.0 / pool.len() as f64
                };
                let lambda = rate * per_task * share;
                let peak_lambda = peak_rate * per_task * share;
                work[e][t] += lambda * sv;
                peak_work[e] += peak_lambda * sv;
                calls[e] += lambda;
                peak_calls[e] += peak_lambda;
                tokens[e] += lambda * (input + output);
                peak_tokens[e] += peak_lambda * (input + output);
            }
        }
    }
    (0..n)
        .filter(|&e| calls[e] > 0.0)
        .map(|e| {
            let ep = &s.endpoints[e];
            let slots = f64::from(ep.concurrency.max(1));
            let rpm = [ep.rpm, ep.provider_rpm].into_iter().flatten().min().map(f64::from);
            let tpm = [ep.tpm, ep.provider_tpm].into_iter().flatten().min().map(|v| v as f64);
            let ratios = |work: f64, calls: f64, tokens: f64| {
                [
                    ("slots", work / slots),
                    ("rpm", rpm.map_or(0.0, |r| calls * 60.0 / r)),
                    ("tpm", tpm.map_or(0.0, |r| tokens * 60.0 / r)),
                ]
            };
            let busiest =
                |r: [(&'static str, f64); 3]| r.into_iter().fold(("slots", 0.0), |a, b| if b.1 > a.1 { b } else { a });
            let total_work: f64 = work[e].iter().sum();
            let (limit, utilisation) = busiest(ratios(total_work, calls[e], tokens[e]));
            let (_, peak) = busiest(ratios(peak_work[e], peak_calls[e], peak_tokens[e]));
            let mut by_tenant: Vec<(usize, f64)> = work[e]
                .iter()
                .enumerate()
                .filter(|&(_, &w)| w > 0.0)
                .map(|(t, &w)| (t, utilisation * w / total_work.max(f64::MIN_POSITIVE)))
                .collect();
            by_tenant.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            EndpointLoad {
                endpoint: e,
                utilisation,
                peak: peak.max(utilisation),
                limit,
                by_tenant,
            }
        })
        .collect()
}

/// The warnings for endpoints offered their capacity or more: on average
/// (the queue grows without bound) or in the busiest hour (queues build
/// then), placed on each endpoint's table in `source`.
pub fn warnings(s: &Scenario, source: &str) -> Vec<Problem> {
    let map = SourceMap::parse(source);
    overload_warnings(s)
        .into_iter()
        .map(|(e, message)| {
            let path = format!("endpoints[{e}]");
            let line = map.nearest_line(&path);
            Problem::new(path, line, message)
        })
        .collect()
}

/// The messages of [`warnings`], by endpoint index.
fn overload_warnings(s: &Scenario) -> Vec<(usize, String)> {
    offered_load(s)
        .into_iter()
        .filter(|l| l.peak >= 1.0)
        .map(|l| {
            let name = &s.endpoints[l.endpoint].name;
            let tenants: Vec<String> = l
                .by_tenant
                .iter()
                .take(3)
                .map(|&(t, u)| format!("{:?} {}", s.tenants[t].name, times(u)))
                .collect();
            let what = match l.limit {
                "slots" => "its slots",
                "rpm" => "its requests per minute",
                _ => "its tokens per minute",
            };
            let message = if l.utilisation >= 1.0 {
                let fate = match s.router.max_queue {
                    Some(n) => format!("calls waiting beyond `max_queue` ({n}) are shed"),
                    None => "its queue grows without bound (a run stops at `max_live_calls`) \
                             unless `max_queue` sheds the excess"
                        .to_string(),
                };
                format!(
                    "endpoint {name:?} is offered {} {what} on average (tenants {}): {fate}",
                    times(l.utilisation),
                    tenants.join(", ")
                )
            } else {
                format!(
                    "endpoint {name:?} is offered {} {what} in the busiest hour ({} on average; tenants {}): \
                     calls queue then and drain later",
                    times(l.peak),
                    times(l.utilisation),
                    tenants.join(", ")
                )
            };
            (l.endpoint, message)
        })
        .collect()
}

fn times(u: f64) -> String {
    if u >= 100.0 {
        format!("{u:.0}×")
    } else {
        format!("{u:.2}×")
    }
}

/// The endpoints of the tenant's first pool it may be served at: the
/// consecutive chain steps at the first allowed tier.
fn first_pool(s: &Scenario, tenant: &Tenant) -> Vec<usize> {
    let steps: Vec<(u8, usize)> = tenant
        .chain
        .iter()
        .filter_map(|step| {
            let tier = step.tier.0;
            let e = s.endpoints.iter().position(|e| e.name == step.endpoint)?;
            let allowed = tenant.allowed_tiers.is_empty() || tenant.allowed_tiers.iter().any(|a| a.0 == tier);
            let region = tenant.regions.is_empty() || tenant.regions.contains(&s.endpoints[e].region);
            (allowed && region).then_some((tier, e))
        })
        .collect();
    let Some(&(tier, _)) = steps.first() else {
        return Vec::new();
    };
    steps.iter().take_while(|(t, _)| *t == tier).map(|&(_, e)| e).collect()
}

/// Tasks per second: on average and in the busiest hour.
fn task_rates(w: &Workflow) -> (f64, f64) {
    let mean = |v: &Option<Vec<f64>>| {
        v.as_ref()
            .filter(|v| !v.is_empty())
            .map_or(1.0, |v| v.iter().sum::<f64>() / v.len() as f64)
    };
    let max = |v: &Option<Vec<f64>>| {
        v.as_ref()
            .and_then(|v| v.iter().copied().reduce(f64::max))
            .unwrap_or(1.0)
    };
    let (burst_mean, burst_max) = w.bursts.as_ref().map_or((1.0, 1.0), |b| {
        let on = b.mean_on.as_secs_f64();
        let off = b.mean_off.as_secs_f64();
        let share = if on + off > 0.0 { on / (on + off) } else { 0.0 };
        ((1.0 - share) + share * b.factor, b.factor.max(1.0))
    });
    let batches: f64 = w.batches.iter().map(|b| f64::from(b.tasks)).sum::<f64>() / 86_400.0;
    let rate = w.rate.unwrap_or(0.0) * mean(&w.diurnal) * mean(&w.weekly) * burst_mean + batches;
    let peak = w.rate.unwrap_or(0.0) * max(&w.diurnal) * max(&w.weekly) * burst_max + batches;
    (rate, peak)
}

/// Mean model calls per task, every model call succeeding.
fn calls_per_task(shape: &Shape) -> f64 {
    match shape {
        Shape::Single => 1.0,
        Shape::Chain(step) => chain_calls(step),
        Shape::Swarm {
            agents,
            agent,
            aggregator,
        } => 1.0 + count_mean(agents) * chain_calls(agent) + if *aggregator { 1.0 } else { 0.0 },
    }
}

/// Mean calls of one agent running `step`: each step is a call, then with
/// the tool's probability a tool that fails (ending the task) or is
/// followed by its interpretation calls.
fn chain_calls(step: &Step) -> f64 {
    let (p, fail, followups) = step.tool.as_ref().map_or((0.0, 0.0, 0.0), |t| {
        (t.probability, t.failure_probability, f64::from(t.followups))
    });
    let per_step = 1.0 + p * (1.0 - fail) * followups;
    let survive = 1.0 - p * fail;
    // E[sum over j < depth of survive^j].
    let steps = if survive >= 1.0 {
        count_mean(&step.depth)
    } else {
        (1.0 - power_mean(&step.depth, survive)) / (1.0 - survive)
    };
    per_step * steps
}

/// The mean of a count law as the task layer draws it (at least 1).
fn count_mean(d: &CountDist) -> f64 {
    match *d {
        CountDist::Constant { value } => f64::from(value.max(1)),
        CountDist::Uniform { min, max } => {
            let (lo, hi) = (min.min(max), min.max(max));
            (lo..=hi).map(|k| f64::from(k.max(1))).sum::<f64>() / f64::from(hi - lo + 1)
        }
        CountDist::Geometric { mean } => mean.max(1.0),
    }
}

/// E[q^D] for a count law D (at least 1).
fn power_mean(d: &CountDist, q: f64) -> f64 {
    match *d {
        CountDist::Constant { value } => q.powi(value.max(1) as i32),
        CountDist::Uniform { min, max } => {
            let (lo, hi) = (min.min(max), min.max(max));
            (lo..=hi).map(|k| q.powi(k.max(1) as i32)).sum::<f64>() / f64::from(hi - lo + 1)
        }
        CountDist::Geometric { mean } => {
            // P(D = d) = p (1 - p)^(d - 1) on 1, 2, …: E[q^D] = p q / (1 - (1 - p) q).
            let p = 1.0 / mean.max(1.0);
            p * q / (1.0 - (1.0 - p) * q)
        }
    }
}

/// The mean of a token law.
fn mean_tokens(d: &TokenDist) -> f64 {
    match d {
        TokenDist::Constant { value } => f64::from(*value),
        TokenDist::Uniform { min, max } => (f64::from(*min) + f64::from(*max)) / 2.0,
        TokenDist::Lognormal { mean, .. } => mean.max(1.0),
        TokenDist::Empirical { quantiles } => {
            // Linear between equally spaced quantiles: the trapezoids' mean.
            let n = quantiles.len();
            if n < 2 {
                return quantiles.first().map_or(0.0, |&q| f64::from(q));
            }
            quantiles
                .windows(2)
                .map(|w| (f64::from(w[0]) + f64::from(w[1])) / 2.0)
                .sum::<f64>()
                / (n - 1) as f64
        }
    }
}

/// Mean input tokens of a call: the prompt plus, in a growing chain, the
/// context of the steps before it (on average half a chain's growth).
fn mean_input(w: &Workflow) -> f64 {
    let base = mean_tokens(&w.input_tokens);
    let output = mean_tokens(&w.output_tokens);
    let step = match &w.shape {
        Shape::Single => return base,
        Shape::Chain(step) => step,
        Shape::Swarm { agent, .. } => agent,
    };
    if !step.grow_context {
        return base;
    }
    let (p, fail, followups, result) = step.tool.as_ref().map_or((0.0, 0.0, 0.0, 0.0), |t| {
        (
            t.probability,
            t.failure_probability,
            f64::from(t.followups),
            f64::from(t.result_tokens),
        )
    });
    let growth = output * (1.0 + p * (1.0 - fail) * followups) + p * (1.0 - fail) * result;
    let context = (growth * (count_mean(&step.depth) - 1.0) / 2.0).min(f64::from(step.max_context));
    base + context.max(0.0)
}

/// Mean service time of a call of these sizes at `e`, in seconds, with its
/// hour-of-day background load averaged.
fn mean_service(e: &Endpoint, input: f64, output: f64) -> f64 {
    let input = e.context_window.map_or(input, |w| input.min(f64::from(w)));
    let base = match &e.latency {
        Latency::Lognormal {
            ttft,
            per_input_token,
            per_output_token,
            ..
        } => ttft.as_secs_f64() + per_input_token.as_secs_f64() * input + per_output_token.as_secs_f64() * output,
        Latency::Exponential { mean } => mean.as_secs_f64(),
    };
    let background = if e.background.is_empty() {
        1.0
    } else {
        e.background.iter().sum::<f64>() / e.background.len() as f64
    };
    base * background
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn scenario(endpoints: &str, tenants: &str) -> Scenario {
        let text = format!(
            "[simulation]\nstart = \"2026-03-01\"\nduration = \"1d\"\n\n{endpoints}\n{tenants}\n[[tenants.clauses]]\nmetric = \"availability\"\ntarget = 0.99\n"
        );
        match super::super::parse(&text, Path::new("t.toml")) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    const ONE: &str =
        "[[endpoints]]\nname = \"e\"\nconcurrency = 10\nlatency = { model = \"exponential\", mean = \"1s\" }\n";

    fn tenant(workflow: &str) -> String {
        format!(
            "[[tenants]]\nname = \"t\"\nclass = \"gold\"\nchain = [\"e\"]\n\n[[tenants.workflows]]\nname = \"w\"\n{workflow}\n"
        )
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn mmc_utilisation_is_lambda_over_c_mu() {
        // 8 calls/s, 1 s each, 10 slots: rho = 8 / 10.
        let s = scenario(ONE, &tenant("rate = 8.0"));
        let l = &offered_load(&s)[0];
        assert!(close(l.utilisation, 0.8), "{l:?}");
        assert_eq!(l.limit, "slots");
        assert!(overload_warnings(&s).is_empty());
        let s = scenario(ONE, &tenant("rate = 12.0"));
        let w = overload_warnings(&s);
        assert_eq!(w.len(), 1);
        assert!(w[0].1.contains("1.20×") && w[0].1.contains("without bound"), "{w:?}");
    }

    #[test]
    fn chains_count_their_tool_followups_and_failures() {
        // Depth 3, a tool on half the steps with 2 follow-ups, never failing:
        // 3 × (1 + 0.5 × 2) = 6 calls per task.
        let shape = "shape = { kind = \"chain\", depth = { dist = \"constant\", value = 3 }, tool = { probability = 0.5, duration = \"1s\", followups = 2 } }";
        let s = scenario(ONE, &tenant(&format!("rate = 1.0\n{shape}")));
        assert!(close(offered_load(&s)[0].utilisation, 0.6));
        // Depth 2, a tool every step that fails half the time, 1 follow-up:
        // call, then (w.p. 1/2) follow-up and step 2's call, then (w.p. 1/2)
        // its follow-up: 1 + 1/2 × (1 + 1) + 1/4 = 2.25.
        let shape = "shape = { kind = \"chain\", depth = { dist = \"constant\", value = 2 }, tool = { probability = 1.0, failure_probability = 0.5, duration = \"1s\", followups = 1 } }";
        let s = scenario(ONE, &tenant(&format!("rate = 1.0\n{shape}")));
        assert!(close(offered_load(&s)[0].utilisation, 0.225));
    }

    #[test]
    fn geometric_depths_sum_their_survival() {
        // Geometric depth of mean 2 (p = 1/2), survival 1/2 a step:
        // E[q^D] = (1/2)(1/2) / (1 - (1/2)(1/2)) = 1/3, so E[sum q^j] =
        // (1 - 1/3) / (1/2) = 4/3 steps, each 1 + 1 × 1/2 × 1 = 1.5 calls.
        let d = CountDist::Geometric { mean: 2.0 };
        assert!(close(power_mean(&d, 0.5), 1.0 / 3.0));
        let shape = "shape = { kind = \"chain\", depth = { dist = \"geometric\", mean = 2.0 }, tool = { probability = 1.0, failure_probability = 0.5, duration = \"1s\", followups = 1 } }";
        let s = scenario(ONE, &tenant(&format!("rate = 5.0\n{shape}")));
        assert!(close(offered_load(&s)[0].utilisation, 5.0 * 2.0 / 10.0));
    }

    #[test]
    fn swarms_add_the_orchestrator_and_the_aggregator() {
        // 1 + 4 agents × 1 call + 1 = 6 calls per task.
        let shape = "shape = { kind = \"swarm\", agents = { dist = \"uniform\", min = 3, max = 5 } }";
        let s = scenario(ONE, &tenant(&format!("rate = 1.0\n{shape}")));
        assert!(close(offered_load(&s)[0].utilisation, 0.6));
    }

    #[test]
    fn token_driven_service_time_and_rate_limits() {
        // 100 ms + 1 ms × 200 in + 10 ms × 50 out = 0.8 s a call, 4 calls/s,
        // 4 slots: 0.8; an rpm limit of 200 at 240 calls a minute binds: 1.2.
        let ep = "[[endpoints]]\nname = \"e\"\nconcurrency = 4\nrpm = 200\nlatency = { model = \"lognormal\", ttft = \"100ms\", per_input_token = \"1ms\", per_output_token = \"10ms\", sigma = 0.5 }\n";
        let w = "rate = 4.0\ninput_tokens = { dist = \"constant\", value = 200 }\noutput_tokens = { dist = \"uniform\", min = 40, max = 60 }";
        let l = &offered_load(&scenario(ep, &tenant(w)))[0];
        assert_eq!(l.limit, "rpm");
        assert!(close(l.utilisation, 1.2), "{l:?}");
    }

    #[test]
    fn a_pool_shares_in_proportion_to_capacity_and_peaks_follow_the_profile() {
        let eps = "[[endpoints]]\nname = \"a\"\nconcurrency = 10\nlatency = { model = \"exponential\", mean = \"1s\" }\n\
                   [[endpoints]]\nname = \"b\"\nconcurrency = 30\nlatency = { model = \"exponential\", mean = \"1s\" }\n";
        let t = "[[tenants]]\nname = \"t\"\nclass = \"gold\"\nchain = [{ endpoint = \"a\", tier = 0 }, { endpoint = \"b\", tier = 0 }]\n\n\
                 [[tenants.workflows]]\nname = \"w\"\nrate = 20.0\ndiurnal = [0.5, 1.5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n";
        let loads = offered_load(&scenario(eps, t));
        // Capacity 10 and 30 calls/s: a gets 5, b 15: both at 0.5, peak 0.75.
        for l in &loads {
            assert!(close(l.utilisation, 0.5) && close(l.peak, 0.75), "{l:?}");
        }
    }
}
