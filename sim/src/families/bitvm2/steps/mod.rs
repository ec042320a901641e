//! A BitVM2 peg on the chain: the operator's round and the fee and crowdfunding coins at
//! start, then each step finishes one transaction of the graph (its presigned signatures, the
//! live ones, the WOTS commitments read back from the chain) and submits it: `finish.rs` the
//! graph's transactions, `users.rs` the deposit, the payout and key-path spends,
//! `wots_vector.rs` BitVM's vectors on regtest.

mod finish;
mod users;
mod wots_vector;

use std::sync::Arc;

use bitcoin::{
    Amount, OutPoint, ScriptBuf, Transaction, TxOut, Witness,
    hashes::{Hash, hash160, sha256},
    secp256k1::SecretKey,
    sighash::TapSighashType,
    taproot::TaprootSpendInfo,
};

use super::{
    Preset, Spec,
    graph::{self, Built, Graph, Terms},
    musig::Committee,
    presign::{self, Presigned},
    script::{self, STATE},
    verbs::{Step, Tx},
    watchtower::Watchtower,
    wots,
};
use crate::{
    families::truc::{
        Via,
        steps::{anyone, mine_direct, op_true, p2a},
    },
    family::{PegRun, StepArgs},
    run::{Cx, Event, MadeTx, Outcome, RunError, StepResult, stalled},
};

/// Fee coins for CPFP children, and what each holds.
const FEE_COINS: usize = 12;
const FEE_COIN: Amount = Amount::from_sat(1_000_000);
/// What a child pays for its package.
const CHILD_FEE: Amount = Amount::from_sat(5_000);
/// Crowdfunding coins for challenges.
const CROWD_COINS: usize = 2;
/// What the operator's fronting coin holds beyond a payout (its fee and change).
const FRONTING_MARGIN: Amount = Amount::from_sat(1_000_000);
/// The user's withdrawal UTXO (a P2TR output's dust limit).
const WITHDRAWAL_UTXO: Amount = Amount::from_sat(330);

/// The deposit and its presigned graph.
struct Deposit {
    user: String,
    info: TaprootSpendInfo,
    out: (OutPoint, TxOut),
    graph: Arc<Graph>,
    /// None when a verifier was offline: MuSig2 n-of-n needs every one of them.
    presigned: Option<Arc<Presigned>>,
}

/// A BitVM2 peg's running state.
pub(super) struct State {
    peg: String,
    preset: Preset,
    terms: Arc<Terms>,
    committee: Committee,
    operator: String,
    operator_secret: SecretKey,
    verifiers: Vec<String>,
    /// The watchtowers' names, and the operator's preimage for each.
    watchtowers: Vec<String>,
    preimages: Vec<[u8; 20]>,
    council: Vec<String>,
    bridge_amount: Amount,
    challenge_amount: Amount,
    wots_secrets: Vec<Vec<u8>>,
    vault: TaprootSpendInfo,
    operator_spk: ScriptBuf,
    coins: Vec<(OutPoint, TxOut)>,
    crowd: Vec<(OutPoint, TxOut)>,
    collateral: (OutPoint, TxOut),
    kickoff_connector: (OutPoint, TxOut),
    /// The operator's coin for fronting a payout (until it does).
    fronting: Option<(OutPoint, TxOut)>,
    deposit: Option<Deposit>,
}

fn outpoints(tx: &Transaction, script: &ScriptBuf) -> Vec<(OutPoint, TxOut)> {
    outputs_where(tx, |o| &o.script_pubkey == script)
}

fn outputs_where(tx: &Transaction, keep: impl Fn(&TxOut) -> bool) -> Vec<(OutPoint, TxOut)> {
    let txid = tx.compute_txid();
    (tx.output.iter().enumerate())
        .filter(|(_, o)| keep(o))
        .map(|(vout, o)| (OutPoint::new(txid, vout as u32), o.clone()))
        .collect()
}

