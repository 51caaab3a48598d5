//! The `slaplan` command line: the only place that prints or exits.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Vet per-tenant SLA clauses for AI-agent inference before signing.
#[derive(Parser)]
#[command(name = "slaplan", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a scenario file and report every problem found.
    Validate {
        /// The scenario file (TOML).
        scenario: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Validate { scenario } => match slaplan::scenario::load(&scenario) {
            Ok(s) => {
                println!(
                    "{}: ok ({} endpoints, {} tenants, {} clauses)",
                    scenario.display(),
                    s.endpoints.len(),
                    s.tenants.len(),
                    s.tenants.iter().map(|t| t.clauses.len()).sum::<usize>()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
    }
}
