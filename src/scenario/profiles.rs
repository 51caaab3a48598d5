//! Default provider outage profiles (`data/providers.toml`, embedded at
//! build time) and the resolution of an `[[outage_processes]]` entry into
//! complete renewal processes (one per process of its profile).
//!
//! This module owns the mapping from a written process (profile plus
//! overrides) to the figures the simulator draws from; it simulates nothing.

use std::sync::OnceLock;

use serde::Deserialize;

use super::{Law, OutageKind, OutageMode, OutageProcess};
use crate::model::{DailyAvailability, OutageRecord};
use crate::time::Span;

/// The embedded copy of `data/providers.toml`.
pub const PROVIDERS_TOML: &str = include_str!("../../data/providers.toml");

/// One default outage profile: a provider's outages as several
/// independent renewal processes (e.g. partial outages and major ones),
/// fitted to the ICPE 2025 study's record of its uptime page.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutageProfile {
    /// Name a scenario refers to, e.g. `"openai-like"`.
    pub name: String,
    /// The study's name of the service the profile is fitted to, e.g.
    /// `"API-OpenAI"`.
    pub service: String,
    /// The study's table of that service's daily availability, which the
    /// processes reproduce.
    pub cited: DailyAvailability,
    /// The processes, each an independent alternating renewal process.
    pub processes: Vec<ProfileProcess>,
}

/// One renewal process of a profile.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileProcess {
    /// What kind of outage it is, e.g. `"partial"` or `"major"`; it also
    /// names the process's RNG stream.
    pub name: String,
    /// Mean up time between two outages of this kind (exponential law).
    pub mtbf: Span,
    /// Mean outage length.
    pub mttr: Span,
    /// Law of the outage lengths (default exponential).
    #[serde(default)]
    pub repair: Option<Law>,
    /// Its log-space deviation (lognormal only).
    #[serde(default)]
    pub repair_sigma: Option<f64>,
    /// What the endpoints do meanwhile.
    pub mode: OutageKind,
    /// Brownout: factor on service time.
    #[serde(default)]
    pub latency_factor: Option<f64>,
    /// Brownout: probability of a 5xx.
    #[serde(default)]
    pub error_probability: Option<f64>,
    /// The record the process is fitted to.
    pub record: OutageRecord,
}

impl OutageProfile {
    /// The mode whose parameters the written fields of a process using this
    /// profile are checked against when it writes no mode: a brownout
    /// process's if brownout parameters are written and one exists, else
    /// the first process's.
    pub fn mode_for_parameters(&self, brownout_parameters: bool) -> OutageKind {
        let brownout = self.processes.iter().find(|p| p.mode == OutageKind::Brownout);
        match (brownout_parameters, brownout) {
            (true, Some(p)) => p.mode,
            _ => self.processes.first().map_or(OutageKind::default(), |p| p.mode),
        }
    }
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
    /// The profile process it comes from (`None`: the scenario's own).
    pub component: Option<&'static str>,
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

    /// The complete processes: one per process of the profile, each with
    /// the fields written here in place of the profile's, else the profile
    /// process's, else the defaults (exponential laws, mode down); without a
    /// profile, one. Empty when mtbf or mttr is given by neither
    /// (validation reports it).
    pub fn renewals(&self) -> Vec<Renewal> {
        match self.base_profile() {
            Some(profile) => profile.processes.iter().filter_map(|p| self.resolve(Some(p))).collect(),
            None => self.resolve(None).into_iter().collect(),
        }
    }

