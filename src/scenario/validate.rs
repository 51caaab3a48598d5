//! Semantic checks on a parsed scenario: ranges and cross-references. Every
//! problem is collected; nothing stops at the first.
//!
//! This module owns what a well-typed scenario must also satisfy to be
//! simulated. It reads the source only to place problems on lines (through
//! [`SourceMap`]); it never changes the scenario.

use chrono::NaiveDateTime;

use super::spans::SourceMap;
use super::{ClauseMetric, Endpoint, Latency, Problem, Scenario, Simulation, Tenant, TokenDist, Workflow};
use crate::time::Span;

mod credits;
mod priority;
mod router;
mod serving;
mod workload;

pub use priority::warnings;

/// Every problem with `scenario`: the world's checks here and the router's
/// own ([`Checker::router`]); `source` is its text, for line numbers.
/// Problems are sorted by line (those without one last), otherwise in the
/// order they were found.
pub fn check(scenario: &Scenario, source: &str) -> Vec<Problem> {
    let map = SourceMap::parse(source);
    let mut c = Checker {
        map: &map,
        problems: Vec::new(),
    };
    let start = c.simulation(&scenario.simulation);
    c.router_section();
    c.endpoints(scenario, start);
    c.tenants(scenario);
    c.outage_processes(scenario);
    c.router(scenario);
    c.serving(scenario);
    let mut problems = c.problems;
    problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
    problems
}

/// Collects problems, placing each on its line.
struct Checker<'m, 's> {
    map: &'m SourceMap<'s>,
    problems: Vec<Problem>,
}

impl Checker<'_, '_> {
    /// Reports `message` at `path`, on the line of the field or, if it was
    /// left out, of the table it belongs in.
    fn report(&mut self, path: String, message: String) {
        let line = self.map.nearest_line(&path);
        self.problems.push(Problem::new(path, line, message));
    }

    /// Reports a span that must be positive.
    fn positive_span(&mut self, path: String, span: Span, example: &str) {
        if span == Span::ZERO {
            self.report(
                path,
                format!("a zero duration is not allowed: expected a positive duration such as \"{example}\""),
            );
        }
    }

    /// Reports a log-space deviation that is negative or not finite.
    fn sigma(&mut self, path: String, sigma: f64) {
        if !(sigma.is_finite() && sigma >= 0.0) {
            self.report(
                path,
                format!("{sigma} is not a valid deviation: expected a finite number, 0 or more, e.g. 0.4"),
            );
        }
    }

    /// Checks `[simulation]`; returns its start if it parses.
    fn simulation(&mut self, s: &Simulation) -> Option<NaiveDateTime> {
        let start = super::parse_datetime(&s.start);
        if start.is_none() {
            self.report(
                "simulation.start".into(),
                format!(
                    "{:?} is not a UTC date: expected e.g. \"2026-01-01\" or \"2026-01-01T00:00:00\"",
                    s.start
                ),
            );
        }
        self.positive_span("simulation.duration".into(), s.duration, "31d");
        if s.replications == 0 {
            self.report(
                "simulation.replications".into(),
                "0 replications simulate nothing: expected 1 or more".into(),
            );
        }
        start
    }

    /// `[router]` is the router's configuration without the parts a
    /// scenario writes elsewhere: its endpoints and tenants are the
    /// scenario's lists, its seed comes from `simulation.seed`.
    fn router_section(&mut self) {
        let elsewhere = [
            ("endpoints", "the endpoints are the scenario's [[endpoints]] tables"),
            ("tenants", "the tenants are the scenario's [[tenants]] tables"),
            (
                "seed",
                "the simulator seeds the router from simulation.seed, one stream per replication: set simulation.seed",
            ),
        ];
        for (key, instead) in elsewhere {
            let path = format!("router.{key}");
            if self.map.line(&path).is_some() {
                self.report(path, format!("not a [router] key in a scenario: {instead}"));
            }
        }
    }

    fn endpoints(&mut self, scenario: &Scenario, start: Option<NaiveDateTime>) {
        if scenario.endpoints.is_empty() {
            self.report(
                "endpoints".into(),
                "there are no endpoints: expected at least one [[endpoints]] table".into(),
            );
        }
        for (i, e) in scenario.endpoints.iter().enumerate() {
            let path = format!("endpoints[{i}]");
            self.empty_name(&path, &e.router.name);
            self.endpoint(&path, e, start, scenario.simulation.duration);
        }
    }

    /// Reports an empty name (names label every output; the router checks
    /// that they are unique).
    fn empty_name(&mut self, path: &str, name: &str) {
        if name.trim().is_empty() {
            self.report(
                format!("{path}.name"),
                "the name is empty: expected a non-empty name".into(),
            );
        }
    }

