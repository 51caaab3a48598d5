//! `slaplan fidelity-pool` on hand-written fidelity output directories:
//! a three-run case pooled by hand (one run in the format from before
//! `fidelity.csv` had its `sd` column), and bad input: exit 2, a message
//! naming the file, line and field, nothing written.

use std::path::{Path, PathBuf};

use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::common::{slaplan, tempdir};

const SUMMARY: &str = "tenant,workflow,clause,metric,unit,kind\n\
                       gold,,p95 call latency <= 5s,p95 latency,ms,latency\n";

/// Writes a fidelity output directory `name` under `root`.
fn run_dir(root: &Path, name: &str, seed: u64, tenants: &str, fidelity_csv: &str) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let run = format!(
        r#"{{"seed": {seed}, "start": "2026-11-30T10:00:00", "tenants": {tenants},
            "endpoints": [{{"name": "m@p/eu", "provider": "p", "region": "eu"}}]}}"#
    );
    std::fs::write(dir.join("run.json"), run).unwrap();
    std::fs::write(
        dir.join("fidelity.json"),
        r#"{"duration": "10m", "time_scale": 1.0, "replications": 10, "level": 0.95}"#,
    )
    .unwrap();
    std::fs::write(dir.join("summary.csv"), SUMMARY).unwrap();
    std::fs::write(dir.join("fidelity.csv"), fidelity_csv).unwrap();
    dir
}

const GOLD: &str = r#"[{"name": "gold", "class": "gold", "workflows": ["chat"]}]"#;
const HEADER: &str = "tenant,metric,predicted,interval_low,interval_high,replications,measured,error,\
                      relative_error,differs_beyond_interval,clause,sd\n";
// The format before the `sd` column.
const OLD_HEADER: &str = "tenant,metric,predicted,interval_low,interval_high,replications,measured,error,\
                          relative_error,differs_beyond_interval,clause\n";

/// Three runs of p95_ms, availability and a latency clause (its values
/// those of p95_ms), 10 replications each. The intervals of the first two
/// (which carry `sd`) are not read.
fn three_runs(root: &Path) -> Vec<PathBuf> {
    let a = format!(
        "{HEADER}gold,p95_ms,2000,0,0,10,2060,,,no,,100\n\
         gold,availability,0.999,0,0,10,0.9985,,,no,,0.0005\n\
         gold,clause: p95 call latency <= 5s,2000,0,0,10,2060,,,no,p95 call latency <= 5s,100\n"
    );
    let b = format!(
        "{HEADER}gold,p95_ms,2100,0,0,10,2037,,,no,,84\n\
         gold,availability,0.998,0,0,10,0.998,,,no,,0.0005\n\
         gold,clause: p95 call latency <= 5s,2100,0,0,10,2037,,,no,p95 call latency <= 5s,84\n"
    );
    // Run C, old format: s = 95 behind the interval 1900 ± t(9) · 95 · √1.1
    // = 1900 ± 225.394 (t(9, 0.975) = 2.262157).
    let c = format!(
        "{OLD_HEADER}gold,p95_ms,1900,1674.61,2125.39,10,1957,,,no,\n\
         gold,availability,1,1,1,10,1,,,no,\n\
         gold,clause: p95 call latency <= 5s,1900,1674.61,2125.39,10,1957,,,no,p95 call latency <= 5s\n"
    );
    vec![
        run_dir(root, "a", 11, GOLD, &a),
        run_dir(root, "b", 111, GOLD, &b),
        run_dir(root, "c", 1111, GOLD, &c),
    ]
}

fn pool(runs: &[PathBuf], out: &Path) -> std::process::Output {
    slaplan()
        .arg("fidelity-pool")
        .args(runs)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

fn field<'a>(line: &'a str, header: &str, name: &str) -> &'a str {
    let i = header.split(',').position(|h| h == name).unwrap();
    line.split(',').nth(i).unwrap()
}

