//! `cargo bench -p peglab-harness --bench node` (or `just bench`): a node's start-to-ready,
//! start-and-stop, and the cost of a mined block, through peglab's harness and bare (a plain
//! spawn and the plain RPC client), so the harness's overhead shows. Prints medians; asserts
//! nothing.

mod common;

use std::time::{Duration, Instant};

use common::{bare_node, median};
use peglab_harness::{Lab, LabOptions, Node, NodeOptions};
use peglab_sim::{Chain, NodeId};
use serde_json::json;

const RUNS: usize = 7;
const BLOCKS: u32 = 1000;

/// The median over [`RUNS`] of a measurement.
fn median_of(mut measure: impl FnMut() -> Duration) -> Duration {
    median((0..RUNS).map(|_| measure()).collect())
}

/// Times `start` to ready, and to ready and stopped.
fn start_and_stop<T>(mut start: impl FnMut() -> T) -> (Duration, Duration) {
    let mut ready = Vec::new();
    let mut stopped = Vec::new();
    for _ in 0..RUNS {
        let began = Instant::now();
        let node = start();
        ready.push(began.elapsed());
        drop(node);
        stopped.push(began.elapsed());
    }
    (median(ready), median(stopped))
}

fn main() {
    let exe = common::bitcoind();
    let (bare, bare_stopped) = start_and_stop(|| bare_node(&exe));
    let (node, node_stopped) =
        start_and_stop(|| Node::start(&exe, &NodeOptions::default()).expect("node starts"));
    let (lab, lab_stopped) =
        start_and_stop(|| Lab::start(&exe, &LabOptions::default()).expect("lab starts"));
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!(
        "start-to-ready   bare bitcoind {bare:>10.2?}   peglab Node::start {node:>10.2?} (ratio {:.2})   Lab::start with its premine {lab:>10.2?} (ratio {:.2})",
        ratio(node, bare),
        ratio(lab, bare)
    );
    println!(
        "start and stop   bare bitcoind {bare_stopped:>10.2?}   peglab Node {node_stopped:>10.2?} (ratio {:.2})   Lab {lab_stopped:>10.2?} (ratio {:.2})",
        ratio(node_stopped, bare_stopped),
        ratio(lab_stopped, bare_stopped)
    );
    let mined_premine = median_of(|| {
        let began = Instant::now();
        let lab = Lab::start(&exe, &LabOptions { template: false, ..LabOptions::default() });
        drop(lab.expect("lab starts"));
        began.elapsed()
    });
    println!(
        "lab start and stop mining its premine (no cached template)     {mined_premine:>10.2?} (ratio {:.2} to bare)",
        ratio(mined_premine, bare_stopped)
    );

    let bare = bare_node(&exe);
    let mut lab =
        Lab::start(&exe, &LabOptions { premine: 0, ..LabOptions::default() }).expect("lab starts");
    let mut bare_mine = Vec::new();
    let mut lab_mine = Vec::new();
    for _ in 0..RUNS {
        let began = Instant::now();
        bare.call("generatetodescriptor", &[json!(BLOCKS), json!("raw(51)")]).expect("mine");
        bare_mine.push(began.elapsed() / BLOCKS);
        let began = Instant::now();
        lab.mine(NodeId::FIRST, BLOCKS, None).expect("mine");
        lab_mine.push(began.elapsed() / BLOCKS);
    }
    let (bare_mine, lab_mine) = (median(bare_mine), median(lab_mine));
    println!(
        "per mined block  bare generatetodescriptor {bare_mine:>10.2?}   peglab Lab::mine {lab_mine:>10.2?}   ratio {:.2}",
        ratio(lab_mine, bare_mine)
    );
}
