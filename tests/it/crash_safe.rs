//! Crash-safe outputs (issue 17): a run killed at any moment leaves the
//! previous output directory or the complete new one; an interrupted run
//! says so and exits 130; an unwritable directory or a full disk exits 1
//! naming the path, with nothing half-written.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{repo_path, slaplan, tempdir};

/// Every file under `dir` by relative path, `run.json` without its
/// `timing` block (the one part that measures the machine).
fn contents(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
                continue;
            }
            let rel = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let mut bytes = fs::read(&path).unwrap();
            if rel == "run.json" {
                let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                v.as_object_mut().unwrap().remove("timing");
                bytes = v.to_string().into_bytes();
            }
            out.insert(rel, bytes);
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// `run` of the shared-endpoint fixture with the review report (its write
/// phase is a good part of the run: charts, a 1 MB page).
fn run_command(seed: u64, out: &Path) -> Command {
    let mut cmd = slaplan();
    cmd.args(["run", "--report", "--seed", &seed.to_string(), "--out"])
        .arg(out)
        .arg(repo_path("tests/fixtures/shared_endpoint.toml"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// Waits for the child's first line on stderr (printed once its signal
/// thread runs: the replication warning) and returns it.
fn started(child: &mut std::process::Child) -> String {
    use std::io::BufRead;
    let mut line = String::new();
    let stderr = child.stderr.as_mut().expect("stderr is piped");
    let mut reader = std::io::BufReader::new(stderr);
    reader.read_line(&mut line).unwrap();
    assert!(line.starts_with("warning:"), "{line}");
    line
}

/// Waits for the child, appending the rest of its stderr to `stderr`.
fn finished(mut child: std::process::Child, stderr: &mut String) -> std::process::ExitStatus {
    use std::io::Read;
    if let Some(mut e) = child.stderr.take() {
        e.read_to_string(stderr).unwrap();
    }
    child.wait().unwrap()
}

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([format!("-{name}"), pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success() || name == "KILL");
}

#[test]
fn a_run_killed_at_any_moment_leaves_the_previous_or_the_complete_new_output() {
    let dir = tempdir();
    // The complete outputs of the two seeds, and how long a run takes.
    let seeds = [21u64, 22];
    let mut reference = Vec::new();
    let mut longest = Duration::ZERO;
    for seed in seeds {
        let path = dir.path().join(format!("reference-{seed}"));
        #[allow(clippy::disallowed_methods)] // timing the binary to spread the kills over a run
        let started = Instant::now();
        let out = run_command(seed, &path).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        longest = longest.max(started.elapsed());
        reference.push(contents(&path));
    }
    assert_ne!(reference[0], reference[1]);

    let parent = dir.path().join("work");
    fs::create_dir(&parent).unwrap();
    let out_dir = parent.join("out");
    assert!(run_command(seeds[0], &out_dir).status().unwrap().success());
    let mut current = 0;
    // Moments spread over 1.3 runs by a fixed sequence (golden-ratio steps),
    // so some kills come after the end; SIGKILL mostly, SIGINT and SIGTERM too.
    let kills = 30;
    let (mut kept, mut replaced, mut interrupted, mut writing) = (0, 0, 0, 0);
    let mut left: Vec<String> = Vec::new();
    for i in 0..kills {
        let fraction = (f64::from(i) * 0.618_034) % 1.0 * 1.3;
        let wait = longest.mul_f64(fraction);
        let sig = match i % 5 {
            1 => "INT",
            3 => "TERM",
            _ => "KILL",
        };
        let target = 1 - current;
        let mut child = run_command(seeds[target], &out_dir).spawn().unwrap();
        let mut stderr = String::new();
        if sig != "KILL" {
            // SIGINT and SIGTERM once the binary has started its signal
            // thread (before, the signal's default action applies): it has
            // when it prints its first line (8 replications cannot prove 0.95).
            stderr = started(&mut child);
        }
        std::thread::sleep(wait);
        signal(child.id(), sig);
        let out = finished(child, &mut stderr);
        let now = contents(&out_dir);
        let state = reference
            .iter()
            .position(|r| *r == now)
            .unwrap_or_else(|| panic!("kill {i} ({sig} after {wait:?}) left a mixture: {:?}", now.keys()));
        if state == current {
            kept += 1;
        } else {
            replaced += 1;
        }
        if sig != "KILL" && out.code() == Some(130) {
            interrupted += 1;
            assert!(stderr.contains(&format!("interrupted by SIG{sig}")), "{stderr}");
            // Interrupted before the commit: nothing replaced; after: it says so.
            assert!(
                state == current || stderr.contains("after writing"),
                "{sig}: output replaced without saying so: {stderr}"
            );
        } else if sig != "KILL" {
            assert!(out.success(), "{sig}: {out:?} {stderr}");
            assert_eq!(state, target, "a run that succeeded left the previous output");
        }
        current = state;
        // At most the one temporary of a killed run is left beside `out`; a
        // new one means this kill came while the output was being written.
        let beside: Vec<String> = names(&parent).into_iter().filter(|n| n != "out").collect();
        assert!(beside.len() <= 1, "kill {i}: {beside:?}");
        assert!(beside.iter().all(|n| n.starts_with(".out.tmp-")), "{beside:?}");
        writing += usize::from(beside.iter().any(|n| !left.contains(n)));
        left = beside;
    }
    println!(
        "{kills} kills: previous output kept {kept}, new output complete {replaced}, \
         exit 130 {interrupted}, while writing {writing}"
    );
    assert!(writing > 0, "no kill came while the output was written");
    // The next complete run removes what the killed ones left.
    let target = 1 - current;
    assert!(run_command(seeds[target], &out_dir).status().unwrap().success());
    assert_eq!(contents(&out_dir), reference[target]);
    assert_eq!(names(&parent), ["out"]);
}

#[test]
fn an_interrupted_run_says_so_exits_130_and_keeps_the_previous_output() {
    let dir = tempdir();
    let out_dir = dir.path().join("out");
    let scenario = repo_path("scenarios/quickstart.toml");
    let quick = |seed: &str| {
        let mut cmd = slaplan();
        cmd.args(["run", "--replications", "1", "--seed", seed, "--out"])
            .arg(&out_dir)
            .arg(&scenario)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd
    };
    assert!(quick("1").status().unwrap().success());
    let before = contents(&out_dir);
    for sig in ["INT", "TERM"] {
        // One replication of the quickstart month takes a second or more:
        // the signal comes while it simulates.
        let mut child = quick("2").spawn().unwrap();
        let mut stderr = started(&mut child);
        std::thread::sleep(Duration::from_millis(200));
        signal(child.id(), sig);
        let out = finished(child, &mut stderr);
        assert_eq!(out.code(), Some(130), "{sig}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "interrupted by SIG{sig}: no output written, existing outputs left as they were"
            )),
            "{stderr}"
        );
        assert!(!stderr.contains("error"), "{stderr}");
        assert_eq!(contents(&out_dir), before);
        assert_eq!(names(dir.path()), ["out"]);
    }
}

#[test]
fn an_output_path_under_a_file_exits_1_naming_it() {
    let dir = tempdir();
    let file = dir.path().join("plain-file");
    fs::write(&file, "not a directory").unwrap();
    let out_dir = file.join("out");
    let out = slaplan()
        .args(["run", "--out"])
        .arg(&out_dir)
        .arg(repo_path("tests/fixtures/shared_endpoint.toml"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&file.display().to_string()), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(fs::read_to_string(&file).unwrap(), "not a directory");
}

/// Runs `script` with `sh` in a private mount namespace (so the file
/// systems it mounts vanish with it), or `None` when this machine does not
/// allow one (not root, no `unshare`).
fn in_mount_namespace(script: &str, env: &[(&str, &Path)]) -> Option<std::process::Output> {
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "--propagation", "private", "sh", "-c", script]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let probe = Command::new("unshare")
        .args(["--mount", "sh", "-c", "mount -t tmpfs -o size=4k tmpfs /mnt"])
        .stderr(Stdio::null())
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        println!("skipped: cannot mount a tmpfs in a private mount namespace here (needs root and unshare)");
        return None;
    }
    Some(cmd.output().unwrap())
}

