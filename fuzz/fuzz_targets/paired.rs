//! `fidelity-paired`'s inputs: two request logs in the gateway's schema,
//! joined by `draw_key` and compared, as `slaplan fidelity-paired` does.
//! Property: whatever the logs, an error or a comparison whose counts add
//! up (every call judged on a side is paired or one-sided) and whose files
//! write; never a panic.
//!
//! The first byte picks what the rest of the input replaces (0 the
//! measured log, 1 the simulated log, 2 both); the other side is the
//! fixture in `tests/fixtures/paired`.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use slaplan::fidelity::paired::compare_in_window;

const MEASURED: &[u8] = include_bytes!("../../tests/fixtures/paired/measured.jsonl");
const SIMULATED: &[u8] = include_bytes!("../../tests/fixtures/paired/simulated.jsonl");

/// A directory of this process under the temporary directory.
fn workdir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // `fuzz/run` points TMPDIR at a directory of its own and deletes it.
        let dir = std::env::temp_dir().join(format!("slaplan-fuzz-paired-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("fuzz work directory");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let dir = workdir();
    let (m, s) = (dir.join("measured.jsonl"), dir.join("simulated.jsonl"));
    let pick = pick % 3;
    std::fs::write(&m, if pick == 1 { MEASURED } else { body }).expect("write fuzz input");
    std::fs::write(&s, if pick == 0 { SIMULATED } else { body }).expect("write fuzz input");
    // A small window, so that keys fall out of it too.
    let Ok(p) = compare_in_window(&m, &s, 4) else {
        return;
    };
    for t in &p.tenants {
        assert_eq!(t.judged_measured, t.pairs_judged + t.only_measured, "{t:?}");
        assert_eq!(t.judged_simulated, t.pairs_judged + t.only_simulated, "{t:?}");
        assert!(t.out_of_window <= t.only_measured + t.only_simulated, "{t:?}");
        assert!(t.pairs_served <= t.pairs_judged, "{t:?}");
    }
    let _ = p.csv();
    let _ = p.json();
});
