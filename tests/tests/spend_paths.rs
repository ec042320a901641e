//! Every spend path tree `peglab derive` prints, checked against the script itself as Bitcoin
//! Core judges it: for random sets of key holders (proptest), a spend of the path signed by
//! exactly them is accepted by `testmempoolaccept` on a lab node exactly when the set
//! satisfies the tree. And every timelocked path is refused one block early, in Core's words.
//!
//! The locks come from every scenario of the suite (whose timelocks a lab mines through in
//! well under a second: at most 2016 blocks).

use std::collections::{BTreeMap, BTreeSet};

use bitcoin::{Amount, OutPoint, ScriptBuf, TxOut};
use peglab_harness::{Lab, suite};
use peglab_sim::{
    Chain, NodeId,
    lock::{Attempt, Lock, of_scenario},
    policy::Have,
};
use proptest::{
    prelude::*,
    test_runner::{Config, TestRunner},
};

const NODE: NodeId = NodeId::FIRST;
/// Locks whose paths wait longer are left to the mainnet scenarios.
const MAX_BLOCKS: u32 = 2016;
/// Attempts per `testmempoolaccept` round.
const BATCH: usize = 20;
const CASES: u32 = 64;
const VALUE: Amount = Amount::from_sat(100_000);

/// Every distinct lock (by output script) of the suite.
fn locks() -> Vec<(String, Lock)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let paths = [root.join("scenarios")];
    let files = suite::discover(&paths).expect("scenario files");
    let (scenarios, problems) = suite::load_all(&files, None);
    assert!(problems.is_empty(), "{problems:?}");
    let mut seen = BTreeSet::new();
    let mut all = Vec::new();
    for scenario in &scenarios {
        for (peg, lock) in of_scenario(scenario) {
            let long = (0..lock.paths.len()).any(|p| lock.timelocks(p).blocks_old > MAX_BLOCKS);
            if !long && seen.insert(lock.script_pubkey.clone()) {
                all.push((format!("{} / {peg} / {}", scenario.file, lock.coins), lock));
            }
        }
    }
    all
}

/// Funded outputs of each lock, mined deep enough for every path's relative timelock.
struct Pool {
    outputs: BTreeMap<usize, Vec<OutPoint>>,
}

impl Pool {
    fn fill(lab: &mut Lab, locks: &[(String, Lock)], per_lock: usize) -> Self {
        let mut pool = Self { outputs: BTreeMap::new() };
        pool.fund(lab, locks, &(0..locks.len()).collect::<Vec<_>>(), per_lock);
        pool
    }

    /// A funded output of lock `l` (more are funded when none is left).
    fn take(&mut self, lab: &mut Lab, locks: &[(String, Lock)], l: usize) -> OutPoint {
        if self.outputs.get(&l).is_none_or(Vec::is_empty) {
            self.fund(lab, locks, &[l], 50);
        }
        self.outputs.get_mut(&l).and_then(Vec::pop).expect("a funded output")
    }

    /// Funds `per_lock` outputs of each lock in `which`, in as few transactions as standard
    /// size allows (one per lock would use up the lab's mature coins).
    fn fund(&mut self, lab: &mut Lab, locks: &[(String, Lock)], which: &[usize], per_lock: usize) {
        let mut deepest = 1;
        let mut wanted = Vec::new();
        for &i in which {
            let lock = &locks[i].1;
            wanted.extend(std::iter::repeat_n((lock.script_pubkey.clone(), VALUE), per_lock));
            for p in 0..lock.paths.len() {
                deepest = deepest.max(lock.timelocks(p).blocks_old);
            }
        }
        for chunk in wanted.chunks(100) {
            let tx = lab.fund_many(NODE, chunk).expect("funding");
            let txid = tx.compute_txid();
            for (vout, o) in tx.output.iter().enumerate() {
                if let Some(&i) =
                    which.iter().find(|&&i| locks[i].1.script_pubkey == o.script_pubkey)
                {
                    self.outputs.entry(i).or_default().push(OutPoint::new(txid, vout as u32));
                }
            }
        }
        lab.mine(NODE, deepest, None).expect("mining");
    }
}

/// Whether Core should accept: the path's tree (or, for a branch of one script, any branch)
/// satisfied by the signers with the timelocks the attempt sets.
fn expected(lock: &Lock, path: usize, signers: &BTreeSet<String>) -> bool {
    let t = lock.timelocks(path);
    let have = Have {
        signers: signers.intersection(&lock.signers()).cloned().collect(),
        blocks_old: t.blocks_old,
        seconds_old: t.seconds_old,
        height: t.height,
        time: t.time,
    };
    match lock.attempt_kind() {
        Attempt::Exact => lock.paths[path].policy.satisfied(&have),
        Attempt::AnyBranch => lock.paths.iter().any(|p| p.policy.satisfied(&have)),
    }
}

