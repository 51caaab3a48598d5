//! Scale-out: `--shard auto` under Slurm and Kubernetes variables (and
//! every missing or malformed one refused), a merge of 10,000 replications
//! identical to the direct run, the streamed summary and budget percentiles
//! against sorting the replications held in memory, and `frontier --from`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use slaplan::plan::quantile::nearest_rank;
use slaplan::report::budget_consumed;
use slaplan::sla::Clause;

use crate::common::{output_files, replicate, repo_path, slaplan, tempdir};

/// Every variable `--shard auto` reads: cleared from each child so that a
/// test run inside a real Slurm or Kubernetes job sees only its own.
const ARRAY_VARS: [&str; 7] = [
    "SLURM_ARRAY_TASK_ID",
    "SLURM_ARRAY_TASK_COUNT",
    "SLURM_ARRAY_TASK_MIN",
    "SLURM_ARRAY_TASK_MAX",
    "SLURM_ARRAY_TASK_STEP",
    "JOB_COMPLETION_INDEX",
    "SLAPLAN_SHARD_COUNT",
];

fn with_env(mut cmd: Command, env: &[(&str, &str)]) -> Command {
    for v in ARRAY_VARS {
        cmd.env_remove(v);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn without_timing(path: &Path) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    v.as_object_mut().unwrap().remove("timing");
    v
}

/// Every output file of `a` and `b` byte for byte, `run.json` but for its timing.
pub fn assert_same_outputs(a: &Path, b: &Path) {
    let files = output_files(a);
    assert_eq!(files, output_files(b), "{} vs {}", a.display(), b.display());
    for f in &files {
        if f == "run.json" {
            assert_eq!(without_timing(&a.join(f)), without_timing(&b.join(f)));
        } else {
            assert!(
                fs::read(a.join(f)).unwrap() == fs::read(b.join(f)).unwrap(),
                "{f} differs"
            );
        }
    }
}

fn direct(dir: &Path, scenario: &Path, replications: &str) -> PathBuf {
    let out = dir.join("direct");
    let mut cmd = slaplan();
    cmd.args(["run", "--replications", replications, "--threads", "2", "--out"])
        .arg(&out)
        .arg(scenario);
    ok(cmd.output().unwrap(), "direct run");
    out
}

fn merge(dir: &Path, name: &str, shards: &[PathBuf]) -> PathBuf {
    let out = dir.join(name);
    ok(slaplan().arg("merge").arg(&out).args(shards).output().unwrap(), "merge");
    out
}

/// `run --shard auto` with `env`, into `out`; returns its standard output.
fn auto_shard(scenario: &Path, replications: &str, out: &Path, env: &[(&str, &str)]) -> String {
    let mut cmd = slaplan();
    cmd.args(["run", "--replications", replications, "--shard", "auto", "--out"])
        .arg(out)
        .arg(scenario);
    ok(with_env(cmd, env).output().unwrap(), "run --shard auto")
}

#[test]
fn shard_auto_reads_slurm_arrays_and_kubernetes_indexed_jobs() {
    let dir = tempdir();
    let scenario = repo_path("tests/fixtures/tiny.toml");
    let direct = direct(dir.path(), &scenario, "11");

    // sbatch --array=5-11:2: tasks 5, 7, 9, 11 are shards 1..4 of 4.
    let mut shards = Vec::new();
    for id in ["5", "7", "9", "11"] {
        let out = dir.path().join(format!("slurm-{id}"));
        let said = auto_shard(
            &scenario,
            "11",
            &out,
            &[
                ("SLURM_ARRAY_TASK_ID", id),
                ("SLURM_ARRAY_TASK_COUNT", "4"),
                ("SLURM_ARRAY_TASK_MIN", "5"),
                ("SLURM_ARRAY_TASK_MAX", "11"),
                ("SLURM_ARRAY_TASK_STEP", "2"),
            ],
        );
        assert!(said.contains(&format!("(Slurm array task {id})")), "{said}");
        shards.push(out);
    }
    let meta: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(shards[1].join("run.json")).unwrap()).unwrap();
    assert_eq!(meta["shard"], serde_json::json!({"index": 2, "count": 4}));
    assert_eq!(meta["indices"], serde_json::json!([1, 5, 9]));
    assert_same_outputs(&direct, &merge(dir.path(), "merged-slurm", &shards));

    // An Indexed Job of 3 completions: indices 0..2 are shards 1..3.
    let shards: Vec<PathBuf> = ["0", "1", "2"]
        .iter()
        .map(|k| {
            let out = dir.path().join(format!("k8s-{k}"));
            auto_shard(
                &scenario,
                "11",
                &out,
                &[("JOB_COMPLETION_INDEX", k), ("SLAPLAN_SHARD_COUNT", "3")],
            );
            out
        })
        .collect();
    assert_same_outputs(&direct, &merge(dir.path(), "merged-k8s", &shards));
}

