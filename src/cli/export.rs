//! `export-slo`: a run's output directory as OpenSLO documents and
//! Prometheus rules, written atomically into one directory.

use std::path::PathBuf;

use slaplan::export::{self, Export, Format};
use slaplan::report;

use super::Failure;
use super::stdout::outln;

#[derive(clap::Args)]
pub(crate) struct ExportSloArgs {
    /// The output directory of `slaplan run` (or `merge`): its run.json and
    /// summary.csv.
    dir: PathBuf,
    /// What to write: `openslo` (OpenSLO v1 SLO documents and Prometheus
    /// recording and burn-rate alert rules).
    #[arg(long, value_parser = parse_format)]
    format: Format,
    /// Directory to write openslo.yaml and prometheus-rules.yaml into
    /// (replaced whole; default: DIR/slo).
    #[arg(long)]
    out: Option<PathBuf>,
}

fn parse_format(s: &str) -> Result<Format, String> {
    match s {
        "openslo" => Ok(Format::OpenSlo),
        other => Err(format!("{other:?}: expected openslo")),
    }
}

pub(crate) fn export_slo(args: ExportSloArgs) -> Result<(), Failure> {
    let Format::OpenSlo = args.format;
    let export = Export::read(&args.dir).map_err(|e| {
        if e.is_input() {
            Failure::input(e)
        } else {
            Failure::runtime(e)
        }
    })?;
    let files = export.files().map_err(Failure::runtime)?;
    let out = args.out.unwrap_or_else(|| export::default_out(&args.dir));
    report::write_dir_atomically(
        &out,
        |tmp| {
            for (name, text) in &files {
                let path = tmp.join(name);
                std::fs::write(&path, text)
                    .map_err(|e| Failure::runtime(format!("cannot write {}: {e}", path.display())))?;
            }
            Ok(())
        },
        |path, e| Failure::runtime(format!("cannot write {}: {e}", path.display())),
    )
    .map_err(|f: Failure| f.nothing_written(&out))?;
    for e in &export.exported {
        outln!(
            "{} {}: SLO {} at internal objective {} (target {})",
            e.tenant,
            e.contract,
            e.name,
            e.objective_words,
            e.sli.target
        )?;
    }
    for s in &export.skipped {
        outln!("skipped {} {}: {}", s.tenant, s.clause, s.reason)?;
    }
    outln!(
        "wrote {} and {} ({} SLO(s), {} clause(s) skipped)",
        out.join(export::OPENSLO_FILE).display(),
        out.join(export::RULES_FILE).display(),
        export.exported.len(),
        export.skipped.len()
    )
}
