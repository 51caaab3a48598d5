//! The router's own verdict on a scenario's router settings: every
//! [`ConfigError`] of [`Scenario::router_config`], placed on the field and
//! line it is about.
//!
//! The checks are the router's ([`RouterConfig::problems`]), made once for
//! the simulator and a production router alike; this module only says where
//! each problem is in the scenario and, for a few, words it in the
//! scenario's terms (a near endpoint name, the first of two equal names).
//!
//! [`RouterConfig::problems`]: crate::policy::RouterConfig::problems

use super::{Checker, closest, quoted_list};
use crate::policy::{ConfigError, Owner, Setting};
use crate::scenario::Scenario;

impl Checker<'_, '_> {
    /// Reports every problem the router finds in the scenario's router
    /// configuration.
    pub(super) fn router(&mut self, scenario: &Scenario) {
        for error in scenario.router_config().problems() {
            let path = place(scenario, &error, self.map);
            let message = message(scenario, &error);
            self.report(path, message);
        }
    }
}

/// The field path of the setting `error` is about.
fn place(scenario: &Scenario, error: &ConfigError, map: &crate::scenario::SourceMap<'_>) -> String {
    let Setting { owner, key } = error.setting();
    let join = |owner: String| {
        if key.is_empty() {
            owner
        } else {
            format!("{owner}.{key}")
        }
    };
    match owner {
        Owner::Router => format!("router.{key}"),
        Owner::Endpoint(name) => {
            let repeated = matches!(error, ConfigError::DuplicateEndpoint(_));
            let names = scenario.endpoints.iter().map(|e| e.router.name.as_str());
            match nth_named(names, &name, repeated) {
                Some(i) => join(format!("endpoints[{i}]")),
                None => "endpoints".into(),
            }
        }
        Owner::Tenant(name) => {
            let repeated = matches!(error, ConfigError::DuplicateTenant(_));
            let names = scenario.tenants.iter().map(|t| t.router.name.as_str());
            let Some(i) = nth_named(names, &name, repeated) else {
                return "tenants".into();
            };
            let chain = &scenario.tenants[i].router.chain;
            let step = match error {
                ConfigError::UnknownEndpoint { endpoint, .. } => chain.iter().position(|s| &s.endpoint == endpoint),
                ConfigError::TierOutOfRange { tier, .. } => chain.iter().position(|s| s.tier.0 == *tier),
                _ => None,
            };
            let Some(j) = step else {
                return join(format!("tenants[{i}]"));
            };
            let entry = format!("tenants[{i}].chain[{j}]");
            // A step written as a table has its endpoint and tier as keys.
            let written_as_table = map.line(&format!("{entry}.endpoint")).is_some();
            match error {
                ConfigError::TierOutOfRange { .. } => format!("{entry}.tier"),
                _ if written_as_table => format!("{entry}.endpoint"),
                _ => entry,
            }
        }
        Owner::Workflow { tenant, workflow } => {
            let Some(i) = scenario.tenants.iter().position(|t| t.router.name == tenant) else {
                return "tenants".into();
            };
            let repeated = matches!(error, ConfigError::DuplicateWorkflow { .. });
            let names = scenario.tenants[i].workflows.iter().map(|w| w.router.name.as_str());
            match nth_named(names, &workflow, repeated) {
                Some(j) => join(format!("tenants[{i}].workflows[{j}]")),
                None => join(format!("tenants[{i}]")),
            }
        }
    }
}

/// The index of the first item called `name`, or of the second when
/// `repeated` (the one a "defined twice" problem is about).
fn nth_named<'a>(names: impl Iterator<Item = &'a str>, name: &str, repeated: bool) -> Option<usize> {
    names
        .enumerate()
        .filter(|(_, n)| *n == name)
        .map(|(i, _)| i)
        .nth(usize::from(repeated))
}

/// What to say: the router's sentence without the owner it starts with
/// (the path names it), or the scenario's wording for a near or repeated
/// name.
fn message(scenario: &Scenario, error: &ConfigError) -> String {
    let endpoints: Vec<&str> = scenario.endpoints.iter().map(|e| e.router.name.as_str()).collect();
    match error {
        ConfigError::UnknownEndpoint { endpoint, .. } => {
            let hint = match closest(endpoint, &endpoints) {
                Some(near) => format!(" (did you mean {near:?}?)"),
                None => String::new(),
            };
            format!(
                "unknown endpoint {endpoint:?}{hint}: expected one of the [[endpoints]] names: {}",
                quoted_list(&endpoints)
            )
        }
        ConfigError::DuplicateEndpoint(name) => repeated(name, "endpoints", &endpoints),
        ConfigError::DuplicateTenant(name) => {
            let tenants: Vec<&str> = scenario.tenants.iter().map(|t| t.router.name.as_str()).collect();
            repeated(name, "tenants", &tenants)
        }
        ConfigError::DuplicateWorkflow { tenant, workflow } => {
            let Some(i) = scenario.tenants.iter().position(|t| &t.router.name == tenant) else {
                return error.to_string();
            };
            let names: Vec<&str> = scenario.tenants[i]
                .workflows
                .iter()
                .map(|w| w.router.name.as_str())
                .collect();
            repeated(workflow, &format!("tenants[{i}].workflows"), &names)
        }
        _ => {
            let text = error.to_string();
            let owner = Setting {
                owner: error.setting().owner,
                key: String::new(),
            };
            match text.strip_prefix(&format!("{owner}: ")) {
                Some(rest) if !matches!(owner.owner, Owner::Router) => rest.to_string(),
                _ => text,
            }
        }
    }
}

fn repeated(name: &str, list: &str, names: &[&str]) -> String {
    let first = names.iter().position(|n| *n == name).unwrap_or(0);
    format!("{name:?} is already the name of {list}[{first}]: expected a unique name")
}
