//! `slaplan fit --status-page`: provider outage profiles fitted to
//! status-page histories in the layout of the ICPE 2025 study of LLM
//! service outages (Chu, Talluri, Lu, Iosup; repository
//! atlarge-research/llm-service-analysis, `data/clean/`): a daily record of
//! partial and major outage minutes per service, and optionally the list
//! of status-page incidents with their affected services.
//!
//! This module owns reading those files ([`read`]), summarizing each
//! service in fixed memory ([`record`]: the figures a profile is fitted to
//! and quotes, and samples for goodness of fit), the fit with its intervals
//! ([`estimate`], on [`crate::model::status_page`]'s arithmetic), and
//! writing profiles in `data/providers.toml`'s format ([`write`]) and the
//! fit report ([`report`]). The written profiles depend only on the
//! summary figures, so the built-in profiles are written again, to the
//! digit, from the figures `data/providers.toml` quotes.
//!
//! **Architecture Invariant:** memory is fixed by the days recorded (one
//! entry per service and day, to reject a day recorded twice) and bounded
//! samples, never by the incident list's rows beyond 100 000 starts per
//! service; the same files give the same bytes.

mod estimate;
mod read;
mod record;
mod report;
mod write;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use estimate::{IncidentFit, KindFit, OutageKindName, ProcessEstimate, ProfileFit, renewal_intervals};
pub use read::{DayRow, IncidentRow, RecordFile, RecordFileKind};
pub use record::{IncidentDays, IncidentSummary, ServiceAcc, ServiceRecord, ServiceSamples};
pub use write::{display_name, file_header, record_toml};

use super::FitError;

/// A service to fit, as `--service SERVICE[=PROFILE]` writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceChoice {
    /// The service as the daily record names it.
    pub service: String,
    /// The profile's name (default: the service's).
    pub profile: String,
}

impl std::str::FromStr for ServiceChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<ServiceChoice, String> {
        let (service, profile) = match s.split_once('=') {
            Some((service, profile)) => (service.trim(), profile.trim()),
            None => (s.trim(), s.trim()),
        };
        let printable = |name: &str| !name.is_empty() && !name.chars().any(char::is_control);
        if !printable(service) || !printable(profile) {
            return Err(format!(
                "expected SERVICE or SERVICE=PROFILE, e.g. api=openai-like, got {s:?}"
            ));
        }
        Ok(ServiceChoice {
            service: service.to_string(),
            profile: profile.to_string(),
        })
    }
}

/// One file read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordFileSummary {
    /// Its path as given.
    pub path: String,
    /// What it holds.
    pub kind: RecordFileKind,
    /// Rows read.
    pub rows: u64,
    /// Services chosen that it has no column for (incident lists only).
    pub missing_services: Vec<String>,
}

/// Profiles fitted to status-page histories.
#[derive(Clone, Debug)]
pub struct StatusPageFit {
    /// The files read, daily records first, each kind in the order given.
    pub files: Vec<RecordFileSummary>,
    /// One profile per service with outage minutes, in the order chosen
    /// (by service name without `--service`).
    pub profiles: Vec<ProfileFit>,
    /// The samples behind each profile's goodness of fit, by profile.
    pub samples: Vec<ServiceSamples>,
    /// Services that give no outage process, each with why (no minute of
    /// outage, or no day without one): no profile.
    pub without_outage: Vec<(String, String)>,
}