/// The key holders a lock's trees name, in order.
fn holders(lock: &Lock) -> Vec<String> {
    let all: BTreeSet<String> = lock.paths.iter().flat_map(|p| p.policy.holders()).collect();
    all.into_iter().collect()
}

#[test]
fn every_tree_matches_its_script_as_core_judges_it() {
    let locks = locks();
    assert!(locks.len() >= 12, "locks of every family: {}", locks.len());
    let mut lab = peglab_tests::lab();
    let pool = Pool::fill(&mut lab, &locks, (CASES as usize) * BATCH / locks.len() * 3 + 8);
    let (lab, pool) = (std::cell::RefCell::new(lab), std::cell::RefCell::new(pool));
    let to = ScriptBuf::new_p2wsh(&ScriptBuf::from(vec![0x51]).wscript_hash());
    let shapes: Vec<(usize, usize)> =
        locks.iter().map(|(_, l)| (l.paths.len(), holders(l).len())).collect();
    let candidate = (0..locks.len()).prop_flat_map(move |l| {
        let (paths, n) = shapes[l];
        (Just(l), 0..paths, proptest::collection::btree_set(0..n.max(1), 0..=n))
    });
    let mut runner =
        TestRunner::new(Config { cases: CASES, failure_persistence: None, ..Config::default() });
    let judged = std::cell::Cell::new(0usize);
    let result = runner.run(&proptest::collection::vec(candidate, BATCH), |cases| {
        let mut txs = Vec::new();
        let mut wanted = Vec::new();
        for (l, path, picked) in &cases {
            let lock = &locks[*l].1;
            let names = holders(lock);
            let signers: BTreeSet<String> =
                picked.iter().filter_map(|&i| names.get(i).cloned()).collect();
            let outpoint = pool.borrow_mut().take(&mut lab.borrow_mut(), &locks, *l);
            let prevout = TxOut { value: VALUE, script_pubkey: lock.script_pubkey.clone() };
            txs.push(lock.attempt(*path, &signers, outpoint, &prevout, to.clone()));
            wanted.push((expected(lock, *path, &signers), *l, *path, signers));
        }
        let verdicts = lab.borrow().test_accept_many(NODE, &txs).expect("testmempoolaccept");
        for ((want, l, path, signers), verdict) in wanted.iter().zip(&verdicts) {
            judged.set(judged.get() + 1);
            let lock = &locks[*l].1;
            prop_assert_eq!(
                *want,
                verdict.is_ok(),
                "{}: path `{}` ({:?}) signed by {:?}: Core said {:?}",
                locks[*l].0,
                lock.paths[*path].name,
                lock.paths[*path].policy,
                signers,
                verdict
            );
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    eprintln!(
        "{} attempts on {} locks judged by Core as their trees say",
        judged.get(),
        locks.len()
    );
}

#[test]
fn every_timelocked_path_is_refused_one_block_early() {
    let locks = locks();
    let mut lab = peglab_tests::lab();
    let to = ScriptBuf::new_p2wsh(&ScriptBuf::from(vec![0x51]).wscript_hash());
    let mut checked = 0;
    for (name, lock) in &locks {
        for path in 0..lock.paths.len() {
            let blocks = lock.timelocks(path).blocks_old;
            if blocks == 0 || !lock.paths[path].policy.holders().is_subset(&lock.signers()) {
                // No timelock, or keys nobody in the scenario holds.
                continue;
            }
            let all = lock.paths[path].policy.holders();
            let tx = lab.fund_many(NODE, &[(lock.script_pubkey.clone(), VALUE)]).expect("funding");
            let vout =
                tx.output.iter().position(|o| o.script_pubkey == lock.script_pubkey).unwrap();
            let outpoint = OutPoint::new(tx.compute_txid(), vout as u32);
            let prevout = TxOut { value: VALUE, script_pubkey: lock.script_pubkey.clone() };
            let attempt = lock.attempt(path, &all, outpoint, &prevout, to.clone());
            lab.mine(NODE, blocks - 1, None).unwrap();
            let early = lab.test_accept(NODE, &attempt).unwrap();
            assert_eq!(
                early.map_err(|r| r.reason.to_string()),
                Err("non-BIP68-final".to_owned()),
                "{name}: path `{}` one block early",
                lock.paths[path].name
            );
            lab.mine(NODE, 1, None).unwrap();
            assert_eq!(
                lab.test_accept(NODE, &attempt).unwrap(),
                Ok(()),
                "{name}: `{}` on time",
                lock.paths[path].name
            );
            checked += 1;
        }
    }
    assert!(checked >= 5, "timelocked paths checked: {checked}");
}
