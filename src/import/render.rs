//! An [`Import`] as TOML text in the scenario's form: the router part of a
//! scenario ([`router_part`]), or a whole runnable scenario ([`scenario`]).
//!
//! A scenario's `[router]`, endpoints and tenants embed the router's own
//! types, so the router part is the imported [`RouterConfig`] written with
//! the scenario's keys: it pastes into a scenario as is. A whole scenario
//! adds what a router configuration does not say (the provider's side of
//! each endpoint, the traffic, the period); every such figure is a
//! documented default, marked `# assumption:` in the text, for the user to
//! replace with their own. Settings equal to the router's defaults are left
//! out, so the text shows what the source file set.
//!
//! This module renders text only; it never prints or writes files.

use std::fmt::Write as _;

use serde::Serialize;

use super::Import;
use crate::policy::{EndpointPolicy, RouterConfig, TenantPolicy};
use crate::scenario::keys::fields_of;
use crate::scenario::{OutageProfile, profiles};

/// Provider slots of an endpoint whose source states none. LLM APIs
/// publish rate limits, not concurrency: the slots are set high enough that
/// the rate limits (`provider_rpm`, `provider_tpm`) bind first.
pub const GENERIC_CONCURRENCY: u32 = 100;

/// The service time of an endpoint whose source states none: a lognormal
/// around 500 ms to the first token plus 50 µs per input and 15 ms per
/// output token (1000 in, 200 out: 3.55 s), log-space deviation 0.5. A
/// generic hosted chat model, to be replaced by measured figures.
pub const GENERIC_LATENCY: &str = "{ model = \"lognormal\", ttft = \"500ms\", per_input_token = \"50us\", \
                                   per_output_token = \"15ms\", sigma = 0.5 }";

/// Calls per second offered to a model group with no `rpm` on its
/// primary deployments.
pub const GENERIC_RATE: f64 = 1.0;

/// The share of a model group's primary deployments' combined `rpm` its
/// traffic is assumed to offer.
pub const RATE_SHARE_OF_RPM: f64 = 0.5;

/// The router part of a scenario: `[router]` (when anything router-wide
/// differs from the defaults), then `[[endpoints]]` and `[[tenants]]` with
/// the router's keys. `source` names the imported file in the header.
pub fn router_part(import: &Import, source: &str) -> String {
    let mut out = format!(
        "# Router settings imported from {source} by `slaplan import-litellm`, in the scenario's form:\n\
         # paste them into a scenario and give each endpoint its provider's side (concurrency,\n\
         # latency) and each tenant its workflows, or write a whole scenario with --scenario.\n"
    );
    router_section(&mut out, &import.router);
    for e in &import.router.endpoints {
        out.push_str("\n[[endpoints]]\n");
        endpoint_keys(&mut out, e);
    }
    for t in &import.router.tenants {
        out.push_str("\n[[tenants]]\n");
        tenant_keys(&mut out, t);
    }
    out
}

/// The router configuration in a router part as [`router_part`] writes it
/// (`[router]`, `[[endpoints]]` and `[[tenants]]` with the router's keys
/// only): what a tool that needs the router's settings alone reads back.
pub fn parse_router_part(text: &str) -> Result<RouterConfig, toml::de::Error> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RouterPart {
        #[serde(default)]
        router: RouterConfig,
        #[serde(default)]
        endpoints: Vec<EndpointPolicy>,
        #[serde(default)]
        tenants: Vec<TenantPolicy>,
    }
    let part: RouterPart = toml::from_str(text)?;
    Ok(RouterConfig {
        endpoints: part.endpoints,
        tenants: part.tenants,
        ..part.router
    })
}

