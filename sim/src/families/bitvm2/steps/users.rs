//! What happens outside the presigned graph: the deposit, the payouts (the operator fronting
//! one, or the committee paying from the vault), and spends by real internal keys.

use std::sync::Arc;

use bitcoin::{OutPoint, Sequence, TxOut, Witness, sighash::TapSighashType};

use super::super::{
    Preset,
    graph::{self, Anchors, Built, FEE, Graph, vout},
    presign, script,
    verbs::{KeyPathOutput, Step},
};
use super::{Deposit, State, WITHDRAWAL_UTXO};
use crate::tx::taproot::leaf_witness;
use crate::{
    families::truc::steps::p2a,
    run::{Cx, Event, Outcome, RunError, StepResult, keys::Purpose, stalled},
    scenario::Destination,
};

impl State {
    pub(super) fn deposit_step(
        &mut self,
        step: &Step,
        cx: &mut Cx<'_>,
        result: &mut StepResult,
    ) -> Result<Outcome, RunError> {
        if self.deposit.is_some() {
            return Ok(stalled("one-deposit", "this peg runs one deposit's graph"));
        }
        let user = step.from.clone().expect("validated");
        let depositor = cx.keys.user_public(Purpose::Staking, &user).inner.x_only_public_key().0;
        let evm = graph::evm_address(cx.keys, &user);
        let internal = match self.preset {
            Preset::Clementine => script::nums(),
            Preset::BitvmBridge => depositor,
        };
        let info = graph::deposit_info(
            cx.secp,
            internal,
            self.terms.nofn,
            evm,
            depositor,
            self.terms.timeouts.user_takes_after,
        );
        let spk = graph::spk(&info);
        let paid = cx.pay(
            &user,
            vec![TxOut { value: self.bridge_amount, script_pubkey: spk.clone() }],
            &step.name,
        )?;
        result.txs.extend(paid.made.clone());
        let Some((outpoint, value)) = paid.paying(&spk) else { return Ok(paid.outcome) };
        let out = (outpoint, TxOut { value, script_pubkey: spk });
        let anchors = Anchors {
            deposit: out.clone(),
            collateral: self.collateral.clone(),
            kickoff_connector: self.kickoff_connector.clone(),
        };
        let graph = Graph::build(
            cx.secp,
            &self.terms,
            &anchors,
            &self.vault,
            &self.operator_spk,
            self.challenge_amount,
        );
        let deposit_leaf = script::deposit(self.terms.nofn, evm);
        let offline: Vec<&str> =
            self.verifiers.iter().filter(|v| cx.signer(v).is_err()).map(String::as_str).collect();
        let presigned = if offline.is_empty() {
            let presigned = presign::presign(
                cx.secp,
                &self.committee,
                &self.operator_secret,
                &self.terms,
                &graph,
                &deposit_leaf,
            );
            result.events.push(Event::note(
                &self.peg,
                format!(
                    "the committee ({} verifiers) presigned the graph: {} MuSig2 sessions (BIP-327), n-of-n; the operator presigned its challenge output (SINGLE|ANYONECANPAY) and the collateral's burns",
                    self.committee.size(),
                    presigned.sessions
                ),
            ));
            Some(Arc::new(presigned))
        } else {
            let text = format!(
                "the committee cannot presign: {} offline, and MuSig2 n-of-n needs every verifier; the deposit stays where it is until the user takes it back",
                offline.join(", ")
            );
            result.events.push(Event::note(&self.peg, text));
            None
        };
        result.events.push(Event::Deposited {
            peg: self.peg.clone(),
            name: step.name.clone(),
            amount: value,
        });
        self.deposit = Some(Deposit { user, info, out, graph: Arc::new(graph), presigned });
        Ok(paid.outcome)
    }

