//! A reader that stops early (`slaplan run X | head`) closes standard
//! output. Every command must take that as a normal end: exit 0, no
//! message, no panic.

use std::process::{Command, Stdio};

use crate::common::{repo_path, slaplan, tempdir};

/// Runs `cmd` with standard output a pipe whose reading end is already
/// closed, so its first write fails with `BrokenPipe`; returns (exit code,
/// standard error).
fn with_closed_stdout(mut cmd: Command) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let out = cmd
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .expect("the binary runs");
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn assert_normal_end(what: &str, cmd: Command) {
    let (code, stderr) = with_closed_stdout(cmd);
    assert_eq!(
        code,
        Some(0),
        "{what}: exit code with a closed stdout; stderr:\n{stderr}"
    );
    assert!(stderr.is_empty(), "{what}: expected no message, got:\n{stderr}");
}

#[test]
fn a_closed_stdout_is_a_normal_end_for_every_command() {
    let dir = tempdir();
    let small = repo_path("tests/fixtures/small.toml");
    let out = dir.path().join("out");

    let mut run = slaplan();
    run.args(["run", "--replications", "2", "--quiet", "--out"])
        .arg(&out)
        .arg(&small);
    assert_normal_end("run", run);
    assert!(
        out.join("run.json").exists(),
        "the outputs are written before the table"
    );

    let mut validate = slaplan();
    validate.arg("validate").arg(&small);
    assert_normal_end("validate", validate);

    let mut import = slaplan();
    import
        .arg("import-litellm")
        .arg(repo_path("tests/fixtures/litellm/azure_openai.yaml"));
    // Its notes go to stderr by design: only the exit code and the absence
    // of a panic matter here.
    let (code, stderr) = with_closed_stdout(import);
    assert_eq!(code, Some(0), "import-litellm: {stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.lines().any(|l| l.starts_with("error")),
        "{stderr}"
    );

    let mut fit = slaplan();
    fit.args(["fit", "--log"])
        .arg(repo_path("tests/fixtures/logs/litellm.jsonl"))
        .arg("--out")
        .arg(dir.path().join("fitted.toml"));
    let (code, stderr) = with_closed_stdout(fit);
    assert_eq!(code, Some(0), "fit: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let mut report = slaplan();
    report.arg("report").arg(&out);
    assert_normal_end("report", report);

    let shard_dirs: Vec<_> = (1..=2).map(|i| dir.path().join(format!("shard{i}"))).collect();
    for (i, d) in shard_dirs.iter().enumerate() {
        let mut shard = slaplan();
        shard
            .args(["run", "--replications", "2", "--quiet", "--shard"])
            .arg(format!("{}/2", i + 1))
            .arg("--out")
            .arg(d)
            .arg(&small);
        assert_normal_end("run --shard", shard);
    }
    let mut merge = slaplan();
    merge
        .args(["merge", "--quiet"])
        .arg(dir.path().join("merged"))
        .args(&shard_dirs);
    assert_normal_end("merge", merge);

    let mut check = slaplan();
    check
        .args([
            "check",
            "--replications",
            "2",
            "--quiet",
            "--tenant",
            "gold-co",
            "--clause",
            "p99 latency <= 9s",
            "--out",
        ])
        .arg(dir.path().join("check"))
        .arg(&small);
    assert_normal_end("check", check);

    let mut frontier = slaplan();
    frontier
        .args([
            "frontier",
            "--replications",
            "2",
            "--quiet",
            "--tenant",
            "gold-co",
            "--clause-index",
            "0",
            "--out",
        ])
        .arg(dir.path().join("frontier"))
        .arg(&small);
    assert_normal_end("frontier", frontier);

    let mut capacity = slaplan();
    capacity
        .args([
            "frontier",
            "--replications",
            "2",
            "--quiet",
            "--capacity",
            "b",
            "--max-capacity",
            "8",
            "--out",
        ])
        .arg(dir.path().join("capacity"))
        .arg(&small);
    assert_normal_end("frontier --capacity", capacity);
}
