//! What the benchmarks share: the bitcoind to measure, a bare node to measure it by, and a
//! median.

#![allow(dead_code)] // each bench uses its part

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use peglab_harness::{LAB_EPOCH, bitcoind as locate};
use serde_json::Value;

/// The middle sample.
pub(crate) fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

struct NoProgress;
impl locate::BuildProgress for NoProgress {
    fn stage(&self, what: &str) {
        eprintln!("bench: {what}");
    }
    fn percent(&self, _: u8) {}
}

/// The bitcoind peglab would use (found or built); exits 3 with the reason when there is none.
pub(crate) fn bitcoind() -> PathBuf {
    match locate::find_or_build(&NoProgress) {
        Ok(found) => found.exe,
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::exit(3);
        }
    }
}

/// A bitcoind spawned and called without peglab: the reference every figure is set beside.
/// Started with the lab's clock and without regtest's consistency checks (as the lab starts
/// its nodes: with them each block costs some five times more), from an empty datadir;
/// killed on drop.
pub(crate) struct BareNode {
    child: Child,
    client: ::bitcoind::Client,
    _dir: tempfile::TempDir,
}

impl BareNode {
    /// Calls an RPC.
    pub(crate) fn call(&self, method: &str, args: &[Value]) -> Result<Value, String> {
        self.client.call::<Value>(method, args).map_err(|e| e.to_string())
    }
}

impl Drop for BareNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns bitcoind and waits until its RPC answers.
pub(crate) fn bare_node(exe: &Path) -> BareNode {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let child = Command::new(exe)
        .args(["-regtest", "-listen=0", "-disablewallet=1", "-rpcuser=u", "-rpcpassword=p"])
        .args(["-checkblockindex=0", "-checkmempool=0"])
        .arg(format!("-mocktime={LAB_EPOCH}"))
        .arg(format!("-rpcport={port}"))
        .arg(format!("-datadir={}", dir.path().display()))
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn bitcoind");
    let auth = ::bitcoind::client::Auth::UserPass("u".into(), "p".into());
    let client = ::bitcoind::Client::new_with_auth(&format!("http://127.0.0.1:{port}"), auth)
        .expect("client");
    while client.call::<Value>("getblockchaininfo", &[]).is_err() {
        std::thread::sleep(Duration::from_millis(1));
    }
    BareNode { child, client, _dir: dir }
}
