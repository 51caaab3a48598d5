//! The fitted scenario as TOML text, every number commented with where it
//! came from, checked with the scenario loader before it is returned.
//!
//! The router's policy (classes, chains, retries, breakers, limits) is not
//! in a log: it comes from `--router` (a slaplan router file, e.g.
//! `import-litellm` output) or is inferred from usage and said so plainly.
//! [`policy_keys`] is the one place that knows how the scenario spells the
//! router's settings.

use std::fmt::Write;
use std::path::Path;

use chrono::DateTime;

use super::{CountFit, Fit, FitError, LatencyFit, ShapeFit, TokenFit};
use crate::policy::{EndpointPolicy, RouterConfig, TenantPolicy};
use crate::time::Span;

const DAY: u64 = 86_400_000_000_000;

/// A duration of `secs` seconds rounded to `unit` nanoseconds, as the
/// scenario writes it.
fn span(secs: f64, unit: u64) -> String {
    let ns = (secs * 1e9 / unit as f64).round().max(0.0) as u64 * unit;
    Span::from_nanos(ns).to_string()
}

fn date(ns: u64) -> String {
    DateTime::from_timestamp((ns / 1_000_000_000) as i64, (ns % 1_000_000_000) as u32)
        .map(|d| d.naive_utc().format("%Y-%m-%dT%H:%M:%S%.3f").to_string())
        .unwrap_or_default()
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The router's settings as scenario keys: `(key, inline TOML value)`. A
/// scenario embeds the router's own types, so the keys are the router's.
pub fn policy_keys(value: &toml::Table, skip: &[&str]) -> Vec<(String, String)> {
    value
        .iter()
        .filter(|(k, _)| !skip.contains(&k.as_str()))
        .filter(|(_, v)| !matches!(v, toml::Value::Table(t) if t.values().all(|x| x.as_float() == Some(0.0))))
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect()
}

fn endpoint_policy(e: &EndpointPolicy) -> Vec<(String, String)> {
    let table = toml::Table::try_from(e).unwrap_or_default();
    policy_keys(&table, &["name"])
}

fn tenant_policy(t: &TenantPolicy) -> Vec<(String, String)> {
    let table = toml::Table::try_from(t).unwrap_or_default();
    policy_keys(&table, &["name", "chain", "workflows"])
}

/// The router endpoint matching a log endpoint: the same name, else the
/// only router endpoint named `<model>@<provider>…` like it.
fn match_endpoint<'r>(router: &'r RouterConfig, name: &str) -> Option<&'r EndpointPolicy> {
    if let Some(e) = router.endpoints.iter().find(|e| e.name == name) {
        return Some(e);
    }
    let stem = name.split('/').next().unwrap_or(name);
    let mut hits = router
        .endpoints
        .iter()
        .filter(|e| e.name.split('/').next() == Some(stem));
    let first = hits.next()?;
    hits.next().is_none().then_some(first)
}

