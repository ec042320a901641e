//! Building `bitcoind` from source into peglab's cache, once.
//!
//! Safe when several processes ask at once (parallel tests, CI shards): the build runs under
//! an exclusive file lock, whoever gets the lock second finds the binary already there, and the
//! binaries are installed into a temporary folder that is renamed into place only when the
//! build succeeded. The CMake build folder is kept between attempts, so an interrupted build
//! resumes, and removed after success.

use std::{
    fs::{self, File, OpenOptions},
    io::{self, BufRead, BufReader, Write},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    thread,
};

use super::{MissingPackages, cached_exe, prerequisites, source};

/// CMake options for a wallet-less daemon and `bitcoin-cli`, nothing else
/// (see `docs/bitcoind.md`: the source ships without wallet sources and ASMap data).
const CMAKE_OPTIONS: &[&str] = &[
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_TESTS=OFF",
    "-DBUILD_BENCH=OFF",
    "-DENABLE_WALLET=OFF",
    "-DBUILD_DAEMON=ON",
    "-DBUILD_CLI=ON",
    "-DBUILD_TX=OFF",
    "-DBUILD_UTIL=OFF",
    "-DBUILD_WALLET_TOOL=OFF",
    "-DENABLE_IPC=OFF",
    "-DWITH_ZMQ=OFF",
    "-DBUILD_GUI=OFF",
    "-DENABLE_EXTERNAL_SIGNER=OFF",
    "-DBUILD_BITCOIN_BIN=OFF",
    "-DWITH_EMBEDDED_ASMAP=OFF",
];
const BINARIES: [&str; 2] = ["bitcoind", "bitcoin-cli"];

/// Receives progress of a build, which takes minutes.
pub trait BuildProgress {
    /// A new stage begins (`fetching Bitcoin Core source`, `compiling`, ...).
    fn stage(&self, what: &str);
    /// Compilation progress, 0 to 100.
    fn percent(&self, percent: u8);
}

/// Why building `bitcoind` failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// System packages are missing; the message says which and how to install them.
    #[error("{0}")]
    MissingPackages(MissingPackages),
    /// Getting the source through cargo failed.
    #[error("failed to fetch Bitcoin Core source: {0}")]
    Fetch(String),
    /// A build command failed.
    #[error(
        "failed to build bitcoind: `{step}` exited with {status}; full log: {}\n{tail}",
        log.display()
    )]
    Command {
        /// The command that failed.
        step: String,
        /// Its exit status.
        status: String,
        /// The build log.
        log: PathBuf,
        /// The last lines of the log.
        tail: String,
    },
    /// A file operation failed.
    #[error("failed to build bitcoind: {}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

impl BuildError {
    pub(super) fn io(path: &Path, source: io::Error) -> Self {
        Self::Io { path: path.to_owned(), source }
    }
}

