//! The paired (call by call) comparison, `slaplan::fidelity::paired` and
//! `slaplan fidelity-paired`: a hand-worked case (the join, the one-sided
//! counts, percentiles exact below 2 ms where the histogram counts single
//! microseconds, the correlation, availability), agreement with
//! `notebooks/fidelity_paired.py` (the independent implementation) on two
//! simulated logs of ten one-minute blocks, and bad input.

use std::path::{Path, PathBuf};
use std::process::Command;

use slaplan::fidelity::paired::{self, Paired};

/// One request-log line with the fields the comparison reads (and a few
/// it ignores), arrival `arrival_ms` and latency `latency_us` after
/// 2026-01-05T00:00:00.
fn line(key: &str, tenant: &str, arrival_ms: u64, latency_us: u64, outcome: &str) -> String {
    let at = |ns: u64| {
        format!(
            "2026-01-05T00:{:02}:{:02}.{:09}Z",
            ns / 60_000_000_000,
            ns / 1_000_000_000 % 60,
            ns % 1_000_000_000
        )
    };
    let a = arrival_ms * 1_000_000;
    format!(
        r#"{{"call":0,"tenant":"{tenant}","workflow":"w","draw_key":"{key}","arrival":"{}","end":"{}","outcome":"{outcome}","status":200}}"#,
        at(a),
        at(a + latency_us * 1000)
    ) + "\n"
}

fn write(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, lines.concat()).unwrap();
    path
}

fn row<'a>(p: &'a Paired, tenant: &str, figure: &str) -> &'a paired::PairedRow {
    p.rows
        .iter()
        .find(|r| r.tenant == tenant && r.figure == figure)
        .unwrap_or_else(|| panic!("no {tenant} {figure} row: {:?}", p.rows))
}