    /// The operator fronts a withdrawal (Clementine `operator.rs`): the user made a small
    /// withdrawal UTXO and signed it with SIGHASH_SINGLE|ANYONECANPAY over the payout output,
    /// so any operator can complete the transaction with its own coin and change.
    pub(super) fn payout(
        &mut self,
        step: &Step,
        cx: &mut Cx<'_>,
        result: &mut StepResult,
    ) -> Result<Outcome, RunError> {
        let Some(fronting) = self.fronting.clone() else {
            return Ok(stalled("one-deposit", "the operator already fronted this peg's payout"));
        };
        let user = step.from.clone().expect("validated");
        let utxo = match self.withdrawal_utxo(cx, &user, &step.name, result)? {
            Ok(utxo) => utxo,
            Err(outcome) => return Ok(outcome),
        };
        let to = cx.script_of(&Destination::Actor(user.clone()));
        let payout = TxOut { value: self.bridge_amount, script_pubkey: to };
        let anchor = TxOut { value: graph::ANCHOR, script_pubkey: p2a() };
        let change = fronting.1.value + WITHDRAWAL_UTXO - payout.value - anchor.value - FEE;
        let change = TxOut { value: change, script_pubkey: self.operator_spk.clone() };
        let marker = graph::op_return(&self.terms.operator.serialize());
        let dft = Sequence::ENABLE_RBF_NO_LOCKTIME;
        let mut b = Built::new(
            3,
            vec![(utxo.0, dft, utxo.1), (fronting.0, dft, fronting.1)],
            vec![payout, change, anchor, marker],
        );
        b.tx.input[0].witness = Witness::from_slice(&[user_sig(cx, &user, &b)]);
        let single_sig = self.op_sig(cx, &b, 1, None);
        b.tx.input[1].witness = Witness::from_slice(&[single_sig]);
        let outcome = self.submit(cx, &step.name, &b, step.via, result)?;
        if matches!(outcome, Outcome::Accepted) {
            self.fronting = None;
            let amount = self.bridge_amount;
            result.events.push(Event::PaidOut { peg: self.peg.clone(), to: user, amount });
        }
        Ok(outcome)
    }

    /// The cooperative withdrawal (Clementine's OptimisticPayout): the user's withdrawal UTXO,
    /// signed SINGLE|ANYONECANPAY over its payout, and the vault, signed now by the whole
    /// committee: no operator, no kickoff, but every verifier online.
    pub(super) fn optimistic_payout(
        &mut self,
        step: &Step,
        cx: &mut Cx<'_>,
        result: &mut StepResult,
        vault: (OutPoint, TxOut),
    ) -> Result<Outcome, RunError> {
        let offline: Vec<&str> =
            self.verifiers.iter().filter(|v| cx.signer(v).is_err()).map(String::as_str).collect();
        if !offline.is_empty() {
            let why = format!(
                "{} offline: a live MuSig2 n-of-n signature needs every verifier",
                offline.join(", ")
            );
            return Ok(stalled("verifier-offline", why));
        }
        let user = step.from.clone().expect("validated");
        let utxo = match self.withdrawal_utxo(cx, &user, &step.name, result)? {
            Ok(utxo) => utxo,
            Err(outcome) => return Ok(outcome),
        };
        let to = cx.script_of(&Destination::Actor(user.clone()));
        let anchor = TxOut { value: graph::ANCHOR, script_pubkey: p2a() };
        let amount = vault.1.value + WITHDRAWAL_UTXO - anchor.value - FEE;
        let payout = TxOut { value: amount, script_pubkey: to };
        let dft = Sequence::ENABLE_RBF_NO_LOCKTIME;
        let mut b = Built::new(
            3,
            vec![(utxo.0, dft, utxo.1), (vault.0, dft, vault.1)],
            vec![payout, anchor],
        );
        b.tx.input[0].witness = Witness::from_slice(&[user_sig(cx, &user, &b)]);
        let leaf = script::checksig(self.terms.nofn);
        let digest = b.sighash(1, Some(&leaf), TapSighashType::Default);
        let signature = self.committee.sign(digest).as_ref().to_vec();
        b.tx.input[1].witness = leaf_witness(vec![signature], &leaf, &self.vault);
        result.events.push(Event::note(
            &self.peg,
            format!("the committee signs the vault's leaf now: one MuSig2 session among all {} verifiers", self.verifiers.len()),
        ));
        let outcome = self.submit(cx, &step.name, &b, step.via, result)?;
        if matches!(outcome, Outcome::Accepted) {
            result.events.push(Event::PaidOut { peg: self.peg.clone(), to: user, amount });
        }
        Ok(outcome)
    }

