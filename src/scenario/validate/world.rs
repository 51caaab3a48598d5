//! Checks of the simulated world's provider fields: provider-side limits,
//! background load, prices, quality, context windows, outage modes and
//! `[[outage_processes]]`.

use super::{Checker, closest, quoted_list};
use crate::scenario::{Endpoint, Law, OutageKind, OutageProcess, Scenario, Scope, profiles};
use crate::time::Span;

/// Most incidents one outage process may draw in a replication.
const MAX_CYCLES: u64 = 1_000_000;

impl Checker<'_, '_> {
    /// The provider fields of endpoint `e` at `path`.
    pub(super) fn endpoint_world(&mut self, path: &str, e: &Endpoint) {
        if e.provider_rpm == Some(0) {
            self.report(
                format!("{path}.provider_rpm"),
                "0 requests per minute admits nothing: expected 1 or more, or leave it out for no limit".into(),
            );
        }
        if e.provider_tpm == Some(0) {
            self.report(
                format!("{path}.provider_tpm"),
                "0 tokens per minute admits nothing: expected 1 or more, or leave it out for no limit".into(),
            );
        }
        if !e.background.is_empty() && e.background.len() != 24 {
            self.report(
                format!("{path}.background"),
                format!(
                    "{} factors given: expected 24, one per UTC hour of day starting at 00:00, or none",
                    e.background.len()
                ),
            );
        }
        for (h, f) in e.background.iter().enumerate() {
            self.factor(format!("{path}.background[{h}]"), *f, "1.3");
        }
        for (field, price) in [
            ("cost_per_million_input", e.cost_per_million_input),
            ("cost_per_million_output", e.cost_per_million_output),
        ] {
            if !(price.is_finite() && price >= 0.0) {
                self.report(
                    format!("{path}.{field}"),
                    format!("{price} is not a price: expected US dollars per million tokens, 0 or more, e.g. 3.0"),
                );
            }
        }
        if !(0.0..=1.0).contains(&e.quality) {
            self.report(
                format!("{path}.quality"),
                format!("{} is outside [0, 1]: expected a quality score such as 0.85", e.quality),
            );
        }
        if e.context_window == Some(0) {
            self.report(
                format!("{path}.context_window"),
                "a 0-token context window accepts nothing: expected tokens, e.g. 200000, or leave it out".into(),
            );
        }
        for (k, o) in e.outages.iter().enumerate() {
            self.mode_fields(
                &format!("{path}.outages[{k}]"),
                o.mode,
                o.latency_factor,
                o.error_probability,
                o.rpm,
            );
        }
    }

    /// A multiplicative factor: finite, 0 or more.
    fn factor(&mut self, path: String, f: f64, example: &str) {
        if !(f.is_finite() && f >= 0.0) {
            self.report(
                path,
                format!("{f} is not a valid factor: expected a finite number, 0 or more, e.g. {example}"),
            );
        }
    }

    /// The parameters that go with an outage kind, and only those.
    fn mode_fields(
        &mut self,
        path: &str,
        kind: OutageKind,
        latency_factor: Option<f64>,
        error_probability: Option<f64>,
        rpm: Option<u32>,
    ) {
        let brownout = kind == OutageKind::Brownout;
        let squeeze = kind == OutageKind::QuotaSqueeze;
        let name = match kind {
            OutageKind::Down => "down",
            OutageKind::Hang => "hang",
            OutageKind::Brownout => "brownout",
            OutageKind::QuotaSqueeze => "quota_squeeze",
        };
        for (field, given, allowed) in [
            ("latency_factor", latency_factor.is_some(), brownout),
            ("error_probability", error_probability.is_some(), brownout),
            ("rpm", rpm.is_some(), squeeze),
        ] {
            if given && !allowed {
                let owner = if field == "rpm" { "quota_squeeze" } else { "brownout" };
                self.report(
                    format!("{path}.{field}"),
                    format!("mode {name:?} takes no {field}: expected it only with mode = {owner:?}"),
                );
            }
        }
        if brownout {
            if let Some(f) = latency_factor {
                self.factor(format!("{path}.latency_factor"), f, "3");
            }
            if let Some(p) = error_probability
                && !(0.0..=1.0).contains(&p)
            {
                self.report(
                    format!("{path}.error_probability"),
                    format!("{p} is not a probability: expected a number from 0 to 1, e.g. 0.1"),
                );
            }
        }
        if squeeze {
            match rpm {
                None => self.report(
                    format!("{path}.rpm"),
                    "a quota squeeze needs the lowered limit: expected e.g. rpm = 60".into(),
                ),
                Some(0) => self.report(
                    format!("{path}.rpm"),
                    "0 requests per minute: expected 1 or more (use mode = \"down\" for none)".into(),
                ),
                Some(_) => {}
            }
        }
    }