/// The script's hand-worked case in microseconds below 2 ms (where the
/// HDR histogram's buckets are single microseconds, so its nearest rank
/// is exact): four calls served on both sides, one failed measured and
/// served simulated, one simulated only, and a measured call the client
/// cancelled (left out on its side, so its simulated partner is one-sided).
#[test]
fn a_hand_worked_case_gives_its_pairs_counts_and_figures() {
    let dir = crate::common::tempdir();
    let m = write(
        dir.path(),
        "m.jsonl",
        &[
            line("b", "t", 2000, 200, "success"),
            line("a", "t", 1000, 100, "success"),
            line("c", "t", 3000, 300, "success"),
            line("d", "t", 4000, 400, "success"),
            line("e", "t", 5000, 900, "attempts_exhausted"),
            line("g", "t", 7000, 10, "cancelled"),
        ],
    );
    let s = write(
        dir.path(),
        "s.jsonl",
        &[
            line("a", "t", 1000, 100, "success"),
            line("b", "t", 2000, 200, "success"),
            line("c", "t", 3000, 300, "success"),
            line("d", "t", 4000, 500, "success"),
            line("e", "t", 5000, 950, "success"),
            line("f", "t", 6000, 50, "success"),
            line("g", "t", 7000, 70, "success"),
        ],
    );
    let p = paired::compare(&m, &s).unwrap();
    let t = &p.tenants[0];
    assert_eq!(p.tenants.len(), 1);
    assert_eq!((t.judged_measured, t.judged_simulated, t.pairs_judged), (5, 7, 5));
    assert_eq!((t.served_measured, t.served_simulated, t.pairs_served), (4, 7, 4));
    assert_eq!((t.only_measured, t.only_simulated, t.out_of_window), (0, 2, 0));
    assert_eq!((t.client_measured, t.client_simulated, t.disagreeing), (1, 0, 1));
    let shown: Vec<(&str, u64)> = p.one_sided.iter().map(|c| (c.draw_key.as_str(), c.line)).collect();
    assert_eq!(shown, [("f", 6), ("g", 7)], "the one-sided calls are listed");
    // Nearest rank: the 2nd of 4 for p50 (0.2 ms both), the 4th for p95
    // and p99 (0.4 ms against 0.5 ms).
    let p50 = row(&p, "t", "p50_ms");
    assert_eq!(
        (p50.pairs, p50.measured, p50.simulated, p50.error),
        (4, Some(0.2), Some(0.2), Some(0.0))
    );
    for figure in ["p95_ms", "p99_ms"] {
        let r = row(&p, "t", figure);
        assert_eq!((r.measured, r.simulated), (Some(0.4), Some(0.5)));
        let e = r.error.unwrap();
        assert!((e + 0.2).abs() < 1e-12, "{e}");
        // One block: every resample is the run itself.
        assert_eq!((r.low, r.high), (r.error, r.error));
    }
    // Pearson over (1,2,3,4) and (1,2,3,5): 6.5 / sqrt(5 × 8.75).
    let r = p.correlation[0].unwrap();
    assert!((r - 6.5 / 43.75f64.sqrt()).abs() < 1e-12, "{r}");
    // Availability over the five calls judged on both sides: 4 of 5
    // against 5 of 5, −20 points.
    let a = row(&p, "t", "availability");
    assert_eq!((a.pairs, a.measured, a.simulated), (5, Some(0.8), Some(1.0)));
    assert!((a.error.unwrap() + 20.0).abs() < 1e-9 && (a.low.unwrap() + 20.0).abs() < 1e-9);

    // The CLI writes the same figures.
    let out = dir.path().join("out");
    let run = crate::common::slaplan()
        .args(["fidelity-paired", m.to_str().unwrap(), s.to_str().unwrap(), "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let csv = std::fs::read_to_string(out.join("paired.csv")).unwrap();
    assert!(csv.contains("\nt,p95_ms,4,4,7,0,2,"), "{csv}");
    assert!(csv.contains(",0.4,0.5,-0.2,-0.2,-0.2,\n"), "{csv}");
    assert!(csv.contains("\nt,availability,5,5,7,0,2,"), "{csv}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("paired.json")).unwrap()).unwrap();
    assert_eq!(json["tenants"][0]["only_simulated"], 2);
    assert_eq!(json["one_sided"][0]["draw_key"], "f");
    assert!(String::from_utf8_lossy(&run.stderr).contains("2 call(s) on one side only"));
}

/// A line without `draw_key`, a line that is not JSON, a bad time: exit 2
/// naming the file, the line and the field, and nothing written.
#[test]
fn bad_lines_are_errors_naming_file_line_and_field() {
    let dir = crate::common::tempdir();
    let good = write(dir.path(), "good.jsonl", &[line("a", "t", 0, 100, "success")]);
    let no_key = line("b", "t", 0, 100, "success").replace(r#""draw_key":"b","#, "");
    let cases = [
        ("nokey.jsonl", no_key, "line 2: field `draw_key`: missing"),
        (
            "notjson.jsonl",
            "{\"tenant\": \n".to_string(),
            "line 2: expected a JSON object",
        ),
        (
            "badtime.jsonl",
            line("b", "t", 0, 100, "success").replace("2026-01-05T00:00:00.000000000Z", "yesterday"),
            "line 2: field `arrival`: \"yesterday\"",
        ),
    ];
    for (name, bad, expected) in cases {
        let path = write(dir.path(), name, &[line("z", "t", 0, 100, "success"), bad]);
        let out = dir.path().join(format!("out-{name}"));
        let run = crate::common::slaplan()
            .args([
                "fidelity-paired",
                good.to_str().unwrap(),
                path.to_str().unwrap(),
                "--out",
            ])
            .arg(&out)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{name}: {stderr}");
        assert!(
            stderr.contains(&format!("{}, {expected}", path.display())),
            "{name}: {stderr}"
        );
        assert!(!out.exists(), "{name}: nothing written");
    }
}

const SCENARIO: &str = r#"
[simulation]
start = "2026-01-05"
duration = "10m"
seed = 21

[[endpoints]]
name = "model@p/eu"
provider = "p"
region = "eu"
concurrency = 12
attempt_timeout = "30s"
error_probability = 0.05
latency = { model = "lognormal", ttft = "1s", per_output_token = "25ms", sigma = 0.3 }

[[tenants]]
name = "acme"
class = "gold"
chain = ["model@p/eu"]

[[tenants.workflows]]
name = "assistant"
rate = 3.0
input_tokens = { dist = "uniform", min = 100, max = 300 }
output_tokens = { dist = "constant", value = 40 }

[[tenants]]
name = "beta"
class = "bronze"
chain = ["model@p/eu"]

[[tenants.workflows]]
name = "batch"
rate = 1.0
input_tokens = { dist = "uniform", min = 100, max = 300 }
output_tokens = { dist = "uniform", min = 10, max = 100 }
"#;

/// Replication 0's request log of `text`.
fn simulated_log(text: &str, path: &Path) {
    let s = slaplan::scenario::parse(text, Path::new("paired.toml")).unwrap();
    let file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let log = slaplan::model::RequestLog::new(&s, Box::new(file));
    let result = slaplan::model::World::new(&s, 0)
        .unwrap()
        .write_requests(log)
        .run_full();
    assert!(result.request_log_error.is_none() && result.overload.is_none());
}

/// numpy's Python, when the project's virtual environment has it.
fn python() -> Option<PathBuf> {
    let venv = std::env::var_os("SLAPLAN_VENV")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/slaplan-venv")))?;
    let python = venv.join("bin/python3");
    let ok = Command::new(&python)
        .args(["-c", "import numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(python)
}

/// The same two logs give the script's pairs, counts and correlation (to
/// its printed digits), percentiles within the HDR histogram's 0.1 %, and
/// bootstrap bounds within the resampling's own Monte Carlo error: the
/// script's bounds' standard deviation over 20 other seeds, times 4 (the
/// two estimates' difference has √2 of it; 4 / √2 ≈ 2.8 of those), plus
/// the histogram's resolution.
///
/// The logs: replication 0 of a scenario and of the same scenario with
/// fewer slots and more errors (the same calls, keyed alike, served
/// slower and failing more often): ten one-minute blocks, errors of tens
/// of percent, calls whose ending differs.
#[test]
fn the_rust_comparison_agrees_with_the_script() {
    let dir = crate::common::tempdir();
    let (m, s) = (dir.path().join("m.jsonl"), dir.path().join("s.jsonl"));
    simulated_log(SCENARIO, &m);
    let slower = SCENARIO
        .replace("concurrency = 12", "concurrency = 9")
        .replace("error_probability = 0.05", "error_probability = 0.4");
    simulated_log(&slower, &s);
    let p = paired::compare(&m, &s).unwrap();
    for t in &p.tenants {
        assert!(t.pairs_served > 300 && t.disagreeing > 0, "{t:?}");
    }
    let Some(python) = python() else {
        assert!(
            !std::env::var("SLAPLAN_REQUIRE_NUMPY").is_ok_and(|v| v == "1"),
            "SLAPLAN_REQUIRE_NUMPY=1 but no Python with numpy (SLAPLAN_VENV or ~/.cache/slaplan-venv)"
        );
        eprintln!(
            "skipped the comparison with notebooks/fidelity_paired.py: no Python with numpy (SLAPLAN_VENV or ~/.cache/slaplan-venv; \
             SLAPLAN_REQUIRE_NUMPY=1 makes this a failure)"
        );
        return;
    };
    let script = crate::common::repo_path("notebooks/fidelity_paired.py");
    let out = Command::new(&python).arg(&script).args([&m, &s]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let (latency, availability) = text.split_once("\n\n").unwrap();
    // The bounds' spread over other seeds.
    let spread = Command::new(&python)
        .current_dir(script.parent().unwrap())
        .args([
            "-c",
            r#"
import sys, numpy as np, fidelity_paired as fp
m, s = fp.calls(sys.argv[1]), fp.calls(sys.argv[2])
lat = [fp.paired(fp.served(m), fp.served(s), seed=k) for k in range(2, 22)]
av = [fp.availability(m, s, seed=k) for k in range(2, 22)]
for i, r in enumerate(lat[0]):
    print(r["tenant"], r["figure"], np.std([x[i]["low"] for x in lat]), np.std([x[i]["high"] for x in lat]))
for i, r in enumerate(av[0]):
    print(r["tenant"], "availability", np.std([x[i]["low"] for x in av]), np.std([x[i]["high"] for x in av]))
"#,
        ])
        .args([&m, &s])
        .output()
        .unwrap();
    assert!(spread.status.success(), "{}", String::from_utf8_lossy(&spread.stderr));
    let sd = |tenant: &str, figure: &str| -> (f64, f64) {
        let text = String::from_utf8_lossy(&spread.stdout);
        let l = text
            .lines()
            .find(|l| l.starts_with(&format!("{tenant} {figure} ")))
            .unwrap()
            .to_string();
        let f: Vec<f64> = l.split(' ').skip(2).map(|x| x.parse().unwrap()).collect();
        (f[0], f[1])
    };
    let num = |x: &str| x.parse::<f64>().unwrap();
    let mut checked = 0;
    for l in latency.lines().skip(1) {
        let f: Vec<&str> = l.split(',').collect();
        let (tenant, figure) = (f[0], f[5]);
        let r = row(&p, tenant, figure);
        let t = p.tenants.iter().position(|x| x.tenant == tenant).unwrap();
        let c = &p.tenants[t];
        assert_eq!(
            (c.served_measured, c.served_simulated, c.pairs_served),
            (num(f[1]) as u64, num(f[2]) as u64, num(f[3]) as u64),
            "{l}"
        );
        assert!(
            (p.correlation[t].unwrap() - num(f[4])).abs() <= 5e-5 + 1e-12,
            "{l}: {:?}",
            p.correlation[t]
        );
        // The histogram's value is at most 0.1 % (and 1 µs) above the
        // exact one; the script prints 0.1 ms.
        for (got, want) in [(r.measured.unwrap(), num(f[6])), (r.simulated.unwrap(), num(f[7]))] {
            assert!((got - want).abs() <= 1e-3 * want + 0.051, "{l}: {got}");
        }
        let resolution = 2.1e-3 * (1.0 + num(f[8]).abs()) + 5e-5;
        assert!((r.error.unwrap() - num(f[8])).abs() <= resolution, "{l}: {:?}", r.error);
        let (sd_low, sd_high) = sd(tenant, figure);
        for (got, want, sd) in [
            (r.low.unwrap(), num(f[9]), sd_low),
            (r.high.unwrap(), num(f[10]), sd_high),
        ] {
            assert!(
                (got - want).abs() <= 4.0 * sd + resolution,
                "{l}: bound {got} against the script's {want} (Monte Carlo sd {sd})"
            );
        }
        checked += 1;
    }
    for l in availability.lines().skip(1) {
        let f: Vec<&str> = l.split(',').collect();
        let r = row(&p, f[0], "availability");
        let c = p.tenants.iter().find(|x| x.tenant == f[0]).unwrap();
        assert_eq!((r.pairs, c.disagreeing), (num(f[1]) as u64, num(f[7]) as u64), "{l}");
        assert!((r.measured.unwrap() - num(f[2])).abs() <= 5e-6 && (r.simulated.unwrap() - num(f[3])).abs() <= 5e-6);
        assert!((r.error.unwrap() - num(f[4])).abs() <= 5e-4, "{l}: {:?}", r.error);
        let (sd_low, sd_high) = sd(f[0], "availability");
        for (got, want, sd) in [
            (r.low.unwrap(), num(f[5]), sd_low),
            (r.high.unwrap(), num(f[6]), sd_high),
        ] {
            assert!(
                (got - want).abs() <= 4.0 * sd + 5e-4,
                "{l}: bound {got} against {want} (sd {sd})"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 8, "{text}");
}

/// A key whose partner comes more than the window's worth of unmatched
/// keys later falls out of the window: counted on its side as one-sided
/// (and as out of the window), never dropped; with a window large enough
/// the same logs pair fully.
#[test]
fn keys_out_of_the_window_are_counted_one_sided() {
    let dir = crate::common::tempdir();
    // Measured ends a, b, c, d; simulated d, c, b, a (all at the same
    // offset, so the measured log is read first): with a window of one
    // unmatched key per side, a, b and c are pushed out before their
    // partners come, and only d pairs.
    let calls = ["a", "b", "c", "d"];
    let m: Vec<String> = calls.iter().map(|k| line(k, "t", 0, 100, "success")).collect();
    let s: Vec<String> = calls.iter().rev().map(|k| line(k, "t", 0, 100, "success")).collect();
    let (m, s) = (write(dir.path(), "m.jsonl", &m), write(dir.path(), "s.jsonl", &s));
    let full = paired::compare(&m, &s).unwrap();
    assert_eq!((full.tenants[0].pairs_judged, full.one_sided_calls()), (4, 0));
    let narrow = paired::compare_in_window(&m, &s, 1).unwrap();
    let t = &narrow.tenants[0];
    assert_eq!(t.pairs_judged + t.only_measured, 4, "{t:?}");
    assert_eq!(t.pairs_judged + t.only_simulated, 4, "{t:?}");
    assert_eq!((t.pairs_judged, t.only_measured, t.only_simulated), (1, 3, 3), "{t:?}");
    // a, b, c measured and c, b simulated fell out; simulated a was left
    // at the end.
    assert_eq!(t.out_of_window, 5, "{t:?}");
    assert_eq!(narrow.one_sided.len() as u64, narrow.one_sided_calls());
    assert!(narrow.one_sided.iter().any(|c| c.out_of_window));
}
