//! `cargo bench -p peglab-harness --bench node` (or `just bench`): node start-to-ready and the
//! cost of a mined block, through peglab's harness and bare (a plain spawn and the plain RPC
//! client), so the harness's overhead shows. Prints medians; asserts nothing.

mod common;

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use common::median;
use peglab_harness::{Lab, LabOptions, Node, NodeOptions};
use peglab_sim::{Chain, NodeId};
use serde_json::json;

const RUNS: usize = 7;
const BLOCKS: u32 = 1000;

/// The median over [`RUNS`] of a measurement; what it made is dropped outside the timing.
fn median_of<T>(mut measure: impl FnMut() -> (Duration, T)) -> Duration {
    median((0..RUNS).map(|_| measure().0).collect())
}

fn bare_start(exe: &std::path::Path) -> Duration {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let started = Instant::now();
    let mut child = Command::new(exe)
        .args(["-regtest", "-listen=0", "-disablewallet=1", "-rpcuser=u", "-rpcpassword=p"])
        .arg(format!("-rpcport={port}"))
        .arg(format!("-datadir={}", dir.path().display()))
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn bitcoind");
    let auth = ::bitcoind::client::Auth::UserPass("u".into(), "p".into());
    let client = ::bitcoind::Client::new_with_auth(&format!("http://127.0.0.1:{port}"), auth)
        .expect("client");
    while client.call::<serde_json::Value>("getblockchaininfo", &[]).is_err() {
        std::thread::sleep(Duration::from_millis(1));
    }
    let elapsed = started.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    elapsed
}

fn main() {
    let exe = common::bitcoind();
    let bare = median((0..RUNS).map(|_| bare_start(&exe)).collect());
    let harness = median_of(|| {
        let started = Instant::now();
        let node = Node::start(&exe, &NodeOptions::default()).expect("node starts");
        (started.elapsed(), node)
    });
    println!(
        "start-to-ready   bare bitcoind {bare:>10.2?}   peglab Node::start {harness:>10.2?}   ratio {:.2}",
        harness.as_secs_f64() / bare.as_secs_f64()
    );

    let lab_start = median_of(|| {
        let started = Instant::now();
        let lab = Lab::start(&exe, &LabOptions::default()).expect("lab starts");
        (started.elapsed(), lab)
    });
    println!("lab start (node + 200-block premine)                             {lab_start:>10.2?}");

    let mut lab =
        Lab::start(&exe, &LabOptions { premine: 0, ..LabOptions::default() }).expect("lab starts");
    let mut bare_mine = Vec::new();
    let mut lab_mine = Vec::new();
    for _ in 0..RUNS {
        let rpc = lab.rpc(NodeId::FIRST).expect("node 0");
        let started = Instant::now();
        let _: Vec<String> =
            rpc.call("generatetodescriptor", &[json!(BLOCKS), json!("raw(51)")]).expect("mine");
        bare_mine.push(started.elapsed() / BLOCKS);
        let started = Instant::now();
        lab.mine(NodeId::FIRST, BLOCKS, None).expect("mine");
        lab_mine.push(started.elapsed() / BLOCKS);
    }
    let (bare_mine, lab_mine) = (median(bare_mine), median(lab_mine));
    println!(
        "per mined block  bare generatetodescriptor {bare_mine:>10.2?}   peglab Lab::mine {lab_mine:>10.2?}   ratio {:.2}",
        lab_mine.as_secs_f64() / bare_mine.as_secs_f64()
    );
}