    fn endpoint(&mut self, path: &str, e: &Endpoint, start: Option<NaiveDateTime>, period: Span) {
        if e.concurrency == 0 {
            self.report(
                format!("{path}.concurrency"),
                "0 slots can serve nothing: expected 1 or more".into(),
            );
        }
        let p = e.error_probability;
        if !(0.0..=1.0).contains(&p) {
            self.report(
                format!("{path}.error_probability"),
                format!("{p} is not a probability: expected a number from 0 to 1, e.g. 0.002"),
            );
        }
        match &e.latency {
            Latency::Lognormal { ttft, sigma, .. } => {
                self.positive_span(format!("{path}.latency.ttft"), *ttft, "350ms");
                self.sigma(format!("{path}.latency.sigma"), *sigma);
            }
            Latency::Exponential { mean } => {
                self.positive_span(format!("{path}.latency.mean"), *mean, "500ms");
            }
        }
        self.endpoint_world(path, e);
        for (k, o) in e.outages.iter().enumerate() {
            let opath = format!("{path}.outages[{k}]");
            self.positive_span(format!("{opath}.duration"), o.duration, "2h");
            let Some(start) = start else {
                // Without a simulation start, only offsets can be judged.
                if Span::parse(&o.start).is_err() && super::parse_datetime(&o.start).is_none() {
                    self.outage_start_unreadable(&opath, &o.start);
                }
                continue;
            };
            match super::parse_offset(&o.start, start) {
                // A zero period is reported once, at simulation.duration.
                Some(offset) if offset >= period && period > Span::ZERO => self.report(
                    format!("{opath}.start"),
                    format!(
                        "{:?} is {offset} after the simulation start, at or past its end ({period}): \
                         expected an instant within the simulated period",
                        o.start
                    ),
                ),
                Some(_) => {}
                None if super::parse_datetime(&o.start).is_some() => self.report(
                    format!("{opath}.start"),
                    format!(
                        "{:?} is before simulation.start: expected an instant within the simulated period",
                        o.start
                    ),
                ),
                None => self.outage_start_unreadable(&opath, &o.start),
            }
        }
    }

    fn outage_start_unreadable(&mut self, opath: &str, text: &str) {
        self.report(
            format!("{opath}.start"),
            format!(
                "{text:?} is neither an offset nor a date: expected an offset from the simulation \
                 start such as \"9d\" or a UTC date-time such as \"2026-01-10T03:00:00\""
            ),
        );
    }

    fn tenants(&mut self, scenario: &Scenario) {
        if scenario.tenants.is_empty() {
            self.report(
                "tenants".into(),
                "there are no tenants: expected at least one [[tenants]] table".into(),
            );
        }
        for (i, t) in scenario.tenants.iter().enumerate() {
            let path = format!("tenants[{i}]");
            self.empty_name(&path, &t.router.name);
            self.chain(&path, t);
            self.workflows(&path, t);
            self.clauses(&path, t);
        }
    }

    /// A chain names each endpoint at most once (the router checks that
    /// the chain is not empty, that each endpoint exists and each tier).
    fn chain(&mut self, path: &str, t: &Tenant) {
        let chain = &t.router.chain;
        for (j, step) in chain.iter().enumerate() {
            let Some(k) = chain[..j].iter().position(|o| o.endpoint == step.endpoint) else {
                continue;
            };
            let entry = format!("{path}.chain[{j}]");
            let epath = if self.map.line(&format!("{entry}.endpoint")).is_some() {
                format!("{entry}.endpoint")
            } else {
                entry
            };
            self.report(
                epath,
                format!(
                    "endpoint {:?} is already chain[{k}]: expected each endpoint at most once in a chain",
                    step.endpoint
                ),
            );
        }
    }

    fn workflows(&mut self, path: &str, t: &Tenant) {
        if t.workflows.is_empty() {
            self.report(
                format!("{path}.workflows"),
                "the tenant has no workflows: expected at least one [[tenants.workflows]] table".into(),
            );
        }
        for (j, w) in t.workflows.iter().enumerate() {
            let wpath = format!("{path}.workflows[{j}]");
            self.empty_name(&wpath, &w.router.name);
            self.workflow(&wpath, w);
        }
    }

    fn workflow(&mut self, path: &str, w: &Workflow) {
        match (w.rate, &w.replay) {
            (None, None) => self.report(
                format!("{path}.rate"),
                "a workflow needs a rate unless it replays a trace: expected tasks per second, e.g. \
                 rate = 1.5 (or rate = 0 with batches only), or replay = { ... }"
                    .into(),
            ),
            (Some(rate), None) if !(rate.is_finite() && rate >= 0.0) => {
                let what = if rate < 0.0 {
                    "is negative"
                } else {
                    "is not a finite number"
                };
                self.report(
                    format!("{path}.rate"),
                    format!("{rate} {what}: expected calls per second, 0 or more, e.g. 1.5"),
                );
            }
            _ => {}
        }
        self.tokens(format!("{path}.input_tokens"), &w.input_tokens);
        self.tokens(format!("{path}.output_tokens"), &w.output_tokens);
        self.workload(path, w);
    }