/// A whole scenario: the router part with the provider's side of each
/// endpoint, a provider outage process per provider, one tenant per model
/// group (per team and model group when the source names teams) with one
/// workflow, and a commented clause to start from. Every figure the source
/// does not give is marked `# assumption:`.
pub fn scenario(import: &Import, source: &str) -> String {
    let mut out = format!(
        "# Scenario written by `slaplan import-litellm --scenario` from {source}.\n\
         # The router settings are the imported ones. Every figure marked \"assumption\" is a\n\
         # generic default: replace it with your own (scenarios/README.md documents each key),\n\
         # then add the clauses you mean to offer and run `slaplan run` on this file.\n\n\
         [simulation]\n\
         start = \"2026-01-01\"\n\
         # assumption: one calendar month, four Monte Carlo replications of it.\n\
         duration = \"31d\"\n\
         replications = 4\n"
    );
    router_section(&mut out, &import.router);
    for e in &import.router.endpoints {
        out.push_str("\n[[endpoints]]\n");
        endpoint_keys(&mut out, e);
        provider_side(&mut out, e);
    }
    outage_processes(&mut out, &import.router.endpoints);
    let teams: Vec<Option<&str>> = if import.teams.is_empty() {
        vec![None]
    } else {
        import.teams.iter().map(|t| Some(t.as_str())).collect()
    };
    for t in &import.router.tenants {
        let rate = group_rate(&import.router, t) / teams.len() as f64;
        for team in &teams {
            let tenant = TenantPolicy {
                name: match team {
                    Some(team) => format!("{team}/{}", t.name.trim_start_matches("litellm/")),
                    None => t.name.clone(),
                },
                ..t.clone()
            };
            out.push_str("\n[[tenants]]\n");
            if let Some(team) = team {
                let _ = writeln!(out, "# LiteLLM team {team:?} calling model group {:?}.", t.name);
            }
            tenant_keys(&mut out, &tenant);
            workflow(&mut out, &import.router, t, rate, teams.len());
        }
    }
    out
}

/// `[router]` with every router-wide setting that differs from the default
/// (nothing when none does). The seed is left out: a scenario derives it
/// from `simulation.seed`.
fn router_section(out: &mut String, config: &RouterConfig) {
    let keys = fields_of::<RouterConfig>()
        .iter()
        .filter(|k| !matches!(**k, "endpoints" | "tenants" | "seed"));
    let lines = changed(config, &RouterConfig::default(), keys.copied());
    if !lines.is_empty() {
        out.push_str("\n[router]\n");
        out.push_str(&lines);
    }
}

fn endpoint_keys(out: &mut String, e: &EndpointPolicy) {
    let default = EndpointPolicy {
        name: e.name.clone(),
        ..EndpointPolicy::default()
    };
    let keys = fields_of::<EndpointPolicy>().iter().copied();
    let _ = writeln!(out, "name = {}", toml::Value::String(e.name.clone()));
    out.push_str(&changed(e, &default, keys.filter(|k| *k != "name")));
}

fn tenant_keys(out: &mut String, t: &TenantPolicy) {
    let default = TenantPolicy {
        name: t.name.clone(),
        ..TenantPolicy::default()
    };
    // The class is written even when it is the default, to be seen; a
    // tenant's workflows are scenario tables of their own.
    let _ = writeln!(
        out,
        "name = {}\nclass = \"{}\"",
        toml::Value::String(t.name.clone()),
        t.class.name()
    );
    let keys = fields_of::<TenantPolicy>().iter().copied();
    out.push_str(&changed(
        t,
        &default,
        keys.filter(|k| !matches!(*k, "name" | "class" | "workflows")),
    ));
}

/// `key = value` lines, in `keys` order, for every key whose value in
/// `value` differs from the one in `default` (or that `default` lacks); in
/// a table both have (`retry`), only the entries that differ.
fn changed<T: Serialize>(value: &T, default: &T, keys: impl Iterator<Item = &'static str>) -> String {
    let (Ok(value), Ok(default)) = (toml::Table::try_from(value), toml::Table::try_from(default)) else {
        return String::new();
    };
    let mut out = String::new();
    for key in keys {
        let Some(v) = value.get(key) else { continue };
        match (v, default.get(key)) {
            (_, Some(d)) if d == v => {}
            (toml::Value::Table(t), Some(toml::Value::Table(d))) => {
                let mut part = t.clone();
                part.retain(|k, x| d.get(k) != Some(x));
                let _ = writeln!(out, "{key} = {}", toml::Value::Table(part));
            }
            _ => {
                let _ = writeln!(out, "{key} = {v}");
            }
        }
    }
    out
}

/// The world's keys of endpoint `e`, each figure the source lacks marked.
fn provider_side(out: &mut String, e: &EndpointPolicy) {
    let _ = writeln!(
        out,
        "# assumption: LiteLLM states no concurrency; {GENERIC_CONCURRENCY} provider slots, so its rate limits bind first.\n\
         concurrency = {GENERIC_CONCURRENCY}\n\
         # assumption: a generic hosted chat model's service time; measure yours.\n\
         latency = {GENERIC_LATENCY}"
    );
    if e.rpm.is_some() || e.tpm.is_some() {
        out.push_str("# assumption: the provider grants our key the limits LiteLLM was given.\n");
    }
    if let Some(rpm) = e.rpm {
        let _ = writeln!(out, "provider_rpm = {rpm}");
    }
    if let Some(tpm) = e.tpm {
        let _ = writeln!(out, "provider_tpm = {tpm}");
    }
}