#[test]
fn shard_auto_refuses_every_missing_or_malformed_variable() {
    let dir = tempdir();
    let scenario = repo_path("tests/fixtures/tiny.toml");
    let slurm = |id: &'static str, count: &'static str, min: &'static str, max: &'static str, step: &'static str| {
        vec![
            ("SLURM_ARRAY_TASK_ID", id),
            ("SLURM_ARRAY_TASK_COUNT", count),
            ("SLURM_ARRAY_TASK_MIN", min),
            ("SLURM_ARRAY_TASK_MAX", max),
            ("SLURM_ARRAY_TASK_STEP", step),
        ]
    };
    let without = |mut env: Vec<(&'static str, &'static str)>, var: &str| {
        env.retain(|(k, _)| *k != var);
        env
    };
    let good = slurm("2", "4", "1", "4", "1");
    let mut cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![], "not inside a Slurm job array or a Kubernetes Indexed Job"),
        (slurm("x", "4", "1", "4", "1"), "SLURM_ARRAY_TASK_ID=\"x\""),
        (slurm("", "4", "1", "4", "1"), "SLURM_ARRAY_TASK_ID=\"\""),
        (slurm("-1", "4", "1", "4", "1"), "SLURM_ARRAY_TASK_ID=\"-1\""),
        (slurm("2", "four", "1", "4", "1"), "SLURM_ARRAY_TASK_COUNT=\"four\""),
        (slurm("2", "0", "1", "4", "1"), "SLURM_ARRAY_TASK_COUNT"),
        (slurm("2", "4", "1.0", "4", "1"), "SLURM_ARRAY_TASK_MIN=\"1.0\""),
        (slurm("2", "4", "1", "4 ", "1"), "SLURM_ARRAY_TASK_MAX=\"4 \""),
        (slurm("2", "4", "1", "4", "0"), "SLURM_ARRAY_TASK_STEP"),
        (slurm("5", "4", "1", "4", "1"), "outside the array's range"),
        (slurm("3", "4", "1", "7", "1"), "--array=1-7:2"),
        (slurm("2", "4", "1", "7", "2"), "multiple of"),
        (
            vec![
                ("SLURM_ARRAY_TASK_ID", "1"),
                ("JOB_COMPLETION_INDEX", "1"),
                ("SLAPLAN_SHARD_COUNT", "2"),
            ],
            "both Slurm array variables",
        ),
        (vec![("JOB_COMPLETION_INDEX", "0")], "SLAPLAN_SHARD_COUNT is not set"),
        (vec![("SLAPLAN_SHARD_COUNT", "3")], "JOB_COMPLETION_INDEX is not set"),
        (
            vec![("JOB_COMPLETION_INDEX", "3"), ("SLAPLAN_SHARD_COUNT", "3")],
            "not below",
        ),
        (
            vec![("JOB_COMPLETION_INDEX", "0"), ("SLAPLAN_SHARD_COUNT", "0")],
            "SLAPLAN_SHARD_COUNT",
        ),
        (
            vec![("JOB_COMPLETION_INDEX", "one"), ("SLAPLAN_SHARD_COUNT", "3")],
            "JOB_COMPLETION_INDEX=\"one\"",
        ),
    ];
    for var in &ARRAY_VARS[..5] {
        cases.push((without(good.clone(), var), var));
    }
    for (i, (env, expected)) in cases.iter().enumerate() {
        let out = dir.path().join(format!("out-{i}"));
        let mut cmd = slaplan();
        cmd.args(["run", "--replications", "2", "--shard", "auto", "--out"])
            .arg(&out)
            .arg(&scenario);
        let run = with_env(cmd, env).output().unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{env:?}: {stderr}");
        assert!(stderr.contains(expected), "{env:?}: expected {expected:?} in {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(!out.exists(), "{env:?} wrote {}", out.display());
    }
}