    fn tokens(&mut self, path: String, dist: &TokenDist) {
        match *dist {
            TokenDist::Empirical { ref quantiles } => {
                if quantiles.len() < 2 {
                    self.report(
                        format!("{path}.quantiles"),
                        format!(
                            "{} value(s): expected at least two token counts, the minimum first and the maximum last",
                            quantiles.len()
                        ),
                    );
                } else if let Some(k) = quantiles.windows(2).position(|w| w[1] < w[0]) {
                    self.report(
                        format!("{path}.quantiles[{}]", k + 1),
                        format!(
                            "{} is below the value before it ({}): expected non-decreasing quantiles",
                            quantiles[k + 1],
                            quantiles[k]
                        ),
                    );
                }
            }
            TokenDist::Constant { .. } => {}
            TokenDist::Uniform { min, max } => {
                if min > max {
                    self.report(
                        format!("{path}.min"),
                        format!("min {min} is above max {max}: expected min ≤ max"),
                    );
                }
            }
            TokenDist::Lognormal { mean, sigma } => {
                if !(mean.is_finite() && mean > 0.0) {
                    self.report(
                        format!("{path}.mean"),
                        format!("{mean} is not a valid mean: expected a positive token count, e.g. 1500"),
                    );
                }
                self.sigma(format!("{path}.sigma"), sigma);
            }
        }
    }

    fn clauses(&mut self, path: &str, t: &Tenant) {
        for (k, clause) in t.clauses.iter().enumerate() {
            let cpath = format!("{path}.clauses[{k}]");
            let (name, fields) = clause_fields(clause.metric);
            let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
                "an"
            } else {
                "a"
            };
            let present = [
                ("percentile", clause.percentile.is_some()),
                ("threshold", clause.threshold.is_some()),
                ("target", clause.target.is_some()),
                ("tier", clause.tier.is_some()),
                ("max_error_ratio", clause.max_error_ratio.is_some()),
                ("budget", clause.budget.is_some()),
                ("per", clause.per.is_some()),
                ("rpm", clause.rpm.is_some()),
                ("samples", clause.samples.is_some()),
            ];
            for (field, is_set) in present {
                let wanted = fields.iter().find(|f| f.0 == field);
                match wanted {
                    None if is_set => {
                        let expected: Vec<&str> = fields.iter().map(|f| f.0).collect();
                        self.report(
                            format!("{cpath}.{field}"),
                            format!(
                                "{article} {name} clause has no {field}: expected only {} (plus workflow and window)",
                                expected.join(", ")
                            ),
                        );
                    }
                    Some((_, true, example)) if !is_set => self.report(
                        format!("{cpath}.{field}"),
                        format!("{article} {name} clause needs a {field}: expected e.g. {example}"),
                    ),
                    _ => {}
                }
            }
            if let Some(p) = clause.percentile {
                let every = matches!(clause.metric, ClauseMetric::FallbackTime | ClauseMetric::Notification);
                let inside = p > 0.0 && (p < 100.0 || (every && p == 100.0));
                if every && !inside {
                    self.report(
                        format!("{cpath}.percentile"),
                        format!("{p} is outside (0, 100]: expected e.g. 99, or 100 (the default) for every event"),
                    );
                } else if !inside {
                    self.report(
                        format!("{cpath}.percentile"),
                        format!("{p} is outside (0, 100): expected e.g. 95 or 99.9"),
                    );
                }
            }
            if let Some(th) = clause.threshold {
                self.positive_span(format!("{cpath}.threshold"), th, "4s");
            }
            if let Some(x) = clause.target {
                if clause.metric == ClauseMetric::Degradation {
                    if !(0.0..=1.0).contains(&x) {
                        self.report(
                            format!("{cpath}.target"),
                            format!("{x} is outside [0, 1]: expected a share of calls such as 0 or 0.01"),
                        );
                    }
                } else if !(x > 0.0 && x <= 1.0) {
                    let example = match clause.metric {
                        ClauseMetric::MeanQuality => "a quality score such as 0.9",
                        ClauseMetric::EvalPassRate => "a share of sampled calls such as 0.92",
                        _ => "a share such as 0.999",
                    };
                    self.report(
                        format!("{cpath}.target"),
                        format!("{x} is outside (0, 1]: expected {example}"),
                    );
                }
            }
            if let Some(t) = clause.tier
                && t > 4
            {
                self.report(
                    format!("{cpath}.tier"),
                    format!("tier {t} is out of range: expected 0 to 4"),
                );
            }
            if let Some(x) = clause.max_error_ratio
                && !(0.0..1.0).contains(&x)
            {
                self.report(
                    format!("{cpath}.max_error_ratio"),
                    format!("{x} is outside [0, 1): expected a share of failed calls such as 0.05"),
                );
            }
            if let Some(x) = clause.budget
                && !(x.is_finite() && x > 0.0)
            {
                self.report(
                    format!("{cpath}.budget"),
                    format!("{x} is not a positive amount: expected USD such as 0.05"),
                );
            }
            if let Some(x) = clause.rpm
                && !(x.is_finite() && x > 0.0)
            {
                self.report(
                    format!("{cpath}.rpm"),
                    format!("{x} is not a positive rate: expected calls per minute such as 120"),
                );
            }
            if clause.samples == Some(0) {
                self.report(
                    format!("{cpath}.samples"),
                    "0 samples evaluate nothing: expected the calls sampled per window, e.g. samples = 200".into(),
                );
            }
            self.credits(&cpath, clause);
            if let Some(w) = &clause.workflow
                && !t.workflows.iter().any(|x| &x.router.name == w)
            {
                let names: Vec<&str> = t.workflows.iter().map(|x| x.router.name.as_str()).collect();
                let hint = match closest(w, &names) {
                    Some(near) => format!(" (did you mean {near:?}?)"),
                    None => String::new(),
                };
                self.report(
                    format!("{cpath}.workflow"),
                    format!(
                        "tenant {:?} has no workflow {w:?}{hint}: expected one of {}, or leave it \
                         out to cover all the tenant's calls",
                        t.router.name,
                        quoted_list(&names)
                    ),
                );
            }
        }
    }
}

