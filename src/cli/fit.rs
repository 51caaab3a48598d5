//! `fit`: a scenario calibrated from production logs, or provider outage
//! profiles fitted to status-page histories, and the fit report.

use std::path::PathBuf;

use slaplan::fit::status_page::{self, ServiceChoice};
use slaplan::fit::{self, FitError};
use slaplan::policy::RouterConfig;

use super::Failure;
use super::stdout::outln;

#[derive(clap::Args)]
pub(crate) struct FitArgs {
    /// Log files: LiteLLM spend logs (StandardLoggingPayload JSON lines) or
    /// OTLP JSON lines (the collector's file exporter), in any mix.
    #[arg(long = "log", value_name = "FILE", num_args = 1.., required_unless_present = "status_page")]
    logs: Vec<PathBuf>,
    /// Status-page histories in the ICPE 2025 study's layout instead of
    /// logs: daily outage minutes per service (outage_unexploded.csv) and,
    /// optionally, incident lists (incident_stages.csv), in any order.
    /// Writes outage profiles in data/providers.toml's format.
    #[arg(long = "status-page", value_name = "FILE", num_args = 1.., conflicts_with_all = ["logs", "router"])]
    status_page: Vec<PathBuf>,
    /// With --status-page: a service to fit, as the daily record names it,
    /// and optionally its profile's name (e.g. api=openai-like); repeat for
    /// several. Default: every service, each profile named after it.
    #[arg(long, value_name = "SERVICE[=PROFILE]", requires = "status_page")]
    service: Vec<ServiceChoice>,
    /// Where to write the fitted scenario (TOML), or with --status-page the
    /// profiles (TOML).
    #[arg(long)]
    out: PathBuf,
    /// The router's policy: the router part of a scenario, such as
    /// `import-litellm` writes. Without it the policy is inferred from usage
    /// and says so.
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
    if !args.status_page.is_empty() {
        return fit_status_pages(&args);
    }
    let router = match &args.router {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure::input(format!("{}: cannot read the router file: {e}", path.display())))?;
            // The router part of a scenario, as `import-litellm` writes it,
            // or the router core's own file form.
            let config = slaplan::import::render::parse_router_part(&text)
                .or_else(|e| toml::from_str::<RouterConfig>(&text).map_err(|_| e))
                .map_err(|e| {
                    Failure::input(format!(
                        "{}: not a router part of a scenario (as `import-litellm` writes): {e}",
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
    slaplan::report::write_file_atomically(&args.out, text.as_bytes())
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

fn fit_status_pages(args: &FitArgs) -> Result<(), Failure> {
    let fitted = status_page::fit_status_pages(&args.status_page, &args.service).map_err(failure)?;
    let text = fitted.profiles_toml().map_err(failure)?;
    if let Some(dir) = &args.report {
        fitted.write_report(dir).map_err(failure)?;
    }
    slaplan::report::write_file_atomically(&args.out, text.as_bytes())
        .map_err(|e| Failure::runtime(format!("{}: cannot write: {e}", args.out.display())))?;
    let days: usize = fitted.profiles.iter().map(|p| p.record.table.days).sum();
    let names: Vec<&str> = fitted.profiles.iter().map(|p| p.name.as_str()).collect();
    outln!(
        "fitted {} profile(s) ({}) to {days} service-day(s); wrote {}",
        names.len(),
        names.join(", "),
        args.out.display()
    )?;
    for (service, why) in &fitted.without_outage {
        outln!("{service}: no profile: {why}")?;
    }
    if let Some(dir) = &args.report {
        outln!("wrote {}", dir.join("fit.md").display())?;
    }
    Ok(())
}
