//! `run --shard i/N` + `merge` reproduce the unsharded run byte for byte;
//! overlapping, missing or foreign shards and bad shard specs exit 2.

use std::fs;
use std::path::Path;

use crate::common::{output_files, repo_path, slaplan, tempdir};

fn ok(args: &[&str], extra: &[&Path]) -> String {
    let out = slaplan().args(args).args(extra).output().expect("slaplan runs");
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn fails(args: &[&str], extra: &[&Path]) -> String {
    let out = slaplan().args(args).args(extra).output().expect("slaplan runs");
    assert_eq!(out.status.code(), Some(2), "{args:?} {extra:?}");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

fn without_timing(run_json: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(run_json).expect("run.json is JSON");
    v.as_object_mut().expect("object").remove("timing");
    serde_json::to_string_pretty(&v).expect("serializes")
}

fn shard(dir: &Path, scenario: &Path, spec: &str) -> std::path::PathBuf {
    let out = dir.join(format!("shard-{}", spec.replace('/', "-")));
    ok(
        &["run", "--replications", "7", "--shard", spec, "--out"],
        &[&out, scenario],
    );
    out
}

#[test]
fn three_shards_merge_into_the_direct_run_byte_for_byte() {
    let dir = tempdir();
    let scenario = repo_path("tests/fixtures/small.toml");
    let direct = dir.path().join("direct");
    ok(
        &["run", "--replications", "7", "--threads", "2", "--out"],
        &[&direct, &scenario],
    );
    let shards: Vec<_> = ["1/3", "2/3", "3/3"]
        .iter()
        .map(|s| shard(dir.path(), &scenario, s))
        .collect();
    let merged = dir.path().join("merged");
    // Any order of the shard directories gives the same result.
    let stdout = ok(&["merge"], &[&merged, &shards[2], &shards[0], &shards[1]]);
    assert!(stdout.contains("merged 3 shard(s)"), "{stdout}");
    let files = output_files(&direct);
    assert_eq!(files, output_files(&merged));
    assert!(files.iter().any(|f| f == "windows.parquet"), "{files:?}");
    for file in files.iter().filter(|f| *f != "run.json") {
        let a = fs::read(direct.join(file)).unwrap();
        assert!(!a.is_empty());
        assert_eq!(a, fs::read(merged.join(file)).unwrap(), "{file} differs");
    }
    assert_eq!(
        without_timing(&fs::read_to_string(direct.join("run.json")).unwrap()),
        without_timing(&fs::read_to_string(merged.join("run.json")).unwrap()),
    );
    // Round-robin: shard 2/3 of 7 holds replications 1 and 4.
    let meta: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(shards[1].join("run.json")).unwrap()).unwrap();
    assert_eq!(meta["indices"], serde_json::json!([1, 4]));
    assert_eq!(meta["shard"], serde_json::json!({"index": 2, "count": 3}));

    // Missing shard.
    let err = fails(&["merge"], &[&dir.path().join("m2"), &shards[0], &shards[2]]);
    assert!(err.contains("missing shards") && err.contains("2/3"), "{err}");
    // Overlapping shards.
    let whole = shard(dir.path(), &scenario, "1/1");
    let err = fails(&["merge"], &[&dir.path().join("m3"), &whole, &shards[1]]);
    assert!(
        err.contains("overlapping shards") && err.contains("replication 1"),
        "{err}"
    );
    // A shard of a different scenario.
    let other = dir.path().join("other.toml");
    fs::write(
        &other,
        fs::read_to_string(&scenario)
            .unwrap()
            .replace("rate = 2.0", "rate = 2.5"),
    )
    .unwrap();
    let foreign = dir.path().join("foreign");
    ok(
        &["run", "--replications", "7", "--shard", "2/3", "--out"],
        &[&foreign, &other],
    );
    let err = fails(&["merge"], &[&dir.path().join("m4"), &shards[0], &foreign, &shards[2]]);
    assert!(err.contains("different scenarios"), "{err}");
    // A different seed.
    let reseeded = dir.path().join("reseeded");
    ok(
        &["run", "--replications", "7", "--seed", "9", "--shard", "2/3", "--out"],
        &[&reseeded, &scenario],
    );
    let err = fails(&["merge"], &[&dir.path().join("m5"), &shards[0], &reseeded, &shards[2]]);
    assert!(err.contains("different seeds"), "{err}");
    // A judgement of a clause the scenario does not have (a hand-edited shard).
    let tampered = dir.path().join("tampered");
    ok(
        &["run", "--replications", "7", "--shard", "2/3", "--out"],
        &[&tampered, &scenario],
    );
    let records = tampered.join("replications.jsonl");
    let text = fs::read_to_string(&records).unwrap();
    assert!(text.contains(r#""clause":2,"#), "{text}");
    fs::write(&records, text.replacen(r#""clause":2,"#, r#""clause":99,"#, 1)).unwrap();
    let err = fails(&["merge"], &[&dir.path().join("m7"), &shards[0], &tampered, &shards[2]]);
    assert!(err.contains("clause 99") && err.contains("3 clause(s)"), "{err}");
    // Not a shard directory.
    let err = fails(&["merge"], &[&dir.path().join("m6"), &direct]);
    assert!(
        err.contains("replications.jsonl") || err.contains("not a shard"),
        "{err}"
    );
    for m in ["m2", "m3", "m4", "m5", "m6", "m7"] {
        assert!(!dir.path().join(m).exists(), "a failed merge wrote {m}");
    }
}

#[test]
fn bad_shard_specs_exit_2() {
    let scenario = repo_path("tests/fixtures/small.toml");
    for spec in ["0/3", "4/3", "x/y", "3", "1/0"] {
        let err = fails(&["run", "--shard", spec], &[&scenario]);
        assert!(err.contains("i/N"), "{spec}: {err}");
    }
}
