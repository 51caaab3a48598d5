//! The review report's inputs: `run.json`, `summary.csv` and the optional
//! CSVs of an output directory, read by header name, then the report's
//! content built from them and rendered as Markdown and HTML (the charts
//! are left out: drawing one takes about a second, too slow to fuzz).
//!
//! The first byte picks the file the rest of the input replaces; the other
//! files are the complete fixture `tests/fixtures/report/full`, so each
//! file is fuzzed past the checks of the ones read before it.
#![no_main]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use slaplan::report::review::{content, html, inputs, markdown};

const FILES: [(&str, &[u8]); 7] = [
    ("run.json", include_bytes!("../../tests/fixtures/report/full/run.json")),
    (
        "summary.csv",
        include_bytes!("../../tests/fixtures/report/full/summary.csv"),
    ),
    (
        "windows.csv",
        include_bytes!("../../tests/fixtures/report/full/windows.csv"),
    ),
    (
        "latency.csv",
        include_bytes!("../../tests/fixtures/report/full/latency.csv"),
    ),
    (
        "budget.csv",
        include_bytes!("../../tests/fixtures/report/full/budget.csv"),
    ),
    (
        "timeline.csv",
        include_bytes!("../../tests/fixtures/report/full/timeline.csv"),
    ),
    (
        "drivers.csv",
        include_bytes!("../../tests/fixtures/report/full/drivers.csv"),
    ),
];

/// A directory of this process under the temporary directory.
fn workdir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // `fuzz/run` points TMPDIR at a directory of its own (on /dev/shm
        // where there is one) and deletes it when it ends.
        let base = std::env::temp_dir();
        let dir = base.join(format!("slaplan-fuzz-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("fuzz work directory");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let dir = workdir();
    let pick = usize::from(pick) % (FILES.len() + 1);
    for (i, (name, bytes)) in FILES.iter().enumerate() {
        let path = dir.join(name);
        match i.cmp(&pick) {
            std::cmp::Ordering::Equal => std::fs::write(&path, body),
            _ => std::fs::write(&path, bytes),
        }
        .expect("write fuzz input");
    }
    if pick == FILES.len() {
        // Only the required files: every optional one absent.
        for (name, _) in &FILES[2..] {
            let _ = std::fs::remove_file(dir.join(name));
        }
    }
    let Ok(read) = inputs::read(dir) else {
        return;
    };
    let doc = content::document(&read, &[]);
    let _ = markdown::render(&doc);
    let _ = html::render(&doc, &BTreeMap::new());
});