impl Fit {
    /// The fitted scenario, validated. `router` (read from `router_file`)
    /// supplies the policy; without it the policy is inferred from usage.
    pub fn scenario_toml(&self, router: Option<(&RouterConfig, &str)>) -> Result<String, FitError> {
        let mut out = String::new();
        let o = &mut out;
        let (from, to) = self.coverage;
        let start = from / DAY * DAY;
        let days = (to - start).div_ceil(DAY).max(1);
        let files: Vec<&str> = self.files.iter().map(|f| f.path.as_str()).collect();
        let _ = writeln!(
            o,
            "# Fitted by `slaplan fit` from {} log row(s) in {}.",
            self.counts.rows,
            files.join(", ")
        );
        let _ = writeln!(
            o,
            "# Every number comes from the log unless its comment says otherwise; `--report`"
        );
        let _ = writeln!(o, "# writes each law's goodness of fit, intervals and Q-Q data.");
        let _ = writeln!(o, "# No clauses: add the contract's [[tenants.clauses]] to vet it.\n");
        let _ = writeln!(o, "[simulation]");
        let _ = writeln!(o, "start = {}  # the log's first day (UTC)", quote(&date(start)[..10]));
        let _ = writeln!(
            o,
            "duration = \"{days}d\"  # the log covers {} to {}",
            date(from),
            date(to)
        );
        let _ = writeln!(o, "seed = 0");
        let _ = writeln!(
            o,
            "# replications: not in a log (default 1); pass --replications for a decision run\n"
        );
        match router {
            Some((r, file)) => {
                let keys: Vec<(String, String)> = [
                    r.breaker
                        .as_ref()
                        .map(|b| ("breaker".to_string(), toml::Value::try_from(b))),
                    Some(("budget".to_string(), toml::Value::try_from(&r.budget))),
                    r.max_queue
                        .map(|q| ("max_queue".to_string(), Ok(toml::Value::Integer(i64::from(q))))),
                ]
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| v.ok().map(|v| (k, v.to_string())))
                .collect();
                let _ = writeln!(o, "[router]  # from {file}");
                for (k, v) in keys {
                    let _ = writeln!(o, "{k} = {v}");
                }
                let _ = writeln!(o);
            }
            None => {
                let _ = writeln!(
                    o,
                    "# [router]: not in a log and no --router given: no breakers, no load shedding."
                );
                let _ = writeln!(o, "# Add the router's settings (or rerun with --router router.toml).\n");
            }
        }
        let span_secs = (to - from) as f64 / 1e9;
        for (name, e) in &self.endpoints {
            self.write_endpoint(o, name, e, router.map(|r| r.0), start, span_secs);
        }
        self.write_tenants(o, router);
        crate::scenario::parse(&out, Path::new("fitted.toml")).map_err(|e| FitError::Invalid(e.to_string()))?;
        Ok(out)
    }

    fn write_endpoint(
        &self,
        o: &mut String,
        name: &str,
        e: &super::EndpointFit,
        router: Option<&RouterConfig>,
        start: u64,
        span_secs: f64,
    ) {
        let _ = writeln!(o, "[[endpoints]]");
        let _ = writeln!(o, "name = {}", quote(name));
        let policy = router.and_then(|r| match_endpoint(r, name));
        let [ok, err, timeouts, limited] = e.by_status;
        let _ = writeln!(
            o,
            "# {} attempts: {ok} ok, {err} errors, {timeouts} timeouts, {limited} rate-limited",
            e.attempts
        );
        if policy.is_none()
            && let Some(p) = &e.provider
        {
            let _ = writeln!(o, "provider = {}", quote(p));
        }
        let (slots, load) = e.concurrency;
        let _ = writeln!(
            o,
            "concurrency = {slots}  # not in a log: the fewest slots that keep waiting under 1% (Erlang C) at the \
             busiest minute's load ({load:.2} in flight); the latency law already holds the provider's queueing"
        );
        let _ = writeln!(
            o,
            "queue_limit = {slots}  # as many again may wait at the provider, if max_concurrency lets them"
        );
        let (f, n) = e.errors_outside;
        let ep = e.error_probability;
        let _ = writeln!(
            o,
            "error_probability = {:.6}  # {f} of {n} attempts outside incidents failed; 95% CI [{:.6}, {:.6}]",
            ep.value, ep.low, ep.high
        );
        match e.error_latency {
            Some(s) => {
                let _ = writeln!(
                    o,
                    "error_latency = {}  # median duration of error answers",
                    quote(&span(s, 1000))
                );
            }
            None => {
                let _ = writeln!(
                    o,
                    "# error_latency: no error answer in the log: the default 20ms applies"
                );
            }
        }
        match (e.timeout, policy) {
            (Some(t), Some(_)) => {
                let _ = writeln!(
                    o,
                    "# timed-out attempts took {} (median); attempt_timeout comes from the router file below",
                    span(t, 1_000_000)
                );
            }
            (Some(t), None) => {
                let _ = writeln!(
                    o,
                    "attempt_timeout = {}  # median duration of timed-out attempts",
                    quote(&span(t, 1_000_000))
                );
            }
            (None, Some(_)) => {}
            (None, None) => {
                let _ = writeln!(o, "# attempt_timeout: no timeout in the log: the default 60s applies");
            }
        }
        match &e.latency {
            LatencyFit::Lognormal {
                ttft,
                per_input,
                per_output,
                sigma,
                ks,
                poor,
            } => {
                let t = ttft.value.max(1e-6);
                let _ = writeln!(
                    o,
                    "latency = {{ model = \"lognormal\", ttft = {}, per_input_token = {}, per_output_token = {}, sigma = {:.4} }}",
                    quote(&span(t, 1000)),
                    quote(&span(per_input.value.max(0.0), 1)),
                    quote(&span(per_output.value.max(0.0), 1)),
                    sigma.value
                );
                let _ = writeln!(
                    o,
                    "# latency: weighted least squares on {} successful calls; 95% CIs ttft [{}, {}], per input token \
                     [{}, {}], per output token [{}, {}], sigma [{:.4}, {:.4}]; noise KS distance {:.4} (p {:.3}){}",
                    e.latency_rows,
                    span(ttft.low.max(0.0), 1000),
                    span(ttft.high.max(0.0), 1000),
                    span(per_input.low.max(0.0), 1),
                    span(per_input.high.max(0.0), 1),
                    span(per_output.low.max(0.0), 1),
                    span(per_output.high.max(0.0), 1),
                    sigma.low,
                    sigma.high,
                    ks.distance,
                    ks.p_value,
                    if *poor {
                        ": a poor fit, kept because an exponential fits worse (the simulator has no empirical latency law)"
                    } else {
                        ""
                    }
                );
            }
            LatencyFit::Exponential { mean, reason, .. } => {
                let _ = writeln!(
                    o,
                    "latency = {{ model = \"exponential\", mean = {} }}",
                    quote(&span(mean.value.max(1e-6), 1000))
                );
                let _ = writeln!(
                    o,
                    "# latency: {reason}; 95% CI of the mean [{}, {}]",
                    span(mean.low, 1000),
                    span(mean.high.min(1e9), 1000)
                );
            }
            LatencyFit::Missing => {
                let pooled = self.pooled_mean();
                let _ = writeln!(
                    o,
                    "latency = {{ model = \"exponential\", mean = {} }}",
                    quote(&span(pooled.max(1e-6), 1000))
                );
                let _ = writeln!(
                    o,
                    "# latency: no successful call here: the mean successful latency over all endpoints, as an exponential"
                );
            }
        }
        if !e.incidents.is_empty() {
            let _ = writeln!(
                o,
                "# incidents seen in the log (runs of failures far above the error rate above):"
            );
            let _ = writeln!(o, "outages = [");
            for i in &e.incidents {
                let offset = span((i.start - start) as f64 / 1e9, 1_000_000);
                let duration = span(((i.end - i.start) as f64 / 1e9).max(1e-3), 1_000_000);
                let _ = writeln!(
                    o,
                    "  {{ start = {}, duration = {}, mode = {} }},  # {} ({} failures; starts in ({}, {}], ends in ({}, {}])",
                    quote(&offset),
                    quote(&duration),
                    quote(if i.hang { "hang" } else { "down" }),
                    date(i.start),
                    i.failures,
                    date(i.start_range.0),
                    date(i.start_range.1),
                    date(i.end_range.0),
                    date(i.end_range.1),
                );
            }
            let _ = writeln!(o, "]");
        }
        if let Some(rpm) = e.provider_rpm {
            let _ = writeln!(
                o,
                "provider_rpm = {rpm}  # median attempts admitted per minute in the {} minutes that saw 429s",
                e.limited_minutes
            );
        } else if limited > 0 {
            let _ = writeln!(
                o,
                "# {limited} 429(s) in {} minute(s): too few minutes (3 needed) to estimate the provider's limit",
                e.limited_minutes
            );
        }
        if let Some((pin, pout)) = e.prices {
            let _ = writeln!(
                o,
                "cost_per_million_input = {pin:.4}  # least squares of the logged costs on tokens"
            );
            let _ = writeln!(o, "cost_per_million_output = {pout:.4}");
        }
        if let Some(p) = policy {
            let _ = writeln!(o, "# router settings of {:?} from the router file:", p.name);
            for (k, v) in endpoint_policy(p) {
                let _ = writeln!(o, "{k} = {v}");
            }
        }
        if let Some(p) = self.processes.get(name) {
            let _ = writeln!(
                o,
                "\n# An outage process fitted to the {} incidents over {:.1} days (exponential up times and repairs):",
                p.incidents,
                span_secs / 86_400.0
            );
            let _ = writeln!(
                o,
                "# MTBF {} (95% CI {} to {}), MTTR {} (95% CI {} to {}). To simulate fresh incidents",
                span(p.mtbf.value, 1_000_000_000),
                span(p.mtbf.low, 1_000_000_000),
                span(p.mtbf.high.min(1e12), 1_000_000_000),
                span(p.mttr.value, 1_000_000_000),
                span(p.mttr.low, 1_000_000_000),
                span(p.mttr.high.min(1e12), 1_000_000_000)
            );
            let _ = writeln!(
                o,
                "# instead of replaying the log's, drop `outages` above and uncomment:"
            );
            let _ = writeln!(o, "# [[outage_processes]]");
            let _ = writeln!(o, "# endpoint = {}", quote(name));
            let _ = writeln!(o, "# mtbf = {}", quote(&span(p.mtbf.value, 1_000_000_000)));
            let _ = writeln!(o, "# mttr = {}", quote(&span(p.mttr.value.max(1.0), 1_000_000_000)));
        } else if !e.incidents.is_empty() {
            let _ = writeln!(
                o,
                "# no outage process: {} incident(s) over {:.1} days; a process needs {} and 7 days",
                e.incidents.len(),
                span_secs / 86_400.0,
                super::MIN_INCIDENTS
            );
        }
        let _ = writeln!(o);
    }

    fn pooled_mean(&self) -> f64 {
        let (mut s, mut n) = (0.0, 0u64);
        for e in self.endpoints.values() {
            match &e.latency {
                LatencyFit::Exponential { mean, .. } => {
                    s += mean.value * e.by_status[0] as f64;
                    n += e.by_status[0];
                }
                LatencyFit::Lognormal { ttft, .. } => {
                    s += ttft.value * e.by_status[0] as f64;
                    n += e.by_status[0];
                }
                LatencyFit::Missing => {}
            }
        }
        if n == 0 { 1.0 } else { s / n as f64 }
    }

    fn write_tenants(&self, o: &mut String, router: Option<(&RouterConfig, &str)>) {
        let mut tenants: Vec<&str> = self.workflows.keys().map(|k| k.0.as_str()).collect();
        tenants.dedup();
        for tenant in tenants {
            let flows: Vec<(&String, &super::WorkflowFit)> = self
                .workflows
                .iter()
                .filter(|(k, _)| k.0 == tenant)
                .map(|(k, w)| (&k.1, w))
                .collect();
            let _ = writeln!(o, "[[tenants]]");
            let _ = writeln!(o, "name = {}", quote(tenant));
            // Usage over all the tenant's workflows.
            let mut used: Vec<(String, u64)> = Vec::new();
            for (_, w) in &flows {
                for (e, c) in &w.endpoints {
                    match used.iter_mut().find(|u| &u.0 == e) {
                        Some(u) => u.1 += c,
                        None => used.push((e.clone(), *c)),
                    }
                }
            }
            used.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            used.retain(|u| self.endpoints.contains_key(&u.0));
            let group = flows.iter().filter_map(|(_, w)| w.group.clone()).next();
            let policy = router.and_then(|(r, _)| {
                r.tenants.iter().find(|t| t.name == tenant).or_else(|| {
                    let g = group.as_ref()?;
                    r.tenants.iter().find(|t| t.name == format!("litellm/{g}"))
                })
            });
            let chain_known = policy.is_some_and(|p| p.chain.iter().all(|s| self.endpoints.contains_key(&s.endpoint)));
            match (policy, chain_known) {
                (Some(p), true) => {
                    let _ = writeln!(
                        o,
                        "# policy of router tenant {:?} from {}",
                        p.name,
                        router.map_or("", |r| r.1)
                    );
                    let chain: Vec<String> = p
                        .chain
                        .iter()
                        .map(|s| format!("{{ endpoint = {}, tier = {} }}", quote(&s.endpoint), s.tier.0))
                        .collect();
                    let _ = writeln!(o, "chain = [{}]", chain.join(", "));
                    for (k, v) in tenant_policy(p) {
                        let _ = writeln!(o, "{k} = {v}");
                    }
                }
                _ => {
                    let _ = writeln!(o, "class = \"silver\"  # not in a log: set the tenant's SLA class");
                    let chain: Vec<String> = used.iter().take(4).map(|u| quote(&u.0)).collect();
                    let shares: Vec<String> = used.iter().take(4).map(|u| format!("{} calls", u.1)).collect();
                    let chain = if chain.is_empty() {
                        vec![quote(self.endpoints.keys().next().map_or("", String::as_str))]
                    } else {
                        chain
                    };
                    let _ = writeln!(
                        o,
                        "chain = [{}]  # not in a log: the endpoints it used, most used first ({}); set the real fallback order{}",
                        chain.join(", "),
                        shares.join(", "),
                        if policy.is_some() {
                            " (the router file's chain names endpoints the log never saw)"
                        } else {
                            ""
                        }
                    );
                    let _ = writeln!(
                        o,
                        "retry = {{ max_attempts = 1 }}  # not in a log: retries are the router's; set them"
                    );
                }
            }
            let _ = writeln!(o);
            for (name, w) in flows {
                write_workflow(o, name, w);
            }
        }
    }
}

