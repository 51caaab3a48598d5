//! Small things every command's outputs share: the default output
//! directory, the scenario file's digest, CSV files written atomically.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use slaplan::report;

use super::Failure;

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn default_out(scenario: &Path, suffix: &str) -> PathBuf {
    let stem = scenario
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    PathBuf::from("out").join(format!("{stem}{suffix}"))
}

/// Writes a CSV file of `header` and `rows` atomically, creating its directory.
pub(crate) fn write_csv(path: &Path, header: &[&str], rows: &[Vec<String>]) -> Result<(), Failure> {
    let write = || -> Result<(), Box<dyn std::error::Error>> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(header)?;
        for r in rows {
            w.write_record(r)?;
        }
        report::write_file_atomically(path, &w.into_inner()?)?;
        Ok(())
    };
    write().map_err(|e| Failure::runtime(format!("cannot write {}: {e}", path.display())))
}
