//! `fit`: a scenario calibrated from production logs, and its fit report.

use std::path::PathBuf;

use slaplan::fit::{self, FitError};
use slaplan::policy::RouterConfig;

use super::Failure;
use super::stdout::outln;

#[derive(clap::Args)]
pub(crate) struct FitArgs {
    /// Log files: LiteLLM spend logs (StandardLoggingPayload JSON lines) or
    /// OTLP JSON lines (the collector's file exporter), in any mix.
    #[arg(long = "log", value_name = "FILE", required = true, num_args = 1..)]
    logs: Vec<PathBuf>,
    /// Where to write the fitted scenario (TOML).
    #[arg(long)]
    out: PathBuf,
    /// The router's policy: a slaplan router file such as `import-litellm`
    /// writes. Without it the policy is inferred from usage and says so.
    #[arg(long)]
    router: Option<PathBuf>,
    /// Also write the fit report (fit.md, laws.csv, qq.csv) into this directory.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
}

fn failure(e: FitError) -> Failure {
    match e {
        FitError::Write { .. } | FitError::Invalid(_) => Failure::runtime(e),
        _ => Failure::input(e),
    }
}

pub(crate) fn fit(args: FitArgs) -> Result<(), Failure> {
    let router = match &args.router {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure::input(format!("{}: cannot read the router file: {e}", path.display())))?;
            let config: RouterConfig = toml::from_str(&text).map_err(|e| {
                Failure::input(format!(
                    "{}: not a slaplan router file (as `import-litellm` writes): {e}",
                    path.display()
                ))
            })?;
            Some((config, path.display().to_string()))
        }
    };
    let fitted = fit::fit_logs(&args.logs).map_err(failure)?;
    let text = fitted
        .scenario_toml(router.as_ref().map(|(r, p)| (r, p.as_str())))
        .map_err(failure)?;
    if let Some(dir) = &args.report {
        fitted.write_report(dir).map_err(failure)?;
    }
    super::super::write_via_temp(&args.out, text.as_bytes())
        .map_err(|e| Failure::runtime(format!("{}: cannot write: {e}", args.out.display())))?;
    let c = &fitted.counts;
    outln!(
        "fitted {} endpoint(s) and {} workflow(s) from {} row(s) ({} model calls); wrote {}",
        fitted.endpoints.len(),
        fitted.workflows.len(),
        c.rows,
        c.model,
        args.out.display()
    )?;
    if let Some(dir) = &args.report {
        outln!("wrote {}", dir.join("fit.md").display())?;
    }
    Ok(())
}
