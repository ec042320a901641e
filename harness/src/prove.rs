//! `peglab explain --prove`: each claim of `explain` executed on a fresh lab, judged by
//! Bitcoin Core. A steal: the coalition's spend is accepted, and one signer fewer is refused
//! (in Core's words); for a key that stands for a group only the on-chain half can be shown
//! (a spend without the group's signature is refused), the threshold itself being an
//! off-chain fact. An exit: refused one block early, accepted at its delay.

use std::path::Path;

use bitcoin::{Amount, OutPoint, ScriptBuf, TxOut};
use peglab_sim::{Chain, NodeId, lock::Lock, scenario::Scenario, trust};

use crate::{Lab, LabError, LabOptions};

const NODE: NodeId = NodeId::FIRST;
const VALUE: Amount = Amount::from_sat(100_000);
/// Locks whose delays are longer are not mined through (Babylon mainnet's 64,000 is).
const MAX_BLOCKS: u32 = 70_000;

/// One proven (or not provable) claim, in words.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Proof {
    /// The peg.
    pub peg: String,
    /// The class of output.
    pub coins: String,
    /// What was claimed.
    pub claim: String,
    /// What Core said, step by step.
    pub shown: Vec<String>,
    /// Whether Core's verdicts matched the claim.
    pub held: bool,
}

fn fund(lab: &mut Lab, lock: &Lock) -> Result<(OutPoint, TxOut), LabError> {
    let tx = lab.fund_many(NODE, &[(lock.script_pubkey.clone(), VALUE)])?;
    let vout = tx.output.iter().position(|o| o.script_pubkey == lock.script_pubkey).unwrap_or(0);
    Ok((
        OutPoint::new(tx.compute_txid(), vout as u32),
        TxOut { value: VALUE, script_pubkey: lock.script_pubkey.clone() },
    ))
}

fn verdict(lab: &Lab, tx: &bitcoin::Transaction) -> Result<Result<(), String>, LabError> {
    Ok(lab.test_accept(NODE, tx)?.map_err(|r| r.reason.to_string()))
}

/// Proves every claim of every peg of `scenario` on a lab of its own.
pub fn prove(exe: &Path, scenario: &Scenario) -> Result<Vec<Proof>, LabError> {
    let mut lab = Lab::start(exe, &LabOptions::default())?;
    let users = trust::users(scenario);
    let to = ScriptBuf::new_p2wsh(&ScriptBuf::from(vec![0x51]).wscript_hash());
    let mut proofs = Vec::new();
    for (peg, lock, groups) in trust::classes_of(scenario) {
        for claim in trust::claims(&lock, &users, &groups) {
            let names: Vec<&str> = claim.signers.iter().map(String::as_str).collect();
            let blocks = lock.timelocks(claim.path).blocks_old;
            let mut proof = Proof {
                peg: peg.clone(),
                coins: lock.coins.clone(),
                claim: format!(
                    "{}: {} through `{}`",
                    claim.what,
                    names.join(" + "),
                    lock.paths[claim.path].name
                ),
                shown: Vec::new(),
                held: true,
            };
            let missing: Vec<&String> =
                claim.signers.iter().filter(|h| !lock.signers().contains(*h)).collect();
            if !missing.is_empty() || blocks > MAX_BLOCKS {
                proof.held = false;
                proof.shown.push(if missing.is_empty() {
                    format!("not run: a delay of {blocks} blocks")
                } else {
                    format!("not run: the scenario has no secret for {missing:?}")
                });
                proofs.push(proof);
                continue;
            }
            let (outpoint, prevout) = fund(&mut lab, &lock)?;
            let attempt = |signers: &std::collections::BTreeSet<String>| {
                lock.attempt(claim.path, signers, outpoint, &prevout, to.clone())
            };
            let full = attempt(&claim.signers);
            if blocks > 0 {
                lab.mine(NODE, blocks - 1, None)?;
                let early = verdict(&lab, &full)?;
                proof.held &= early.is_err();
                proof.shown.push(format!(
                    "{} block(s) after funding (one early): {}",
                    blocks - 1,
                    said(&early)
                ));
                lab.mine(NODE, 1, None)?;
            } else {
                lab.mine(NODE, 1, None)?;
                if lock.timelocks(claim.path).time.is_some() {
                    proof.shown.push("a time lock each output sets for itself: shown here past it; its early refusal is a scenario's (tbtc/refund_and_refusals.toml)".into());
                }
            }
            let on_time = verdict(&lab, &full)?;
            proof.held &= on_time.is_ok();
            proof.shown.push(format!("signed by {}: {}", names.join(" + "), said(&on_time)));
            if claim.what == "steal" {
                let mut fewer = claim.signers.clone();
                let dropped = fewer.iter().next_back().cloned().unwrap_or_default();
                fewer.remove(&dropped);
                let short = verdict(&lab, &attempt(&fewer))?;
                proof.held &= short.is_err();
                let what = if claim.aggregate {
                    format!(
                        "without {dropped}'s signature (the group's threshold is off-chain: FROST, MuSig2 or threshold ECDSA refuses below it; on chain only a missing or wrong signature shows)"
                    )
                } else {
                    format!("without {dropped}")
                };
                proof.shown.push(format!("{what}: {}", said(&short)));
            }
            proofs.push(proof);
        }
    }
    Ok(proofs)
}

fn said(verdict: &Result<(), String>) -> String {
    match verdict {
        Ok(()) => "Bitcoin Core accepts".into(),
        Err(reason) => format!("Bitcoin Core refuses: {reason}"),
    }
}