    /// The user's withdrawal UTXO (330 sat to its own key path), mined; or how paying it
    /// ended.
    fn withdrawal_utxo(
        &mut self,
        cx: &mut Cx<'_>,
        user: &str,
        name: &str,
        result: &mut StepResult,
    ) -> Result<Result<(OutPoint, TxOut), Outcome>, RunError> {
        let user_key = cx.keys.user_public(Purpose::Staking, user).inner.x_only_public_key().0;
        let withdrawal = graph::spk(&graph::key_only(cx.secp, user_key));
        let utxo = TxOut { value: WITHDRAWAL_UTXO, script_pubkey: withdrawal.clone() };
        let paid = cx.pay(user, vec![utxo.clone()], &format!("{name}:utxo"))?;
        result.txs.extend(paid.made.clone());
        let Some((at, _)) = paid.paying(&withdrawal) else { return Ok(Err(paid.outcome)) };
        cx.chain.mine(cx.node, 1, None)?;
        Ok(Ok((at, utxo)))
    }

    /// The internal key's holder spends an output by key path (the reference bridge's real
    /// internal keys); under NUMS nobody can.
    pub(super) fn key_path(
        &mut self,
        step: &Step,
        cx: &mut Cx<'_>,
        result: &mut StepResult,
    ) -> Result<Outcome, RunError> {
        let d = self.deposit.as_ref().expect("checked by run");
        if self.preset == Preset::Clementine {
            return Ok(stalled(
                "nums-key-path",
                "the output's internal key is the NUMS point (Clementine's UNSPENDABLE_XONLY_PUBKEY): nobody holds it",
            ));
        }
        let (from, info, secret, outputs) = match step.output {
            KeyPathOutput::Deposit => {
                let secret = cx.keys.user_secret(Purpose::Staking, &d.user).expect("a user's key");
                let to = cx.script_of(&Destination::Actor(d.user.clone()));
                let outputs = vec![TxOut { value: d.out.1.value - FEE, script_pubkey: to }];
                (d.out.clone(), d.info.clone(), secret, outputs)
            }
            KeyPathOutput::DisproveConnector => {
                let from = d.graph.kickoff.out(vout::DISPROVE);
                let info = self.terms.disprove_info(cx.secp);
                (from, info, self.operator_secret, vec![graph::op_return(b"peglab")])
            }
        };
        let mut b = graph::spend(from, Sequence::ENABLE_RBF_NO_LOCKTIME, outputs);
        let root = info.merkle_root();
        let sig = presign::key_path_sig(cx.secp, &secret, &b, 0, root, TapSighashType::Default);
        b.tx.input[0].witness = Witness::from_slice(&[sig]);
        self.submit(cx, &step.name, &b, step.via, result)
    }
}

/// The user's SIGHASH_SINGLE|ANYONECANPAY signature of input 0 (its withdrawal UTXO, key
/// path): it commits to that input and output 0 only, so anyone may complete the transaction.
fn user_sig(cx: &Cx<'_>, user: &str, built: &Built) -> Vec<u8> {
    let secret = cx.keys.user_secret(Purpose::Staking, user).expect("a user's key");
    let single_acp = TapSighashType::SinglePlusAnyoneCanPay;
    presign::single_sig(cx.secp, &secret, built, 0, None, single_acp)
}
