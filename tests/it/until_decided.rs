//! `--until-decided`: a clause that fails in every replication settles at
//! once, one near its threshold runs to the cap, and a stopped run's
//! outputs are the first N replications of a fixed run, byte for byte,
//! except the interval, which is recomputed here from the fixed run's
//! windows.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use slaplan::plan::sequential::{BetaMixture, ClauseSequence};

use crate::common::{output_files, repo_path, slaplan, tempdir};

const FIXTURE: &str = "tests/fixtures/until_decided.toml";

fn ok(args: &[&str], paths: &[&Path]) -> String {
    let out = slaplan().args(args).args(paths).output().expect("slaplan runs");
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn fails(args: &[&str], paths: &[&Path]) -> String {
    let out = slaplan().args(args).args(paths).output().expect("slaplan runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

/// `summary.csv` as rows of named cells.
fn csv_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    r.records()
        .map(|rec| {
            header
                .iter()
                .cloned()
                .zip(rec.unwrap().iter().map(str::to_string))
                .collect()
        })
        .collect()
}

#[test]
fn a_failing_clause_settles_at_once_and_one_near_its_threshold_runs_to_the_cap() {
    let dir = tempdir();
    let out = dir.path().join("stopped");
    let stdout = ok(
        &[
            "run",
            "--until-decided",
            "--max-replications",
            "120",
            "--report",
            "--out",
        ],
        &[&out, &repo_path(FIXTURE)],
    );
    assert!(
        stdout.contains("the cap of 120 replication(s) was reached with 1 clause(s) undecided"),
        "{stdout}"
    );
    assert!(
        stdout.contains("95% CS") && stdout.contains("decided after"),
        "{stdout}"
    );
    let meta = json(&out.join("run.json"));
    assert_eq!(meta["replications"], 120);
    assert_eq!(meta["interval_method"], "confidence_sequence");
    let until = &meta["until_decided"];
    assert_eq!(
        until["stop"],
        serde_json::json!({"replications": 120, "settled": false, "out_of_time": false})
    );
    assert_eq!(
        until["schedule"],
        serde_json::json!({"first": 8, "batch": 8, "max": 120})
    );
    // Hand-worked in plan::sequential's tests: three failures settle the
    // impossible ceiling, 68 clean replications prove the generous one, and
    // the availability target (held in about 95% of days, the required
    // confidence) stays undecided.
    let decided: Vec<_> = until["clauses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["decided_after"].clone(), c["verdict"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        decided,
        vec![
            (serde_json::json!(3), "not_enforceable".to_string()),
            (serde_json::json!(68), "enforceable".to_string()),
            (serde_json::Value::Null, "at_risk".to_string()),
        ]
    );
    let rows = csv_rows(&out.join("summary.csv"));
    let column = |name: &str| rows.iter().map(|r| r[name].as_str()).collect::<Vec<_>>();
    assert_eq!(column("decided_after"), ["3", "68", ""]);
    assert_eq!(column("interval"), ["confidence_sequence"; 3]);
    // The report says which interval it shows.
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("anytime-valid confidence sequence"), "{report}");
    assert!(!report.contains("Clopper-Pearson (exact binomial)"), "{report}");

    // Without the clause near its threshold, the run stops at the first
    // look after the slowest clause settles: 68 rounds up to 72.
    let text = fs::read_to_string(repo_path(FIXTURE)).unwrap();
    let cut = text.find("[[tenants.clauses]]\nmetric = \"availability\"").unwrap();
    let settled = dir.path().join("settled.toml");
    fs::write(&settled, &text[..cut]).unwrap();
    let out = dir.path().join("settled");
    let stdout = ok(&["run", "--until-decided", "--out"], &[&out, &settled]);
    assert!(
        stdout.contains("every verdict settled; stopped after 72 replication(s)"),
        "{stdout}"
    );
    // With only the impossible ceiling, the first look (the scenario's 8
    // replications) settles everything.
    let cut = text
        .find("[[tenants.clauses]]\nmetric = \"latency\"              # holds")
        .unwrap();
    let failing = dir.path().join("failing.toml");
    fs::write(&failing, &text[..cut]).unwrap();
    let out = dir.path().join("failing");
    let stdout = ok(&["run", "--until-decided", "--out"], &[&out, &failing]);
    assert!(
        stdout.contains("stopped after 8 replication(s), the slowest clause needed 3"),
        "{stdout}"
    );
    assert_eq!(json(&out.join("run.json"))["replications"], 8);
}

#[test]
fn a_stopped_run_is_the_first_n_replications_of_a_fixed_run() {
    let dir = tempdir();
    let scenario = repo_path(FIXTURE);
    let stopped = dir.path().join("stopped");
    ok(
        &[
            "run",
            "--until-decided",
            "--max-replications",
            "120",
            "--batch",
            "5",
            "--threads",
            "2",
            "--out",
        ],
        &[&stopped, &scenario],
    );
    let fixed = dir.path().join("fixed");
    ok(
        &["run", "--replications", "120", "--threads", "1", "--out"],
        &[&fixed, &scenario],
    );
    let files = output_files(&stopped);
    assert_eq!(files, output_files(&fixed));
    for file in files
        .iter()
        .filter(|f| !["summary.csv", "run.json"].contains(&f.as_str()))
    {
        let a = fs::read(stopped.join(file)).unwrap();
        assert!(!a.is_empty(), "{file}");
        assert_eq!(a, fs::read(fixed.join(file)).unwrap(), "{file} differs");
    }
    // run.json: only the interval's name, the record of the looks and the
    // timing differ.
    let strip = |path: &Path| {
        let mut v = json(path);
        let obj = v.as_object_mut().unwrap();
        for key in ["timing", "interval_method", "until_decided"] {
            obj.remove(key);
        }
        v
    };
    assert_eq!(strip(&stopped.join("run.json")), strip(&fixed.join("run.json")));
    assert_eq!(json(&fixed.join("run.json"))["interval_method"], "clopper_pearson");

    // summary.csv: every column but the interval's is the fixed run's.
    let seq_rows = csv_rows(&stopped.join("summary.csv"));
    let fixed_rows = csv_rows(&fixed.join("summary.csv"));
    // The internal objective is found with the verdict's interval too.
    let interval_columns = [
        "ci_low",
        "ci_high",
        "verdict",
        "interval",
        "decided_after",
        "internal_objective",
        "internal_buffer",
    ];
    for (s, f) in seq_rows.iter().zip(&fixed_rows) {
        for (k, v) in s.iter().filter(|(k, _)| !interval_columns.contains(&k.as_str())) {
            assert_eq!(v, &f[k], "column {k}");
        }
        assert_eq!(f["interval"], "clopper_pearson");
        assert_eq!(f["decided_after"], "");
    }

    // The interval, recomputed from the fixed run's windows.csv alone: each
    // replication's share of windows held, in replication order.
    let windows = csv_rows(&fixed.join("windows.csv"));
    for s in &seq_rows {
        let clause = &s["clause_index"];
        let mut per_rep: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
        for w in windows.iter().filter(|w| &w["clause_index"] == clause) {
            let e = per_rep.entry(w["replication"].parse().unwrap()).or_default();
            e.0 += 1;
            e.1 += u64::from(w["met"] == "true");
        }
        assert_eq!(per_rep.len(), 120);
        let mut seq = ClauseSequence::new(BetaMixture::new(0.95, 0.95), 0.95);
        for (windows, met) in per_rep.values() {
            seq.push(*met as f64 / *windows as f64);
        }
        let (low, high) = seq.interval();
        assert_eq!(s["ci_low"], format!("{low:.6}"), "clause {clause}");
        assert_eq!(s["ci_high"], format!("{high:.6}"), "clause {clause}");
        assert_eq!(s["verdict"], seq.verdict().label().replace(' ', "_"));
        assert_eq!(
            s["decided_after"],
            seq.decided_after().map(|n| n.to_string()).unwrap_or_default()
        );
    }
}

#[test]
fn check_and_frontier_run_until_their_verdicts_settle() {
    let dir = tempdir();
    let scenario = repo_path(FIXTURE);
    // frontier: the impossible ceiling settles at its own threshold after
    // three replications, so the first look (8) ends the run.
    let out = dir.path().join("frontier");
    let stdout = ok(
        &[
            "frontier",
            "--tenant",
            "acme",
            "--clause-index",
            "0",
            "--until-decided",
            "--out",
        ],
        &[&out, &scenario],
    );
    assert!(stdout.contains("stopped after 8 replication(s)"), "{stdout}");
    assert!(
        stdout.contains("at its own threshold the clause is not enforceable"),
        "{stdout}"
    );
    let rows = csv_rows(&out.join("frontier.csv"));
    assert!(
        rows.iter()
            .all(|r| r["interval"] == "confidence_sequence" && r["windows"] == "8")
    );

    // A capacity probe stops once one judged clause is proven not
    // enforceable: every probe here runs only its first look.
    let out = dir.path().join("capacity");
    let stdout = ok(
        &[
            "frontier",
            "--capacity",
            "solo",
            "--max-capacity",
            "32",
            "--until-decided",
            "--out",
        ],
        &[&out, &scenario],
    );
    assert!(
        stdout.contains("probe concurrency 8: 0/3 clause(s) enforceable -> fails (8 replication(s))"),
        "{stdout}"
    );
    let rows = csv_rows(&out.join("capacity.csv"));
    assert!(rows.iter().all(|r| r["replications"] == "8"), "{rows:?}");

    // check: the proposal settles at once, the baseline's availability
    // clause does not, so the pair runs to the cap on common random numbers.
    let out = dir.path().join("check");
    let stdout = ok(
        &[
            "check",
            "--tenant",
            "acme",
            "--clause",
            "p99 latency <= 20ms",
            "--until-decided",
            "--max-replications",
            "24",
            "--out",
        ],
        &[&out, &scenario],
    );
    assert!(stdout.contains("[95% CS]"), "{stdout}");
    assert!(stdout.contains("the cap of 24 replication(s) was reached"), "{stdout}");
    let rows = csv_rows(&out.join("check.csv"));
    let proposed = rows.iter().find(|r| r["proposed"] == "true").unwrap();
    assert_eq!(proposed["proposal_decided_after"], "3");
    assert_eq!(proposed["interval"], "confidence_sequence");
}

#[test]
fn the_run_says_early_which_clause_keeps_it_going_and_stops_at_its_wall_budget() {
    let dir = tempdir();
    let scenario = repo_path(FIXTURE);
    // Once a clean clause would have settled (68, at the look after 72),
    // the clause near its threshold is named on stderr, with its estimate
    // and interval, before the run goes on to the cap.
    let out = dir.path().join("open");
    let run = slaplan()
        .args(["run", "--until-decided", "--max-replications", "80", "--out"])
        .args([&out, &scenario])
        .output()
        .unwrap();
    assert!(run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("until decided: after 72 replication(s)")
            && stderr.contains("1 clause(s) still open")
            && stderr.contains("acme availability"),
        "{stderr}"
    );
    // A run whose verdicts are settled says nothing of the kind.
    let text = fs::read_to_string(&scenario).unwrap();
    let cut = text.find("[[tenants.clauses]]\nmetric = \"availability\"").unwrap();
    let settled = dir.path().join("settled.toml");
    fs::write(&settled, &text[..cut]).unwrap();
    let run = slaplan()
        .args(["run", "--until-decided", "--out"])
        .args([&dir.path().join("settled"), &settled])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&run.stderr).contains("still open"));

    // A budget that is spent by the first look stops the run there: the
    // first 8 replications, the open verdicts reported at risk.
    let out = dir.path().join("budget");
    let stdout = ok(
        &["run", "--until-decided", "--max-wall", "1ms", "--out"],
        &[&out, &scenario],
    );
    assert!(
        stdout.contains("the --max-wall budget ran out after 8 replication(s) with 2 clause(s) undecided"),
        "{stdout}"
    );
    let until = json(&out.join("run.json"))["until_decided"].clone();
    assert_eq!(
        until["stop"],
        serde_json::json!({"replications": 8, "settled": false, "out_of_time": true})
    );
    assert_eq!(until["max_wall_seconds"], 0.001);
    let rows = csv_rows(&out.join("summary.csv"));
    let verdicts: Vec<_> = rows.iter().map(|r| r["verdict"].as_str()).collect();
    assert_eq!(verdicts, ["not_enforceable", "at_risk", "at_risk"]);
}

