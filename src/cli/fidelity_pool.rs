//! `fidelity-pool`: several `fidelity` runs of one scenario combined
//! ([`slaplan::fidelity::pool`]): arguments, the output file, the table.
//!
//! A subcommand of its own rather than `fidelity --combine`: its inputs
//! are output directories, not a scenario, and none of `fidelity`'s
//! options (period, time scale, replications, logs) applies to it.

use std::path::PathBuf;

use slaplan::fidelity::pool::{self, Decision};
use slaplan::report;

use super::Failure;
use super::stdout::{note, out, outln};

#[derive(clap::Args)]
pub(crate) struct FidelityPoolArgs {
    /// Output directories of `slaplan fidelity`, one per run, each at its
    /// own seed (a copy of the scenario with another `seed`).
    #[arg(required = true, num_args = 2.., value_name = "RUN_DIR")]
    runs: Vec<PathBuf>,
    /// Directory to write fidelity-pooled.csv into (created if missing;
    /// other files in it are left alone).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// The level of the bias's interval.
    #[arg(long, default_value_t = 0.95)]
    level: f64,
}

pub(crate) fn fidelity_pool(args: FidelityPoolArgs) -> Result<(), Failure> {
    if !(args.level > 0.0 && args.level < 1.0) {
        return Err(Failure::input(format!(
            "--level {}: expected a number between 0 and 1",
            args.level
        )));
    }
    if args.out.exists() && !args.out.is_dir() {
        return Err(Failure::input(format!(
            "--out {}: expected a directory, and this is a file",
            args.out.display()
        )));
    }
    let runs = args
        .runs
        .iter()
        .map(|dir| pool::read_run(dir))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::input)?;
    let figures = pool::figures(&runs).map_err(Failure::input)?;
    let pooled: Vec<_> = figures.iter().map(|f| pool::pool(f, args.level)).collect();
    std::fs::create_dir_all(&args.out)
        .map_err(|e| Failure::runtime(format!("--out {}: cannot create it: {e}", args.out.display())))?;
    let path = args.out.join("fidelity-pooled.csv");
    report::write_file_atomically(&path, &pool::pooled_csv(&pooled))
        .map_err(|e| Failure::runtime(format!("{}: cannot write it: {e}", path.display())))?;
    out!("{}", pool::pooled_table(&pooled, args.level))?;
    let undecided = pooled.iter().filter(|p| p.decision == Decision::Undecided).count();
    if undecided > 0 {
        note!(
            "{undecided} of {} figure(s) undecided: their interval straddles the goal (runs_to_decide: how many \
             runs would decide it if the bias were nil)",
            pooled.len()
        );
    }
    outln!("wrote {}", path.display())
}
