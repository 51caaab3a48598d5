//! `fidelity-paired`: two request logs in the gateway's schema (a
//! fidelity run's `gateway.jsonl` kept with `--logs`, and the simulator's
//! replication 0 from `run --request-log`) set against each other call by
//! call ([`slaplan::fidelity::paired`]): arguments, the output files, the
//! table (which `fidelity` prints too).

use std::path::PathBuf;

use slaplan::fidelity::paired::{self, Paired};
use slaplan::report;

use super::Failure;
use super::stdout::{note, outln};

#[derive(clap::Args)]
pub(crate) struct FidelityPairedArgs {
    /// The gateway's request log (measured).
    gateway_log: PathBuf,
    /// The simulator's request log of replication 0 of the same scenario
    /// (`slaplan run --replications 1 --request-log`).
    sim_log: PathBuf,
    /// Directory to write paired.csv and paired.json into (created if
    /// missing; other files in it are left alone).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

pub(crate) fn fidelity_paired(args: FidelityPairedArgs) -> Result<(), Failure> {
    if args.out.exists() && !args.out.is_dir() {
        return Err(Failure::input(format!(
            "--out {}: expected a directory, and this is a file",
            args.out.display()
        )));
    }
    let found = paired::compare(&args.gateway_log, &args.sim_log).map_err(Failure::input)?;
    std::fs::create_dir_all(&args.out)
        .map_err(|e| Failure::runtime(format!("--out {}: cannot create it: {e}", args.out.display())))?;
    for (name, bytes) in [("paired.csv", found.csv()), ("paired.json", found.json())] {
        let path = args.out.join(name);
        report::write_file_atomically(&path, &bytes)
            .map_err(|e| Failure::runtime(format!("{}: cannot write it: {e}", path.display())))?;
    }
    print_paired(&found)?;
    outln!("wrote {}", args.out.display())
}

/// The comparison as a table, and a note of the calls on one side only.
pub(crate) fn print_paired(found: &Paired) -> Result<(), Failure> {
    let pct = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{:+.2} %", 100.0 * x));
    let pp = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{x:+.3} pp"));
    let num = |x: Option<f64>, d: usize| x.map_or("-".to_string(), |x| format!("{x:.d$}"));
    outln!("call by call (gateway against the simulator's replication 0, paired by draw_key):")?;
    for r in &found.rows {
        let i = found
            .tenants
            .iter()
            .position(|t| t.tenant == r.tenant)
            .unwrap_or_default();
        let (error, low, high, digits) = if r.figure == "availability" {
            (pp(r.error), pp(r.low), pp(r.high), 5)
        } else {
            (pct(r.error), pct(r.low), pct(r.high), 1)
        };
        outln!(
            "{:<16} {:<13} pairs {:>7}  r {:>7}  measured {:>10}  simulated {:>10}  error {:>11} [{}, {}]",
            r.tenant,
            r.figure,
            r.pairs,
            num(found.correlation[i], 4),
            num(r.measured, digits),
            num(r.simulated, digits),
            error,
            low,
            high
        )?;
    }
    let one_sided = found.one_sided_calls();
    if one_sided > 0 {
        let by_tenant: Vec<String> = found
            .tenants
            .iter()
            .filter(|t| t.only_measured + t.only_simulated > 0)
            .map(|t| {
                format!(
                    "{}: {} measured only, {} simulated only{}",
                    t.tenant,
                    t.only_measured,
                    t.only_simulated,
                    if t.out_of_window > 0 {
                        format!(" ({} out of the join's window)", t.out_of_window)
                    } else {
                        String::new()
                    }
                )
            })
            .collect();
        note!(
            "{one_sided} call(s) on one side only, not paired ({}); the first are listed in paired.json",
            by_tenant.join("; ")
        );
    }
    Ok(())
}
