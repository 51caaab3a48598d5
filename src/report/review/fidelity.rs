//! The report's "Predicted against measured" section, drawn when the
//! output directory holds `fidelity.csv` (written by `slaplan fidelity`):
//! each tenant's figures as the simulator predicted them, with the
//! interval one replication falls in, against what the gateway logged,
//! and a plain word where they differ beyond it.

use super::document::{Block, Cell};
use super::inputs::FidelityLine;

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
}