#[test]
fn until_decided_flags_are_checked() {
    let dir = tempdir();
    let scenario = repo_path(FIXTURE);
    let out = dir.path().join("x");
    let err = fails(&["run", "--max-replications", "10", "--out"], &[&out, &scenario]);
    assert!(err.contains("--until-decided"), "{err}");
    let err = fails(
        &["run", "--until-decided", "--shard", "1/2", "--out"],
        &[&out, &scenario],
    );
    assert!(err.contains("cannot be used with"), "{err}");
    let err = fails(
        &["run", "--until-decided", "--max-replications", "4", "--out"],
        &[&out, &scenario],
    );
    assert!(
        err.contains("--max-replications 4 is below the 8 replication(s) run before the first look"),
        "{err}"
    );
    let err = fails(&["run", "--max-wall", "2m", "--out"], &[&out, &scenario]);
    assert!(err.contains("--until-decided"), "{err}");
    for bad in ["0s", "two minutes"] {
        let err = fails(
            &["run", "--until-decided", "--max-wall", bad, "--out"],
            &[&out, &scenario],
        );
        assert!(
            err.contains("--max-wall") && err.contains("expected a duration"),
            "{err}"
        );
    }
    assert!(!out.exists());
}

/// `check` and `frontier` stream their looks: every replication of each
/// scenario reaches the caller once, look by look, in index order, with
/// only replication 0's timeline, and the summaries built from them as
/// they pass equal those of the same replications held in memory.
#[test]
fn streamed_looks_hand_over_every_replication_once_in_index_order() {
    use slaplan::plan::quantile::ValueStore;
    use slaplan::plan::sequential::{Schedule, Sequential, Stop, stream_until_decided};
    use slaplan::plan::{self, Summarizer};

    let scenario = slaplan::scenario::load(&repo_path(FIXTURE)).unwrap();
    let n = slaplan::sla::Clause::all(&scenario).len();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    let schedule = Schedule::new(3, 2, 7).unwrap();
    let mut seqs = vec![Sequential::new(n, 0.95, plan::INTERVAL_LEVEL); 2];
    let mut summaries = [
        Summarizer::new(n, ValueStore::in_memory()),
        Summarizer::new(n, ValueStore::in_memory()),
    ];
    let mut seen = Vec::new();
    let stop = stream_until_decided(
        &pool,
        &[&scenario, &scenario],
        &schedule,
        &mut seqs,
        &|_| false,
        &|_| {},
        |i, r| {
            seen.push((i, r.index, r.timeline.is_some()));
            summaries[i].add(r)
        },
    )
    .unwrap();
    assert_eq!(
        stop,
        Stop {
            replications: 7,
            settled: false,
            out_of_time: false
        }
    );
    let look = |i: usize, range: std::ops::Range<u64>| range.map(move |r| (i, r, r == 0));
    let expected: Vec<_> = look(0, 0..3)
        .chain(look(1, 0..3))
        .chain(look(0, 3..5))
        .chain(look(1, 3..5))
        .chain(look(0, 5..7))
        .chain(look(1, 5..7))
        .collect();
    assert_eq!(seen, expected);

    let held = crate::common::replicate(&scenario, 7);
    let mut fed = Sequential::new(n, 0.95, plan::INTERVAL_LEVEL);
    held.iter().for_each(|r| fed.observe(r));
    assert_eq!(seqs, vec![fed.clone(), fed]);
    let in_memory = plan::summarize(&held, n, 0.95, plan::INTERVAL_LEVEL);
    for s in summaries {
        assert_eq!(s.finish(0.95, plan::INTERVAL_LEVEL, &[], None).unwrap(), in_memory);
    }
}

