//! The cluster recipes under `deploy/` run as written: the Slurm batch
//! scripts executed with the variables Slurm sets in each array task, and
//! the Kubernetes Indexed Job's and merge Job's commands executed with the
//! environment their manifest gives each pod, merge into the direct run.
//! (No scheduler runs here: this checks the scripts, commands and
//! variables, not Slurm or Kubernetes themselves.)

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use crate::common::{repo_path, slaplan, tempdir};
use crate::scale::assert_same_outputs;

/// `program` with none of the variables `--shard auto` reads, so that a
/// test run inside a real Slurm or Kubernetes job sees only its own.
fn clean(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(program);
    for v in [
        "SLURM_ARRAY_TASK_ID",
        "SLURM_ARRAY_TASK_COUNT",
        "SLURM_ARRAY_TASK_MIN",
        "SLURM_ARRAY_TASK_MAX",
        "SLURM_ARRAY_TASK_STEP",
        "JOB_COMPLETION_INDEX",
        "SLAPLAN_SHARD_COUNT",
    ] {
        cmd.env_remove(v);
    }
    cmd
}

fn run_ok(mut cmd: Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn direct(dir: &Path, scenario: &Path, replications: &str) -> PathBuf {
    let out = dir.join("direct");
    let mut cmd = slaplan();
    cmd.args(["run", "--replications", replications, "--out"])
        .arg(&out)
        .arg(scenario);
    run_ok(cmd, "direct run");
    out
}

#[test]
fn the_slurm_scripts_shard_and_merge_into_the_direct_run() {
    let dir = tempdir();
    let scenario = repo_path("tests/fixtures/tiny.toml");
    let shards_script = repo_path("deploy/slurm/slaplan-shards.sbatch");
    let text = fs::read_to_string(&shards_script).unwrap();
    // The array the script asks for by default.
    let array = text
        .lines()
        .find_map(|l| l.strip_prefix("#SBATCH --array="))
        .expect("the script sets #SBATCH --array");
    let (lo, hi) = array.split_once('-').unwrap();
    let (lo, hi): (u64, u64) = (lo.parse().unwrap(), hi.parse().unwrap());
    let work = dir.path().join("work");
    for id in lo..=hi {
        let mut cmd = clean("bash");
        cmd.arg(&shards_script)
            .arg(&scenario)
            .args(["--replications", "9"])
            .env("SLAPLAN_BIN", env!("CARGO_BIN_EXE_slaplan"))
            .env("SLAPLAN_WORK", &work)
            .env("SLURM_CPUS_PER_TASK", "1")
            .env("SLURM_ARRAY_TASK_ID", id.to_string())
            .env("SLURM_ARRAY_TASK_COUNT", (hi - lo + 1).to_string())
            .env("SLURM_ARRAY_TASK_MIN", lo.to_string())
            .env("SLURM_ARRAY_TASK_MAX", hi.to_string())
            .env("SLURM_ARRAY_TASK_STEP", "1");
        run_ok(cmd, "slaplan-shards.sbatch");
    }
    let mut cmd = clean("bash");
    cmd.arg(repo_path("deploy/slurm/slaplan-merge.sbatch"))
        .env("SLAPLAN_BIN", env!("CARGO_BIN_EXE_slaplan"))
        .env("SLAPLAN_WORK", &work);
    let said = run_ok(cmd, "slaplan-merge.sbatch");
    assert!(said.contains(&format!("merged {} shard(s)", hi - lo + 1)), "{said}");
    assert_same_outputs(&direct(dir.path(), &scenario, "9"), &work.join("merged"));
}

#[test]
fn the_slurm_submit_script_queues_the_merge_after_the_array() {
    let dir = tempdir();
    // A stand-in sbatch that logs its arguments and answers as
    // `sbatch --parsable` does (job id;cluster).
    let fake = dir.path().join("bin");
    fs::create_dir_all(&fake).unwrap();
    let log = dir.path().join("sbatch.log");
    fs::write(
        fake.join("sbatch"),
        format!(
            "#!/bin/sh\necho \"$*\" >> {}\nn=$(wc -l < {})\necho \"$((41 + n));cluster\"\n",
            log.display(),
            log.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(fake.join("sbatch"), fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", fake.display(), std::env::var("PATH").unwrap_or_default());
    let mut cmd = clean("bash");
    cmd.arg(repo_path("deploy/slurm/submit.sh"))
        .args(["6", "scenarios/quickstart.toml", "--replications", "60"])
        .env("PATH", &path)
        .env("SLAPLAN_WORK", dir.path().join("work"));
    let said = run_ok(cmd, "submit.sh");
    assert!(
        said.contains("job array 42 (1-6)") && said.contains("merge as job 43"),
        "{said}"
    );
    let calls: Vec<String> = fs::read_to_string(&log).unwrap().lines().map(String::from).collect();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls[0].starts_with("--parsable --array=1-6 "), "{}", calls[0]);
    assert!(
        calls[0].ends_with("slaplan-shards.sbatch scenarios/quickstart.toml --replications 60"),
        "{}",
        calls[0]
    );
    assert!(
        calls[1].starts_with("--parsable --dependency=afterok:42 "),
        "{}",
        calls[1]
    );
    assert!(calls[1].ends_with("slaplan-merge.sbatch"), "{}", calls[1]);
}

#[derive(Deserialize)]
struct Manifest {
    kind: String,
    metadata: Meta,
    #[serde(default)]
    spec: serde_json::Value,
}

#[derive(Deserialize)]
struct Meta {
    name: String,
}

fn manifests(path: &Path) -> Vec<Manifest> {
    let text = fs::read_to_string(path).unwrap();
    serde_norway::Deserializer::from_str(&text)
        .map(|doc| Manifest::deserialize(doc).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect()
}

/// The one container of a Job: its environment and its `sh -c` script.
fn container(job: &Manifest) -> (BTreeMap<String, String>, String) {
    let c = &job.spec["template"]["spec"]["containers"][0];
    let env = c["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        c["command"],
        serde_json::json!(["/bin/sh", "-c"]),
        "{}",
        job.metadata.name
    );
    (env, c["args"][0].as_str().unwrap().to_string())
}

#[test]
fn the_kubernetes_jobs_shard_and_merge_into_the_direct_run() {
    let dir = tempdir();
    let shards = manifests(&repo_path("deploy/kubernetes/slaplan-shards.yaml"));
    let merge = manifests(&repo_path("deploy/kubernetes/slaplan-merge.yaml"));
    let job = shards
        .iter()
        .find(|m| m.kind == "Job")
        .expect("slaplan-shards.yaml has a Job");
    assert_eq!(job.spec["completionMode"], "Indexed");
    let completions = job.spec["completions"].as_u64().unwrap();
    let (env, script) = container(job);
    assert_eq!(
        env["SLAPLAN_SHARD_COUNT"],
        completions.to_string(),
        "SLAPLAN_SHARD_COUNT must equal completions"
    );
    assert!(script.contains("--shard auto"), "{script}");
    assert!(
        shards
            .iter()
            .any(|m| m.kind == "PersistentVolumeClaim" && m.metadata.name == "slaplan-work")
    );

    // Each pod's command, with the manifest's environment, its completion
    // index, local paths for the two mounts and this build of slaplan.
    let bin = dir.path().join("bin");
    fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_slaplan"), bin.join("slaplan")).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let scenario = repo_path("tests/fixtures/tiny.toml");
    let work = dir.path().join("work");
    let replications = env["SLAPLAN_ARGS"]
        .strip_prefix("--replications ")
        .expect("SLAPLAN_ARGS gives the replications")
        .to_string();
    for index in 0..completions {
        let mut cmd = clean("/bin/sh");
        cmd.arg("-c").arg(&script).envs(&env);
        cmd.env("JOB_COMPLETION_INDEX", index.to_string())
            .env("SLAPLAN_SCENARIO", &scenario)
            .env("SLAPLAN_WORK", &work)
            .env("PATH", &path);
        run_ok(cmd, &format!("shard pod {index}"));
    }
    let merge_job = merge.iter().find(|m| m.kind == "Job").unwrap();
    let (merge_env, merge_script) = container(merge_job);
    let mut cmd = clean("/bin/sh");
    cmd.arg("-c")
        .arg(&merge_script)
        .envs(&merge_env)
        .env("SLAPLAN_WORK", &work)
        .env("PATH", &path);
    let said = run_ok(cmd, "merge pod");
    assert!(said.contains(&format!("merged {completions} shard(s)")), "{said}");
    assert_same_outputs(&direct(dir.path(), &scenario, &replications), &work.join("merged"));
}
