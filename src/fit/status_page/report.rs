//! The fit report of status-page profiles, in the same three files as the
//! log fit's: `fit.md` (files read, each profile's figures, laws and
//! intervals, and its processes written as scenario `[[outage_processes]]`),
//! `laws.csv` (every fitted parameter with its 95% interval and the KS
//! distance and p-value of its law) and `qq.csv` (the days' minutes
//! against the fitted law's quantiles).

use std::fmt::Write;

use statrs::distribution::{ContinuousCDF, Normal};

use super::estimate::{KindFit, law_name};
use super::{ProfileFit, StatusPageFit};
use crate::fit::Estimate;
use crate::fit::report::{LAWS_HEADER, Law, QQ_HEADER, csv_text, num, push};
use crate::model::status_page::PARTIAL_OUTAGE_WEIGHT;
use crate::scenario::Law as Repair;

/// One row of `laws.csv` before its scope and quantity: parameter, law,
/// estimate, n, goodness of fit, note.
type LawRow<'a> = (&'a str, &'a str, Estimate, u64, Option<crate::fit::Ks>, &'a str);

const DELTA: &str = "delta method over days taken as independent (too narrow if outage days cluster)";

impl ProfileFit {
    /// The profile's processes as a scenario writes them, scoped to the
    /// record's provider (else the service).
    pub fn scenario_processes(&self) -> String {
        let scope = self.record.provider.as_deref().unwrap_or(&self.record.service);
        let mut o = String::new();
        for k in &self.kinds {
            if k.outcome.is_err() {
                continue;
            }
            let block = k.toml();
            let _ = writeln!(o, "[[outage_processes]]  # {} outages", k.kind.name());
            let _ = writeln!(o, "provider = {}", toml::Value::String(scope.to_string()));
            for line in block.lines().filter(|l| !l.starts_with('#')) {
                if [
                    "mtbf",
                    "mttr",
                    "repair",
                    "repair_sigma",
                    "mode",
                    "latency_factor",
                    "error_probability",
                ]
                .iter()
                .any(|key| line.split(" = ").next() == Some(key))
                {
                    let _ = writeln!(o, "{line}");
                }
            }
            o.push('\n');
        }
        o
    }
}

fn interval_text(e: &Estimate, scale: f64, digits: usize) -> String {
    if e.low.is_finite() && e.high.is_finite() {
        format!("[{:.digits$}, {:.digits$}]", e.low / scale, e.high / scale)
    } else {
        "[no interval]".to_string()
    }
}