/// The embedded outage profile named `<provider>-like`, if there is one.
fn profile_for(provider: &str) -> Option<&'static OutageProfile> {
    profiles().iter().find(|p| p.name == format!("{provider}-like"))
}

/// The conservative stand-in for a provider without a profile: the
/// embedded profile with the lowest cited mean daily availability.
fn generic_profile() -> Option<&'static OutageProfile> {
    profiles().iter().min_by(|a, b| a.cited.mean.total_cmp(&b.cited.mean))
}

/// `partial outages every 17.1 days for 86 minutes; major ...` (means).
fn processes_of(profile: &OutageProfile) -> String {
    let each: Vec<String> = profile
        .processes
        .iter()
        .map(|p| {
            format!(
                "{} outages every {:.1} days for {:.0} minutes",
                p.name,
                p.mtbf.as_nanos() as f64 / 86_400e9,
                p.mttr.as_nanos() as f64 / 60e9
            )
        })
        .collect();
    each.join("; ")
}

/// One stochastic outage process per provider (per endpoint for those with
/// none), from the provider's profile or, marked, the generic one.
fn outage_processes(out: &mut String, endpoints: &[EndpointPolicy]) {
    let mut scopes: Vec<(&str, &str)> = Vec::new();
    for e in endpoints {
        let scope = if e.provider.is_empty() {
            ("endpoint", e.name.as_str())
        } else {
            ("provider", e.provider.as_str())
        };
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    for (kind, name) in scopes {
        let provider = if kind == "provider" { name } else { "" };
        let (profile, note) = match profile_for(provider) {
            Some(p) => (p, format!("the calibrated profile of {provider:?}")),
            None => match generic_profile() {
                Some(p) => (
                    p,
                    format!(
                        "assumption: no profile for {:?} in data/providers.toml; the least available one stands in",
                        if provider.is_empty() { name } else { provider }
                    ),
                ),
                None => continue,
            },
        };
        let _ = writeln!(
            out,
            "\n[[outage_processes]]\n# {note}: mean daily availability {}; {}, on average.\n{kind} = {}\nprofile = {}",
            profile.cited.mean,
            processes_of(profile),
            toml::Value::String(name.to_string()),
            toml::Value::String(profile.name.clone()),
        );
    }
}

/// The traffic offered to model group tenant `t`: a share of its primary
/// (tier 0) deployments' combined `rpm`, else [`GENERIC_RATE`], per second.
fn group_rate(config: &RouterConfig, t: &TenantPolicy) -> f64 {
    let primaries = t.chain.iter().filter(|s| s.tier.0 == 0);
    let rpms: Vec<u32> = primaries
        .filter_map(|s| config.endpoints.iter().find(|e| e.name == s.endpoint))
        .filter_map(|e| e.rpm)
        .collect();
    if rpms.is_empty() {
        GENERIC_RATE
    } else {
        RATE_SHARE_OF_RPM * rpms.iter().map(|r| f64::from(*r)).sum::<f64>() / 60.0
    }
}

/// The tenant's one workflow and a commented clause.
fn workflow(out: &mut String, config: &RouterConfig, t: &TenantPolicy, rate: f64, teams: usize) {
    let primaries: Vec<String> = t
        .chain
        .iter()
        .filter(|s| s.tier.0 == 0)
        .filter_map(|s| config.endpoints.iter().find(|e| e.name == s.endpoint))
        .filter_map(|e| e.rpm)
        .map(|r| r.to_string())
        .collect();
    let why = if primaries.is_empty() {
        format!("no rpm on the group's primary deployments; {GENERIC_RATE} call/s")
    } else {
        format!(
            "{} of the primary deployments' rpm ({} per minute)",
            RATE_SHARE_OF_RPM,
            primaries.join(" + ")
        )
    };
    let split = if teams > 1 {
        format!(", split evenly over {teams} teams")
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "\n[[tenants.workflows]]\nname = \"calls\"\n# assumption: Poisson calls at {why}{split}.\nrate = {:.3}\n\
         # assumption: each call 1000 input and 200 output tokens (the defaults of input_tokens and\n\
         # output_tokens); set your traffic's.\n\n\
         # A clause to start from, e.g. \"p95 latency at most 4 s each month\":\n\
         # [[tenants.clauses]]\n\
         # metric = \"latency\"\n\
         # percentile = 95\n\
         # threshold = \"4s\"",
        rate.max(0.001)
    );
}