    /// This process over one profile process (or none).
    fn resolve(&self, base: Option<&'static ProfileProcess>) -> Option<Renewal> {
        let mtbf = self.mtbf.or(base.map(|b| b.mtbf))?;
        let mttr = self.mttr.or(base.map(|b| b.mttr))?;
        let kind = self.mode.or(base.map(|b| b.mode)).unwrap_or_default();
        let latency_factor = self.latency_factor.or(base.and_then(|b| b.latency_factor));
        let error_probability = self.error_probability.or(base.and_then(|b| b.error_probability));
        Some(Renewal {
            component: base.map(|b| b.name.as_str()),
            mtbf,
            mttr,
            uptime: self.uptime.unwrap_or(Law::Exponential),
            uptime_sigma: self.uptime_sigma.unwrap_or(0.0),
            repair: self.repair.or(base.and_then(|b| b.repair)).unwrap_or(Law::Exponential),
            repair_sigma: self.repair_sigma.or(base.and_then(|b| b.repair_sigma)).unwrap_or(0.0),
            mode: OutageMode::resolve(kind, latency_factor, error_probability, self.rpm),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(profile: &str) -> OutageProcess {
        OutageProcess {
            endpoint: None,
            provider: Some("p".into()),
            region: None,
            profile: Some(profile.into()),
            mtbf: None,
            mttr: None,
            uptime: None,
            uptime_sigma: None,
            repair: None,
            repair_sigma: None,
            mode: None,
            latency_factor: None,
            error_probability: None,
            rpm: None,
        }
    }

    #[test]
    fn the_embedded_provider_file_parses_with_both_profiles() {
        let parsed: ProfileFile = toml::from_str(PROVIDERS_TOML).expect("data/providers.toml parses");
        assert_eq!(parsed.profiles.len(), 2);
        let names = |p: &OutageProfile| p.processes.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(profile("openai-like").unwrap()), ["partial", "major"]);
        assert_eq!(names(profile("anthropic-like").unwrap()), ["partial"]);
    }

    #[test]
    fn a_profile_gives_one_renewal_per_process_and_written_fields_override_each() {
        let partial = OutageMode::Brownout {
            latency_factor: 1.0,
            error_probability: 0.3,
        };
        let r = process("openai-like").renewals();
        let got: Vec<_> = r.iter().map(|r| (r.component, r.mode, r.repair)).collect();
        assert_eq!(
            got,
            [
                (Some("partial"), partial, Law::Exponential),
                (Some("major"), OutageMode::Down, Law::Exponential)
            ]
        );
        let anthropic = process("anthropic-like").renewals();
        assert_eq!(
            (anthropic[0].repair, anthropic[0].repair_sigma),
            (Law::Lognormal, 1.262)
        );

        // A written mode and mttr apply to every process; a brownout
        // parameter only changes the processes that are brownouts.
        let mut worst = process("openai-like");
        worst.mode = Some(OutageKind::Down);
        worst.mttr = Some(Span::from_hours(2));
        assert!(
            worst
                .renewals()
                .iter()
                .all(|r| r.mode == OutageMode::Down && r.mttr == Span::from_hours(2))
        );
        let mut flakier = process("openai-like");
        flakier.error_probability = Some(0.5);
        let modes: Vec<_> = flakier.renewals().iter().map(|r| r.mode).collect();
        assert_eq!(
            modes,
            [
                OutageMode::Brownout {
                    latency_factor: 1.0,
                    error_probability: 0.5
                },
                OutageMode::Down
            ]
        );
        assert_eq!(
            profile("openai-like").unwrap().mode_for_parameters(true),
            OutageKind::Brownout
        );
        assert_eq!(
            profile("openai-like").unwrap().mode_for_parameters(false),
            OutageKind::Brownout
        );
    }

    #[test]
    fn a_process_without_profile_is_one_renewal_or_none_without_mtbf() {
        let mut own = process("none");
        own.profile = None;
        assert!(own.renewals().is_empty(), "no mtbf, no mttr, no profile");
        own.mtbf = Some(Span::from_days(3));
        own.mttr = Some(Span::from_hours(1));
        let r = own.renewals();
        assert_eq!(r.len(), 1);
        assert_eq!(
            (r[0].component, r[0].mode, r[0].repair),
            (None, OutageMode::Down, Law::Exponential)
        );
    }
}