#[test]
fn three_runs_pool_to_the_hand_worked_intervals() {
    let root = tempdir();
    let runs = three_runs(root.path());
    let out = root.path().join("pooled");
    let done = pool(&runs, &out);
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let csv = std::fs::read_to_string(out.join("fidelity-pooled.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    let header = lines[0];
    assert_eq!(lines.len(), 4, "{csv}");
    let num = |line: &str, name: &str| field(line, header, name).parse::<f64>().unwrap();

    // p95_ms, relative: errors +3 %, -3 %, +3 %; variances s²(1 + 1/10):
    // 0.05² · 1.1 = 0.00275, 0.04² · 1.1 = 0.00176, 0.05² · 1.1 = 0.00275
    // (run C's s recovered from its interval). Mean +1 %, df = 27,
    // t(27, 0.975) = 2.051831, half width 2.051831 · √0.00726 / 3 = 0.0582754.
    let t27 = StudentsT::new(0.0, 1.0, 27.0).unwrap().inverse_cdf(0.975);
    assert!((t27 - 2.051831).abs() < 1e-6, "{t27}");
    let half = 2.051831 * 0.00726f64.sqrt() / 3.0;
    for line in [lines[1], lines[3]] {
        assert_eq!(field(line, header, "goal"), "relative", "{line}");
        assert_eq!(field(line, header, "errors"), "0.03;-0.03;0.03", "{line}");
        assert!((num(line, "mean_error") - 0.01).abs() < 1e-6, "{line}");
        assert!(
            (num(line, "interval_low") - (0.01 - half)).abs() < 2e-6,
            "{line} {half}"
        );
        assert!(
            (num(line, "interval_high") - (0.01 + half)).abs() < 2e-6,
            "{line} {half}"
        );
        assert_eq!(field(line, header, "degrees_of_freedom"), "27");
        // -4.8 % to +6.8 %: undecided.
        assert_eq!(field(line, header, "decided"), "undecided");
        // Nil bias, N runs of variance 0.00242 and 9 df: N = 3 gives
        // 2.051831 · √(0.00242 / 3) = 0.0583; N = 4 gives t(36) = 2.028094,
        // 2.028094 · √(0.00242 / 4) = 0.04988 ≤ 0.05.
        assert_eq!(field(line, header, "runs_to_decide"), "4");
        assert_eq!(field(line, header, "more_runs"), "1");
    }
    assert!(lines[3].starts_with("gold,clause: p95 call latency <= 5s,relative,0.05,3,"));

    // availability, absolute: errors -0.0005, 0, 0; variances
    // 0.0005² · 1.1 twice and 0: half width 2.051831 · √5.5e-7 / 3 = 0.000507226;
    // mean -0.000166667: -0.000674 to +0.000341, within 0.001.
    let a = lines[2];
    assert!(a.starts_with("gold,availability,absolute,0.001,3,-0.0005;0;0,"), "{a}");
    let half = 2.051831 * 5.5e-7f64.sqrt() / 3.0;
    assert!((num(a, "interval_low") - (-0.0005 / 3.0 - half)).abs() < 1e-8, "{a}");
    assert!((num(a, "interval_high") - (-0.0005 / 3.0 + half)).abs() < 1e-8, "{a}");
    assert_eq!(field(a, header, "decided"), "within");
    assert_eq!(field(a, header, "runs_to_decide"), "");

    // The terminal table: every figure, errors in % and pp.
    assert!(stdout.contains("+3.0 %, -3.0 %, +3.0 %"), "{stdout}");
    assert!(stdout.contains("-0.050 pp, +0.000 pp, +0.000 pp"), "{stdout}");
    assert!(stdout.contains("4 (1 more)"), "{stdout}");
}

/// Runs `fidelity-pool` expecting exit 2 with a message holding every
/// piece of `expected`, and nothing written.
fn rejected(runs: &[PathBuf], root: &Path, expected: &[&str]) {
    let out = root.join("pooled-bad");
    let done = pool(runs, &out);
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(2), "{stderr}");
    for piece in expected {
        assert!(stderr.contains(piece), "expected {piece:?} in: {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!out.exists(), "{} was written", out.display());
}

#[test]
fn bad_runs_exit_2_naming_file_line_and_field_and_write_nothing() {
    let root = tempdir();
    let r = root.path();
    let runs = three_runs(r);

    // A missing file.
    std::fs::remove_file(runs[1].join("fidelity.csv")).unwrap();
    let missing = runs[1].join("fidelity.csv").display().to_string();
    rejected(&runs, r, &[&missing, "cannot read"]);

    // A malformed row: line 3 of run A, an unreadable number.
    let runs = three_runs(r);
    let a =
        format!("{HEADER}gold,p95_ms,2000,0,0,10,2060,,,no,,100\ngold,availability,0.999,0,0,10,high,,,no,,0.0005\n");
    std::fs::write(runs[0].join("fidelity.csv"), a).unwrap();
    let path = runs[0].join("fidelity.csv").display().to_string();
    rejected(&runs, r, &[&format!("{path}: line 3: field \"measured\""), "\"high\""]);

    // A missing column.
    std::fs::write(runs[0].join("fidelity.csv"), "tenant,metric,predicted\ngold,p95_ms,1\n").unwrap();
    rejected(&runs, r, &[&format!("{path}: line 1: field \"interval_low\"")]);

    // A negative replication count, a clause summary.csv does not know.
    let runs = three_runs(r);
    std::fs::write(
        runs[2].join("fidelity.csv"),
        format!("{OLD_HEADER}gold,p95_ms,1900,1800,2000,-3,1957,,,no,\n"),
    )
    .unwrap();
    let path = runs[2].join("fidelity.csv").display().to_string();
    rejected(&runs, r, &[&format!("{path}: line 2: field \"replications\"")]);
    std::fs::write(
        runs[2].join("fidelity.csv"),
        format!("{OLD_HEADER}gold,clause: p99 call latency <= 9s,1900,1800,2000,10,1957,,,no,\n"),
    )
    .unwrap();
    rejected(&runs, r, &[&format!("{path}: line 2: field \"metric\""), "summary.csv"]);

    // A run of another scenario: another tenant.
    let runs = three_runs(r);
    let other = run_dir(
        r,
        "other",
        7,
        r#"[{"name": "silver", "class": "silver", "workflows": ["chat"]}]"#,
        HEADER,
    );
    let shown = other.display().to_string();
    rejected(
        &[runs[0].clone(), other.clone()],
        r,
        &[&shown, "run.json field \"tenants\"", "not runs of the same scenario"],
    );

    // Another period.
    let json = other.join("fidelity.json");
    std::fs::write(&json, r#"{"duration": "5m", "time_scale": 1.0, "level": 0.95}"#).unwrap();
    // Run A's run.json at seed 7, so that only the period differs.
    let run_a = std::fs::read_to_string(runs[0].join("run.json")).unwrap();
    std::fs::write(other.join("run.json"), run_a.replace("\"seed\": 11", "\"seed\": 7")).unwrap();
    rejected(
        &[runs[0].clone(), other.clone()],
        r,
        &[&shown, "fidelity.json field \"duration\"", "\"5m\"", "\"10m\""],
    );

    // The same seed twice: not an independent run.
    rejected(
        &[runs[0].clone(), runs[0].clone()],
        r,
        &["run.json field \"seed\" is 11", "not an independent draw"],
    );

    // --out names a file: refused, the file left as it was.
    let file = r.join("a-file");
    std::fs::write(&file, "keep").unwrap();
    let done = pool(&runs, &file);
    assert_eq!(done.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&done.stderr).contains("expected a directory"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep");

    // Malformed JSON names its line.
    std::fs::write(runs[1].join("run.json"), "{\n\"seed\": 12,\n\"tenants\": [\n").unwrap();
    let path = runs[1].join("run.json").display().to_string();
    rejected(&runs, r, &[&format!("{path}: line 4"), "expected JSON"]);
}
