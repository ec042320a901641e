//! Premined datadirs: a lab's first 200 (or more) blocks are the same every time, so they are
//! mined once per bitcoind binary into peglab's cache (`<cache>/templates/<key>/`), and each
//! node of each lab starts from a copy. A copy costs a few milliseconds; mining costs tens.
//!
//! The key covers everything the blocks depend on (the binary, the premine, the clock, the
//! script mined to), so a copy holds exactly the blocks a fresh premine would mine: same
//! blocks, same txids. Built under a file lock, in a temporary folder renamed into place.

use std::{
    fs::{self, File},
    path::{Path, PathBuf},
    time::{Duration, Instant, UNIX_EPOCH},
};

use bitcoin::{
    Script,
    hashes::{Hash, sha256},
};
use serde_json::json;

use crate::{
    bitcoind,
    error::LabError,
    node::{LAB_EPOCH, Node, NodeOptions},
};

/// Bumped when what goes into a template changes.
const VERSION: u32 = 4;
/// The premine's coins (`scantxoutset`'s answer), kept beside the chain.
pub(crate) const COINS: &str = "coins.json";
/// Files of a datadir that are not the chain (logs, peers, estimates), left out of a template.
const NOT_CHAIN: &[&str] = &[
    "debug.log",
    "peers.dat",
    "anchors.dat",
    "banlist.json",
    "fee_estimates.dat",
    "mempool.dat",
    "settings.json",
    ".lock",
    "stderr.log",
];

fn key(exe: &Path, premine: u32, script: &Script) -> String {
    let meta = fs::metadata(exe).ok();
    let stamp = meta
        .as_ref()
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let text = format!(
        "{VERSION}|{}|{}|{stamp}|{premine}|{LAB_EPOCH}|{}",
        exe.canonicalize().unwrap_or_else(|_| exe.to_owned()).display(),
        meta.map_or(0, |m| m.len()),
        script.to_hex_string()
    );
    let digest = sha256::Hash::hash(text.as_bytes()).to_byte_array();
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The premined datadir for `premine` blocks mined to `script` by `exe`, built if needed;
/// `None` when peglab has no cache folder to keep one in (the lab then mines as it starts).
pub(crate) fn premined(
    exe: &Path,
    premine: u32,
    script: &Script,
) -> Result<Option<PathBuf>, LabError> {
    let Ok(cache) = bitcoind::cache_dir() else { return Ok(None) };
    let root = cache.join("templates");
    let dir = root.join(key(exe, premine, script));
    if dir.join(".complete").is_file() {
        return Ok(Some(dir));
    }
    if fs::create_dir_all(&root).is_err() {
        return Ok(None);
    }
    let Ok(lock) = File::create(root.join(".lock")) else { return Ok(None) };
    if lock.lock().is_err() {
        return Ok(None);
    }
    if dir.join(".complete").is_file() {
        return Ok(Some(dir));
    }
    build(exe, premine, script, &dir)?;
    Ok(Some(dir))
}

fn build(exe: &Path, premine: u32, script: &Script, dir: &Path) -> Result<(), LabError> {
    let node = Node::start(exe, &NodeOptions::default())?;
    let rpc = node.rpc();
    let desc = format!("raw({})", script.to_hex_string());
    let call = |method: &str, args: &[serde_json::Value]| {
        rpc.call::<serde_json::Value>(method, args).map_err(|source| LabError::Rpc {
            node: peglab_sim::NodeId::FIRST,
            method: method.to_owned(),
            source,
        })
    };
    call("generatetodescriptor", &[json!(premine), json!(desc)])?;
    let coins = call("scantxoutset", &[json!("start"), json!([desc])])?;
    // A clean stop flushes the chainstate to disk.
    call("stop", &[])?;
    let started = Instant::now();
    while node.exit_status().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            return Err(LabError::InvalidArgument("bitcoind did not stop within 60 s".into()));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let staging = dir.with_extension("building");
    let _ = fs::remove_dir_all(&staging);
    copy_chain(node.datadir(), &staging)
        .and_then(|()| fs::write(staging.join(COINS), coins.to_string()))
        .and_then(|()| fs::write(staging.join(".complete"), b""))
        .and_then(|()| fs::rename(&staging, dir))
        .map_err(|e| {
            LabError::TempDir(format!(
                "failed to save a premined datadir in {}: {e}",
                dir.display()
            ))
        })
}

/// Copies a stopped node's datadir without its logs and peer state, and without the zeros
/// Core preallocates at the end of block and undo files (16 MiB and 1 MiB): a node appends
/// where the data ends and preallocates again.
fn copy_chain(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        let name_text = name.to_string_lossy();
        if NOT_CHAIN.iter().any(|n| name == *n) {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type()?.is_dir() {
            copy_chain(&entry.path(), &target)?;
        } else if let Some(trailer) = record_trailer(&name_text) {
            // Since Core 28 these files are XORed with the key in `xor.dat` beside them.
            let key = fs::read(from.join("xor.dat")).unwrap_or_default();
            let data = fs::read(entry.path())?;
            fs::write(target, &data[..used_length(&data, trailer, &key)])?;
        } else {
            fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// Bytes after each record's data in a block (`blk*.dat`: none) or undo (`rev*.dat`: a
/// 32-byte checksum) file; `None` for other files.
fn record_trailer(name: &str) -> Option<usize> {
    let numbered = |prefix: &str| name.starts_with(prefix) && name.ends_with(".dat");
    if numbered("blk") {
        Some(0)
    } else if numbered("rev") {
        Some(32)
    } else {
        None
    }
}

/// Where the records of a block or undo file end: each is the network magic, a 4-byte
/// little-endian length, the data, and the trailer, all XORed with `key` by file offset; the
/// preallocated rest is zeros, never written.
fn used_length(data: &[u8], trailer: usize, key: &[u8]) -> usize {
    let byte = |i: usize| data[i] ^ key.get(i % key.len().max(1)).copied().unwrap_or(0);
    let mut at = 0;
    while at + 8 <= data.len() && data[at..at + 4] != [0, 0, 0, 0] {
        let len = u32::from_le_bytes([byte(at + 4), byte(at + 5), byte(at + 6), byte(at + 7)]);
        let end = at + 8 + len as usize + trailer;
        if end > data.len() {
            break;
        }
        at = end;
    }
    at
}