impl StatusPageFit {
    /// `fit.md`.
    pub fn summary_md(&self) -> String {
        let mut o =
            String::from("# Fit report: status pages\n\n## Files\n\n| file | holds | rows |\n| --- | --- | --- |\n");
        for f in &self.files {
            let _ = writeln!(o, "| {} | {} | {} |", f.path, f.kind.name(), f.rows);
        }
        for f in &self.files {
            if !f.missing_services.is_empty() {
                let _ = writeln!(
                    o,
                    "\n{} has no column for {}: no incident of theirs was read from it.",
                    f.path,
                    f.missing_services.join(", ")
                );
            }
        }
        for (service, why) in &self.without_outage {
            let _ = writeln!(o, "\nNo profile for {service}: {why}.");
        }
        for p in &self.profiles {
            let r = &p.record;
            let t = &r.table;
            let _ = writeln!(o, "\n## {} (service {})\n", p.name, r.service);
            let _ = writeln!(
                o,
                "- days: {}{}; daily availability mean {:.4}%, worst {:.4}%; days at 100% {:.2}%, ≥ 99.9% {:.2}%, ≥ 99% {:.2}%, ≥ 90% {:.2}%",
                t.days,
                r.span.map(|(a, b)| format!(" ({a} to {b})")).unwrap_or_default(),
                100.0 * t.mean,
                100.0 * t.worst,
                100.0 * t.full,
                100.0 * t.at_least_99_9,
                100.0 * t.at_least_99,
                100.0 * t.at_least_90
            );
            for k in &p.kinds {
                let _ = writeln!(o, "- {}", kind_line(k));
            }
            match (&r.incidents, &p.incidents) {
                (_, Some(i)) => {
                    let ks = |k: Option<crate::fit::Ks>| {
                        k.map_or("not tested".into(), |k| {
                            format!("KS {:.4} (p {:.3}, n {})", k.distance, k.p_value, k.n)
                        })
                    };
                    let _ = writeln!(
                        o,
                        "- incidents: {}; MTBF {:.3} d {} (gaps: {}), MTTR {:.3} h {} over {} (exponential: {})",
                        i.rates.incidents,
                        i.mtbf.value / 86_400.0,
                        interval_text(&i.mtbf, 86_400.0, 3),
                        ks(i.gaps_ks),
                        i.mttr.value / 3600.0,
                        interval_text(&i.mttr, 3600.0, 3),
                        i.rates.resolved,
                        ks(i.resolution_ks)
                    );
                }
                (Some(_), None) => {
                    let _ = writeln!(o, "- incidents: fewer than two");
                }
                (None, None) => {
                    let _ = writeln!(o, "- incidents: no incident list with this service");
                }
            }
            if let Some(d) = r.incident_days {
                let _ = writeln!(
                    o,
                    "- days with a status-page incident: {}, of which {} without an outage minute (mild: not simulated)",
                    d.with_incident, d.without_minutes
                );
            }
            let _ = writeln!(
                o,
                "\nIn a scenario, without rebuilding (the profile's processes, independent):\n\n```toml\n{}```",
                p.scenario_processes()
            );
        }
        let _ = writeln!(
            o,
            "\n## Method\n\nEach kind of outage is an alternating renewal process with exponential up times whose mean U and mean outage D \
             reproduce the record's share of days with minutes f and share of time in outage u: U = 1 d / ln((1 - u) / (1 - f)), \
             D = U u / (1 - u). Partial outages fail {PARTIAL_OUTAGE_WEIGHT} of calls (the study's weight), major ones all. \
             The law of the outage lengths is fitted to the days' minutes (a day's minutes stand for one outage), exponential or lognormal, \
             whichever has the lower AIC. Intervals of U and D: {DELTA}; of f: Clopper-Pearson; of the days' mean minutes and of incident rates: \
             chi-square for an exponential mean; of sigma: chi-square. KS p-values are asymptotic and, for laws fitted on the same data, \
             conservative; minutes are whole numbers, which widens the KS distance a little. Incidents: MTBF the mean gap between starts, \
             MTTR from the first status to the resolution, incidents with stages out of order left out (as the study computes its Table 6)."
        );
        o
    }

