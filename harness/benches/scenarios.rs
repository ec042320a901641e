//! `cargo bench -p peglab-harness --bench scenarios` (or `just bench`): peglab's scenario runs
//! beside bare bitcoind doing the same chain work. Prints medians; asserts nothing.
//!
//! - a small scenario (`multisig/two_of_three`) end to end, beside a bare node's start and kill;
//! - the Liquid v1 preset, beside its chain-changing RPCs replayed on a bare node;
//! - the suite at `--jobs 2` (scenarios of at most [`SUITE_MAX_BLOCKS`] blocks), beside bare
//!   nodes, two at a time, each started as the scenario's lab is and mining as many blocks;
//! - Babylon's mainnet staking time (64,000 blocks), beside a bare node mining as many.

mod common;

use std::{
    path::{Path, PathBuf},
    sync::Mutex,
    thread,
    time::{Duration, Instant},
};

use common::{BareNode, bare_node, median};
use peglab_harness::{Lab, LabOptions, suite};
use peglab_sim::{Chain, NodeId, run::run, scenario::Scenario};
use serde_json::json;

const RUNS: usize = 5;
const SMALL: &str = "scenarios/multisig/two_of_three.toml";
const LIQUID: &str = "scenarios/liquid/v1_preset.toml";
const MAINNET: &str = "scenarios/babylon/mainnet_staking_time.toml";
/// Longer scenarios are benchmarked on their own, not in the suite figure.
const SUITE_MAX_BLOCKS: u64 = 10_000;
/// Blocks per bare `generatetodescriptor` call (as the lab mines).
const CHUNK: u64 = 10_000;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn load(path: &str) -> Scenario {
    let (mut scenarios, problems) = suite::load_all(&[root().join(path)], None);
    assert!(problems.is_empty(), "{path} is valid: {problems:?}");
    scenarios.remove(0)
}

/// Runs `scenario` on its own lab; returns the time and the blocks mined past the premine.
fn run_scenario(exe: &Path, scenario: &Scenario) -> (Duration, u64) {
    let started = Instant::now();
    let options = suite::lab_options(scenario);
    let mut lab = Lab::start(exe, &options).expect("a lab");
    let report = run(scenario, &mut lab);
    let tip = lab.tip(NodeId::FIRST).expect("tip").height;
    drop(lab);
    let elapsed = started.elapsed();
    assert!(report.passed, "{} passes: {:?}", scenario.name, report.error);
    (elapsed, u64::from(tip) - u64::from(options.premine))
}

/// A bare node (started as the lab starts its nodes, from an empty datadir) mines `blocks`
/// in chunks, moving its clock up to the tip's time between chunks, as the lab does.
fn bare_mine(node: &BareNode, blocks: u64) {
    let mut left = blocks;
    while left > 0 {
        let chunk = left.min(CHUNK);
        node.call("generatetodescriptor", &[json!(chunk), json!("raw(51)")]).expect("mine");
        let tip = node.call("getbestblockhash", &[]).expect("tip");
        let header = node.call("getblockheader", &[tip]).expect("header");
        node.call("setmocktime", &[header["time"].clone()]).expect("clock");
        left -= chunk;
    }
}

fn ratio(peglab: Duration, bare: Duration) -> f64 {
    peglab.as_secs_f64() / bare.as_secs_f64()
}

fn small(exe: &Path) {
    let scenario = load(SMALL);
    let peglab = median((0..RUNS).map(|_| run_scenario(exe, &scenario).0).collect());
    let bare = median(
        (0..RUNS)
            .map(|_| {
                let started = Instant::now();
                drop(bare_node(exe));
                started.elapsed()
            })
            .collect(),
    );
    println!(
        "small scenario ({SMALL})   peglab {peglab:>10.2?}   bare start+kill {bare:>10.2?}   ratio {:.2}",
        ratio(peglab, bare)
    );
}

