//! `peglab explain` against the expected answers of peg-catalog-2.md §6.4 (steal set and
//! delay, freeze set, exit, grades) for the families the suite has, and over every scenario
//! of the suite: every class answers, nothing panics.

use std::path::{Path, PathBuf};

use peglab_harness::suite;
use peglab_sim::{
    scenario::Scenario,
    trust::{Class, PegTrust, explain},
};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scenario(file: &str) -> Scenario {
    let (mut all, problems) = suite::load_all(&[root().join(file)], None);
    assert!(problems.is_empty(), "{problems:?}");
    all.remove(0)
}

fn peg(file: &str) -> PegTrust {
    explain(&scenario(file)).remove(0)
}

fn class<'a>(peg: &'a PegTrust, coins: &str) -> &'a Class {
    peg.classes
        .iter()
        .find(|c| c.coins.contains(coins))
        .unwrap_or_else(|| panic!("no {coins} in {peg:?}"))
}

#[test]
fn sbtc_mainnet_signers_as_the_catalog_expects() {
    let peg = peg("scenarios/sbtc/mainnet_signers.toml");
    let custody = class(&peg, "signers' UTXO");
    assert_eq!(custody.kind, "custody");
    assert_eq!((custody.steal[0].signers, custody.steal[0].delay.as_str()), (10, "none"));
    assert_eq!(custody.freeze.as_ref().map(|f| f.signers), Some(5));
    assert!(custody.exit.is_none());
    let deposit = class(&peg, "deposit");
    let exit = deposit.exit.as_ref().expect("the reclaim path");
    assert_eq!(
        (exit.holders.as_slice(), exit.delay.as_str()),
        (&["alice".to_owned()][..], "12 blocks")
    );
    assert_eq!(deposit.steal[0].signers, 10);
    assert_eq!(peg.custody.grade, "red (High)");
    let committee = peg.committee.as_ref().expect("a committee");
    assert_eq!(committee.grade, "bad");
    assert!(committee.why.contains("0.357"), "{}", committee.why);
    assert!(peg.groups[0].scheme.contains("WSTS"));
}

#[test]
fn tbtc_as_the_catalog_expects() {
    let peg = peg("scenarios/tbtc/happy.toml");
    let custody = class(&peg, "main UTXO");
    assert_eq!(custody.steal[0].signers, 51);
    assert_eq!(custody.freeze.as_ref().map(|f| f.signers), Some(50));
    let deposit = class(&peg, "deposit");
    assert!(deposit.exit.as_ref().is_some_and(|e| e.delay.contains("CLTV")));
    let committee = peg.committee.as_ref().expect("a committee");
    assert_eq!(committee.grade, "bad");
    assert!(committee.why.contains("0.500"), "{}", committee.why);
    assert!(peg.declared.iter().any(|d| d.contains("Mezo")));
}

#[test]
fn liquid_v1_steals_at_11_of_15_now_or_2_of_3_after_4032_blocks() {
    let peg = peg("scenarios/liquid/v1_preset.toml");
    let custody = class(&peg, "custody");
    let delays: Vec<(u64, &str)> =
        custody.steal.iter().map(|w| (w.signers, w.delay.as_str())).collect();
    assert_eq!(delays, [(11, "none"), (2, "4032 blocks")]);
    assert_eq!(custody.freeze.as_ref().map(|f| f.signers), Some(5 + 2));
    assert_eq!(custody.recovery.len(), 1);
    // 11 of 15: 5 can block, exactly a third: L2BEAT's warning (never good).
    assert_eq!(peg.committee.as_ref().map(|c| c.grade), Some("warning"));
    // The emergency keys make the cheapest steal 2 signers: below red, as BitcoinLayers
    // rates Liquid (Very High).
    assert_eq!(peg.custody.grade, "below red (Very High)");
}

#[test]
fn babylon_staking_is_non_custodial() {
    let peg = peg("scenarios/babylon/mainnet_staking_time.toml");
    for c in &peg.classes {
        assert!(c.steal.is_empty(), "{c:?}");
        assert!(c.exit.is_some(), "{c:?}");
    }
    assert_eq!(class(&peg, "staking output").exit.as_ref().unwrap().delay, "64000 blocks");
    assert_eq!(peg.custody.grade, "green (Low)");
}

#[test]
fn multisig_2_of_3_is_below_red() {
    let peg = peg("scenarios/multisig/two_of_three.toml");
    let custody = class(&peg, "deposit");
    assert_eq!(custody.steal[0].signers, 2);
    assert_eq!(custody.freeze.as_ref().map(|f| f.signers), Some(2));
    assert_eq!(peg.custody.grade, "below red (Very High)");
    assert_eq!(peg.committee.as_ref().map(|c| c.grade), Some("bad"));
}

#[test]
fn every_peg_of_the_suite_is_explained() {
    let files = suite::discover(&[root().join("scenarios")]).unwrap();
    let (scenarios, problems) = suite::load_all(&files, None);
    assert!(problems.is_empty(), "{problems:?}");
    for s in &scenarios {
        for peg in explain(s) {
            for c in &peg.classes {
                assert!(
                    !c.steal.is_empty() || c.exit.is_some(),
                    "{} / {}: {} has neither a steal nor an exit",
                    s.file,
                    peg.peg,
                    c.coins
                );
            }
            assert!(!peg.custody.why.is_empty());
        }
    }
}

/// The recognizer reads every script of every lock of the suite back into a policy, and it
/// agrees with the policy the family states for the paths that script serves (the same
/// coalitions, after the same kinds of delay).
#[test]
fn every_script_of_the_suite_reads_back_as_its_family_states() {
    use peglab_sim::{lock::of_scenario, policy::Policy, trust::requirements};
    let files = suite::discover(&[root().join("scenarios")]).unwrap();
    let (scenarios, _) = suite::load_all(&files, None);
    let (mut agreed, mut seen) = (0, std::collections::BTreeSet::new());
    for s in &scenarios {
        for (peg, lock) in of_scenario(s) {
            if !seen.insert(lock.script_pubkey.clone()) {
                continue;
            }
            for (paths, recognized) in lock.script_policies() {
                let recognized = recognized.unwrap_or_else(|| {
                    panic!(
                        "{} / {peg} / {}: a script the recognizer cannot read",
                        s.file, lock.coins
                    )
                });
                let stated = Policy::Or {
                    of: paths.iter().map(|&p| lock.paths[p].policy.clone()).collect(),
                };
                assert_eq!(
                    requirements(&recognized),
                    requirements(&stated),
                    "{} / {peg} / {} paths {paths:?}:\nread {recognized:?}\nstated {stated:?}",
                    s.file,
                    lock.coins
                );
                agreed += 1;
            }
        }
    }
    assert!(agreed >= 30, "{agreed} scripts");
    eprintln!("{agreed} scripts read back as stated");
}