impl State {
    pub(super) fn start(spec: &Spec, peg: &str, cx: &mut Cx<'_>) -> Result<Self, RunError> {
        let committee = spec.committee(cx.keys);
        let operator_secret =
            cx.keys.secret(&spec.operator).expect("validation keeps the operator able to sign");
        let operator = cx.keys.x_only(&spec.operator);
        let wots_secrets: Vec<Vec<u8>> = (1..=spec.program.constants.len())
            .map(|j| {
                let label = format!("peglab/bitvm2/wots/{}/{peg}/{j}", cx.keys.seed());
                sha256::Hash::hash(label.as_bytes()).to_byte_array()[..20].to_vec()
            })
            .collect();
        let wots = wots_secrets.iter().map(|s| wots::public_key(STATE, s)).collect();
        // The operator's preimage for each watchtower, revealed to acknowledge its challenge.
        let preimages: Vec<[u8; 20]> = (0..spec.watchtowers.len())
            .map(|w| {
                let label = format!("peglab/bitvm2/preimage/{}/{peg}/{w}", cx.keys.seed());
                let digest = sha256::Hash::hash(label.as_bytes()).to_byte_array();
                digest[..20].try_into().expect("20 bytes")
            })
            .collect();
        let disprove_internal = match spec.preset {
            Preset::Clementine => script::nums(),
            Preset::BitvmBridge => operator,
        };
        let terms = Terms {
            nofn: committee.key(),
            operator,
            council_threshold: spec.council_threshold,
            council: spec.council_keys(cx.keys),
            timeouts: spec.timeouts,
            connectors: spec.connectors,
            program: spec.program.clone(),
            wots,
            disprove_internal,
            watchtowers: preimages
                .iter()
                .zip(&spec.watchtowers)
                .map(|(preimage, w)| Watchtower {
                    key: cx.keys.x_only(w),
                    hash: hash160::Hash::hash(preimage).to_byte_array(),
                })
                .collect(),
        };
        let vault = graph::vault_info(
            cx.secp,
            spec.vault_internal(terms.nofn),
            terms.nofn,
            terms.council_threshold,
            &terms.council,
        );
        let operator_spk = graph::spk(&graph::key_only(cx.secp, operator));
        // The operator's round (its collateral and kickoff connector) and the coin it fronts
        // payouts from, fee coins for CPFP children and the crowd's coins for a challenge: one
        // funding transaction (outputs in this order), mined.
        let crowd_value = spec.challenge_amount + Amount::from_sat(1_000_000);
        let connector_spk = graph::spk(&terms.kickoff_connector(cx.secp));
        let mut outputs = vec![
            (operator_spk.clone(), spec.collateral),
            (connector_spk, terms.kickoff_connector_value()),
            (operator_spk.clone(), spec.bridge_amount + FRONTING_MARGIN),
        ];
        outputs.extend(std::iter::repeat_n((anyone(), FEE_COIN), FEE_COINS));
        // The crowd's coins: anyone-can-spend too (a challenge is crowdfunded: whose coins
        // they are does not matter to the graph), told apart by their value.
        outputs.extend(std::iter::repeat_n((anyone(), crowd_value), CROWD_COINS));
        let round = cx.chain.fund_many(cx.node, &outputs)?;
        cx.txs.insert(format!("{peg}:round"), round.clone());
        cx.chain.mine(cx.node, 1, None)?;
        let output = |vout: u32| {
            (OutPoint::new(round.compute_txid(), vout), round.output[vout as usize].clone())
        };
        let (collateral, kickoff_connector, fronting) = (output(0), output(1), output(2));
        Ok(Self {
            peg: peg.to_owned(),
            preset: spec.preset,
            terms: Arc::new(terms),
            committee,
            operator: spec.operator.clone(),
            operator_secret,
            verifiers: spec.verifiers.clone(),
            watchtowers: spec.watchtowers.clone(),
            preimages,
            council: spec.council.clone(),
            bridge_amount: spec.bridge_amount,
            challenge_amount: spec.challenge_amount,
            wots_secrets,
            vault,
            operator_spk,
            coins: outputs_where(&round, |o| o.script_pubkey == anyone() && o.value == FEE_COIN),
            crowd: outputs_where(&round, |o| o.script_pubkey == anyone() && o.value == crowd_value),
            collateral,
            kickoff_connector,
            fronting: Some(fronting),
            deposit: None,
        })
    }

    /// The operator's key, unless it is offline.
    fn operator_online(&self, cx: &Cx<'_>) -> Result<(), Outcome> {
        match cx.signer(&self.operator) {
            Ok(_) => Ok(()),
            Err(why) => Err(stalled("operator-offline", why.to_string())),
        }
    }

    fn op_sig(
        &self,
        cx: &Cx<'_>,
        built: &Built,
        index: usize,
        leaf: Option<&ScriptBuf>,
    ) -> Vec<u8> {
        presign::single_sig(
            cx.secp,
            &self.operator_secret,
            built,
            index,
            leaf,
            TapSighashType::Default,
        )
    }

