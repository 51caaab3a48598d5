//! The bad-input corpus, `tests/fixtures/bad`, through the real binary:
//! every file is rejected with exit 2 and a message naming it, never a
//! panic. Inputs found by fuzzing (`fuzz/run`) that once crashed slaplan
//! are here with the message they must now get.
//!
//! Layout: `*.toml` are scenarios (`validate`), `clause/*.txt` one-line
//! clauses (`check --clause`), `litellm/*.yaml` LiteLLM configs
//! (`import-litellm`), `logs/*.jsonl` production logs (`fit`), `shard/*/`
//! shard directories (`merge`), `report/*/` output directories (`report`),
//! `trace/*/scenario.toml` scenarios whose trace or recorded sessions are
//! bad (`run`), `status_page/*.csv` status-page records (`fit
//! --status-page`). The bad fixtures other tests keep elsewhere
//! ([`ELSEWHERE`]) are fed the same way, so the corpus is every bad file.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{repo_path, slaplan, tempdir};

/// How one bad input is fed to slaplan.
fn feed(path: &Path, kind: &str, scratch: &Path) -> Output {
    let mut cmd = slaplan();
    match kind {
        "scenario" => cmd.arg("validate").arg(path),
        "clause" => {
            let clause = std::fs::read_to_string(path).unwrap();
            cmd.args([
                "check",
                "--tenant",
                "bronze-co",
                "--clause",
                clause.trim_end_matches('\n'),
                "--out",
            ])
            .arg(scratch.join("check"))
            .arg(repo_path("tests/fixtures/shared_endpoint.toml"))
        }
        "litellm" => cmd.arg("import-litellm").arg(path),
        "logs" => cmd
            .arg("fit")
            .arg("--log")
            .arg(path)
            .arg("--out")
            .arg(scratch.join("fitted.toml")),
        "shard" => cmd.arg("merge").arg(scratch.join("merged")).arg(path),
        "report" => {
            // `report` writes into the directory: work on a copy.
            let copy = scratch.join("report");
            let _ = std::fs::remove_dir_all(&copy);
            std::fs::create_dir_all(&copy).unwrap();
            for f in std::fs::read_dir(path).unwrap() {
                let f = f.unwrap().path();
                std::fs::copy(&f, copy.join(f.file_name().unwrap())).unwrap();
            }
            cmd.arg("report").arg(copy)
        }
        "trace" => cmd
            .args(["run", "--replications", "1", "--out"])
            .arg(scratch.join("run"))
            .arg(path.join("scenario.toml")),
        "status_page" => cmd
            .arg("fit")
            .arg("--status-page")
            .arg(path)
            .arg("--out")
            .arg(scratch.join("profiles.toml")),
        other => panic!("unknown kind {other}"),
    };
    cmd.output().unwrap()
}

/// Bad fixtures kept beside the good ones of their area (their own tests
/// check their messages), with their kind.
const ELSEWHERE: [(&str, &str); 4] = [
    ("tests/fixtures/litellm/missing_model.yaml", "litellm"),
    ("tests/fixtures/litellm/negative_rpm.yaml", "litellm"),
    ("tests/fixtures/litellm/syntax_error.yaml", "litellm"),
    ("tests/fixtures/litellm/unknown_fallback.yaml", "litellm"),
];

/// Every bad input with its kind, sorted.
fn corpus() -> Vec<(PathBuf, &'static str)> {
    let bad = repo_path("tests/fixtures/bad");
    let mut out = Vec::new();
    let list = |dir: &Path| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
            Err(_) => Vec::new(),
        };
        v.sort();
        v
    };
    let kinds = [
        ("clause", "clause"),
        ("litellm", "litellm"),
        ("logs", "logs"),
        ("shard", "shard"),
        ("report", "report"),
        ("trace", "trace"),
        ("status_page", "status_page"),
    ];
    for p in list(&bad) {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if p.extension().is_some_and(|e| e == "toml") {
            out.push((p, "scenario"));
        } else {
            // Nothing in the corpus goes unfed.
            assert!(
                p.extension().is_some_and(|e| e == "expected") || kinds.iter().any(|(sub, _)| *sub == name),
                "{}: not a scenario, an expected message or a directory of a known kind",
                p.display()
            );
        }
    }
    for (sub, kind) in kinds {
        for p in list(&bad.join(sub)) {
            if p.extension().is_some_and(|e| e == "expected") {
                continue;
            }
            out.push((p, kind));
        }
    }
    out.extend(ELSEWHERE.iter().map(|(p, kind)| (repo_path(p), *kind)));
    out
}

#[test]
fn every_bad_input_exits_2_with_a_message_and_no_panic() {
    let scratch = tempdir();
    let corpus = corpus();
    let mut by_kind = std::collections::BTreeMap::new();
    for (path, kind) in &corpus {
        let out = feed(path, kind, scratch.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        let name = path.file_name().unwrap().to_string_lossy();
        assert_eq!(out.status.code(), Some(2), "{kind} {name}: {stderr}");
        assert!(stderr.starts_with("error: "), "{kind} {name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{kind} {name}: {stderr}");
        // Its own expected message, where one is recorded.
        let expected = path.with_extension("expected");
        if let Ok(needle) = std::fs::read_to_string(&expected) {
            for line in needle.lines().filter(|l| !l.is_empty()) {
                assert!(stderr.contains(line), "{kind} {name}: expected {line:?} in:\n{stderr}");
            }
        }
        *by_kind.entry(*kind).or_insert(0) += 1;
    }
    println!(
        "{} bad inputs, all exit 2 with a message, no panic: {by_kind:?}",
        corpus.len()
    );
    assert!(corpus.len() >= 24, "{corpus:?}");
}