#[test]
fn check_until_decided_reports_the_internal_objectives_a_run_until_decided_does() {
    // Without the clause near its threshold, a run stops after 72
    // replications with the latency clause proven; a check adding an
    // impossible ceiling (settled after 3) stops at the same look, on the
    // same replications, so both sides' internal objectives for that clause
    // are the run's, on the same confidence sequence.
    let dir = tempdir();
    let text = fs::read_to_string(repo_path(FIXTURE)).unwrap();
    let cut = text.find("[[tenants.clauses]]\nmetric = \"availability\"").unwrap();
    let settled = dir.path().join("settled.toml");
    fs::write(&settled, &text[..cut]).unwrap();
    let run = dir.path().join("run");
    let stdout = ok(&["run", "--until-decided", "--out"], &[&run, &settled]);
    assert!(stdout.contains("stopped after 72 replication(s)"), "{stdout}");
    let summary = csv_rows(&run.join("summary.csv"));
    let proven = summary.iter().find(|r| r["verdict"] == "enforceable").unwrap();
    assert!(!proven["internal_objective"].is_empty(), "{proven:?}");

    let check = dir.path().join("check");
    let stdout = ok(
        &[
            "check",
            "--tenant",
            "acme",
            "--clause",
            "p99 latency <= 20ms",
            "--until-decided",
            "--out",
        ],
        &[&check, &settled],
    );
    assert!(stdout.contains("Internal objectives"), "{stdout}");
    let rows = csv_rows(&check.join("check.csv"));
    let same = rows.iter().find(|r| r["clause"] == proven["clause"]).unwrap();
    assert_eq!(same["interval"], "confidence_sequence");
    assert_eq!(same["proposal_verdict"], "enforceable", "{same:?}");
    for side in ["baseline", "proposal"] {
        assert_eq!(
            same[&format!("{side}_internal_objective")],
            proven["internal_objective"],
            "{same:?}"
        );
        assert_eq!(
            same[&format!("{side}_internal_buffer")],
            proven["internal_buffer"],
            "{same:?}"
        );
    }
    // The impossible ceiling is proven not enforceable: none.
    let new = rows.iter().find(|r| r["proposed"] == "true").unwrap();
    assert_eq!(new["proposal_internal_objective"], "");
}
