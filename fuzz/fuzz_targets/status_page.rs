//! `fit --status-page`'s inputs: the daily outage record and the incident
//! list of the ICPE 2025 study's layout, read, summarized and fitted, then
//! written as profiles, checked as `data/providers.toml` is read, and as
//! the fit report, as `slaplan fit --status-page` does. Property: profiles
//! fitted from any accepted input read back.
//!
//! The first byte picks the file the rest of the input replaces (0 the
//! daily record, 1 the incident list, 2 the daily record alone); the other
//! is the fixture in `tests/fixtures/status_page`.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use slaplan::fit::status_page::{check_profiles, fit_status_pages};

const DAILY: &[u8] = include_bytes!("../../tests/fixtures/status_page/outage_unexploded.csv");
const INCIDENTS: &[u8] = include_bytes!("../../tests/fixtures/status_page/incident_stages.csv");

/// A directory of this process under the temporary directory.
fn workdir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // `fuzz/run` points TMPDIR at a directory of its own (on /dev/shm
        // where there is one) and deletes it when it ends.
        let base = std::env::temp_dir();
        let dir = base.join(format!("slaplan-fuzz-status-page-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("fuzz work directory");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let dir = workdir();
    let (daily, incidents) = (dir.join("outage_unexploded.csv"), dir.join("incident_stages.csv"));
    let pick = pick % 3;
    std::fs::write(&daily, if pick == 1 { DAILY } else { body }).expect("write fuzz input");
    std::fs::write(&incidents, if pick == 1 { body } else { INCIDENTS }).expect("write fuzz input");
    let paths = if pick == 2 { vec![daily] } else { vec![daily, incidents] };
    let Ok(fitted) = fit_status_pages(&paths, &[]) else {
        return;
    };
    let _ = fitted.summary_md();
    let _ = fitted.laws_csv();
    let _ = fitted.qq_csv();
    for profile in &fitted.profiles {
        let _ = profile.scenario_processes();
    }
    // What the fit accepts, it writes as profiles that read back.
    let text = match fitted.profiles_toml() {
        Ok(text) => text,
        Err(e) => panic!("fitted profiles that do not read back: {e}"),
    };
    check_profiles(&text).expect("written profiles read back");
});
