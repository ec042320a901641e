//! One regtest `bitcoind` process in a temporary datadir.

use std::{
    fs,
    net::{Ipv4Addr, TcpListener},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::Mutex,
    thread,
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::{
    error::LabError,
    rpc::{Rpc, RpcError, code},
    rundir,
    spawn::{kill_group, spawn_tied},
};

pub use peglab_sim::chain::LAB_EPOCH;

/// The RPC user of every lab node.
pub const RPC_USER: &str = "peglab";
/// The RPC password of every lab node (regtest only, on loopback).
pub const RPC_PASSWORD: &str = "peglab";
const START_ATTEMPTS: usize = 5;
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// How to start a node.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    /// Accept P2P connections on a loopback port (needed to connect nodes to each other).
    pub p2p: bool,
    /// The node's clock at start (`-mocktime`).
    pub mocktime: u64,
    /// Extra `bitcoind` arguments, after peglab's own (so they can override them).
    pub extra_args: Vec<String>,
    /// A datadir to start from (copied): a premined chain.
    pub template: Option<PathBuf>,
}

impl Default for NodeOptions {
    fn default() -> Self {
        Self { p2p: false, mocktime: LAB_EPOCH, extra_args: Vec::new(), template: None }
    }
}

/// A running regtest node. Killed (with its process group) when dropped, and when peglab dies.
///
/// Its datadir lives in peglab's run folder (see [`crate::rundir`]) and is deleted on drop
/// unless [`Node::keep`] was called, or the drop happens while the thread panics (a failing
/// test), in which case it is kept and the path printed.
#[derive(Debug)]
pub struct Node {
    child: Mutex<Child>,
    datadir: Option<TempDir>,
    path: PathBuf,
    rpc: Rpc,
    p2p_port: Option<u16>,
}