    /// `laws.csv`.
    pub fn laws_csv(&self) -> String {
        let mut out = String::from(LAWS_HEADER);
        for p in &self.profiles {
            let scope = format!("status_page:{}", p.name);
            for k in &p.kinds {
                let Ok(e) = &k.outcome else { continue };
                let n = k.record.days as u64;
                let n_days = k.record.days_with_minutes as u64;
                let law = law_name(e.fitted.repair);
                let (exp_ks, log_ks) = e.ks.map_or((None, None), |(a, b)| (Some(a), Some(b)));
                let chosen_ks = if e.fitted.repair == Repair::Lognormal {
                    log_ks
                } else {
                    exp_ks
                };
                let aic = format!(
                    "AIC exponential {:.2}, lognormal {:.2}",
                    e.fitted.aic_exponential, e.fitted.aic_lognormal
                );
                let rows: [LawRow<'_>; 5] = [
                    ("mtbf_s", "exponential", e.mtbf, n, None, DELTA),
                    ("mttr_s", law, e.mttr, n, chosen_ks, DELTA),
                    (
                        "share_of_days",
                        "bernoulli",
                        e.share_of_days,
                        n,
                        None,
                        "Clopper-Pearson",
                    ),
                    ("day_minutes_mean", "exponential", e.day_minutes, n_days, exp_ks, &aic),
                    ("day_minutes_sigma", "lognormal", e.sigma, n_days, log_ks, &aic),
                ];
                for (parameter, law, estimate, n, ks, note) in rows {
                    push(
                        &mut out,
                        &Law {
                            scope: &scope,
                            quantity: k.kind.name(),
                            law,
                            parameter,
                            estimate,
                            n,
                            ks,
                            note,
                        },
                    );
                }
            }
            if let Some(i) = &p.incidents {
                for (parameter, estimate, n, ks) in [
                    ("mtbf_s", i.mtbf, i.rates.incidents as u64, i.gaps_ks),
                    ("mttr_s", i.mttr, i.rates.resolved as u64, i.resolution_ks),
                ] {
                    push(
                        &mut out,
                        &Law {
                            scope: &scope,
                            quantity: "incidents",
                            law: "exponential",
                            parameter,
                            estimate,
                            n,
                            ks,
                            note: "chi-square interval; not simulated",
                        },
                    );
                }
            }
        }
        out
    }

    /// `qq.csv`: each kind's days' minutes against its fitted law at 1%..99%.
    pub fn qq_csv(&self) -> String {
        let mut out = String::from(QQ_HEADER);
        for p in &self.profiles {
            for k in &p.kinds {
                let Ok(e) = &k.outcome else { continue };
                if k.sample.is_empty() {
                    continue;
                }
                let r = &k.record;
                let n = r.days_with_minutes;
                let (mean, mu) = (r.minutes / n, r.sum_ln_minutes / n);
                let sigma = e.fitted.repair_sigma;
                let fitted = |q: f64| match e.fitted.repair {
                    Repair::Lognormal => (mu + sigma * Normal::standard().inverse_cdf(q)).exp(),
                    Repair::Exponential => -mean * (1.0 - q).ln(),
                };
                for i in 1..=99 {
                    let q = f64::from(i) / 100.0;
                    let observed = k.sample[((k.sample.len() - 1) as f64 * q).round() as usize];
                    let _ = writeln!(
                        out,
                        "{},{}_day_minutes,{q},{},{}",
                        csv_text(&format!("status_page:{}", p.name)),
                        k.kind.name(),
                        num(observed),
                        num(fitted(q))
                    );
                }
            }
        }
        out
    }
}

fn kind_line(k: &KindFit) -> String {
    let name = k.kind.name();
    let e = match &k.outcome {
        Ok(e) => e,
        Err(err) => return format!("{name}: no process ({err})"),
    };
    let ks = e.ks.map_or("KS not tested (figures only)".to_string(), |(a, b)| {
        format!(
            "KS exponential {:.4} (p {:.3}), lognormal {:.4} (p {:.3}), n {}",
            a.distance, a.p_value, b.distance, b.p_value, a.n
        )
    });
    format!(
        "{name}: {} of {} days with minutes (f {:.6} {}), {} minutes; MTBF {:.4} d {}, MTTR {:.2} min {}; \
         lengths {} (AIC exponential {:.2}, lognormal {:.2}; sigma {:.3} {}); {ks}",
        k.record.days_with_minutes,
        k.record.days,
        e.share_of_days.value,
        interval_text(&e.share_of_days, 1.0, 6),
        k.record.minutes,
        e.mtbf.value / 86_400.0,
        interval_text(&e.mtbf, 86_400.0, 4),
        e.mttr.value / 60.0,
        interval_text(&e.mttr, 60.0, 2),
        law_name(e.fitted.repair),
        e.fitted.aic_exponential,
        e.fitted.aic_lognormal,
        e.sigma.value,
        interval_text(&e.sigma, 1.0, 3)
    )
}