fn liquid(exe: &Path) {
    let scenario = load(LIQUID);
    let premine = suite::lab_options(&scenario).premine;
    // The journal of a lab that mines its premine (no template), so a bare node can replay it.
    let options = LabOptions { premine: 0, template: false, ..LabOptions::default() };
    let mut lab = Lab::start(exe, &options).expect("a lab");
    lab.record_journal();
    lab.mine(NodeId::FIRST, premine, None).expect("premine");
    assert!(run(&scenario, &mut lab).passed, "{LIQUID} passes");
    let journal = lab.journal();
    drop(lab);
    let peglab = median((0..RUNS).map(|_| run_scenario(exe, &scenario).0).collect());
    let mut refused = 0;
    let bare = median(
        (0..RUNS)
            .map(|_| {
                let started = Instant::now();
                let node = bare_node(exe);
                // Refusals (the early emergency spend) are part of the work: Core answers them
                // the same way here.
                refused = journal
                    .iter()
                    .filter(|(_, method, args)| node.call(method, args).is_err())
                    .count();
                drop(node);
                started.elapsed()
            })
            .collect(),
    );
    println!(
        "liquid v1 ({} chain-changing RPCs, {refused} refused)   peglab {peglab:>10.2?}   bare replay (mines the premine) {bare:>10.2?}   ratio {:.2}",
        journal.len(),
        ratio(peglab, bare)
    );
}

/// Runs `work` over `items` on two threads, longest (first in the list) first.
fn two_at_a_time<T: Sync>(items: &[T], work: impl Fn(&T) + Sync) -> Duration {
    let next = Mutex::new(items.iter());
    let started = Instant::now();
    thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                while let Some(item) = { next.lock().expect("queue").next() } {
                    work(item);
                }
            });
        }
    });
    started.elapsed()
}

fn suite_wall(exe: &Path) {
    let files = suite::discover(&[root().join("scenarios")]).expect("scenario files");
    let (all, problems) = suite::load_all(&files, None);
    assert!(problems.is_empty(), "the suite is valid: {problems:?}");
    // Each scenario once, for its blocks (and to leave out the long ones).
    let mut shapes: Vec<(Scenario, u64)> = all
        .into_iter()
        .map(|s| {
            let blocks = run_scenario(exe, &s).1;
            (s, blocks)
        })
        .collect();
    let long: Vec<String> = shapes
        .iter()
        .filter(|(_, blocks)| *blocks > SUITE_MAX_BLOCKS)
        .map(|(s, _)| s.name.clone())
        .collect();
    shapes.retain(|(_, blocks)| *blocks <= SUITE_MAX_BLOCKS);
    shapes.sort_by_key(|(s, blocks)| std::cmp::Reverse(s.nodes as u64 * 750 + blocks));
    let scenarios: Vec<Scenario> = shapes.iter().map(|(s, _)| s.clone()).collect();
    let blocks: u64 = shapes.iter().map(|(_, b)| b).sum();
    let nodes: usize = shapes.iter().map(|(s, _)| s.nodes).sum();

    let peglab = median(
        (0..RUNS)
            .map(|_| {
                let started = Instant::now();
                let finished = suite::run_all(exe, &scenarios, 2, false, &|_| {});
                assert!(finished.iter().all(|f| f.report.passed), "the suite passes");
                started.elapsed()
            })
            .collect(),
    );
    let bare = median(
        (0..RUNS)
            .map(|_| {
                two_at_a_time(&shapes, |(scenario, blocks)| {
                    let nodes: Vec<BareNode> = thread::scope(|s| {
                        let starting: Vec<_> =
                            (0..scenario.nodes).map(|_| s.spawn(|| bare_node(exe))).collect();
                        starting.into_iter().map(|h| h.join().expect("start")).collect()
                    });
                    bare_mine(&nodes[0], *blocks);
                })
            })
            .collect(),
    );
    println!(
        "suite --jobs 2 ({} scenarios, {nodes} nodes, {blocks} blocks; without {})   peglab {peglab:>10.2?}   bare nodes, same starts and blocks {bare:>10.2?}   ratio {:.2}",
        scenarios.len(),
        long.join(", "),
        ratio(peglab, bare)
    );
}

fn mainnet(exe: &Path) {
    let scenario = load(MAINNET);
    let mut blocks = 0;
    let peglab = median(
        (0..3)
            .map(|_| {
                let (elapsed, mined) = run_scenario(exe, &scenario);
                blocks = mined;
                elapsed
            })
            .collect(),
    );
    let bare = median(
        (0..3)
            .map(|_| {
                let started = Instant::now();
                bare_mine(&bare_node(exe), blocks);
                started.elapsed()
            })
            .collect(),
    );
    println!(
        "babylon mainnet staking time ({blocks} blocks)   peglab {peglab:>10.2?}   bare node mining as many {bare:>10.2?}   ratio {:.2}",
        ratio(peglab, bare)
    );
}

fn main() {
    let exe = common::bitcoind();
    small(&exe);
    liquid(&exe);
    suite_wall(&exe);
    mainnet(&exe);
}
