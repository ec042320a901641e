//! Building each package shape from the lab's anyone-can-spend coins, and submitting it.

use bitcoin::{
    Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness, absolute::LockTime,
    script::PushBytesBuf, transaction::Version,
};

use super::{Package, Shape, Via};
use crate::{
    family::{PegRun, StepArgs},
    run::{Cx, Event, MadeTx, Outcome, RunError, StepResult, stalled},
};

const COIN: Amount = Amount::from_sat(1_000_000);
const COINS: usize = 16;
/// What a child pays for its package.
const CHILD_FEE: Amount = Amount::from_sat(5_000);

pub(crate) fn op_true() -> ScriptBuf {
    ScriptBuf::from(vec![0x51])
}

pub(crate) fn anyone() -> ScriptBuf {
    ScriptBuf::new_p2wsh(&op_true().wscript_hash())
}

/// The pay-to-anchor output script: `OP_1 <0x4e73>`.
pub(crate) fn p2a() -> ScriptBuf {
    ScriptBuf::from_bytes(vec![0x51, 0x02, 0x4e, 0x73])
}

fn input(previous_output: OutPoint, witness: Witness) -> TxIn {
    TxIn { previous_output, sequence: Sequence::MAX, witness, ..TxIn::default() }
}

pub(crate) fn spend_anyone(outpoint: OutPoint) -> TxIn {
    input(outpoint, Witness::from_slice(&[op_true().to_bytes()]))
}

fn tx(version: Version, input: Vec<TxIn>, output: Vec<TxOut>) -> Transaction {
    Transaction { version, lock_time: LockTime::ZERO, input, output }
}

/// Mines `txs` in a block of their own (`generateblock`: consensus only), noting in `events`
/// (about `peg`) what mempool policy says of the first: the step needed a cooperative miner.
pub(crate) fn mine_direct(
    cx: &mut Cx<'_>,
    peg: &str,
    name: &str,
    txs: &[Transaction],
    events: &mut Vec<Event>,
) -> Result<Outcome, RunError> {
    let policy = cx.chain.test_accept_many(cx.node, &txs[..1])?;
    if let Some(Err(rejection)) = policy.first() {
        let text = format!(
            "mempool policy refuses {name}: {}; a cooperative miner includes it",
            rejection.message
        );
        events.push(Event::note(peg, text));
    }
    Ok(match cx.chain.mine_block_with(cx.node, txs)? {
        Ok(hash) => {
            let text = format!("{name} mined directly in block {hash} (consensus only)");
            events.push(Event::note(peg, text));
            Outcome::Accepted
        }
        Err(rejection) => Outcome::Rejected(rejection),
    })
}

/// A TRUC lab's coins.
pub(super) struct State {
    coins: Vec<OutPoint>,
}

impl State {
    pub(super) fn start(cx: &mut Cx<'_>) -> Result<Self, RunError> {
        let outputs = vec![(anyone(), COIN); COINS];
        let funding = cx.chain.fund_many(cx.node, &outputs)?;
        let txid = funding.compute_txid();
        let coins = funding
            .output
            .iter()
            .enumerate()
            .filter(|(_, o)| o.script_pubkey == anyone())
            .map(|(vout, _)| OutPoint::new(txid, vout as u32))
            .collect();
        cx.chain.mine(cx.node, 1, None)?;
        Ok(Self { coins })
    }

