//! Finding a `bitcoind` binary, or building one from source.
//!
//! Order, as a user expects it (and as the `bitcoind` crate and BDK's testenv do):
//! `BITCOIND_EXE`, then `bitcoind` on `PATH`, then peglab's cache, then a build from source
//! into that cache ([`build`]).

mod build;
mod prerequisites;
mod source;

use std::{
    env,
    ffi::OsString,
    fmt,
    fs::File,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

pub use build::{BuildError, BuildProgress, build_into_cache};
pub use prerequisites::{Missing, MissingPackages};

/// The environment variable that names an explicit `bitcoind` binary.
pub const BITCOIND_EXE: &str = "BITCOIND_EXE";
/// The environment variable that overrides peglab's cache folder.
pub const PEGLAB_CACHE_DIR: &str = "PEGLAB_CACHE_DIR";

/// A `bitcoind` binary peglab can run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitcoind {
    /// Path of the executable.
    pub exe: PathBuf,
    /// Where it was found.
    pub origin: Origin,
    /// First line of `bitcoind -version`, e.g. `Bitcoin Core daemon version v31.99.0`.
    pub version: String,
}

/// Where a [`Bitcoind`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The `BITCOIND_EXE` environment variable.
    EnvVar,
    /// `bitcoind` on `PATH`.
    Path,
    /// peglab's cache, built earlier.
    Cache,
    /// Built from source just now.
    Built,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::EnvVar => "BITCOIND_EXE",
            Self::Path => "PATH",
            Self::Cache => "peglab cache",
            Self::Built => "built from source just now",
        })
    }
}

/// Why no usable `bitcoind` could be had.
#[derive(Debug, thiserror::Error)]
pub enum BitcoindError {
    /// `BITCOIND_EXE` names something that is not an executable file.
    #[error(
        "{BITCOIND_EXE}={} does not name an executable file; point it at a bitcoind binary or unset it",
        path.display()
    )]
    BadEnvVar {
        /// The value of the variable.
        path: PathBuf,
    },
    /// A binary that does not answer `-version` like Bitcoin Core's `bitcoind`.
    #[error("{} ({origin}) is not a working bitcoind: {reason}", exe.display())]
    NotBitcoind {
        /// The binary.
        exe: PathBuf,
        /// Where it was found.
        origin: Origin,
        /// What went wrong running `-version`.
        reason: String,
    },
    /// The temporary folder cannot be used (the message names it).
    #[error("the temporary folder {} is not usable: {reason} (set TMPDIR to a writable folder)", dir.display())]
    TempDir {
        /// The folder.
        dir: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// No home or cache folder to keep a build in.
    #[error("failed to find a cache folder: set {PEGLAB_CACHE_DIR} or HOME")]
    NoCacheDir,
    /// Building from source failed.
    #[error(transparent)]
    Build(#[from] BuildError),
}

/// peglab's cache folder: `PEGLAB_CACHE_DIR`, else the user cache (`~/.cache/peglab`).
pub fn cache_dir() -> Result<PathBuf, BitcoindError> {
    if let Some(dir) = env::var_os(PEGLAB_CACHE_DIR).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    dirs::cache_dir().map(|d| d.join("peglab")).ok_or(BitcoindError::NoCacheDir)
}

/// Where the from-source build lives in the cache, keyed by the source's version.
pub fn cached_exe(cache: &Path) -> PathBuf {
    cache.join("bitcoind").join(source::SOURCE_ID).join("bin").join("bitcoind")
}

/// Finds a `bitcoind` without building: `BITCOIND_EXE`, `PATH`, then the cache.
/// `Ok(None)` means there is none and a build is needed.
pub fn locate() -> Result<Option<Bitcoind>, BitcoindError> {
    if let Some(path) = env::var_os(BITCOIND_EXE).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        if !is_executable(&path) {
            return Err(BitcoindError::BadEnvVar { path });
        }
        return checked(path, Origin::EnvVar).map(Some);
    }
    if let Some(path) = find_on_path("bitcoind") {
        return checked(path, Origin::Path).map(Some);
    }
    let cached = cached_exe(&cache_dir()?);
    if is_executable(&cached) {
        return checked(cached, Origin::Cache).map(Some);
    }
    Ok(None)
}

/// Finds a `bitcoind`, building it into the cache when there is none anywhere.
pub fn find_or_build(progress: &dyn BuildProgress) -> Result<Bitcoind, BitcoindError> {
    if let Some(found) = locate()? {
        return Ok(found);
    }
    let exe = build_into_cache(&cache_dir()?, progress)?;
    checked(exe, Origin::Built)
}

/// How long `bitcoind -version` may take.
const VERSION_TIMEOUT: Duration = Duration::from_secs(10);

fn checked(exe: PathBuf, origin: Origin) -> Result<Bitcoind, BitcoindError> {
    let not_bitcoind =
        |reason: String| BitcoindError::NotBitcoind { exe: exe.clone(), origin, reason };
    // Even `-version` writes `settings.json` into the datadir: give it a throwaway one, so
    // that concurrent checks do not race in (or litter) the user's `~/.bitcoin`.
    let datadir = tempfile::tempdir()
        .map_err(|e| BitcoindError::TempDir { dir: env::temp_dir(), reason: e.to_string() })?;
    let (out_path, err_path) = (datadir.path().join("stdout"), datadir.path().join("stderr"));
    let temp_err =
        |e: std::io::Error| BitcoindError::TempDir { dir: env::temp_dir(), reason: e.to_string() };
    let mut cmd = Command::new(&exe);
    cmd.arg(format!("-datadir={}", datadir.path().display()))
        .arg("-version")
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).map_err(temp_err)?)
        .stderr(File::create(&err_path).map_err(temp_err)?);
    // Tied to peglab, in a group of its own, and bounded in time: a binary that hangs is
    // killed, with what it spawned.
    let mut child = crate::spawn::spawn_tied(cmd)
        .map_err(|e| not_bitcoind(format!("failed to run it: {e}")))?;
    let started = Instant::now();
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        if started.elapsed() > VERSION_TIMEOUT {
            crate::spawn::kill_group(&mut child);
            return Err(not_bitcoind(format!(
                "`-version` did not answer within {} s (it was killed)",
                VERSION_TIMEOUT.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    crate::spawn::kill_group(&mut child);
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let first = stdout.lines().next().unwrap_or_default().trim().to_owned();
    if !status.success() || !first.contains("Bitcoin Core") {
        return Err(not_bitcoind(format!(
            "`-version` exited with {status} and printed {first:?} {:?}",
            stderr.trim()
        )));
    }
    Ok(Bitcoind { exe, origin, version: first })
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path: OsString = env::var_os("PATH")?;
    env::split_paths(&path).map(|dir| dir.join(name)).find(|p| is_executable(p))
}

pub(crate) fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
