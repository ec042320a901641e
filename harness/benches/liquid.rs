//! `cargo bench -p peglab-harness --bench liquid` (or `just bench`): the Liquid v1 scenario
//! (peg-in, claim at 102, peg-out, emergency recovery after 4032 blocks) through peglab, and
//! the same chain work as bare RPC calls: the lab's journal of chain-changing RPCs replayed on
//! a fresh node. Prints medians; asserts nothing.

mod common;

use std::{path::Path, time::Instant};

use common::median;
use peglab_harness::{Lab, LabOptions, Node, NodeOptions};
use peglab_sim::{Chain, NodeId, run::run, scenario};
use serde_json::Value;

const RUNS: usize = 5;
const SCENARIO: &str = "scenarios/federated/liquid_v1_preset.toml";
const PREMINE: u32 = 200;

fn main() {
    let exe = common::bitcoind();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join(SCENARIO)).expect("the scenario file");
    let scenario = scenario::load(SCENARIO, &text, None).expect("a valid scenario");

    let mut journal = Vec::new();
    let mut blocks = 0;
    let peglab = median(
        (0..RUNS)
            .map(|_| {
                let started = Instant::now();
                let options = LabOptions { premine: 0, ..LabOptions::default() };
                let mut lab = Lab::start(&exe, &options).expect("a lab");
                lab.record_journal();
                lab.mine(NodeId::FIRST, PREMINE, None).expect("premine");
                let report = run(&scenario, &mut lab);
                let elapsed = started.elapsed();
                assert!(report.passed, "the scenario passes: {:?}", report.error);
                journal = lab.journal();
                blocks = lab.tip(NodeId::FIRST).expect("tip").height;
                elapsed
            })
            .collect(),
    );
    let mut refused = 0;
    let bare = median(
        (0..RUNS)
            .map(|_| {
                let started = Instant::now();
                let node = Node::start(&exe, &NodeOptions::default()).expect("a node");
                // Refusals (the early emergency spend) are part of the work: Core answers them
                // the same way here.
                refused = journal
                    .iter()
                    .filter(|(_, method, args)| node.rpc().call::<Value>(method, args).is_err())
                    .count();
                started.elapsed()
            })
            .collect(),
    );
    println!(
        "liquid v1 scenario ({blocks} blocks, {} chain-changing RPCs, {refused} refused in the replay)   peglab {peglab:>10.2?}   bare RPC replay {bare:>10.2?}   ratio {:.2}",
        journal.len(),
        peglab.as_secs_f64() / bare.as_secs_f64()
    );
}
