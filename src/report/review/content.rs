//! What the report says: the scenario, the assumptions, the verdicts, the
//! main driver of every clause that is not enforceable, the charts and the
//! method, as a [`Document`] built from the run's outputs alone.

use super::document::{Block, Cell, Document};
use super::inputs::{ClauseRow, Driver, Inputs, RunInfo};
use super::{ChartId, ChartState};
use crate::plan::{IntervalKind, Verdict};

/// The report of `inputs`, with the charts' states in report order.
pub fn document(inputs: &Inputs, charts: &[(ChartId, ChartState)]) -> Document {
    let run = &inputs.run;
    let name = run.scenario_name.clone().unwrap_or_else(|| stem(&run.scenario));
    let mut blocks = Vec::new();
    blocks.push(Block::Paragraph(format!(
        "Can these per-tenant SLA clauses be offered? {} clause(s) of {} tenant(s), judged in {} simulated \
         window(s) each: {}.",
        inputs.clauses.len(),
        tenants(inputs).len(),
        inputs.clauses.first().map_or(0, |c| c.windows),
        verdict_counts(&inputs.clauses)
    )));
    blocks.push(Block::Heading("Scenario".into()));
    blocks.push(scenario_table(inputs, &name));
    if !run.totals.is_empty() {
        blocks.push(Block::Paragraph(format!(
            "Totals over all replications: {}.",
            run.totals
                .iter()
                .map(|(k, v)| format!("{} {}", thousands(*v), k.replace('_', " ")))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    blocks.push(Block::Heading("Assumptions".into()));
    blocks.push(Block::Bullets(assumptions(run, &inputs.clauses)));
    blocks.push(Block::Heading("Verdicts".into()));
    blocks.push(verdict_table(&inputs.clauses, run.interval_level));
    blocks.push(Block::Heading("In the contract's words".into()));
    blocks.extend(super::contract::tenant_paragraphs(
        &inputs.clauses,
        inputs.credits.as_ref(),
        run.required_confidence,
        run.interval_level,
    ));
    blocks.extend(super::internal::section(&inputs.clauses, run.required_confidence));
    blocks.push(Block::Heading("Main drivers".into()));
    blocks.extend(drivers(inputs));
    if let Some(lines) = &inputs.fidelity {
        blocks.extend(super::fidelity::section(lines));
    }
    if let Some(lines) = &inputs.paired {
        blocks.extend(super::fidelity::paired_section(lines));
    }
    blocks.push(Block::Heading("Charts".into()));
    for (id, state) in charts {
        blocks.push(match state {
            ChartState::Drawn(_) => Block::Figure {
                name: id.file_stem(),
                title: id.title().into(),
                caption: id.caption().into(),
            },
            ChartState::Missing(reason) => Block::Missing {
                title: id.title().into(),
                reason: reason.clone(),
            },
        });
    }
    blocks.push(Block::Heading("Method".into()));
    blocks.push(Block::Bullets(method(inputs)));
    Document {
        title: format!("SLA clause review: {name}"),
        blocks,
    }
}

fn stem(path: &str) -> String {
    std::path::Path::new(path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string())
}

/// Tenants: from `run.json` when it lists them, else from the clauses.
fn tenants(inputs: &Inputs) -> Vec<String> {
    if !inputs.run.tenants.is_empty() {
        return inputs.run.tenants.clone();
    }
    let mut out: Vec<String> = Vec::new();
    for c in &inputs.clauses {
        if !out.contains(&c.tenant) {
            out.push(c.tenant.clone());
        }
    }
    out
}

fn verdict_counts(clauses: &[ClauseRow]) -> String {
    [Verdict::Enforceable, Verdict::AtRisk, Verdict::NotEnforceable]
        .iter()
        .map(|v| format!("{} {}", clauses.iter().filter(|c| c.verdict == *v).count(), v.label()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn scenario_table(inputs: &Inputs, name: &str) -> Block {
    let run = &inputs.run;
    let mut rows: Vec<(String, String)> = vec![
        ("scenario".into(), format!("{name} ({})", run.scenario)),
        ("period".into(), period(run)),
    ];
    if !run.windows.is_empty() {
        let labels: Vec<String> = run
            .windows
            .iter()
            .map(|w| {
                if w.complete {
                    w.label.clone()
                } else {
                    format!("{} (partly simulated)", w.label)
                }
            })
            .collect();
        rows.push(("windows".into(), labels.join(", ")));
    }
    rows.push(("replications".into(), run.replications.to_string()));
    rows.push(("seed".into(), run.seed.to_string()));
    rows.push(("tenants".into(), tenants(inputs).join(", ")));
    if !run.endpoints.is_empty() {
        rows.push(("endpoints".into(), run.endpoints.join(", ")));
    }
    if !run.providers.is_empty() {
        rows.push(("providers".into(), run.providers.join(", ")));
    }
    Block::Table {
        header: vec!["item".into(), "value".into()],
        rows: rows
            .into_iter()
            .map(|(k, v)| vec![Cell::Text(k), Cell::Text(v)])
            .collect(),
    }
}

/// "from 2026-01-01T00:00:00 UTC, 31 days", with what `run.json` has.
fn period(run: &RunInfo) -> String {
    let length_ms = run.duration_ms.or_else(|| {
        let start = run.windows.iter().map(|w| w.start_ns).min()?;
        let end = run.windows.iter().map(|w| w.end_ns).max()?;
        Some((end.saturating_sub(start)) as f64 / 1e6)
    });
    let length = length_ms.map(duration).unwrap_or_else(|| "length not recorded".into());
    match (&run.start, run.windows.first()) {
        (Some(start), _) => format!("from {start} UTC, {length}"),
        (None, Some(first)) => format!("from the start of window {}, {length}", first.label),
        (None, None) => length,
    }
}

/// A length in ms in words: `31 days`, `6 hours`, `90 minutes`.
pub fn duration(ms: f64) -> String {
    const MINUTE: f64 = 60_000.0;
    const HOUR: f64 = 60.0 * MINUTE;
    const DAY: f64 = 24.0 * HOUR;
    let plural = |n: f64, unit: &str| {
        if n == 1.0 {
            format!("1 {unit}")
        } else {
            format!("{} {unit}s", trim(n))
        }
    };
    if ms >= DAY && (ms / DAY).fract() == 0.0 {
        plural(ms / DAY, "day")
    } else if ms >= DAY {
        format!("{:.1} days", ms / DAY)
    } else if ms >= HOUR && (ms / HOUR).fract() == 0.0 {
        plural(ms / HOUR, "hour")
    } else if ms >= MINUTE {
        plural((ms / MINUTE).round(), "minute")
    } else {
        format!("{} ms", trim(ms))
    }
}

fn trim(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// `13,928,115`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn level_pct(level: f64) -> String {
    format!("{}%", trim(level * 100.0))
}

fn assumptions(run: &RunInfo, clauses: &[ClauseRow]) -> Vec<String> {
    let mut out = vec![
        "Each clause is judged separately in every window (calendar months unless the scenario says \
         otherwise) of every replication; it holds in a window when its metric over that window meets the \
         threshold."
            .to_string(),
        "A call (or task) counts in the window in which it was submitted, even when it finishes after the \
         window ends."
            .to_string(),
        "Percentiles are taken over the window's successful calls (or tasks) from a streaming histogram with \
         3 significant digits, read at the top of their bucket; a ceiling is judged from an exact count of \
         the values at or under it, so it is never judged met when it might not be, and a value exactly at \
         it is met. Failed calls count against availability, not latency."
            .to_string(),
        "The run continues one day past the period so calls in flight can finish. A call or task still open \
         then counts against every clause that judges it: as failed for availability, task success and \
         uptime, as turned away for throughput, and above every latency (a percentile that falls on it has no value and fails)."
            .to_string(),
        "A window with no eligible call holds vacuously: there was nothing to break the clause.".to_string(),
        match run.interval_method {
            IntervalKind::ClopperPearson => format!(
                "P(hold) is the share of judged windows (replications x windows) in which the clause held. Its \
                 interval is the two-sided {} Clopper-Pearson interval. A clause is enforceable when the \
                 interval's lower end is at least the required confidence ({}), at risk when only P(hold) is, \
                 and not enforceable otherwise.",
                level_pct(run.interval_level),
                run.required_confidence
            ),
            IntervalKind::ConfidenceSequence => format!(
                "P(hold) is the share of judged windows (replications x windows) in which the clause held. The \
                 run stopped once every verdict was settled (--until-decided), so its interval is a {} \
                 anytime-valid confidence sequence over replications (a beta-binomial mixture), which stays \
                 valid at whatever replication the run stopped; a Clopper-Pearson interval would not. A clause \
                 is enforceable when the interval's lower end is at least the required confidence ({}), not \
                 enforceable when its upper end is below it, and at risk while the interval straddles it at \
                 the cap on replications.",
                level_pct(run.interval_level),
                run.required_confidence
            ),
        },
    ];
    let quality = |kind: &str| clauses.iter().any(|c| c.kind.as_deref() == Some(kind));
    if quality("eval_pass_rate") || quality("mean_quality") {
        out.push(
            "Quality clauses judge each call by the quality score of the endpoint that served it. A call never \
             served (failed, shed, timed out, abandoned, still open at the end) produced no answer: it counts \
             with quality 0, as failing its evaluation. An eval pass rate is measured as an audit would: on a \
             uniform sample without replacement of the stated number of the window's calls (all of them when \
             the window has fewer), each sampled call passing with its endpoint's quality, so sampling noise \
             is part of the result; a mean quality is the mean over every call of the window."
                .to_string(),
        );
    }
    let total = |name: &str| run.totals.iter().find(|(k, _)| k == name).map(|(_, v)| *v);
    let (open_calls, open_tasks) = (total("open_calls").unwrap_or(0), total("open_tasks").unwrap_or(0));
    if open_calls > 0 || open_tasks > 0 {
        out.push(format!(
            "In this run {} call(s) and {} task(s) were still open when it ended (over all replications); \
             they are judged as above.",
            thousands(open_calls),
            thousands(open_tasks)
        ));
    }
    let partial: Vec<&str> = run
        .windows
        .iter()
        .filter(|w| !w.complete)
        .map(|w| w.label.as_str())
        .collect();
    if !partial.is_empty() {
        out.push(format!(
            "Window(s) {} are only partly covered by the simulated period and are judged on that part.",
            partial.join(", ")
        ));
    }
    out
}

fn verdict_table(clauses: &[ClauseRow], level: f64) -> Block {
    Block::Table {
        header: vec![
            "tenant".into(),
            "clause".into(),
            "held".into(),
            "P(hold)".into(),
            format!("{} interval", level_pct(level)),
            "verdict".into(),
        ],
        rows: clauses
            .iter()
            .map(|c| {
                vec![
                    Cell::Text(c.tenant.clone()),
                    Cell::Text(c.clause.clone()),
                    Cell::Text(format!("{}/{}", c.met, c.windows)),
                    Cell::Text(format!("{:.3}", c.probability)),
                    Cell::Text(format!("[{:.3}, {:.3}]", c.ci_low, c.ci_high)),
                    Cell::Verdict(c.verdict),
                ]
            })
            .collect(),
    }
}

/// `62%`, or `4.5%` below 10%.
pub fn percent(share: f64) -> String {
    let pct = share * 100.0;
    if pct >= 10.0 || pct == 0.0 {
        format!("{pct:.0}%")
    } else {
        format!("{pct:.1}%")
    }
}

/// The cause of bad events in words.
pub fn driver_sentence(d: &Driver) -> String {
    let share = percent(d.share);
    if d.cause == "router" {
        return format!("router (shed, deadline, suspension): {share} of bad events");
    }
    let provider = d
        .provider
        .as_deref()
        .map(|p| format!(" at provider {p}"))
        .unwrap_or_default();
    let when = if d.during_outage {
        "during outages"
    } else {
        "outside outages"
    };
    format!("endpoint {}{provider} {when}: {share} of bad events", d.cause)
}

fn drivers(inputs: &Inputs) -> Vec<Block> {
    let troubled: Vec<&ClauseRow> = inputs
        .clauses
        .iter()
        .filter(|c| c.verdict != Verdict::Enforceable)
        .collect();
    if troubled.is_empty() {
        return vec![Block::Paragraph(
            "Every clause is enforceable: no driver to report.".into(),
        )];
    }
    let mut out = Vec::new();
    if inputs.drivers.is_none() {
        out.push(Block::Paragraph(
            "Drivers: not available in this output (drivers.csv is absent), so the causes of bad events are \
             not attributed."
                .into(),
        ));
    }
    let mut items = Vec::new();
    for c in troubled {
        let head = format!("{}: {} ({})", c.tenant, c.clause, c.verdict.label());
        let top = inputs
            .drivers
            .as_ref()
            .and_then(|d| d.get(&c.index))
            .and_then(|d| d.first());
        let text = match top {
            Some(d) => format!("{head}: main driver {}.", driver_sentence(d)),
            None if c.met == c.windows => format!(
                "{head}: it held in every window judged; the interval is wide because only {} window(s) were \
                 judged. More replications would narrow it.",
                c.windows
            ),
            None if inputs.drivers.is_some() => format!("{head}: no bad events were attributed to a cause."),
            None => format!("{head}: held in {} of {} windows.", c.met, c.windows),
        };
        items.push(text);
    }
    out.push(Block::Bullets(items));
    out
}

fn method(inputs: &Inputs) -> Vec<String> {
    let run = &inputs.run;
    vec![
        format!(
            "Monte Carlo: {} replication(s) of the simulated period, seed {}; the same seed gives the same \
             results for any number of threads.",
            run.replications, run.seed
        ),
        match run.interval_method {
            IntervalKind::ClopperPearson => format!(
                "Required confidence {}; intervals: two-sided {} Clopper-Pearson (exact binomial).",
                run.required_confidence,
                level_pct(run.interval_level)
            ),
            IntervalKind::ConfidenceSequence => format!(
                "Required confidence {}; intervals: {} anytime-valid confidence sequence (beta-binomial mixture \
                 over replications, running intersection), valid under the optional stopping of --until-decided.",
                run.required_confidence,
                level_pct(run.interval_level)
            ),
        },
        format!(
            "Run by slaplan {}; this report by slaplan {}.",
            run.slaplan_version,
            env!("CARGO_PKG_VERSION")
        ),
        format!("Scenario file {} (sha256 {}).", run.scenario, run.scenario_sha256),
    ]
}

/// The reason a chart is missing when its file is absent.
pub fn absent(file: &str) -> String {
    format!("{file} is absent")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drivers_read_as_sentences() {
        let endpoint = Driver {
            cause: "sonnet@anthropic/eu".into(),
            provider: Some("anthropic".into()),
            during_outage: true,
            bad_events: 62,
            share: 0.62,
        };
        assert_eq!(
            driver_sentence(&endpoint),
            "endpoint sonnet@anthropic/eu at provider anthropic during outages: 62% of bad events"
        );
        let router = Driver {
            cause: "router".into(),
            provider: None,
            during_outage: false,
            bad_events: 3,
            share: 0.045,
        };
        assert_eq!(
            driver_sentence(&router),
            "router (shed, deadline, suspension): 4.5% of bad events"
        );
    }

    #[test]
    fn numbers_and_lengths_read_as_written() {
        assert_eq!(thousands(13_928_115), "13,928,115");
        assert_eq!(thousands(999), "999");
        assert_eq!(duration(31.0 * 86_400_000.0), "31 days");
        assert_eq!(duration(86_400_000.0), "1 day");
        assert_eq!(duration(6.0 * 3_600_000.0), "6 hours");
        assert_eq!(duration(90.0 * 60_000.0), "90 minutes");
        assert_eq!(level_pct(0.95), "95%");
        assert_eq!(level_pct(0.999), "99.9%");
    }
}
