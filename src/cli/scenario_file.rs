//! `validate` and `import-litellm`: a scenario file checked, and one
//! written from a LiteLLM router config.

use std::path::{Path, PathBuf};

use slaplan::report;
use slaplan::scenario;

use super::Failure;
use super::stdout::{note, out, outln};

#[derive(clap::Args)]
pub(crate) struct ImportArgs {
    /// The LiteLLM config file (YAML, with `model_list`).
    pub(crate) config: PathBuf,
    /// Write the router part of a scenario to this file (default: standard
    /// output).
    #[arg(long, conflicts_with = "scenario")]
    pub(crate) out: Option<PathBuf>,
    /// Write a whole runnable scenario to this file instead: the imported
    /// router settings plus generic defaults, each marked as an assumption.
    #[arg(long, value_name = "OUT.toml")]
    pub(crate) scenario: Option<PathBuf>,
}

pub(crate) fn validate(path: &Path) -> Result<(), Failure> {
    let s = scenario::load(path).map_err(Failure::input)?;
    print_warnings(path, &s.warnings);
    outln!(
        "{}: ok ({} endpoints, {} tenants, {} clauses)",
        path.display(),
        s.endpoints.len(),
        s.tenants.len(),
        s.tenants.iter().map(|t| t.clauses.len()).sum::<usize>()
    )
}

/// Prints a loaded scenario's warnings on stderr, one a line, placed like
/// its problems: `warning: FILE:LINE: PATH: MESSAGE`.
pub(crate) fn print_warnings(file: &Path, warnings: &[scenario::Problem]) {
    for w in warnings {
        let line = w.line.map(|l| format!(":{l}")).unwrap_or_default();
        note!("warning: {}{line}: {}: {}", file.display(), w.path, w.message);
    }
}

pub(crate) fn import_litellm(args: &ImportArgs) -> Result<(), Failure> {
    let import = slaplan::import::litellm::load(&args.config).map_err(Failure::input)?;
    let source = args.config.display().to_string();
    let (text, target) = match &args.scenario {
        Some(target) => {
            let text = slaplan::import::render::scenario(&import, &source);
            // Never write a scenario slaplan itself would reject.
            scenario::parse(&text, target)
                .map_err(|e| Failure::runtime(format!("the written scenario would not load: {e}")))?;
            (text, Some(target))
        }
        None => (
            slaplan::import::render::router_part(&import, &source),
            args.out.as_ref(),
        ),
    };
    for u in &import.unmapped {
        note!("unmapped: {}: {}", u.path, u.reason);
    }
    for note in &import.notes {
        note!("note: {note}");
    }
    match target {
        None => out!("{text}")?,
        Some(out) => report::write_file_atomically(out, text.as_bytes())
            .map_err(|e| Failure::runtime(format!("{}: cannot write: {e}", out.display())))?,
    }
    Ok(())
}