/// The part of a script that prints every file under `$D/out` with its
/// checksum, and what lies beside it.
const LISTING: &str =
    r#"(cd "$D/out" && find . -type f | sort | xargs sha256sum); echo "beside: $(ls -A "$D" | tr '\n' ' ')""#;

#[test]
fn a_full_disk_exits_1_naming_the_path_and_keeps_the_previous_output() {
    let dir = tempdir();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_slaplan"));
    let scenario = repo_path("tests/fixtures/shared_endpoint.toml");
    // 256 KiB hold the outputs without the report (about 20 KB), not a
    // second copy with it (a 1 MB page and the charts).
    let script = format!(
        r#"set -e
mount -t tmpfs -o size=256k tmpfs "$D"
"$BIN" run "$SCENARIO" --out "$D/out" >/dev/null 2>&1
{LISTING}
echo ---
set +e
"$BIN" run "$SCENARIO" --seed 9 --report --out "$D/out" 2>&1 >/dev/null
echo "exit $?"
echo ---
{LISTING}
"#
    );
    let Some(out) = in_mount_namespace(&script, &[("D", dir.path()), ("BIN", &bin), ("SCENARIO", &scenario)]) else {
        return;
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parts: Vec<&str> = stdout.split("---\n").collect();
    assert_eq!(parts.len(), 3, "{stdout}");
    assert!(parts[1].contains("exit 1\n"), "{stdout}");
    assert!(parts[1].contains("No space left on device"), "{stdout}");
    assert!(
        parts[1].contains(&format!("nothing was written to {}/out", dir.path().display())),
        "{stdout}"
    );
    assert!(!parts[1].contains("panicked"), "{stdout}");
    // The previous output, byte for byte, and nothing beside it.
    assert_eq!(parts[0], parts[2], "{stdout}");
    assert!(parts[2].ends_with("beside: out \n"), "{stdout}");
}

#[test]
fn a_read_only_directory_exits_1_naming_the_path() {
    let dir = tempdir();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_slaplan"));
    let scenario = repo_path("tests/fixtures/shared_endpoint.toml");
    // Root ignores permission bits, not a read-only mount.
    let script = r#"mount -t tmpfs -o ro,size=64k tmpfs "$D"
"$BIN" run "$SCENARIO" --out "$D/out" >/dev/null
echo "exit $?"
echo "beside: $(ls -A "$D" | tr '\n' ' ')""#;
    let Some(out) = in_mount_namespace(script, &[("D", dir.path()), ("BIN", &bin), ("SCENARIO", &scenario)]) else {
        return;
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("exit 1\n"), "{stdout}\n{stderr}");
    assert!(stderr.contains(&format!("{}/out", dir.path().display())), "{stderr}");
    assert!(stderr.contains("Read-only file system"), "{stderr}");
    assert!(stdout.contains("beside: \n"), "{stdout}");
}

#[test]
fn a_file_size_limit_exits_1_and_keeps_the_previous_output() {
    // `ulimit -f` makes writes past the limit fail with EFBIG once SIGXFSZ
    // is ignored (the ignored disposition survives exec): the same path as
    // a full disk, on any machine.
    let dir = tempdir();
    let out_dir = dir.path().join("out");
    let scenario = repo_path("tests/fixtures/shared_endpoint.toml");
    assert!(
        slaplan()
            .args(["run", "--out"])
            .arg(&out_dir)
            .arg(&scenario)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    );
    let before = contents(&out_dir);
    // 100 blocks of 512 bytes: the report page (about 1 MB) does not fit.
    let out = Command::new("sh")
        .args([
            "-c",
            r#"trap '' XFSZ; ulimit -f 100; exec "$BIN" run --report --seed 9 --out "$OUT" "$SCENARIO""#,
        ])
        .env("BIN", env!("CARGO_BIN_EXE_slaplan"))
        .env("OUT", &out_dir)
        .env("SCENARIO", &scenario)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("File too large"), "{stderr}");
    assert!(
        stderr.contains(&format!("nothing was written to {}", out_dir.display())),
        "{stderr}"
    );
    assert_eq!(contents(&out_dir), before);
    assert_eq!(names(dir.path()), ["out"]);
}
