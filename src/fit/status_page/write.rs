//! Profiles as TOML in `data/providers.toml`'s format, every figure with
//! its arithmetic in a comment. The text depends only on the summary
//! figures ([`super::ServiceRecord`]), never on the samples, so that the built-in
//! profiles can be written again from the figures `data/providers.toml`
//! quotes: tests/it/status_page_fit.rs does, and requires the same bytes
//! for every process.

use std::fmt::Write;

use super::estimate::{KindFit, OutageKindName, ProfileFit, law_name};
use crate::model::status_page::{MINUTES_PER_DAY, PARTIAL_OUTAGE_WEIGHT, StatusPageError};
use crate::scenario::Law;

/// The names the ICPE 2025 study's tables give the services of its record
/// (`sec5.3-service_availability.ipynb` renames them so).
const STUDY_NAMES: [(&str, &str); 8] = [
    ("api", "API-OpenAI"),
    ("chatgpt", "ChatGPT"),
    ("labs", "DALL·E"),
    ("playground", "Playground"),
    ("api.anthropic.com", "API-Anthropic"),
    ("claude.ai", "Claude"),
    ("console.anthropic.com", "Console"),
    ("character.ai", "Character.AI"),
];

/// The name a profile's `service` gives: the study's for its services,
/// else the record's own.
pub fn display_name(service: &str) -> &str {
    STUDY_NAMES
        .iter()
        .find(|(record, _)| *record == service)
        .map_or(service, |(_, study)| study)
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// `s` as a TOML comment may hold it: control characters (a file name
/// may have them) escaped, as Rust writes them.
fn comment_text(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A figure as the record holds it: whole numbers without a fraction.
fn figure(x: f64) -> String {
    format!("{x}")
}

fn percent(x: f64) -> String {
    format!("{:.4}%", 100.0 * x)
}

/// "(95%: a to b unit)", or a note when there is no interval.
fn interval(low: f64, high: f64, scale: f64, digits: usize, unit: &str) -> String {
    if low.is_finite() && high.is_finite() {
        format!("(95%: {:.digits$} to {:.digits$} {unit})", low / scale, high / scale)
    } else {
        "(no interval: the record's sum of squared minutes is missing)".to_string()
    }
}

/// The mean outage as the profile writes it: minutes to 0.01, or seconds
/// under a minute.
fn mttr_text(seconds: f64) -> String {
    if seconds >= 60.0 {
        format!("{:.2}m", seconds / 60.0)
    } else {
        format!("{seconds:.2}s")
    }
}

impl ProfileFit {
    /// The profile's comment lines on the record as a whole.
    fn preamble(&self, o: &mut String) {
        let r = &self.record;
        let _ = write!(o, "# ---- {}: service {}", self.name, quote(&r.service));
        let study = display_name(&r.service);
        if study != r.service {
            let _ = write!(o, " ({study} in the ICPE 2025 study)");
        }
        if let Some(p) = &r.provider {
            let _ = write!(o, ", provider {}", quote(p));
        }
        let _ = writeln!(o);
        let t = &r.table;
        match r.span {
            Some((first, last)) => {
                let _ = writeln!(o, "# {} days recorded, {first} to {last}.", t.days);
            }
            None => {
                let _ = writeln!(o, "# {} days recorded.", t.days);
            }
        }
        let _ = writeln!(
            o,
            "# Daily availability 1 - (major + {PARTIAL_OUTAGE_WEIGHT} * partial minutes) / 1440: mean {}, worst day {};",
            percent(t.mean),
            percent(t.worst)
        );
        let _ = writeln!(
            o,
            "#   days at 100% {}, at or above 99.9% {}, 99% {}, 90% {} (`cited`: to 0.01 point).",
            percent(t.full),
            percent(t.at_least_99_9),
            percent(t.at_least_99),
            percent(t.at_least_90)
        );
        if let Some(both) = r.both_kinds
            && r.partial.days_with_minutes > 0.0
            && r.major.days_with_minutes > 0.0
        {
            let expected = r.partial.days_with_minutes * r.major.days_with_minutes / r.partial.days;
            let _ = writeln!(
                o,
                "# {both} days had both partial and major minutes ({expected:.1} were the two independent, as the processes are)."
            );
        }
        if let Some(d) = r.incident_days {
            let _ = writeln!(
                o,
                "# {} days had a status-page incident, {} of them without an outage minute.",
                d.with_incident, d.without_minutes
            );
        }
        if let (Some(s), Some(i)) = (&r.incidents, &self.incidents) {
            let [none, minor, major, critical, maintenance] = s.by_impact;
            let _ = writeln!(
                o,
                "# Status-page incidents: {} (impact none {none}, minor {minor}, major {major}, critical {critical}, maintenance {maintenance}).",
                i.rates.incidents
            );
            if s.out_of_order > 0 {
                let _ = writeln!(
                    o,
                    "#   {} more left out, their stages out of order, as the study does.",
                    s.out_of_order
                );
            }
            let _ = writeln!(
                o,
                "#   MTBF {:.2} d {}, MTTR {:.2} h {} over the {} with a first status and a resolution.",
                i.mtbf.value / 86_400.0,
                interval(i.mtbf.low, i.mtbf.high, 86_400.0, 2, "d"),
                i.mttr.value / 3600.0,
                interval(i.mttr.low, i.mttr.high, 3600.0, 2, "h"),
                i.rates.resolved
            );
            let _ = writeln!(
                o,
                "#   Not simulated: the record has no measure of their effect on calls beyond the outage minutes above."
            );
        } else if r.incidents.is_some() {
            let _ = writeln!(o, "# Status-page incidents: fewer than two, no rates.");
        }
    }

    /// The profile as TOML: its comments, `[[profiles]]` and a
    /// `[[profiles.processes]]` per kind with minutes.
    pub fn toml(&self) -> String {
        let mut o = String::new();
        self.preamble(&mut o);
        let t = &self.record.table;
        let _ = writeln!(o, "[[profiles]]");
        let _ = writeln!(o, "name = {}", quote(&self.name));
        let _ = writeln!(o, "service = {}", quote(display_name(&self.record.service)));
        let _ = writeln!(
            o,
            "cited = {{ days = {}, mean = {:.4}, worst = {:.4}, full = {:.4}, at_least_99_9 = {:.4}, at_least_99 = {:.4}, at_least_90 = {:.4} }}",
            t.days, t.mean, t.worst, t.full, t.at_least_99_9, t.at_least_99, t.at_least_90
        );
        for kind in &self.kinds {
            let _ = writeln!(o);
            o.push_str(&kind.toml());
        }
        o
    }
}

impl KindFit {
    /// This kind's block: the arithmetic in comments, then its
    /// `[[profiles.processes]]` table, or a comment saying why there is none.
    pub fn toml(&self) -> String {
        let mut o = String::new();
        let r = &self.record;
        let name = self.kind.name();
        let e = match &self.outcome {
            Ok(e) => e,
            Err(StatusPageError::NoOutage) => {
                let _ = writeln!(
                    o,
                    "# {name}: no minute of {name} outage in {} days: no process.",
                    figure(r.days)
                );
                return o;
            }
            Err(err) => {
                let _ = writeln!(o, "# {name}: no process: {err}.");
                return o;
            }
        };
        let (f, u) = (r.share_of_days(), r.share_of_time());
        let g = ((1.0 - u) / (1.0 - f)).ln();
        let up = e.mtbf.value / 86_400.0;
        let down = e.mttr.value / 86_400.0;
        match self.kind {
            OutageKindName::Partial => {
                let _ = writeln!(
                    o,
                    "# partial: a brownout failing {PARTIAL_OUTAGE_WEIGHT} of calls, the study's weight of a partial minute."
                );
            }
            OutageKindName::Major => {
                let _ = writeln!(o, "# major: down.");
            }
        }
        let _ = writeln!(
            o,
            "#   f = {}/{} = {f:.6} of days with minutes, u = {}/{} = {u:.9} of the time",
            figure(r.days_with_minutes),
            figure(r.days),
            figure(r.minutes),
            figure(MINUTES_PER_DAY * r.days)
        );
        let _ = writeln!(
            o,
            "#   U = 1 d / ln((1 - u) / (1 - f)) = 1 / ln({:.6} / {:.6}) = 1 / {g:.8} = {up:.4} d {}",
            1.0 - u,
            1.0 - f,
            interval(e.mtbf.low, e.mtbf.high, 86_400.0, 2, "d")
        );
        let _ = writeln!(
            o,
            "#   D = U * u / (1 - u) = {up:.4} * {u:.9} / {:.9} = {down:.6} d = {:.2} min {}",
            1.0 - u,
            down * MINUTES_PER_DAY,
            interval(e.mttr.low, e.mttr.high, 60.0, 1, "min")
        );
        let fitted = &e.fitted;
        let (chosen, other) = match fitted.repair {
            Law::Lognormal => (
                format!("lognormal {:.2}", fitted.aic_lognormal),
                format!("exponential {:.2}", fitted.aic_exponential),
            ),
            Law::Exponential => (
                format!("exponential {:.2}", fitted.aic_exponential),
                if fitted.aic_lognormal.is_finite() {
                    format!("lognormal {:.2}", fitted.aic_lognormal)
                } else {
                    "lognormal (degenerate)".to_string()
                },
            ),
        };
        let _ = writeln!(
            o,
            "#   lengths of the {} days' minutes: AIC {chosen} <= {other} (sigma {:.3}): {}",
            figure(r.days_with_minutes),
            e.sigma.value,
            law_name(fitted.repair)
        );
        let _ = writeln!(o, "[[profiles.processes]]");
        let _ = writeln!(o, "name = {}", quote(name));
        let _ = writeln!(o, "mtbf = {}", quote(&format!("{up:.4}d")));
        let _ = writeln!(o, "mttr = {}", quote(&mttr_text(e.mttr.value)));
        let _ = writeln!(o, "repair = {}", quote(law_name(fitted.repair)));
        if fitted.repair == Law::Lognormal {
            let _ = writeln!(o, "repair_sigma = {:.3}", fitted.repair_sigma);
        }
        match self.kind {
            OutageKindName::Partial => {
                let _ = writeln!(o, "mode = \"brownout\"");
                let _ = writeln!(o, "latency_factor = 1.0");
                let _ = writeln!(o, "error_probability = {PARTIAL_OUTAGE_WEIGHT}");
            }
            OutageKindName::Major => {
                let _ = writeln!(o, "mode = \"down\"");
            }
        }
        let _ = writeln!(o, "record = {}", record_toml(r));
        o
    }
}

/// A record as the inline table `data/providers.toml` writes.
pub fn record_toml(r: &crate::model::OutageRecord) -> String {
    format!(
        "{{ days = {}, days_with_minutes = {}, minutes = {}, sum_ln_minutes = {:.6}, sum_sq_ln_minutes = {:.6}, sum_sq_minutes = {} }}",
        figure(r.days),
        figure(r.days_with_minutes),
        figure(r.minutes),
        r.sum_ln_minutes,
        r.sum_sq_ln_minutes,
        figure(r.sum_sq_minutes)
    )
}

/// The general comments that open a profiles file.
pub fn file_header(sources: &[(String, &str, u64)]) -> String {
    let mut o = String::from("# Outage profiles fitted by `slaplan fit --status-page` from\n");
    for (file, kind, rows) in sources {
        let _ = writeln!(o, "#   {} ({kind}, {rows} rows)", comment_text(file));
    }
    o.push_str(
        "# in the layout of the ICPE 2025 study of LLM service outages (Chu, Talluri, Lu, Iosup;\n\
         # atlarge-research/llm-service-analysis, data/clean/). The format of data/providers.toml:\n\
         # copy a profile there and rebuild to use it as `profile = \"...\"`, or write its processes\n\
         # as [[outage_processes]] (the fit report's fit.md lists them).\n\
         #\n\
         # Each kind of outage on the uptime page is an independent alternating renewal process\n\
         # (src/model/status_page.rs, OutageRecord::fit): partial outages a brownout failing 0.3\n\
         # of calls (the study's weight of a partial minute), major outages down. With f the share\n\
         # of days with minutes and u the share of time in outage, exponential up times of mean U\n\
         # and outages of mean D have D / (U + D) = u and (1 - u) exp(-1 d / U) = 1 - f, so\n\
         # U = 1 d / ln((1 - u) / (1 - f)) and D = U u / (1 - u). The law of the outage lengths is\n\
         # the exponential or the lognormal fitted to the days' minutes, whichever has the lower\n\
         # AIC = 2k - 2 ln L. Intervals: delta method over days taken as independent.\n",
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_study_names_its_services_and_others_keep_theirs() {
        assert_eq!(display_name("api"), "API-OpenAI");
        assert_eq!(display_name("api.anthropic.com"), "API-Anthropic");
        assert_eq!(display_name("status.example.com"), "status.example.com");
    }

    #[test]
    fn a_file_name_with_control_characters_leaves_the_header_valid_toml() {
        let plain = file_header(&[("data/outage.csv".to_string(), "daily record", 3)]);
        assert!(
            plain.contains("#   data/outage.csv (daily record, 3 rows)\n"),
            "{plain}"
        );
        let odd = file_header(&[("a\u{17}b\nc.csv".to_string(), "daily record", 3)]);
        assert!(odd.contains("#   a\\u{17}b\\nc.csv (daily record, 3 rows)\n"), "{odd}");
        let table: toml::Table = toml::from_str(&odd).expect("a header of comments reads as TOML");
        assert!(table.is_empty());
    }

    #[test]
    fn short_outages_are_written_in_seconds() {
        assert_eq!(mttr_text(85.93 * 60.0), "85.93m");
        assert_eq!(mttr_text(30.5), "30.50s");
    }

    #[test]
    fn a_record_keeps_whole_figures_whole() {
        let r = crate::model::OutageRecord {
            days: 418.0,
            days_with_minutes: 25.0,
            minutes: 1675.0,
            sum_ln_minutes: 84.0566331,
            sum_sq_ln_minutes: 322.4379849,
            sum_sq_minutes: 562_135.0,
        };
        assert_eq!(
            record_toml(&r),
            "{ days = 418, days_with_minutes = 25, minutes = 1675, sum_ln_minutes = 84.056633, sum_sq_ln_minutes = 322.437985, sum_sq_minutes = 562135 }"
        );
    }
}