    /// Submits `built` (named `name`): alone when it pays its way, else as a package with a
    /// CPFP child spending its anchor; or straight into a block (`mine_direct`).
    fn submit(
        &mut self,
        cx: &mut Cx<'_>,
        name: &str,
        built: &Built,
        via: Via,
        result: &mut StepResult,
    ) -> Result<Outcome, RunError> {
        let tx = &built.tx;
        result.txs.push(MadeTx { name: name.to_owned(), tx: tx.clone(), fee: Some(built.fee()) });
        cx.txs.insert(name.to_owned(), tx.clone());
        if via == Via::MineDirect {
            let txs = std::slice::from_ref(tx);
            return mine_direct(cx, &self.peg, name, txs, &mut result.events);
        }
        let pays_its_way = built.fee().to_sat() >= tx.vsize() as u64;
        let anchor = outpoints(tx, &p2a()).into_iter().next();
        let (Some(anchor), false) = (anchor, pays_its_way) else {
            return cx.broadcast(name, tx);
        };
        let Some(coin) = self.coins.pop() else {
            return Ok(stalled("no-coins", "the peg's fee coins for CPFP children are used up"));
        };
        let mut child = graph::child(anchor, coin, CHILD_FEE).tx;
        child.input[1].witness = Witness::from_slice(&[op_true().to_bytes()]);
        let child_name = format!("{name}:child");
        cx.txs.insert(child_name.clone(), child.clone());
        result.txs.push(MadeTx { name: child_name, tx: child.clone(), fee: Some(CHILD_FEE) });
        let text = format!(
            "{name} pays {} for {} vB: a CPFP child pays for the package",
            built.fee(),
            tx.vsize()
        );
        result.events.push(Event::note(&self.peg, text));
        Ok(match cx.chain.submit_package(cx.node, &[tx.clone(), child])? {
            Ok(()) => Outcome::Accepted,
            Err(rejection) => Outcome::Rejected(rejection),
        })
    }

    /// The WOTS witness items the operator committed for state `j` (1..=k), read from the
    /// kickoff (`j = k`) or the assert on the chain.
    fn committed(
        &self,
        cx: &mut Cx<'_>,
        j: usize,
        graph: &Graph,
    ) -> Result<Option<Vec<Vec<u8>>>, RunError> {
        let k = self.terms.program.constants.len();
        let per = 2 * (STATE.n + STATE.m) as usize;
        let (txid, first) = if j == k {
            (graph.kickoff.tx.compute_txid(), 1)
        } else {
            (graph.assert.tx.compute_txid(), 1 + per * (j - 1))
        };
        let Some(tx) = cx.chain.transaction(cx.node, txid)? else { return Ok(None) };
        let items: Vec<Vec<u8>> = tx.input[0].witness.iter().map(<[u8]>::to_vec).collect();
        Ok(items.get(first..first + per).map(<[Vec<u8>]>::to_vec))
    }
}

impl PegRun for State {
    fn step(&mut self, args: &dyn StepArgs, cx: &mut Cx<'_>) -> Result<StepResult, RunError> {
        let step = args.as_any().downcast_ref::<Step>().expect("a bitvm2 step");
        let how = match step.via {
            Via::Broadcast => "",
            Via::MineDirect => ", mined directly",
        };
        let mut result = StepResult::new(format!("{} {}{how}", self.peg, describe(step.tx)));
        let outcome = self.run(step, cx, &mut result)?;
        Ok(result.ended(outcome))
    }

    fn measure(&self, _: &str, _: Option<&str>, _: &mut Cx<'_>) -> Result<Amount, RunError> {
        Ok(Amount::ZERO)
    }
}

fn describe(tx: Tx) -> &'static str {
    match tx {
        Tx::Deposit => "deposit (the committee presigns the graph)",
        Tx::TakeBack => "the user takes the deposit back",
        Tx::MoveToVault => "move to the vault",
        Tx::CouncilSweep => "the council moves the vault",
        Tx::Payout => "the operator fronts the payout",
        Tx::OptimisticPayout => "the committee pays the withdrawal from the vault",
        Tx::Kickoff => "kickoff",
        Tx::Challenge => "challenge",
        Tx::ChallengeTimeout => "challenge timeout",
        Tx::Assert => "assert",
        Tx::AssertTimeout => "assert timeout (collateral burned)",
        Tx::Disprove => "disprove",
        Tx::DisproveTimeout => "disprove timeout",
        Tx::ReadyToReimburse => "ready to reimburse",
        Tx::NextRound => "next round",
        Tx::KickoffNotFinalized => "kickoff not finalized (collateral burned)",
        Tx::Reimburse => "reimburse the operator",
        Tx::KeyPath => "key-path spend",
        Tx::WotsVector => "WOTS vector",
        Tx::WatchtowerChallenge => "watchtower challenge",
        Tx::WatchtowerChallengeTimeout => "watchtower challenge timeout",
        Tx::OperatorChallengeAck => "the operator acknowledges the watchtower's challenge",
        Tx::OperatorChallengeNack => "no acknowledgement (collateral burned)",
    }
}