#[test]
fn ten_thousand_replications_merge_into_the_direct_run() {
    let dir = tempdir();
    let scenario = repo_path("tests/fixtures/tiny.toml");
    let direct = direct(dir.path(), &scenario, "10000");
    let shards: Vec<PathBuf> = (1..=3)
        .map(|i| {
            let out = dir.path().join(format!("shard-{i}"));
            let mut cmd = slaplan();
            cmd.args(["run", "--replications", "10000", "--threads", "2", "--shard"])
                .arg(format!("{i}/3"))
                .arg("--out")
                .arg(&out)
                .arg(&scenario);
            ok(cmd.output().unwrap(), "shard");
            out
        })
        .collect();
    let merged = merge(dir.path(), "merged", &shards);
    assert_same_outputs(&direct, &merged);
    // 20,000 rows: several Parquet row groups, all read back.
    let rows = fs::read_to_string(direct.join("windows.csv")).unwrap().lines().count() - 1;
    assert_eq!(rows, 20_000);
    let file = fs::File::open(direct.join("windows.parquet")).unwrap();
    use polars::prelude::{ParquetReader, SerReader};
    let frame = ParquetReader::new(file).finish().unwrap();
    assert_eq!(frame.height(), rows);
}

fn csv_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records()
        .map(|rec| {
            header
                .iter()
                .cloned()
                .zip(rec.unwrap().iter().map(String::from))
                .collect()
        })
        .collect()
}

/// Nearest rank by sorting: the definition the streamed selection must meet.
fn by_sorting(mut v: Vec<f64>, q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[nearest_rank(v.len() as u64, q) as usize - 1]
}

