//! Output directories and files that are complete or absent, whatever
//! stops the process: an error, a full disk, Ctrl-C or `kill -9`.
//!
//! A directory is filled under a temporary sibling `.NAME.tmp-PID-N`, its
//! files flushed to disk, and then put in place in one step:
//!
//! - a new `out` is a plain `rename`;
//! - an existing `out` is swapped with the temporary by
//!   `renameat2(RENAME_EXCHANGE)` (Linux; through rustix), so `out` names the
//!   previous directory until the instant it names the complete new one. The
//!   previous one is then at the temporary name and is removed.
//!
//! Where the exchange is not available (another OS, or a file system that
//! refuses it), the fallback renames `out` to `.NAME.prev-PID-N` and the
//! temporary to `out`. A process killed between those two renames leaves no
//! `out` but a complete previous directory at the `.prev-` name; the next
//! write to `out` renames it back before anything else, so the directory a
//! user sees is again the previous one or the new one.
//!
//! Every temporary is locked (`flock`, through [`std::fs::File::lock`]) by
//! the process writing it, for as long as it is written. The lock dies with
//! the process, even on `kill -9`, so the next write to the same `out`
//! removes the siblings it can lock (left by dead runs) and leaves those of
//! a live concurrent run alone.
//!
//! For interruptions the process can see (SIGINT, SIGTERM), [`interrupt`]
//! removes the temporaries being written and stops every later commit, and
//! [`finish`] lets the main thread end without racing the handler. The
//! library never installs signal handlers or prints; the binary does.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// What this process is writing and has written, for the interrupt handler.
struct Registry {
    /// Temporaries being filled.
    pending: Vec<PathBuf>,
    /// Outputs put in place so far.
    committed: Vec<PathBuf>,
    /// An interrupt was taken: no further commit.
    interrupted: bool,
    /// The main thread is ending: interrupts are no longer taken.
    finished: bool,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    pending: Vec::new(),
    committed: Vec::new(),
    interrupted: false,
    finished: false,
});

/// Distinguishes the temporaries of one process.
static SEQUENCE: AtomicU64 = AtomicU64::new(0);

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// For a handler of SIGINT or SIGTERM about to end the process: stops every
/// later commit and removes the temporaries being written. Returns the
/// outputs already put in place, or `None` when the main thread has already
/// called [`finish`] (the run is over: let it end by itself).
pub fn interrupt() -> Option<Vec<PathBuf>> {
    let mut r = registry();
    if r.finished {
        return None;
    }
    r.interrupted = true;
    for tmp in r.pending.drain(..) {
        let _ = fs::remove_dir_all(&tmp).or_else(|_| fs::remove_file(&tmp));
    }
    Some(r.committed.clone())
}

/// Called by the main thread before it reports its result and ends: `true`
/// when an interrupt was taken (the handler is ending the process, and the
/// caller should wait for it rather than report an error caused by it);
/// `false` otherwise, after which interrupts are ignored.
pub fn finish() -> bool {
    let mut r = registry();
    if r.interrupted {
        return true;
    }
    r.finished = true;
    false
}

/// The error an interrupted commit returns (the process is being ended).
fn interrupted_error() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::Interrupted, "interrupted")
}

/// A temporary sibling of `out`, created, locked and registered; removed
/// on drop unless it was committed.
struct Temporary {
    path: PathBuf,
    /// Holds the lock while the temporary is written.
    _lock: File,
}

impl Temporary {
    fn create(out: &Path, dir: bool) -> std::io::Result<Temporary> {
        let (parent, name) = split(out);
        let n = SEQUENCE.fetch_add(1, Ordering::Relaxed);
        let path = parent.join(format!(".{name}.tmp-{}-{n}", std::process::id()));
        let mut r = registry();
        if r.interrupted {
            return Err(interrupted_error());
        }
        let lock = if dir {
            fs::create_dir(&path)?;
            File::open(&path)?
        } else {
            File::create_new(&path)?
        };
        if let Err(e) = lock.lock() {
            let _ = remove(&path);
            return Err(e);
        }
        r.pending.push(path.clone());
        Ok(Temporary { path, _lock: lock })
    }
}

