//! The report's "Predicted against measured" section, drawn when the
//! output directory holds `fidelity.csv` (written by `slaplan fidelity`):
//! each tenant's figures as the simulator predicted them, with the
//! interval one replication falls in, against what the gateway logged,
//! and a plain word where they differ beyond it; and, when it holds
//! `paired.csv`, the same calls side by side (call by call).

use super::document::{Block, Cell};
use super::inputs::{FidelityLine, PairedLine};

/// The section's blocks (heading included).
pub fn section(lines: &[FidelityLine]) -> Vec<Block> {
    let differing = lines.iter().filter(|l| l.differs_beyond_interval == "yes").count();
    let mut blocks = vec![
        Block::Heading("Predicted against measured".into()),
        Block::Paragraph(format!(
            "The same scenario run on an emulated deployment (the endpoints emulated, the gateway serving, \
             the workload driven in wall-clock time) and judged from the gateway's log, against the \
             simulator's prediction for the same period: the mean of its replications and the interval one \
             replication falls in. {} of {} figure(s) differ beyond that interval.",
            differing,
            lines.len()
        )),
    ];
    let number = |x: f64| {
        if x.abs() >= 100.0 {
            format!("{x:.0}")
        } else {
            format!("{x:.4}")
        }
    };
    let rows = lines
        .iter()
        .map(|l| {
            vec![
                Cell::Text(l.tenant.clone()),
                Cell::Text(l.metric.clone()),
                Cell::Text(number(l.predicted)),
                Cell::Text(format!("{} to {}", number(l.interval_low), number(l.interval_high))),
                Cell::Text(l.measured.map_or("none".into(), number)),
                Cell::Text(l.relative_error.map_or("-".into(), |e| format!("{:+.1}%", e * 100.0))),
                Cell::Text(
                    if l.differs_beyond_interval == "yes" {
                        "differs beyond the interval"
                    } else {
                        "within the interval"
                    }
                    .into(),
                ),
            ]
        })
        .collect();
    blocks.push(Block::Table {
        header: [
            "Tenant",
            "Figure",
            "Predicted",
            "Interval",
            "Measured",
            "Error",
            "Agreement",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    });
    blocks
}

/// The call-by-call blocks (from `paired.csv`): the gateway's calls
/// against the simulator's replication 0, paired by their key.
pub fn paired_section(lines: &[PairedLine]) -> Vec<Block> {
    let mut tenants: Vec<&PairedLine> = Vec::new();
    for l in lines {
        if !tenants.iter().any(|t| t.tenant == l.tenant) {
            tenants.push(l);
        }
    }
    let one_sided: u64 = tenants.iter().map(|t| t.only_measured + t.only_simulated).sum();
    let mut blocks = vec![
        Block::Heading("Call by call".into()),
        Block::Paragraph(format!(
            "The gateway's calls against the simulator's replication 0 of the same scenario, which makes \
             the same calls with the same random draws, paired by each call's key: the difference is the \
             model's error, free of one run's spread. Latency over the calls served on both sides, \
             availability over the calls judged on both; the interval is a 95 % block bootstrap \
             (one-minute blocks). {one_sided} call(s) were on one side only and are not paired."
        )),
    ];
    let opt = |x: Option<f64>, f: &dyn Fn(f64) -> String| x.map_or("-".into(), f);
    let rows = lines
        .iter()
        .map(|l| {
            let availability = l.figure == "availability";
            let value = |x: f64| {
                if availability {
                    format!("{:.3}%", 100.0 * x)
                } else {
                    format!("{x:.1}")
                }
            };
            let error = |e: f64| {
                if availability {
                    format!("{e:+.3} pp")
                } else {
                    format!("{:+.1}%", 100.0 * e)
                }
            };
            vec![
                Cell::Text(l.tenant.clone()),
                Cell::Text(l.figure.clone()),
                Cell::Text(l.pairs.to_string()),
                Cell::Text(format!("{} / {}", l.only_measured, l.only_simulated)),
                Cell::Text(opt(l.correlation, &|r| format!("{r:.3}"))),
                Cell::Text(opt(l.measured, &value)),
                Cell::Text(opt(l.simulated, &value)),
                Cell::Text(opt(l.error, &error)),
                Cell::Text(format!("{} to {}", opt(l.error_low, &error), opt(l.error_high, &error))),
            ]
        })
        .collect();
    blocks.push(Block::Table {
        header: [
            "Tenant",
            "Figure",
            "Pairs",
            "One side only (measured / simulated)",
            "Correlation",
            "Measured",
            "Simulated",
            "Error",
            "Interval",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    });
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_differing_figure_says_so_plainly() {
        let line = |measured: f64, differs: &str| FidelityLine {
            tenant: "acme".into(),
            metric: "p95_ms".into(),
            predicted: 2000.0,
            interval_low: 1800.0,
            interval_high: 2200.0,
            measured: Some(measured),
            relative_error: Some(measured / 2000.0 - 1.0),
            differs_beyond_interval: differs.into(),
        };
        let blocks = section(&[line(2100.0, "no"), line(2500.0, "yes")]);
        let Block::Paragraph(p) = &blocks[1] else { panic!() };
        assert!(p.contains("1 of 2 figure(s) differ"), "{p}");
        let Block::Table { rows, .. } = &blocks[2] else {
            panic!()
        };
        assert_eq!(rows[1][5], Cell::Text("+25.0%".into()));
        assert_eq!(rows[1][6], Cell::Text("differs beyond the interval".into()));
        assert_eq!(rows[0][6], Cell::Text("within the interval".into()));
    }

    #[test]
    fn the_paired_table_counts_one_sided_calls_and_shows_errors_in_their_units() {
        let line = |figure: &str, measured: f64, simulated: f64, error: f64| PairedLine {
            tenant: "acme".into(),
            figure: figure.into(),
            pairs: 100,
            only_measured: 2,
            only_simulated: 1,
            correlation: Some(0.99),
            measured: Some(measured),
            simulated: Some(simulated),
            error: Some(error),
            error_low: Some(error - 0.01),
            error_high: None,
        };
        let blocks = paired_section(&[
            line("p95_ms", 2100.0, 2000.0, 0.05),
            line("availability", 0.98, 0.99, -1.0),
        ]);
        let Block::Paragraph(p) = &blocks[1] else { panic!() };
        assert!(p.contains("3 call(s) were on one side only"), "{p}");
        let Block::Table { rows, .. } = &blocks[2] else {
            panic!()
        };
        assert_eq!(rows[0][3], Cell::Text("2 / 1".into()));
        assert_eq!(rows[0][7], Cell::Text("+5.0%".into()));
        assert_eq!(rows[0][8], Cell::Text("+4.0% to -".into()));
        assert_eq!(rows[1][5], Cell::Text("98.000%".into()));
        assert_eq!(rows[1][7], Cell::Text("-1.000 pp".into()));
    }
}