fn token_law(t: &TokenFit) -> Option<(String, String)> {
    match t {
        TokenFit::Lognormal { mean, sigma, ks } => Some((
            format!(
                "{{ dist = \"lognormal\", mean = {:.2}, sigma = {:.4} }}",
                mean.value, sigma.value
            ),
            format!(
                "lognormal by maximum likelihood: 95% CIs mean [{:.2}, {:.2}], sigma [{:.4}, {:.4}]; KS distance {:.4} (p {:.3}, n {})",
                mean.low, mean.high, sigma.low, sigma.high, ks.distance, ks.p_value, ks.n
            ),
        )),
        TokenFit::Empirical { quantiles, reason, .. } => Some((
            format!(
                "{{ dist = \"empirical\", quantiles = [{}] }}",
                quantiles.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
            ),
            format!("{reason}: the empirical quantiles (0%, 1%, …, 100%) instead"),
        )),
        TokenFit::Constant { value } => Some((
            format!("{{ dist = \"constant\", value = {value} }}"),
            "every call had the same count".into(),
        )),
        TokenFit::Missing => None,
    }
}

fn count_law(c: &CountFit) -> String {
    match c {
        CountFit::Constant(v) => format!("{{ dist = \"constant\", value = {v} }}"),
        CountFit::Geometric(m, _) => format!("{{ dist = \"geometric\", mean = {:.3} }}", m.value.max(1.0)),
    }
}