/// A clause metric's name and its fields: (field, required, example).
fn clause_fields(metric: ClauseMetric) -> (&'static str, &'static [(&'static str, bool, &'static str)]) {
    match metric {
        ClauseMetric::Latency | ClauseMetric::TaskLatency | ClauseMetric::Ttft => (
            if metric == ClauseMetric::Ttft {
                "ttft"
            } else {
                "latency"
            },
            &[
                ("percentile", true, "percentile = 95"),
                ("threshold", true, "threshold = \"4s\""),
            ],
        ),
        ClauseMetric::Availability | ClauseMetric::TaskAvailability => {
            ("availability", &[("target", true, "target = 0.999")])
        }
        ClauseMetric::Degradation => (
            "degradation",
            &[
                ("tier", true, "tier = 1 for \"never below tier 1\""),
                (
                    "target",
                    true,
                    "target = 0 (the largest share of calls allowed below the tier)",
                ),
            ],
        ),
        ClauseMetric::Uptime => (
            "uptime",
            &[
                ("target", true, "target = 0.999"),
                ("max_error_ratio", false, "max_error_ratio = 0.05"),
            ],
        ),
        ClauseMetric::FallbackTime | ClauseMetric::Notification => (
            if metric == ClauseMetric::FallbackTime {
                "fallback_time"
            } else {
                "notification"
            },
            &[
                ("threshold", true, "threshold = \"200ms\""),
                ("percentile", false, "percentile = 99"),
            ],
        ),
        ClauseMetric::Cost => (
            "cost",
            &[
                ("budget", true, "budget = 0.05 (USD)"),
                ("per", false, "per = \"task\""),
            ],
        ),
        ClauseMetric::Throughput => ("throughput", &[("rpm", true, "rpm = 120")]),
        ClauseMetric::EvalPassRate => (
            "eval pass rate",
            &[
                ("target", true, "target = 0.92 (the share of sampled calls that pass)"),
                ("samples", true, "samples = 200 (the calls evaluated per window)"),
            ],
        ),
        ClauseMetric::MeanQuality => ("mean quality", &[("target", true, "target = 0.9")]),
    }
}

/// `"a", "b", "c"`, or `(none)`.
fn quoted_list(names: &[&str]) -> String {
    if names.is_empty() {
        return "(none)".into();
    }
    names.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ")
}

/// The candidate nearest to `name` by edit distance, if within 3 edits
/// (and closer than rewriting `name` entirely); ties go to the first.
pub(crate) fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = 3.min(name.chars().count().saturating_sub(1));
    candidates
        .iter()
        .map(|c| (edit_distance(name, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut row = Vec::with_capacity(b.len() + 1);
        row.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != *cb);
            row.push(substitute.min(prev[j + 1] + 1).min(row[j] + 1));
        }
        prev = row;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests;
mod world;
