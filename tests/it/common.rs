//! Helpers shared by the integration tests.

use std::path::PathBuf;

use slaplan::plan::{self, Replication};
use slaplan::scenario::{self, Scenario};
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Parses and validates a scenario written inline.
pub fn scenario(text: &str) -> Scenario {
    match scenario::parse(text, std::path::Path::new("inline.toml")) {
        Ok(s) => s,
        Err(e) => panic!("test scenario is invalid: {e}"),
    }
}

/// Runs `n` replications in parallel.
pub fn replicate(s: &Scenario, n: u64) -> Vec<Replication> {
    plan::run_replications(s, 0..n, &|| {}).expect("router config is valid")
}

/// Mean and half-width of the two-sided Student-t interval at `level`.
pub fn t_interval(samples: &[f64], level: f64) -> (f64, f64) {
    let n = samples.len() as f64;
    let mean = samples.iter().sum::<f64>() / n;
    let var = samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let t = StudentsT::new(0.0, 1.0, n - 1.0)
        .unwrap()
        .inverse_cdf(0.5 + level / 2.0);
    (mean, t * (var / n).sqrt())
}

/// The slaplan binary built for these tests.
pub fn slaplan() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_slaplan"))
}

/// A fresh temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

/// Path of a file in the repository.
pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The names of the files in an output directory, sorted.
pub fn output_files(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("output directory exists")
        .map(|e| e.expect("readable entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