fn tool_table(tool: Option<(f64, f64, f64)>) -> String {
    match tool {
        Some((p, secs, fail)) => format!(
            ", tool = {{ probability = {:.4}, duration = {}, failure_probability = {:.4}, followups = 1 }}",
            p.clamp(0.0, 1.0),
            quote(&span(secs.max(1e-3), 1000)),
            fail.clamp(0.0, 1.0)
        ),
        None => String::new(),
    }
}

fn write_workflow(o: &mut String, name: &str, w: &super::WorkflowFit) {
    let a = &w.arrivals;
    let _ = writeln!(o, "[[tenants.workflows]]");
    let _ = writeln!(o, "name = {}", quote(name));
    let _ = writeln!(
        o,
        "rate = {:.8}  # tasks per second before the profiles: {} tasks; 95% CI [{:.8}, {:.8}]",
        a.rate.value, a.arrivals, a.rate.low, a.rate.high
    );
    let fmt = |v: &[super::Estimate]| {
        v.iter()
            .map(|e| format!("{:.4}", e.value))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(d) = &a.diurnal {
        let _ = writeln!(o, "diurnal = [{}]  # by UTC hour, mean 1", fmt(d));
    }
    if let Some(wk) = &a.weekly {
        let _ = writeln!(o, "weekly = [{}]  # Monday first, mean 1", fmt(wk));
    }
    for note in &a.notes {
        let _ = writeln!(o, "# {note}");
    }
    if let Some((index, p)) = a.dispersion {
        if p < super::workload::BURSTY_P {
            let _ = writeln!(
                o,
                "# bursty: hourly counts vary {index:.2} times as much as Poisson arrivals would (p {p:.2e})"
            );
            match &a.bursts {
                Some(Ok(b)) => {
                    let _ = writeln!(
                        o,
                        "bursts = {{ factor = {:.4}, mean_on = {}, mean_off = {} }}",
                        b.factor.value,
                        quote(&span(b.mean_on.value, 1_000_000_000)),
                        quote(&span(b.mean_off.value, 1_000_000_000))
                    );
                    let _ = writeln!(
                        o,
                        "# bursts: a two-state MMPP, `rate` is the off rate; 95% CI factor [{:.3}, {:.3}], \
                         mean_on [{:.0}s, {:.0}s], mean_off [{:.0}s, {:.0}s]",
                        b.factor.low, b.factor.high, b.mean_on.low, b.mean_on.high, b.mean_off.low, b.mean_off.high
                    );
                }
                Some(Err(why)) => {
                    let _ = writeln!(
                        o,
                        "# no MMPP fits ({why}): Poisson arrivals kept, smoother than the log's"
                    );
                }
                None => {}
            }
        } else {
            let _ = writeln!(
                o,
                "# not burstier than Poisson arrivals: index of dispersion {index:.3} (p {p:.3})"
            );
        }
    }
    for (key, law) in [("input_tokens", &w.input), ("output_tokens", &w.output)] {
        match token_law(law) {
            Some((value, note)) => {
                let _ = writeln!(o, "{key} = {value}");
                let _ = writeln!(o, "# {key}: {note}");
            }
            None => {
                let _ = writeln!(
                    o,
                    "# {key}: no counts in the log: the scenario's default applies; set it"
                );
            }
        }
    }
    match &w.shape {
        ShapeFit::Single => {}
        ShapeFit::Chain { depth, tool, think } => {
            let _ = writeln!(
                o,
                "shape = {{ kind = \"chain\", depth = {}, think = {}, grow_context = false{} }}",
                count_law(depth),
                quote(&span(*think, 1_000_000)),
                tool_table(*tool)
            );
            let _ = writeln!(
                o,
                "# shape: {} tasks by task id; steps = calls less tool follow-ups; tokens above are the calls' own (grown context included), so grow_context = false",
                w.shapes.tasks
            );
        }
        ShapeFit::Swarm { agents, depth, tool } => {
            let _ = writeln!(
                o,
                "shape = {{ kind = \"swarm\", agents = {}, agent = {{ depth = {}, grow_context = false{} }}, aggregator = true }}",
                count_law(agents),
                count_law(depth),
                tool_table(*tool)
            );
            let _ = writeln!(
                o,
                "# shape: {} tasks with sub-agent runs under one root agent",
                w.shapes.tasks
            );
        }
    }
    let _ = writeln!(o);
}