impl Drop for Temporary {
    fn drop(&mut self) {
        let mut r = registry();
        if let Some(i) = r.pending.iter().position(|p| p == &self.path) {
            r.pending.swap_remove(i);
            let _ = remove(&self.path);
        }
    }
}

fn remove(path: &Path) -> std::io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// `out`'s parent (`.` for a bare name) and its file name.
fn split(out: &Path) -> (PathBuf, String) {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    (parent.to_path_buf(), name)
}

/// Removes what dead runs left beside `out` (temporaries nobody holds a
/// lock on), and puts back a previous `out` that a run killed in the middle
/// of the fallback swap left at its `.prev-` name.
fn clean_stale(out: &Path) -> std::io::Result<()> {
    let (parent, name) = split(out);
    let tmp_prefix = format!(".{name}.tmp-");
    let prev_prefix = format!(".{name}.prev-");
    let Ok(entries) = fs::read_dir(&parent) else {
        return Ok(());
    };
    let mut previous = Vec::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if file_name.starts_with(&tmp_prefix) {
            // Held by a live writer: leave it. Unlocked: its writer is gone.
            let Ok(f) = File::open(&path) else { continue };
            if f.try_lock().is_ok() {
                let _ = remove(&path);
            }
        } else if file_name.starts_with(&prev_prefix) {
            previous.push(path);
        }
    }
    previous.sort();
    for prev in previous {
        if fs::symlink_metadata(out).is_err() {
            fs::rename(&prev, out)?;
        } else {
            let _ = remove(&prev);
        }
    }
    Ok(())
}

/// Flushes every file under `dir`, then the directories, to the disk.
fn sync_tree(dir: &Path) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            sync_tree(&entry.path())?;
        } else {
            File::open(entry.path())?.sync_all()?;
        }
    }
    File::open(dir)?.sync_all()
}

/// Flushes a directory's entries (after a rename in it). Some file systems
/// cannot; that only weakens durability against power loss, never the
/// all-or-nothing view of a running system.
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Swaps two existing paths in one step, where the system can.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(std::io::Error::from)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn exchange(_: &Path, _: &Path) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

/// Puts the filled temporary `tmp` in place of `out`.
fn commit(tmp: &Temporary, out: &Path, is_dir: bool) -> std::io::Result<()> {
    let (parent, name) = split(out);
    let mut r = registry();
    if r.interrupted {
        return Err(interrupted_error());
    }
    let existing = fs::symlink_metadata(out).ok();
    match existing {
        Some(m) if m.is_dir() != is_dir && !m.file_type().is_symlink() => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                if is_dir {
                    "exists and is not a directory"
                } else {
                    "exists and is a directory"
                },
            ));
        }
        None => fs::rename(&tmp.path, out)?,
        Some(_) if !is_dir => fs::rename(&tmp.path, out)?,
        Some(_) => match exchange(&tmp.path, out) {
            Ok(()) => {}
            Err(_) => {
                let prev = parent.join(format!(
                    ".{name}.prev-{}-{}",
                    std::process::id(),
                    SEQUENCE.fetch_add(1, Ordering::Relaxed)
                ));
                fs::rename(out, &prev)?;
                if let Err(e) = fs::rename(&tmp.path, out) {
                    let _ = fs::rename(&prev, out);
                    return Err(e);
                }
                let _ = remove(&prev);
            }
        },
    }
    r.pending.retain(|p| p != &tmp.path);
    r.committed.push(out.to_path_buf());
    drop(r);
    sync_dir(&parent);
    // After an exchange the temporary's name holds the previous directory;
    // otherwise nothing is left there.
    let _ = remove(&tmp.path);
    Ok(())
}

/// Creates directory `out` atomically: `fill` writes its files into a
/// temporary sibling, which replaces `out` in one step only if `fill`
/// succeeds and every file reached the disk; on failure nothing is left
/// behind and `out` is as it was. `io` turns a file-system error on a path
/// into the caller's error type.
pub fn write_dir_atomically<E>(
    out: &Path,
    fill: impl FnOnce(&Path) -> Result<(), E>,
    io: impl Fn(PathBuf, std::io::Error) -> E,
) -> Result<(), E> {
    let (parent, _) = split(out);
    fs::create_dir_all(&parent).map_err(|e| io(parent.clone(), e))?;
    clean_stale(out).map_err(|e| io(out.to_path_buf(), e))?;
    let tmp = Temporary::create(out, true).map_err(|e| io(out.to_path_buf(), e))?;
    fill(&tmp.path)?;
    sync_tree(&tmp.path).map_err(|e| io(tmp.path.clone(), e))?;
    commit(&tmp, out, true).map_err(|e| io(out.to_path_buf(), e))
}