    /// The transactions of a shape: a parent, and a child where the shape has one.
    fn build(&mut self, shape: Shape) -> Option<Vec<Transaction>> {
        let a = self.coins.pop()?;
        let v3 = Version(3);
        let anchor = |value| TxOut { value, script_pubkey: p2a() };
        let keep = |value| TxOut { value, script_pubkey: anyone() };
        let zero_fee_parent = tx(v3, vec![spend_anyone(a)], vec![keep(COIN), anchor(Amount::ZERO)]);
        let child_of = |parent: &Transaction, anchors: &[u32], fee_coin: OutPoint, extra: usize| {
            let mut ins: Vec<TxIn> = anchors
                .iter()
                .map(|vout| input(OutPoint::new(parent.compute_txid(), *vout), Witness::new()))
                .collect();
            ins.push(spend_anyone(fee_coin));
            let mut outs = vec![keep(COIN - CHILD_FEE)];
            // Padding outputs (OP_RETURN, 0 sat) make an oversize child.
            for _ in 0..extra {
                let data = PushBytesBuf::try_from(vec![0u8; 75]).expect("75 bytes");
                outs.push(TxOut {
                    value: Amount::ZERO,
                    script_pubkey: ScriptBuf::new_op_return(data),
                });
            }
            tx(v3, ins, outs)
        };
        Some(match shape {
            Shape::TrucAnchor => {
                let b = self.coins.pop()?;
                let child = child_of(&zero_fee_parent, &[1], b, 0);
                vec![zero_fee_parent, child]
            }
            Shape::ParentAlone => vec![zero_fee_parent],
            Shape::TwoDust => {
                let b = self.coins.pop()?;
                let parent = tx(
                    v3,
                    vec![spend_anyone(a)],
                    vec![keep(COIN), anchor(Amount::ZERO), anchor(Amount::ZERO)],
                );
                let child = child_of(&parent, &[1, 2], b, 0);
                vec![parent, child]
            }
            Shape::FeePayingDust => {
                let b = self.coins.pop()?;
                let parent = tx(
                    v3,
                    vec![spend_anyone(a)],
                    vec![keep(COIN - CHILD_FEE), anchor(Amount::ZERO)],
                );
                let child = child_of(&parent, &[1], b, 0);
                vec![parent, child]
            }
            Shape::OversizeChild => {
                let b = self.coins.pop()?;
                let child = child_of(&zero_fee_parent, &[1], b, 12);
                vec![zero_fee_parent, child]
            }
            Shape::Tiny => {
                vec![tx(Version::TWO, vec![spend_anyone(a)], vec![anchor(COIN - CHILD_FEE)])]
            }
            Shape::ZeroValueConnector => vec![tx(
                Version::TWO,
                vec![spend_anyone(a)],
                vec![keep(COIN - CHILD_FEE), keep(Amount::ZERO)],
            )],
        })
    }
}

impl PegRun for State {
    fn step(&mut self, args: &dyn StepArgs, cx: &mut Cx<'_>) -> Result<StepResult, RunError> {
        let step = args.as_any().downcast_ref::<Package>().expect("a truc step");
        let how = match step.via {
            Via::Broadcast => "through mempool policy",
            Via::MineDirect => "mined directly (a cooperative miner: consensus only)",
        };
        let what = match step.shape {
            Shape::TrucAnchor => "a 0-fee v3 parent with a P2A anchor and its CPFP child",
            Shape::ParentAlone => "a 0-fee v3 parent alone",
            Shape::TwoDust => "a v3 parent with two 0-sat anchors, and a child",
            Shape::FeePayingDust => "a fee-paying v3 parent with a 0-sat anchor, and a child",
            Shape::OversizeChild => "a 0-fee v3 parent and a child over 1,000 vB",
            Shape::Tiny => "a 64-byte transaction (one input, one P2A output)",
            Shape::ZeroValueConnector => "a transaction with a 0-sat connector output",
        };
        let mut result = StepResult::new(format!("{what}, {how}"));
        let Some(txs) = self.build(step.shape) else {
            return Ok(result.ended(stalled("no-coins", "the lab's 16 package coins are used up")));
        };
        let names: Vec<String> = (0..txs.len())
            .map(|i| if i == 0 { step.name.clone() } else { format!("{}:child", step.name) })
            .collect();
        for (name, tx) in names.iter().zip(&txs) {
            cx.txs.insert(name.clone(), tx.clone());
            result.txs.push(MadeTx { name: name.clone(), tx: tx.clone(), fee: None });
        }
        let outcome = match step.via {
            Via::Broadcast if txs.len() == 1 => cx.broadcast(&step.name, &txs[0])?,
            Via::Broadcast => match cx.chain.submit_package(cx.node, &txs)? {
                Ok(()) => Outcome::Accepted,
                Err(rejection) => Outcome::Rejected(rejection),
            },
            Via::MineDirect => mine_direct(cx, "policy", &step.name, &txs, &mut result.events)?,
        };
        Ok(result.ended(outcome))
    }

    fn measure(&self, _: &str, _: Option<&str>, _: &mut Cx<'_>) -> Result<Amount, RunError> {
        Ok(Amount::ZERO)
    }
}