impl Node {
    /// Starts a node and waits until its RPC answers. Retries with fresh ports when the
    /// chosen ones were taken meanwhile (other processes pick ports at the same time).
    pub fn start(exe: &Path, options: &NodeOptions) -> Result<Self, LabError> {
        let mut attempt = 1;
        loop {
            match Self::start_once(exe, options) {
                Err(LabError::Start { reason, .. })
                    if attempt < START_ATTEMPTS && reason.contains("Unable to bind") =>
                {
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    fn start_once(exe: &Path, options: &NodeOptions) -> Result<Self, LabError> {
        let start_error = |reason: String, datadir: &Path| LabError::Start {
            exe: exe.to_owned(),
            reason,
            datadir: datadir.to_owned(),
        };
        let tmp = rundir::node_datadir()?;
        let path = tmp.path().to_owned();
        if let Some(template) = &options.template {
            copy_dir(template, &path).map_err(|e| {
                LabError::TempDir(format!(
                    "failed to copy the premined datadir into {}: {e} (is the temporary folder full?)",
                    path.display()
                ))
            })?;
        }
        let (child, rpc, p2p_port) = match launch(exe, options, &path) {
            Ok(launched) => launched,
            Err(_) if crate::signals::interrupted() => return Err(LabError::Interrupted),
            Err(reason) => return Err(start_error(reason, &rundir::keep(&tmp.keep()))),
        };
        rundir::record_process_group(child.id());
        let mut node = Self { child: Mutex::new(child), datadir: Some(tmp), path, rpc, p2p_port };
        let chain = match node.wait_ready() {
            Ok(chain) => chain,
            // Stopped on purpose (SIGINT, SIGTERM): nothing to keep.
            Err(_) if crate::signals::interrupted() => return Err(LabError::Interrupted),
            Err(reason) => {
                let datadir = node.keep();
                return Err(start_error(reason, &datadir));
            }
        };
        if chain != "regtest" {
            return Err(LabError::NotRegtest { chain });
        }
        Ok(node)
    }

    /// Polls until the RPC answers `getblockchaininfo` (every 1 to 2 ms: a refused loopback
    /// connection costs nothing, and a longer pause is time the node waits for), and
    /// returns the chain the node runs. Fails early when the process exits.
    fn wait_ready(&mut self) -> Result<String, String> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            if let Some(status) = self.exit_status() {
                let stderr = fs::read_to_string(self.path.join("stderr.log")).unwrap_or_default();
                return Err(format!("it exited with {status}: {}", stderr.trim()));
            }
            match self.rpc.call::<Value>("getblockchaininfo", &[]) {
                Ok(info) => return Ok(info["chain"].as_str().unwrap_or_default().to_owned()),
                Err(RpcError::Server { code: code::IN_WARMUP, .. } | RpcError::Transport(_)) => {}
                Err(other) => return Err(other.to_string()),
            }
            if started.elapsed() > READY_TIMEOUT {
                return Err(format!("its RPC did not answer within {READY_TIMEOUT:?}"));
            }
            thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(2));
        }
    }

    /// The node's JSON-RPC connection.
    pub fn rpc(&self) -> &Rpc {
        &self.rpc
    }

    /// The node's datadir.
    pub fn datadir(&self) -> &Path {
        &self.path
    }

    /// The node's `debug.log`.
    pub fn debug_log(&self) -> PathBuf {
        self.path.join("regtest").join("debug.log")
    }

    /// The process id of the `bitcoind` process.
    pub fn pid(&self) -> u32 {
        self.child.lock().unwrap_or_else(|p| p.into_inner()).id()
    }

    /// How the process ended, if it has: `killed by signal 9 (SIGKILL)`, `exit status 1`.
    pub fn exit_status(&self) -> Option<String> {
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        let status = child.try_wait().ok()??;
        use std::os::unix::process::ExitStatusExt;
        Some(match status.signal() {
            Some(signal) => format!("killed by signal {signal}{}", signal_name(signal)),
            None => status.to_string(),
        })
    }

    /// The last lines of the node's stderr and `debug.log` that say why it stopped, if any.
    pub fn last_words(&self) -> Option<String> {
        let stderr = fs::read_to_string(self.path.join("stderr.log")).unwrap_or_default();
        let log = fs::read_to_string(self.debug_log()).unwrap_or_default();
        let telling = |l: &&str| {
            let l = l.to_ascii_lowercase();
            l.contains("error")
                || l.contains("space")
                || l.contains("shutdown")
                || l.contains("abort")
        };
        let lines: Vec<&str> = stderr
            .lines()
            .chain(log.lines().rev().take(40).collect::<Vec<_>>().into_iter().rev())
            .filter(telling)
            .collect();
        let words: Vec<&str> = lines.iter().rev().take(3).rev().map(|l| l.trim()).collect();
        (!words.is_empty()).then(|| words.join(" | "))
    }

    /// `127.0.0.1:port` where the node accepts P2P connections, if it does.
    pub fn p2p_addr(&self) -> Option<String> {
        self.p2p_port.map(|port| format!("127.0.0.1:{port}"))
    }

    /// Keeps the datadir after the node stops: it moves to `$TMPDIR/peglab/kept/` (see
    /// [`crate::rundir`]); returns its new path.
    pub fn keep(&mut self) -> PathBuf {
        if let Some(tmp) = self.datadir.take() {
            self.path = rundir::keep(&tmp.keep());
        }
        self.path.clone()
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGKILL => " (SIGKILL)",
        libc::SIGTERM => " (SIGTERM)",
        libc::SIGINT => " (SIGINT)",
        libc::SIGSEGV => " (SIGSEGV)",
        libc::SIGABRT => " (SIGABRT)",
        libc::SIGBUS => " (SIGBUS)",
        _ => "",
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        kill_group(self.child.get_mut().unwrap_or_else(|p| p.into_inner()));
        if thread::panicking() && self.datadir.is_some() {
            let path = self.keep();
            eprintln!("peglab: kept the datadir of a node of a failed run: {}", path.display());
        }
    }
}

/// Copies a datadir (files and folders) into `to`.
fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// Spawns the process in `datadir`; returns it, its RPC connection and its P2P port.
fn launch(
    exe: &Path,
    options: &NodeOptions,
    datadir: &Path,
) -> Result<(Child, Rpc, Option<u16>), String> {
    let port = || free_port().map_err(|e| format!("failed to pick a port: {e}"));
    let rpc_port = port()?;
    let p2p_port = if options.p2p { Some(port()?) } else { None };
    let stderr_path = datadir.join("stderr.log");
    let stderr = fs::File::create(&stderr_path)
        .map_err(|e| format!("failed to create {}: {e}", stderr_path.display()))?;
    let mut cmd = Command::new(exe);
    cmd.args(node_args(datadir, rpc_port, p2p_port, options.mocktime))
        .args(&options.extra_args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
    let child = spawn_tied(cmd).map_err(|e| format!("failed to run it: {e}"))?;
    let rpc = Rpc::new(format!("http://127.0.0.1:{rpc_port}"), RPC_USER, RPC_PASSWORD)
        .map_err(|e| e.to_string())?;
    Ok((child, rpc, p2p_port))
}

fn node_args(datadir: &Path, rpc_port: u16, p2p_port: Option<u16>, mocktime: u64) -> Vec<String> {
    let mut args = vec![
        "-regtest".to_owned(),
        format!("-datadir={}", datadir.display()),
        "-server=1".to_owned(),
        format!("-rpcport={rpc_port}"),
        "-rpcbind=127.0.0.1".to_owned(),
        "-rpcallowip=127.0.0.1".to_owned(),
        format!("-rpcuser={RPC_USER}"),
        format!("-rpcpassword={RPC_PASSWORD}"),
        "-disablewallet=1".to_owned(),
        // Regtest runs Core's own consistency checks after every block by default; they test
        // Bitcoin Core, not the scenario, and make mining slower as the chain grows.
        "-checkblockindex=0".to_owned(),
        "-checkmempool=0".to_owned(),
        // Mainnet policy, so that a non-standard transaction is refused as it would be there.
        "-acceptnonstdtxn=0".to_owned(),
        format!("-mocktime={mocktime}"),
        "-printtoconsole=0".to_owned(),
        "-dnsseed=0".to_owned(),
        "-fixedseeds=0".to_owned(),
        "-listenonion=0".to_owned(),
        "-natpmp=0".to_owned(),
        "-rpcworkqueue=64".to_owned(),
    ];
    match p2p_port {
        Some(port) => args.extend([
            "-listen=1".to_owned(),
            format!("-port={port}"),
            format!("-bind=127.0.0.1:{port}"),
            "-whitelist=noban,download,relay,mempool@127.0.0.1".to_owned(),
        ]),
        None => args.push("-listen=0".to_owned()),
    }
    args
}

/// A loopback port free at this moment (another process may take it before bitcoind binds
/// it; [`Node::start`] retries then).
fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port())
}

/// Calls `method` on `node`'s RPC, mapping failures to [`LabError::Rpc`].
pub(crate) fn call<T: serde::de::DeserializeOwned>(
    rpc: &Rpc,
    node: peglab_sim::NodeId,
    method: &str,
    args: &[Value],
) -> Result<T, LabError> {
    rpc.call(method, args).map_err(|source| LabError::Rpc {
        node,
        method: method.to_owned(),
        source,
    })
}

/// `json!` of a hex-encoded consensus object, for RPC arguments.
pub(crate) fn hex_arg<T: bitcoin::consensus::Encodable>(value: &T) -> Value {
    json!(bitcoin::consensus::encode::serialize_hex(value))
}