/// Writes `bytes` to `path` atomically: into a locked temporary sibling,
/// flushed, then renamed over `path`.
pub fn write_file_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let (parent, _) = split(path);
    clean_stale(path)?;
    let tmp = Temporary::create(path, false)?;
    let mut f = fs::OpenOptions::new().write(true).open(&tmp.path)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    commit(&tmp, path, false)?;
    sync_dir(&parent);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    fn io(path: PathBuf, e: std::io::Error) -> String {
        format!("{}: {e}", path.display())
    }

    #[test]
    fn replaces_an_existing_directory_and_leaves_nothing_beside_it() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("out");
        for (i, files) in [vec!["a", "b"], vec!["c"]].iter().enumerate() {
            write_dir_atomically(
                &out,
                |tmp| {
                    for f in files {
                        fs::write(tmp.join(f), format!("{i}")).map_err(|e| e.to_string())?;
                    }
                    Ok::<(), String>(())
                },
                io,
            )
            .unwrap();
            assert_eq!(&names(&out), files);
            assert_eq!(names(root.path()), ["out"]);
        }
    }

    #[test]
    fn a_failed_fill_leaves_the_previous_directory() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("out");
        fs::create_dir(&out).unwrap();
        fs::write(out.join("old"), "old").unwrap();
        let err = write_dir_atomically(
            &out,
            |tmp| {
                fs::write(tmp.join("new"), "half").unwrap();
                Err::<(), String>("disk full".into())
            },
            io,
        )
        .unwrap_err();
        assert_eq!(err, "disk full");
        assert_eq!(names(&out), ["old"]);
        assert_eq!(names(root.path()), ["out"]);
    }

    #[test]
    fn stale_temporaries_of_dead_runs_are_removed_and_live_ones_kept() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("out");
        // A dead run's temporary: nobody holds its lock.
        fs::create_dir(root.path().join(".out.tmp-999999-0")).unwrap();
        fs::write(root.path().join(".out.tmp-999999-0/summary.csv"), "x").unwrap();
        // A live run's temporary: locked by a handle we keep.
        let live = root.path().join(".out.tmp-1-0");
        fs::create_dir(&live).unwrap();
        let held = File::open(&live).unwrap();
        held.lock().unwrap();
        // Another output's temporary is not ours to touch.
        fs::create_dir(root.path().join(".other.tmp-999999-0")).unwrap();
        write_dir_atomically(&out, |_| Ok::<(), String>(()), io).unwrap();
        assert_eq!(names(root.path()), [".other.tmp-999999-0", ".out.tmp-1-0", "out"]);
        drop(held);
    }

    #[test]
    fn a_previous_directory_left_by_the_fallback_swap_is_put_back() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("out");
        // Killed between `out -> .out.prev-*` and `tmp -> out`.
        let prev = root.path().join(".out.prev-999999-3");
        fs::create_dir(&prev).unwrap();
        fs::write(prev.join("summary.csv"), "previous").unwrap();
        clean_stale(&out).unwrap();
        assert_eq!(fs::read_to_string(out.join("summary.csv")).unwrap(), "previous");
        assert_eq!(names(root.path()), ["out"]);
    }

    #[test]
    fn files_are_replaced_whole() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("check.csv");
        write_file_atomically(&path, b"one").unwrap();
        write_file_atomically(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(names(root.path()), ["check.csv"]);
        // A directory in the way is an error, and is left alone.
        let dir = root.path().join("taken");
        fs::create_dir(&dir).unwrap();
        assert!(write_file_atomically(&dir, b"x").is_err());
        assert!(dir.is_dir());
        assert_eq!(names(root.path()), ["check.csv", "taken"]);
    }
}
