//! Default provider outage profiles (`data/providers.toml`, embedded at
//! build time) and the resolution of an `[[outage_processes]]` entry into a
//! complete renewal process.
//!
//! This module owns the mapping from a written process (profile plus
//! overrides) to the figures the simulator draws from; it simulates nothing.

use std::sync::OnceLock;

use serde::Deserialize;

use super::{Law, OutageKind, OutageMode, OutageProcess};
use crate::time::Span;

/// The embedded copy of `data/providers.toml`.
pub const PROVIDERS_TOML: &str = include_str!("../../data/providers.toml");

/// One default outage profile.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutageProfile {
    /// Name a scenario refers to, e.g. `"openai-like"`.
    pub name: String,
    /// Mean up time between incidents.
    pub mtbf: Span,
    /// Mean incident length.
    pub mttr: Span,
    /// What the endpoints do during an incident.
    #[serde(default)]
    pub mode: OutageKind,
    /// Brownout: factor on service time.
    #[serde(default)]
    pub latency_factor: Option<f64>,
    /// Brownout: probability of a 5xx.
    #[serde(default)]
    pub error_probability: Option<f64>,
    /// The published mean daily availability this profile reproduces.
    pub cited_daily_availability: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    profiles: Vec<OutageProfile>,
}

/// Every embedded profile (empty if the embedded file were unreadable,
/// which a test rules out).
pub fn profiles() -> &'static [OutageProfile] {
    static PROFILES: OnceLock<Vec<OutageProfile>> = OnceLock::new();
    PROFILES.get_or_init(|| {
        toml::from_str::<ProfileFile>(PROVIDERS_TOML)
            .map(|f| f.profiles)
            .unwrap_or_default()
    })
}

/// The embedded profile called `name`.
pub fn profile(name: &str) -> Option<&'static OutageProfile> {
    profiles().iter().find(|p| p.name == name)
}

/// What an outage process hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope<'a> {
    /// One endpoint, by name.
    Endpoint(&'a str),
    /// Every endpoint of a provider.
    Provider(&'a str),
    /// Every endpoint in a region.
    Region(&'a str),
}

impl Scope<'_> {
    /// Stream-name form: `endpoint/x`, `provider/x`, `region/x`.
    pub fn label(&self) -> String {
        match self {
            Scope::Endpoint(n) => format!("endpoint/{n}"),
            Scope::Provider(n) => format!("provider/{n}"),
            Scope::Region(n) => format!("region/{n}"),
        }
    }
}

/// A complete renewal process: the laws of up and repair times and the mode.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Renewal {
    /// Mean up time.
    pub mtbf: Span,
    /// Mean repair time.
    pub mttr: Span,
    /// Law of up times.
    pub uptime: Law,
    /// Its log-space deviation (lognormal only).
    pub uptime_sigma: f64,
    /// Law of repair times.
    pub repair: Law,
    /// Its log-space deviation (lognormal only).
    pub repair_sigma: f64,
    /// Behaviour during an incident.
    pub mode: OutageMode,
}

impl OutageProcess {
    /// The scope, if exactly one of `endpoint`, `provider`, `region` is set.
    pub fn scope(&self) -> Option<Scope<'_>> {
        match (&self.endpoint, &self.provider, &self.region) {
            (Some(e), None, None) => Some(Scope::Endpoint(e)),
            (None, Some(p), None) => Some(Scope::Provider(p)),
            (None, None, Some(r)) => Some(Scope::Region(r)),
            _ => None,
        }
    }

    /// The profile this process names, if any and if it exists.
    pub fn base_profile(&self) -> Option<&'static OutageProfile> {
        self.profile.as_deref().and_then(profile)
    }

    /// The complete process: fields written here, else the profile's, else
    /// the defaults (exponential laws, mode down). None when mtbf or mttr
    /// is given by neither (validation reports it).
    pub fn renewal(&self) -> Option<Renewal> {
        let base = self.base_profile();
        let mtbf = self.mtbf.or(base.map(|b| b.mtbf))?;
        let mttr = self.mttr.or(base.map(|b| b.mttr))?;
        let kind = self.mode.or(base.map(|b| b.mode)).unwrap_or_default();
        let latency_factor = self.latency_factor.or(base.and_then(|b| b.latency_factor));
        let error_probability = self.error_probability.or(base.and_then(|b| b.error_probability));
        Some(Renewal {
            mtbf,
            mttr,
            uptime: self.uptime.unwrap_or(Law::Exponential),
            uptime_sigma: self.uptime_sigma.unwrap_or(0.0),
            repair: self.repair.unwrap_or(Law::Exponential),
            repair_sigma: self.repair_sigma.unwrap_or(0.0),
            mode: OutageMode::resolve(kind, latency_factor, error_probability, self.rpm),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_provider_file_parses_with_both_profiles() {
        let parsed: ProfileFile = toml::from_str(PROVIDERS_TOML).expect("data/providers.toml parses");
        assert_eq!(parsed.profiles.len(), 2);
        assert!(profile("openai-like").is_some());
        assert!(profile("anthropic-like").is_some());
    }
}