/// Reads the files at `paths` (daily records and incident lists in any
/// order) and fits a profile to each chosen service (every service of the
/// daily records when `choices` is empty).
pub fn fit_status_pages(paths: &[PathBuf], choices: &[ServiceChoice]) -> Result<StatusPageFit, FitError> {
    let mut daily = Vec::new();
    let mut lists = Vec::new();
    for path in paths {
        let file = RecordFile::open(path)?;
        match file.kind() {
            RecordFileKind::Daily => daily.push(file),
            RecordFileKind::Incidents => lists.push(file),
        }
    }
    if daily.is_empty() {
        return Err(FitError::NoDailyRecord { files: joined(paths) });
    }
    let chosen = |service: &str| choices.is_empty() || choices.iter().any(|c| c.service == service);
    let mut services: BTreeMap<String, ServiceAcc> = BTreeMap::new();
    let mut files = Vec::new();
    for mut file in daily {
        while let Some(day) = file.next_day()? {
            if chosen(&day.service) {
                services
                    .entry(day.service.clone())
                    .or_insert_with(|| ServiceAcc::new(&day.service))
                    .add_day(file.name(), &day)?;
            }
        }
        files.push(summary(&file, Vec::new()));
    }
    if let Some(missing) = choices.iter().find(|c| !services.contains_key(&c.service)) {
        return Err(FitError::NoService {
            service: missing.service.clone(),
            known: known_services(paths)?,
        });
    }
    for mut file in lists {
        let columns: Vec<(String, usize)> = services
            .keys()
            .filter_map(|s| file.column(s, true).map(|i| (s.clone(), i)))
            .collect();
        let missing = services
            .keys()
            .filter(|s| !columns.iter().any(|(c, _)| c == *s))
            .cloned()
            .collect();
        for (service, _) in &columns {
            if let Some(acc) = services.get_mut(service) {
                acc.has_incident_list();
            }
        }
        while let Some(incident) = file.next_incident()? {
            for (service, index) in &columns {
                if file.flag(*index)?
                    && let Some(acc) = services.get_mut(service)
                {
                    acc.add_incident(&incident);
                }
            }
        }
        files.push(summary(&file, missing));
    }
    let order: Vec<(String, String)> = if choices.is_empty() {
        services.keys().map(|s| (s.clone(), s.clone())).collect()
    } else {
        choices.iter().map(|c| (c.service.clone(), c.profile.clone())).collect()
    };
    let mut finished: BTreeMap<String, (ServiceRecord, ServiceSamples)> = services
        .into_iter()
        .filter_map(|(name, acc)| acc.finish().map(|r| (name, r)))
        .collect();
    let (mut profiles, mut samples, mut without_outage) = (Vec::new(), Vec::new(), Vec::new());
    for (service, profile) in order {
        let Some((record, sample)) = finished.remove(&service) else {
            continue;
        };
        let fit = ProfileFit::from_record(&profile, record, Some(&sample))?;
        if fit.has_process() {
            profiles.push(fit);
            samples.push(sample);
        } else {
            without_outage.push((service, fit.why_no_process()));
        }
    }
    if profiles.is_empty() {
        return Err(FitError::NoProfile {
            files: joined(paths),
            services: without_outage
                .iter()
                .map(|(service, why)| format!("{service} ({why})"))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(StatusPageFit {
        files,
        profiles,
        samples,
        without_outage,
    })
}

fn joined(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn summary(file: &RecordFile, missing_services: Vec<String>) -> RecordFileSummary {
    RecordFileSummary {
        path: file.name().to_string(),
        kind: file.kind(),
        rows: file.rows(),
        missing_services,
    }
}

/// The services the daily records at `paths` name, for an error message.
fn known_services(paths: &[PathBuf]) -> Result<String, FitError> {
    let mut names = std::collections::BTreeSet::new();
    for path in paths {
        let mut file = RecordFile::open(path)?;
        if file.kind() == RecordFileKind::Daily {
            while let Some(day) = file.next_day()? {
                names.insert(day.service);
            }
        }
    }
    Ok(names.into_iter().collect::<Vec<_>>().join(", "))
}

impl StatusPageFit {
    /// The profiles file: general comments, then each profile.
    pub fn profiles_toml(&self) -> Result<String, FitError> {
        let sources: Vec<(String, &str, u64)> = self
            .files
            .iter()
            .map(|f| (f.path.clone(), f.kind.name(), f.rows))
            .collect();
        let mut text = file_header(&sources);
        for p in &self.profiles {
            text.push('\n');
            text.push_str(&p.toml());
        }
        check_profiles(&text)?;
        Ok(text)
    }

    /// Writes `fit.md`, `laws.csv` and `qq.csv` into `dir`.
    pub fn write_report(&self, dir: &Path) -> Result<(), FitError> {
        super::report::write_files(
            dir,
            &[
                ("fit.md", self.summary_md()),
                ("laws.csv", self.laws_csv()),
                ("qq.csv", self.qq_csv()),
            ],
        )
    }
}

/// Checks that `text` reads as `data/providers.toml` does, with every
/// process's figures the simulator needs.
pub fn check_profiles(text: &str) -> Result<(), FitError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        profiles: Vec<crate::scenario::OutageProfile>,
    }
    let file: File = toml::from_str(text).map_err(|e| FitError::Invalid(e.to_string()))?;
    for p in &file.profiles {
        for process in &p.processes {
            if process.mtbf == crate::time::Span::ZERO || process.mttr == crate::time::Span::ZERO {
                return Err(FitError::Invalid(format!(
                    "profile {} process {}: a zero mtbf or mttr",
                    p.name, process.name
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_choice_names_a_service_and_a_profile_in_printable_characters() {
        let both: ServiceChoice = "api = openai-like".parse().unwrap();
        assert_eq!((both.service.as_str(), both.profile.as_str()), ("api", "openai-like"));
        let one: ServiceChoice = "api".parse().unwrap();
        assert_eq!((one.service.as_str(), one.profile.as_str()), ("api", "api"));
        for bad in ["", "=x", "api=", "a\u{17}pi", "api=open\u{7f}ai"] {
            let e = bad.parse::<ServiceChoice>().unwrap_err();
            assert!(e.starts_with("expected SERVICE or SERVICE=PROFILE"), "{bad:?}: {e}");
        }
    }
}
