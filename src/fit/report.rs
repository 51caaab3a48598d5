//! The fit report: `fit.md` (what was read, used and skipped, each law and
//! what was assumed), `laws.csv` (every fitted parameter with its 95%
//! interval and the law's Kolmogorov-Smirnov distance and p-value) and
//! `qq.csv` (observed against fitted quantiles of each continuous law).

use std::fmt::Write;
use std::path::Path;

use statrs::distribution::{ContinuousCDF, Normal};

use super::{CountFit, Estimate, Fit, FitError, LatencyFit, ShapeFit, TokenFit, quantiles};

/// The header of `laws.csv`.
pub(super) const LAWS_HEADER: &str =
    "scope,quantity,law,parameter,estimate,ci_low,ci_high,n,ks_distance,ks_p_value,note\n";
/// The header of `qq.csv`.
pub(super) const QQ_HEADER: &str = "scope,quantity,probability,observed,fitted\n";

/// One row of `laws.csv`.
pub(super) struct Law<'a> {
    pub scope: &'a str,
    pub quantity: &'a str,
    pub law: &'a str,
    pub parameter: &'a str,
    pub estimate: Estimate,
    pub n: u64,
    pub ks: Option<super::Ks>,
    pub note: &'a str,
}

pub(super) fn csv_text(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub(super) fn num(x: f64) -> String {
    if x.is_finite() { format!("{x}") } else { String::new() }
}

pub(super) fn push(out: &mut String, l: &Law<'_>) {
    let (ksd, ksp) =
        l.ks.map_or((String::new(), String::new()), |k| (num(k.distance), num(k.p_value)));
    let _ = writeln!(
        out,
        "{},{},{},{},{},{},{},{},{},{},{}",
        csv_text(l.scope),
        l.quantity,
        l.law,
        l.parameter,
        num(l.estimate.value),
        num(l.estimate.low),
        num(l.estimate.high),
        l.n,
        ksd,
        ksp,
        csv_text(l.note)
    );
}

const PROBS: usize = 99;

fn z(p: f64) -> f64 {
    Normal::standard().inverse_cdf(p)
}

impl Fit {
    /// `laws.csv`.
    pub fn laws_csv(&self) -> String {
        let mut out = String::from(LAWS_HEADER);
        let exact = |v: f64| Estimate::interval(v, v, v);
        for (name, e) in &self.endpoints {
            let scope = format!("endpoint:{name}");
            match &e.latency {
                LatencyFit::Lognormal {
                    ttft,
                    per_input,
                    per_output,
                    sigma,
                    ks,
                    poor,
                } => {
                    let note = if *poor {
                        "rejected at 1%, kept: the exponential fits worse"
                    } else {
                        ""
                    };
                    for (p, est) in [
                        ("ttft_s", ttft),
                        ("per_input_token_s", per_input),
                        ("per_output_token_s", per_output),
                        ("sigma", sigma),
                    ] {
                        push(
                            &mut out,
                            &Law {
                                scope: &scope,
                                quantity: "latency",
                                law: "lognormal",
                                parameter: p,
                                estimate: *est,
                                n: e.latency_rows,
                                ks: Some(*ks),
                                note,
                            },
                        );
                    }
                }
                LatencyFit::Exponential { mean, ks, reason } => {
                    push(
                        &mut out,
                        &Law {
                            scope: &scope,
                            quantity: "latency",
                            law: "exponential",
                            parameter: "mean_s",
                            estimate: *mean,
                            n: e.by_status[0],
                            ks: *ks,
                            note: reason,
                        },
                    );
                }
                LatencyFit::Missing => {
                    push(
                        &mut out,
                        &Law {
                            scope: &scope,
                            quantity: "latency",
                            law: "none",
                            parameter: "",
                            estimate: exact(f64::NAN),
                            n: 0,
                            ks: None,
                            note: "no successful call: the pooled mean of all endpoints",
                        },
                    );
                }
            }
            push(
                &mut out,
                &Law {
                    scope: &scope,
                    quantity: "errors",
                    law: "bernoulli",
                    parameter: "error_probability",
                    estimate: e.error_probability,
                    n: e.errors_outside.1,
                    ks: None,
                    note: "Clopper-Pearson; attempts outside incidents, 429s aside",
                },
            );
            if let Some(rpm) = e.provider_rpm {
                push(
                    &mut out,
                    &Law {
                        scope: &scope,
                        quantity: "rate_limit",
                        law: "median",
                        parameter: "provider_rpm",
                        estimate: exact(f64::from(rpm)),
                        n: e.limited_minutes,
                        ks: None,
                        note: "admitted attempts per minute in minutes with 429s",
                    },
                );
            }
            for (i, inc) in e.incidents.iter().enumerate() {
                let q = format!("incident[{i}]");
                let s = |ns: u64| ns as f64 / 1e9;
                push(
                    &mut out,
                    &Law {
                        scope: &scope,
                        quantity: &q,
                        law: if inc.hang { "hang" } else { "down" },
                        parameter: "start_epoch_s",
                        estimate: Estimate::interval(s(inc.start), s(inc.start_range.0), s(inc.start_range.1)),
                        n: inc.failures,
                        ks: None,
                        note: "range: (last success, first failure]",
                    },
                );
                push(
                    &mut out,
                    &Law {
                        scope: &scope,
                        quantity: &q,
                        law: if inc.hang { "hang" } else { "down" },
                        parameter: "end_epoch_s",
                        estimate: Estimate::interval(s(inc.end), s(inc.end_range.0), s(inc.end_range.1)),
                        n: inc.failures,
                        ks: None,
                        note: "range: (last failure, first success]",
                    },
                );
            }
            if let Some(p) = self.processes.get(name) {
                push(
                    &mut out,
                    &Law {
                        scope: &scope,
                        quantity: "outages",
                        law: "exponential",
                        parameter: "mtbf_s",
                        estimate: p.mtbf,
                        n: p.incidents,
                        ks: None,
                        note: "chi-square interval, time-truncated",
                    },
                );
                push(
                    &mut out,
                    &Law {
                        scope: &scope,
                        quantity: "outages",
                        law: "exponential",
                        parameter: "mttr_s",
                        estimate: p.mttr,
                        n: p.incidents,
                        ks: None,
                        note: "chi-square interval",
                    },
                );
            }
        }
        for ((tenant, workflow), w) in &self.workflows {
            let scope = format!("workflow:{tenant}/{workflow}");
            let a = &w.arrivals;
            let disp = a
                .dispersion
                .map(|(i, p)| format!("index of dispersion {i:.3}, p {p:.3}"))
                .unwrap_or_default();
            match &a.bursts {
                Some(Ok(b)) => {
                    let note = format!(
                        "{disp}; bins of {}s, likelihood ratio over Poisson {:.1}",
                        b.bin_seconds, b.likelihood_ratio
                    );
                    for (parameter, estimate) in [
                        ("rate_off_per_s", b.rate_off),
                        ("rate_on_per_s", b.rate_on),
                        ("factor", b.factor),
                        ("mean_on_s", b.mean_on),
                        ("mean_off_s", b.mean_off),
                    ] {
                        push(
                            &mut out,
                            &Law {
                                scope: &scope,
                                quantity: "arrivals",
                                law: "mmpp2",
                                parameter,
                                estimate,
                                n: a.arrivals,
                                ks: None,
                                note: &note,
                            },
                        );
                    }
                }
                _ => push(
                    &mut out,
                    &Law {
                        scope: &scope,
                        quantity: "arrivals",
                        law: "poisson",
                        parameter: "rate_per_s",
                        estimate: a.rate,
                        n: a.arrivals,
                        ks: None,
                        note: &disp,
                    },
                ),
            }
            for (label, values) in [("diurnal", &a.diurnal), ("weekly", &a.weekly)] {
                for (i, v) in values.iter().flatten().enumerate() {
                    push(
                        &mut out,
                        &Law {
                            scope: &scope,
                            quantity: "arrivals",
                            law: "profile",
                            parameter: &format!("{label}[{i}]"),
                            estimate: *v,
                            n: a.arrivals,
                            ks: None,
                            note: "",
                        },
                    );
                }
            }
            for (quantity, t) in [("input_tokens", &w.input), ("output_tokens", &w.output)] {
                match t {
                    TokenFit::Lognormal { mean, sigma, ks } => {
                        push(
                            &mut out,
                            &Law {
                                scope: &scope,
                                quantity,
                                law: "lognormal",
                                parameter: "mean",
                                estimate: *mean,
                                n: ks.n,
                                ks: Some(*ks),
                                note: "",
                            },
                        );
                        push(
                            &mut out,
                            &Law {
                                scope: &scope,
                                quantity,
                                law: "lognormal",
                                parameter: "sigma",
                                estimate: *sigma,
                                n: ks.n,
                                ks: Some(*ks),
                                note: "",
                            },
                        );
                    }
                    TokenFit::Empirical {
                        quantiles,
                        reason,
                        lognormal_ks,
                    } => {
                        let n = if quantity == "input_tokens" {
                            &w.token_counts.0
                        } else {
                            &w.token_counts.1
                        };
                        let median = quantiles.get(quantiles.len() / 2).copied().unwrap_or(0);
                        push(
                            &mut out,
                            &Law {
                                scope: &scope,
                                quantity,
                                law: "empirical",
                                parameter: "median",
                                estimate: exact(f64::from(median)),
                                n: n.values().sum(),
                                ks: *lognormal_ks,
                                note: reason,
                            },
                        );
                    }
                    TokenFit::Constant { value } => {
                        push(
                            &mut out,
                            &Law {
                                scope: &scope,
                                quantity,
                                law: "constant",
                                parameter: "value",
                                estimate: exact(f64::from(*value)),
                                n: w.calls,
                                ks: None,
                                note: "",
                            },
                        );
                    }
                    TokenFit::Missing => {
                        push(
                            &mut out,
                            &Law {
                                scope: &scope,
                                quantity,
                                law: "none",
                                parameter: "",
                                estimate: exact(f64::NAN),
                                n: 0,
                                ks: None,
                                note: "no counts in the log",
                            },
                        );
                    }
                }
            }
            let depth = match &w.shape {
                ShapeFit::Chain { depth, .. } | ShapeFit::Swarm { depth, .. } => Some(depth),
                ShapeFit::Single => None,
            };
            if let Some(CountFit::Geometric(m, ks)) = depth {
                push(
                    &mut out,
                    &Law {
                        scope: &scope,
                        quantity: "steps_per_task",
                        law: "geometric",
                        parameter: "mean",
                        estimate: *m,
                        n: w.shapes.tasks,
                        ks: Some(*ks),
                        note: "",
                    },
                );
            }
        }
        out
    }

    /// `qq.csv`: observed and fitted quantiles at 1%, …, 99%.
    pub fn qq_csv(&self) -> String {
        let mut out = String::from(QQ_HEADER);
        for (name, e) in &self.endpoints {
            let mut obs = e.residual_sample.clone();
            if obs.is_empty() {
                continue;
            }
            obs.sort_by(f64::total_cmp);
            let fitted = |p: f64| match &e.latency {
                LatencyFit::Lognormal { sigma, .. } => (-sigma.value * sigma.value / 2.0 + sigma.value * z(p)).exp(),
                _ => -(1.0 - p).ln(),
            };
            for k in 1..=PROBS {
                let p = k as f64 / 100.0;
                let o = obs[((obs.len() - 1) as f64 * p).round() as usize];
                let _ = writeln!(
                    out,
                    "{},latency_over_fitted_mean,{p},{},{}",
                    csv_text(&format!("endpoint:{name}")),
                    num(o),
                    num(fitted(p))
                );
            }
        }
        for ((tenant, workflow), w) in &self.workflows {
            for (quantity, t, counts) in [
                ("input_tokens", &w.input, &w.token_counts.0),
                ("output_tokens", &w.output, &w.token_counts.1),
            ] {
                let TokenFit::Lognormal { mean, sigma, .. } = t else {
                    continue;
                };
                let q = quantiles(counts, PROBS + 2);
                let mu = mean.value.ln() - sigma.value * sigma.value / 2.0;
                for (k, observed) in q.iter().enumerate().take(PROBS + 1).skip(1) {
                    let p = k as f64 / 100.0;
                    let fitted = (mu + sigma.value * z(p)).exp().round().max(1.0);
                    let _ = writeln!(
                        out,
                        "{},{quantity},{p},{observed},{}",
                        csv_text(&format!("workflow:{tenant}/{workflow}")),
                        num(fitted)
                    );
                }
            }
        }
        out
    }

    /// `fit.md`.
    pub fn summary_md(&self) -> String {
        let mut o = String::from("# Fit report\n\n## Logs\n\n| file | format | rows |\n| --- | --- | --- |\n");
        for f in &self.files {
            let _ = writeln!(o, "| {} | {} | {} |", f.path, f.format, f.rows);
        }
        let c = &self.counts;
        let _ = writeln!(
            o,
            "\n{} row(s), {} record(s): {} model call(s), {} tool call(s), {} agent run(s).\n\
             Used for endpoints: every model call with an endpoint ({} had none: workload only). \
             Used for workloads: each call once ({} retries or fallbacks of a call already counted: endpoint only). \
             {} model call(s) carried no token counts (not in the latency regression or the token laws).\n",
            c.rows, c.records, c.model, c.tools, c.agents, c.no_endpoint, c.retries, c.no_tokens
        );
        let _ = writeln!(o, "## Endpoints\n");
        for (name, e) in &self.endpoints {
            let _ = writeln!(o, "### {name}\n");
            let _ = writeln!(
                o,
                "- attempts: {} (ok {}, errors {}, timeouts {}, 429s {})",
                e.attempts, e.by_status[0], e.by_status[1], e.by_status[2], e.by_status[3]
            );
            match &e.latency {
                LatencyFit::Lognormal {
                    ttft,
                    per_input,
                    per_output,
                    sigma,
                    ks,
                    poor,
                } => {
                    let _ = writeln!(
                        o,
                        "- latency: lognormal, weighted least squares on {} calls: ttft {:.4} s [{:.4}, {:.4}], per input token {:.3e} s [{:.3e}, {:.3e}], per output token {:.3e} s [{:.3e}, {:.3e}], sigma {:.4} [{:.4}, {:.4}]; KS {:.4} (p {:.3}){}",
                        e.latency_rows,
                        ttft.value,
                        ttft.low,
                        ttft.high,
                        per_input.value,
                        per_input.low,
                        per_input.high,
                        per_output.value,
                        per_output.low,
                        per_output.high,
                        sigma.value,
                        sigma.low,
                        sigma.high,
                        ks.distance,
                        ks.p_value,
                        if *poor {
                            " — rejected at 1%; kept because the exponential fits worse, and the simulator has no empirical latency law"
                        } else {
                            ""
                        }
                    );
                }
                LatencyFit::Exponential { mean, reason, .. } => {
                    let _ = writeln!(
                        o,
                        "- latency: exponential, mean {:.4} s [{:.4}, {:.4}]: {reason}",
                        mean.value, mean.low, mean.high
                    );
                }
                LatencyFit::Missing => {
                    let _ = writeln!(
                        o,
                        "- latency: no successful call: the scenario uses the pooled mean of all endpoints"
                    );
                }
            }
            if let Some(t) = e.first_token_median {
                let _ = writeln!(
                    o,
                    "- time to first token: median {t:.4} s (the simulator's latency is the whole call)"
                );
            }
            let _ = writeln!(
                o,
                "- error probability: {:.6} [{:.6}, {:.6}] ({} of {} outside incidents)",
                e.error_probability.value,
                e.error_probability.low,
                e.error_probability.high,
                e.errors_outside.0,
                e.errors_outside.1
            );
            let _ = writeln!(o, "- incidents: {}", e.incidents.len());
            match self.processes.get(name) {
                Some(p) => {
                    let _ = writeln!(
                        o,
                        "- outage process: MTBF {:.0} s [{:.0}, {:.0}], MTTR {:.0} s [{:.0}, {:.0}]",
                        p.mtbf.value, p.mtbf.low, p.mtbf.high, p.mttr.value, p.mttr.low, p.mttr.high
                    );
                }
                None => {
                    let _ = writeln!(
                        o,
                        "- outage process: not fitted (needs {} incidents and 7 days of log)",
                        super::MIN_INCIDENTS
                    );
                }
            }
            let _ = writeln!(o);
        }
        let _ = writeln!(o, "## Workflows\n");
        for ((tenant, workflow), w) in &self.workflows {
            let a = &w.arrivals;
            let _ = writeln!(o, "### {tenant} / {workflow}\n");
            let _ = writeln!(
                o,
                "- arrivals: {} tasks, rate {:.6}/s [{:.6}, {:.6}]; diurnal {}, weekly {}",
                a.arrivals,
                a.rate.value,
                a.rate.low,
                a.rate.high,
                if a.diurnal.is_some() { "fitted" } else { "flat" },
                if a.weekly.is_some() { "fitted" } else { "flat" }
            );
            for n in &a.notes {
                let _ = writeln!(o, "- {n}");
            }
            if let Some((i, p)) = a.dispersion {
                let _ = writeln!(
                    o,
                    "- dispersion of hourly counts: {i:.3}, p {p:.2e} (Poisson rejected at 1%: {})",
                    p < super::workload::BURSTY_P
                );
            }
            match &a.bursts {
                Some(Ok(b)) => {
                    let ci = |e: &Estimate| format!("{:.4} [{:.4}, {:.4}]", e.value, e.low, e.high);
                    let _ = writeln!(
                        o,
                        "- bursts (two-state MMPP, {} bins of {}s, likelihood ratio over Poisson {:.1}): \
                         off rate {}/s, on rate {}/s, factor {}, mean on {}s, mean off {}s (95% intervals)",
                        b.bins,
                        b.bin_seconds,
                        b.likelihood_ratio,
                        ci(&b.rate_off),
                        ci(&b.rate_on),
                        ci(&b.factor),
                        ci(&b.mean_on),
                        ci(&b.mean_off)
                    );
                }
                Some(Err(why)) => {
                    let _ = writeln!(
                        o,
                        "- bursts: Poisson was rejected but no MMPP fits ({why}); Poisson arrivals kept"
                    );
                }
                None => {}
            }
            for (q, t) in [("input tokens", &w.input), ("output tokens", &w.output)] {
                let text = match t {
                    TokenFit::Lognormal { mean, sigma, ks } => format!(
                        "lognormal mean {:.1} [{:.1}, {:.1}], sigma {:.4} [{:.4}, {:.4}]; KS {:.4} (p {:.3}, n {})",
                        mean.value,
                        mean.low,
                        mean.high,
                        sigma.value,
                        sigma.low,
                        sigma.high,
                        ks.distance,
                        ks.p_value,
                        ks.n
                    ),
                    TokenFit::Empirical { reason, .. } => format!("empirical quantiles: {reason}"),
                    TokenFit::Constant { value } => format!("constant {value}"),
                    TokenFit::Missing => "no counts: the scenario's default applies".into(),
                };
                let _ = writeln!(o, "- {q}: {text}");
            }
            let shape = match &w.shape {
                ShapeFit::Single => "single calls".to_string(),
                ShapeFit::Chain { depth, tool, think } => {
                    format!("chain: {depth:?} steps, tool {tool:?}, think {think:.3} s")
                }
                ShapeFit::Swarm { agents, depth, .. } => format!("swarm: {agents:?} sub-agents of {depth:?} steps"),
            };
            let _ = writeln!(o, "- shape ({} tasks): {shape}\n", w.shapes.tasks);
        }
        let _ = writeln!(
            o,
            "## Method\n\nKS p-values are asymptotic (Stephens); laws fitted on the same data make them conservative (Lilliefors). \
             Latency: weighted least squares on the linear scale (weights 1/μ̂² from an ordinary least-squares pilot), sandwich intervals, \
             noise sigma by maximum likelihood on a reservoir sample of the ratios latency / fitted mean (fixed seed). \
             Tokens: lognormal by maximum likelihood on log counts, judged against the rounded lognormal; rejected at 1% → empirical quantiles. \
             Arrivals: Poisson rate × hour-of-day × day-of-week by maximum likelihood (iterative proportional fitting), each profile kept when a χ² test rejects flatness at 1%."
        );
        o
    }

    /// Writes `fit.md`, `laws.csv` and `qq.csv` into `dir` (created if
    /// needed), each through a temporary file renamed into place.
    pub fn write_report(&self, dir: &Path) -> Result<(), FitError> {
        write_files(
            dir,
            &[
                ("fit.md", self.summary_md()),
                ("laws.csv", self.laws_csv()),
                ("qq.csv", self.qq_csv()),
            ],
        )
    }
}

/// Writes the report directory `dir` whole: each `(name, text)` into a
/// temporary sibling, put in place in one step when every file is on disk
/// ([`crate::report::write_dir_atomically`]). Whatever stops the process,
/// `dir` is the previous report or the complete new one; a previous
/// report's directory is replaced, not merged into.
pub(super) fn write_files(dir: &Path, files: &[(&str, String)]) -> Result<(), FitError> {
    let io = |path: std::path::PathBuf, source| FitError::Write {
        path: path.display().to_string(),
        source,
    };
    crate::report::write_dir_atomically(
        dir,
        |tmp| {
            for (name, text) in files {
                let path = tmp.join(name);
                std::fs::write(&path, text).map_err(|e| io(dir.join(name), e))?;
            }
            Ok(())
        },
        io,
    )
}
