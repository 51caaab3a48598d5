//! `fit --report DIR` is crash-safe as `run`'s outputs are (issue 17): the
//! report directory is the previous one or the complete new one, whatever
//! stops the process; a failed write exits 1 naming the path and leaves the
//! previous report as it was.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{repo_path, slaplan, tempdir};

/// Every file of `dir` (flat) with its bytes.
fn contents(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                fs::read(&path).unwrap(),
            )
        })
        .collect()
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// `fit` of the status-page fixture (`pages`) or of the LiteLLM log
/// fixture, its report into `report`, its output beside it.
fn fit(pages: bool, report: &Path) -> Command {
    let mut cmd = slaplan();
    if pages {
        cmd.arg("fit")
            .arg("--status-page")
            .arg(repo_path("tests/fixtures/status_page/outage_unexploded.csv"))
            .arg(repo_path("tests/fixtures/status_page/incident_stages.csv"));
    } else {
        cmd.args(["fit", "--log"])
            .arg(repo_path("tests/fixtures/logs/litellm.jsonl"));
    }
    let out = report.with_file_name(if pages { "profiles.toml" } else { "fitted.toml" });
    cmd.arg("--out").arg(out).arg("--report").arg(report);
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    cmd
}

fn succeeds(mut cmd: Command) {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// A new report replaces the previous directory whole: nothing of the
/// previous one (here a stray file) survives beside the new files, and
/// nothing is left beside the directory.
#[test]
fn a_fit_report_replaces_the_previous_report_whole() {
    let dir = tempdir();
    let report = dir.path().join("report");
    succeeds(fit(false, &report));
    fs::write(report.join("notes.txt"), "from before").unwrap();
    succeeds(fit(true, &report));
    assert_eq!(names(&report), ["fit.md", "laws.csv", "qq.csv"]);
    let md = String::from_utf8(contents(&report)["fit.md"].clone()).unwrap();
    assert!(md.contains("outage_unexploded.csv"), "{md}");
    assert_eq!(names(dir.path()), ["fitted.toml", "profiles.toml", "report"]);
}

/// A write that fails part-way (a file-size limit: the same path as a full
/// disk) exits 1 naming the path and keeps the previous report byte for
/// byte; the limit lets `fit.md`, written first, through and stops a later
/// file, so a report written file by file would be a mixture.
#[test]
fn a_failed_fit_report_exits_1_and_keeps_the_previous_report() {
    let dir = tempdir();
    // The sizes of the new report's files, from a reference run.
    let reference = dir.path().join("reference").join("report");
    fs::create_dir_all(reference.parent().unwrap()).unwrap();
    succeeds(fit(true, &reference));
    let sizes = contents(&reference);
    let blocks = (sizes["fit.md"].len() as u64).div_ceil(512);
    let later = sizes["laws.csv"].len().max(sizes["qq.csv"].len()) as u64;
    assert!(
        later > blocks * 512,
        "the test needs a file after fit.md larger than it: {:?}",
        sizes.iter().map(|(k, v)| (k, v.len())).collect::<Vec<_>>()
    );

    let work = dir.path().join("work");
    fs::create_dir(&work).unwrap();
    let report = work.join("report");
    succeeds(fit(false, &report));
    let before = contents(&report);
    let cmd = fit(true, &report);
    let args: Vec<String> = cmd.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
    let out = Command::new("sh")
        .args([
            "-c",
            &format!(r#"trap '' XFSZ; ulimit -f {blocks}; exec "$BIN" "$@""#),
            "sh",
        ])
        .args(&args)
        .env("BIN", env!("CARGO_BIN_EXE_slaplan"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("File too large"), "{stderr}");
    assert!(stderr.contains(&report.display().to_string()), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(contents(&report), before, "the previous report, byte for byte");
    assert_eq!(
        names(&work),
        ["fitted.toml", "report"],
        "nothing half-written beside it"
    );
}

/// `fit` killed (SIGKILL) at moments spread over a run leaves the previous
/// report or the complete new one, never a mixture.
#[test]
fn a_fit_killed_at_any_moment_leaves_the_previous_or_the_complete_new_report() {
    let dir = tempdir();
    let mut reference = Vec::new();
    let mut longest = Duration::ZERO;
    for pages in [true, false] {
        let report = dir.path().join(format!("reference-{pages}")).join("report");
        fs::create_dir_all(report.parent().unwrap()).unwrap();
        #[allow(clippy::disallowed_methods)] // timing the binary to spread the kills over a run
        let started = Instant::now();
        succeeds(fit(pages, &report));
        longest = longest.max(started.elapsed());
        reference.push(contents(&report));
    }
    assert_ne!(reference[0], reference[1]);
    let work = dir.path().join("work");
    fs::create_dir(&work).unwrap();
    let report = work.join("report");
    succeeds(fit(true, &report));
    let mut current = 0;
    let (mut kept, mut replaced) = (0, 0);
    for i in 0..24 {
        let wait = longest.mul_f64((f64::from(i) * 0.618_034) % 1.0 * 1.3);
        let target = 1 - current;
        let mut child = fit(target == 0, &report).spawn().unwrap();
        std::thread::sleep(wait);
        let _ = child.kill();
        let _ = child.wait();
        let now = contents(&report);
        let state = reference
            .iter()
            .position(|r| *r == now)
            .unwrap_or_else(|| panic!("kill {i} after {wait:?} left a mixture: {:?}", now.keys()));
        if state == current {
            kept += 1;
        } else {
            replaced += 1;
        }
        current = state;
    }
    println!("24 kills: previous report kept {kept}, new report complete {replaced}");
}