#[test]
fn streamed_percentiles_equal_sorting_the_replications_in_memory() {
    let dir = tempdir();
    let path = repo_path("tests/fixtures/tiny.toml");
    let n = 700;
    let out = direct(dir.path(), &path, &n.to_string());
    let scenario = slaplan::scenario::load(&path).unwrap();
    let clauses = Clause::all(&scenario);
    let reps = replicate(&scenario, n);
    let qs = [0.05, 0.5, 0.95];

    // summary.csv: the metric's 5th, 50th and 95th percentile over windows.
    let summary = csv_rows(&out.join("summary.csv"));
    assert_eq!(summary.len(), clauses.len());
    for (ci, row) in summary.iter().enumerate() {
        let values: Vec<f64> = reps
            .iter()
            .flat_map(|r| &r.attainment)
            .filter(|a| a.clause == ci)
            .filter_map(|a| a.value)
            .collect();
        assert!(values.len() > 600, "clause {ci}: {} values", values.len());
        for (col, q) in ["metric_p05", "metric_p50", "metric_p95"].iter().zip(qs) {
            assert_eq!(
                row[*col],
                format!("{:.6}", by_sorting(values.clone(), q)),
                "clause {ci} {col}"
            );
        }
    }

    // budget.csv: per clause, window and hour, the share of the budget
    // spent, across replications.
    let budget = csv_rows(&out.join("budget.csv"));
    let mut expected = Vec::new();
    let mut points: BTreeMap<(usize, usize, usize), Vec<f64>> = BTreeMap::new();
    for r in &reps {
        for b in &r.measures.budget {
            let target = clauses[b.clause].budget_target().unwrap();
            for (h, &bad) in b.bad_by_hour.iter().enumerate() {
                if let Some(x) = budget_consumed(target, b.eligible, bad).filter(|x| x.is_finite()) {
                    points.entry((b.clause, b.window, h)).or_default().push(x);
                }
            }
        }
    }
    for ((ci, _, h), v) in points {
        let p: Vec<String> = qs.iter().map(|&q| format!("{:.6}", by_sorting(v.clone(), q))).collect();
        expected.push((ci.to_string(), (h + 1).to_string(), p));
    }
    assert!(!expected.is_empty());
    let got: Vec<(String, String, Vec<String>)> = budget
        .iter()
        .map(|r| {
            (
                r["clause_index"].clone(),
                r["hour"].clone(),
                vec![
                    r["consumed_p05"].clone(),
                    r["consumed_p50"].clone(),
                    r["consumed_p95"].clone(),
                ],
            )
        })
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn frontier_from_a_merged_run_equals_frontier_simulating() {
    let dir = tempdir();
    let scenario = repo_path("tests/fixtures/tiny.toml");
    let shards: Vec<PathBuf> = (1..=2)
        .map(|i| {
            let out = dir.path().join(format!("shard-{i}"));
            let mut cmd = slaplan();
            cmd.args(["run", "--replications", "120", "--shard"])
                .arg(format!("{i}/2"))
                .arg("--out")
                .arg(&out)
                .arg(&scenario);
            ok(cmd.output().unwrap(), "shard");
            out
        })
        .collect();
    let merged = merge(dir.path(), "merged", &shards);
    for k in ["0", "1"] {
        let frontier = |extra: &[&Path], out: &Path| {
            let mut cmd = slaplan();
            cmd.args([
                "frontier",
                "--tenant",
                "acme",
                "--clause-index",
                k,
                "--confidence",
                "0.9",
            ])
            .arg("--out")
            .arg(out)
            .args(extra)
            .arg(&scenario);
            ok(cmd.output().unwrap(), "frontier")
        };
        let a = dir.path().join(format!("simulated-{k}"));
        let b = dir.path().join(format!("from-{k}"));
        let said_a = {
            let mut cmd = slaplan();
            cmd.args([
                "frontier",
                "--tenant",
                "acme",
                "--clause-index",
                k,
                "--confidence",
                "0.9",
            ])
            .args(["--replications", "120", "--out"])
            .arg(&a)
            .arg(&scenario);
            ok(cmd.output().unwrap(), "frontier")
        };
        let said_b = frontier(&[Path::new("--from"), &merged], &b);
        assert_eq!(
            fs::read(a.join("frontier.csv")).unwrap(),
            fs::read(b.join("frontier.csv")).unwrap(),
            "clause {k}"
        );
        assert_eq!(said_a.lines().next(), said_b.lines().next());
    }
    // A run of another scenario, or at another seed, is refused.
    for (args, expected) in [
        (
            vec!["frontier", "--tenant", "gold-co", "--clause-index", "0"],
            "another scenario",
        ),
        (
            vec!["frontier", "--tenant", "acme", "--clause-index", "0", "--seed", "4"],
            "a run at seed 3, not 4",
        ),
    ] {
        let fixture = if expected == "another scenario" {
            repo_path("tests/fixtures/small.toml")
        } else {
            scenario.clone()
        };
        let out = slaplan()
            .args(&args)
            .arg("--from")
            .arg(&merged)
            .arg("--out")
            .arg(dir.path().join("refused"))
            .arg(&fixture)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
    }
}

#[test]
fn a_shard_claiming_an_enormous_run_is_refused_without_allocating_for_it() {
    let dir = tempdir();
    let scenario = repo_path("tests/fixtures/tiny.toml");
    let shard = dir.path().join("shard");
    let mut cmd = slaplan();
    cmd.args(["run", "--replications", "3", "--shard", "1/1", "--out"])
        .arg(&shard)
        .arg(&scenario);
    ok(cmd.output().unwrap(), "shard");
    let meta = shard.join("run.json");
    let text = fs::read_to_string(&meta).unwrap();
    assert!(text.contains("\"replications\": 3,"), "{text}");
    fs::write(
        &meta,
        text.replace("\"replications\": 3,", "\"replications\": 1000000000000000,"),
    )
    .unwrap();
    let out = slaplan()
        .arg("merge")
        .arg(dir.path().join("merged"))
        .arg(&shard)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("missing shards: the shards list 3 of the run's 1000000000000000 replications"),
        "{stderr}"
    );
    assert!(!dir.path().join("merged").exists());
}
