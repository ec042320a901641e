//! Where nodes' datadirs live: `$TMPDIR/peglab/run-<pid>-<random>/`, one folder per peglab
//! process, locked (an exclusive file lock) for as long as the process lives.
//!
//! A process that dies without cleaning up (SIGKILL, a crash) leaves its folder unlocked: the
//! next peglab process removes it, after killing any node of it that escaped (a wrapper that
//! did not `exec` bitcoind). Datadirs a failed scenario keeps are moved to
//! `$TMPDIR/peglab/kept/`, where the [`KEPT_LIMIT`] most recent stay.

use std::{
    fs::{self, File},
    io::{self, Write},
    path::{Path, PathBuf},
    sync::OnceLock,
    time::{SystemTime, UNIX_EPOCH},
};

use crate::error::LabError;

/// How many kept datadirs stay in `$TMPDIR/peglab/kept/` (the oldest go first).
pub const KEPT_LIMIT: usize = 20;

const LOCK: &str = ".lock";
const PGIDS: &str = ".pgids";

/// This process's run folder.
#[derive(Debug)]
struct RunDir {
    path: PathBuf,
    /// Held for the process's life: its lock says the folder is in use.
    _lock: File,
}

static RUN_DIR: OnceLock<Result<RunDir, String>> = OnceLock::new();

/// peglab's folder in the system's temporary folder.
pub fn root() -> PathBuf {
    std::env::temp_dir().join("peglab")
}

/// The folder kept datadirs are moved to.
pub fn kept_dir() -> PathBuf {
    root().join("kept")
}

fn unusable(dir: &Path, e: &io::Error) -> String {
    format!(
        "the temporary folder {} is not usable: {e} (set TMPDIR to a writable folder with room \
         for a few datadirs of 20 MB)",
        dir.display()
    )
}

fn create() -> Result<RunDir, String> {
    let root = root();
    fs::create_dir_all(&root).map_err(|e| unusable(&root, &e))?;
    sweep_stale(&root);
    let path = tempfile::Builder::new()
        .prefix(&format!("run-{}-", std::process::id()))
        .tempdir_in(&root)
        .map_err(|e| unusable(&root, &e))?
        .keep();
    let lock = File::create(path.join(LOCK)).map_err(|e| unusable(&path, &e))?;
    lock.try_lock().map_err(|e| unusable(&path, &io::Error::other(e.to_string())))?;
    Ok(RunDir { path, _lock: lock })
}

/// This process's run folder, made (and stale ones removed) on first use.
fn run_dir() -> Result<&'static RunDir, LabError> {
    RUN_DIR.get_or_init(create).as_ref().map_err(|e| LabError::TempDir(e.clone()))
}

/// This process's run folder, once a node has started (for soak tests and diagnostics).
pub fn current() -> Option<PathBuf> {
    RUN_DIR.get().and_then(|r| r.as_ref().ok()).map(|r| r.path.clone())
}

/// A fresh datadir for a node, inside this process's run folder.
pub(crate) fn node_datadir() -> Result<tempfile::TempDir, LabError> {
    let run = run_dir()?;
    tempfile::Builder::new()
        .prefix("node-")
        .tempdir_in(&run.path)
        .map_err(|e| LabError::TempDir(unusable(&run.path, &e)))
}

/// Notes a node's process group, so that a later peglab can kill what escaped this one.
pub(crate) fn record_process_group(pgid: u32) {
    if let Ok(run) = run_dir()
        && let Ok(mut f) =
            fs::OpenOptions::new().create(true).append(true).open(run.path.join(PGIDS))
    {
        let _ = writeln!(f, "{pgid}");
    }
}

/// Moves a datadir a failed scenario keeps to the kept folder; returns where it is now.
/// The oldest kept datadirs beyond [`KEPT_LIMIT`] are removed.
pub(crate) fn keep(datadir: &Path) -> PathBuf {
    let kept = kept_dir();
    if fs::create_dir_all(&kept).is_err() {
        return datadir.to_owned();
    }
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let name = datadir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let target = kept.join(format!("{stamp}-{}-{name}", std::process::id()));
    let moved =
        fs::rename(datadir, &target).map(|()| target).unwrap_or_else(|_| datadir.to_owned());
    prune_kept(&kept);
    moved
}

fn prune_kept(kept: &Path) {
    let Ok(entries) = fs::read_dir(kept) else { return };
    let mut dirs: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    dirs.sort();
    let excess = dirs.len().saturating_sub(KEPT_LIMIT);
    for old in &dirs[..excess] {
        let _ = fs::remove_dir_all(old);
    }
}

/// Removes this process's run folder (nodes must be gone): the end of a clean exit.
pub fn finish() {
    if let Some(Ok(run)) = RUN_DIR.get() {
        let _ = fs::remove_dir_all(&run.path);
    }
}

/// Removes the run folders of processes that are gone (their lock is free), killing any of
/// their nodes that are still running.
fn sweep_stale(root: &Path) {
    let Ok(entries) = fs::read_dir(root) else { return };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let is_run = path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("run-"));
        if !is_run || !path.is_dir() {
            continue;
        }
        let Ok(lock) = File::options().read(true).write(true).open(path.join(LOCK)) else {
            // No lock file: a folder being made right now, or one its process never locked.
            continue;
        };
        if lock.try_lock().is_err() {
            continue; // its process lives
        }
        kill_escaped(&path);
        let _ = fs::remove_dir_all(&path);
    }
}

/// Kills the recorded process groups of a dead run whose processes still run with a datadir
/// inside that run's folder (checked in `/proc`, so an unrelated group is never touched).
fn kill_escaped(run: &Path) {
    let Ok(text) = fs::read_to_string(run.join(PGIDS)) else { return };
    let Ok(procs) = fs::read_dir("/proc") else { return };
    let groups: Vec<i32> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
    let needle = run.to_string_lossy().into_owned();
    for entry in procs.filter_map(Result::ok) {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else { continue };
        if !String::from_utf8_lossy(&cmdline).contains(&needle) {
            continue;
        }
        #[expect(unsafe_code, reason = "getpgid and kill are the way to signal a process")]
        // SAFETY: plain syscalls on a pid read from /proc; a vanished pid only returns an error.
        unsafe {
            if groups.contains(&libc::getpgid(pid)) {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}