/// Builds `bitcoind` into `cache` unless it is already there. Returns the executable.
pub fn build_into_cache(cache: &Path, progress: &dyn BuildProgress) -> Result<PathBuf, BuildError> {
    let exe = cached_exe(cache);
    let root = cache.join("bitcoind");
    fs::create_dir_all(&root).map_err(|e| BuildError::io(&root, e))?;
    let lock_path = root.join(".build.lock");
    let lock = File::create(&lock_path).map_err(|e| BuildError::io(&lock_path, e))?;
    if lock.try_lock().is_err() {
        progress.stage("waiting for another process that is building bitcoind");
        lock.lock().map_err(|e| BuildError::io(&lock_path, e))?;
    }
    if super::is_executable(&exe) {
        return Ok(exe);
    }
    prerequisites::check().map_err(BuildError::MissingPackages)?;

    progress.stage("fetching Bitcoin Core source (crates.io: libbitcoinkernel-sys)");
    let src = source::fetch(&root)?;
    let build_dir = root.join(format!("build-{}", source::SOURCE_ID));
    let log_path = root.join(format!("build-{}.log", source::SOURCE_ID));
    let mut log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| BuildError::io(&log_path, e))?;

    let resuming = build_dir.exists();
    let compiled = compile(&src, &build_dir, &mut log, &log_path, progress);
    match compiled {
        // A build killed half-way may have left a broken object file: start over once.
        Err(BuildError::Command { .. }) if resuming => {
            progress.stage("resuming an interrupted build failed; building from scratch");
            fs::remove_dir_all(&build_dir).map_err(|e| BuildError::io(&build_dir, e))?;
            compile(&src, &build_dir, &mut log, &log_path, progress)?;
        }
        other => other?,
    }

    progress.stage("installing bitcoind into the cache");
    let final_dir = exe.parent().and_then(Path::parent).unwrap_or(&root).to_owned();
    let staging = root.join(format!("{}.tmp-{}", source::SOURCE_ID, std::process::id()));
    let staging_bin = staging.join("bin");
    fs::create_dir_all(&staging_bin).map_err(|e| BuildError::io(&staging_bin, e))?;
    for name in BINARIES {
        let from = build_dir.join("bin").join(name);
        fs::copy(&from, staging_bin.join(name)).map_err(|e| BuildError::io(&from, e))?;
    }
    if final_dir.exists() {
        fs::remove_dir_all(&final_dir).map_err(|e| BuildError::io(&final_dir, e))?;
    }
    fs::rename(&staging, &final_dir).map_err(|e| BuildError::io(&final_dir, e))?;
    // The object files are hundreds of megabytes; the binaries are all that is needed now.
    let _ = fs::remove_dir_all(&build_dir);
    Ok(exe)
}

/// Configures and compiles into `build_dir`.
fn compile(
    src: &Path,
    build_dir: &Path,
    log: &mut File,
    log_path: &Path,
    progress: &dyn BuildProgress,
) -> Result<(), BuildError> {
    progress.stage("configuring Bitcoin Core (cmake)");
    let mut configure = Command::new("cmake");
    configure.arg("-S").arg(src).arg("-B").arg(build_dir).args(CMAKE_OPTIONS);
    run_logged(configure, "cmake (configure)", log, log_path, &|_| {})?;

    progress.stage("compiling bitcoind (several minutes, once)");
    let jobs = thread::available_parallelism().map_or(2, |n| n.get()).to_string();
    let mut build = Command::new("cmake");
    build.arg("--build").arg(build_dir).args(["-j", &jobs, "--target"]).args(BINARIES);
    run_logged(build, "cmake --build", log, log_path, &|line| {
        if let Some(p) = percent_of(line) {
            progress.percent(p);
        }
    })
}

/// Runs `cmd`, appending its output to the build log and passing each stdout line to
/// `on_line`. On failure the error carries the tail of the log.
fn run_logged(
    mut cmd: Command,
    step: &str,
    log: &mut File,
    log_path: &Path,
    on_line: &dyn Fn(&str),
) -> Result<(), BuildError> {
    let stderr = log.try_clone().map_err(|e| BuildError::io(log_path, e))?;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .map_err(|e| BuildError::io(Path::new(step), e))?;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            on_line(&line);
            let _ = writeln!(log, "{line}");
        }
    }
    let status = child.wait().map_err(|e| BuildError::io(Path::new(step), e))?;
    if status.success() {
        return Ok(());
    }
    let text = fs::read_to_string(log_path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(25)..].join("\n");
    Err(BuildError::Command {
        step: step.to_owned(),
        status: status.to_string(),
        log: log_path.to_owned(),
        tail,
    })
}

/// Reads CMake's `[ 42%] Building ...` progress prefix.
fn percent_of(line: &str) -> Option<u8> {
    let inner = line.strip_prefix('[')?.split_once("%]")?.0;
    inner.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::percent_of;

    #[test]
    fn reads_cmake_progress() {
        assert_eq!(percent_of("[ 42%] Building CXX object src/x.o"), Some(42));
        assert_eq!(percent_of("[100%] Built target bitcoind"), Some(100));
        assert_eq!(percent_of("-- Configuring done"), None);
    }
}