    /// Every `[[outage_processes]]` entry.
    pub(super) fn outage_processes(&mut self, scenario: &Scenario) {
        for (i, p) in scenario.outage_processes.iter().enumerate() {
            let path = format!("outage_processes[{i}]");
            self.process_scope(&path, p, scenario);
            if let Some(name) = &p.profile
                && p.base_profile().is_none()
            {
                let names: Vec<&str> = profiles().iter().map(|x| x.name.as_str()).collect();
                let hint = match closest(name, &names) {
                    Some(near) => format!(" (did you mean {near:?}?)"),
                    None => String::new(),
                };
                self.report(
                    format!("{path}.profile"),
                    format!(
                        "unknown profile {name:?}{hint}: expected one of data/providers.toml's: {}",
                        quoted_list(&names)
                    ),
                );
            }
            let base = p.base_profile();
            for (field, value, example) in [("mtbf", p.mtbf, "5d"), ("mttr", p.mttr, "2h")] {
                match value {
                    Some(span) => self.positive_span(format!("{path}.{field}"), span, example),
                    None if base.is_none() && p.profile.is_none() => self.report(
                        format!("{path}.{field}"),
                        format!("a process needs {field}: expected e.g. {field} = \"{example}\", or a profile"),
                    ),
                    None => {}
                }
            }
            for r in p.renewals() {
                self.cycle_count(&path, r.mtbf + r.mttr, scenario.simulation.duration);
            }
            // A profile's lognormal repairs take a written repair_sigma.
            let profile_repair = base.and_then(|b| {
                b.processes
                    .iter()
                    .find_map(|c| c.repair.filter(|l| *l == Law::Lognormal))
            });
            for (field, law, sigma) in [
                ("uptime", p.uptime, p.uptime_sigma),
                ("repair", p.repair.or(profile_repair), p.repair_sigma),
            ] {
                if let Some(s) = sigma {
                    self.sigma(format!("{path}.{field}_sigma"), s);
                    if law != Some(Law::Lognormal) {
                        self.report(
                            format!("{path}.{field}_sigma"),
                            format!(
                                "{field}_sigma applies to a lognormal law only: expected {field} = \"lognormal\" \
                                 with it, or leave it out"
                            ),
                        );
                    }
                }
            }
            // Parameters written here must fit the mode in force (written or
            // the profile's: a brownout process's if there is one).
            let brownout_parameters = p.latency_factor.is_some() || p.error_probability.is_some();
            let kind = p
                .mode
                .or(base.map(|b| b.mode_for_parameters(brownout_parameters)))
                .unwrap_or_default();
            self.mode_fields(&path, kind, p.latency_factor, p.error_probability, p.rpm);
        }
    }

    /// A process whose cycles are so short that one replication would
    /// draw more than [`MAX_CYCLES`] incidents is almost surely a typo
    /// (`"2m"` for `"2d"`), and would exhaust memory.
    fn cycle_count(&mut self, path: &str, cycle: Span, period: Span) {
        let span = period + Span::from_days(1);
        if cycle > Span::ZERO && span.as_nanos() / cycle.as_nanos() > MAX_CYCLES {
            self.report(
                format!("{path}.mtbf"),
                format!(
                    "mtbf + mttr = {cycle} gives about {} incidents over the period: expected at most \
                     {MAX_CYCLES}, i.e. mtbf + mttr of at least {}",
                    span.as_nanos() / cycle.as_nanos(),
                    Span::from_nanos(span.as_nanos().div_ceil(MAX_CYCLES))
                ),
            );
        }
    }

    fn process_scope(&mut self, path: &str, p: &OutageProcess, scenario: &Scenario) {
        let given = [p.endpoint.is_some(), p.provider.is_some(), p.region.is_some()];
        if given.iter().filter(|g| **g).count() != 1 {
            self.report(
                path.to_string(),
                "a process needs exactly one scope: expected one of endpoint = \"…\", provider = \"…\" \
                 or region = \"…\""
                    .into(),
            );
            return;
        }
        let (field, name, mut known): (&str, &str, Vec<&str>) = match p.scope() {
            Some(Scope::Endpoint(n)) => (
                "endpoint",
                n,
                scenario.endpoints.iter().map(|e| e.name.as_str()).collect(),
            ),
            Some(Scope::Provider(n)) => (
                "provider",
                n,
                scenario.endpoints.iter().map(|e| e.provider.as_str()).collect(),
            ),
            Some(Scope::Region(n)) => (
                "region",
                n,
                scenario.endpoints.iter().map(|e| e.region.as_str()).collect(),
            ),
            None => return,
        };
        known.retain(|k| !k.is_empty());
        known.sort_unstable();
        known.dedup();
        if !known.contains(&name) {
            let hint = match closest(name, &known) {
                Some(near) => format!(" (did you mean {near:?}?)"),
                None => String::new(),
            };
            self.report(
                format!("{path}.{field}"),
                format!(
                    "unknown {field} {name:?}{hint}: expected one of the endpoints' {field}s: {}",
                    quoted_list(&known)
                ),
            );
        }
    }
}
