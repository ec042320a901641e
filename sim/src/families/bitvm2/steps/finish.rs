//! Each transaction of the graph finished: its presigned signatures, the live ones, the
//! WOTS commitments; then submitted.

use std::sync::Arc;

use bitcoin::{Sequence, TxOut, Witness, sighash::TapSighashType};

use super::super::{
    graph::{self, FEE},
    presign::{self, Presigned},
    script::{self, STATE},
    verbs::{Step, Tx},
    watchtower::WATCHTOWER_CHALLENGE_BYTES,
    wots,
};
use super::State;
use crate::tx::taproot::leaf_witness;
use crate::{
    families::truc::steps::{anyone, spend_anyone},
    run::{Cx, Event, Outcome, RunError, StepResult, keys::Purpose, stalled},
    scenario::Destination,
};

impl State {
    pub(super) fn run(
        &mut self,
        step: &Step,
        cx: &mut Cx<'_>,
        result: &mut StepResult,
    ) -> Result<Outcome, RunError> {
        match step.tx {
            Tx::Deposit => return self.deposit_step(step, cx, result),
            Tx::WotsVector => return self.wots_vector(step, cx, result),
            _ => {}
        }
        let Some(d) = self.deposit.as_ref() else {
            return Ok(stalled("no-deposit", "the peg has no deposit yet"));
        };
        // Shared, not copied: the step borrows `self` mutably to submit.
        let g = Arc::clone(&d.graph);
        let p = match (&d.presigned, step.tx) {
            (Some(p), _) => Arc::clone(p),
            // The depositor's own spends need no presignature.
            (None, Tx::TakeBack | Tx::KeyPath) => Arc::new(Presigned::default()),
            (None, _) => {
                let why = "the committee never presigned this deposit's graph (a verifier was offline at deposit)";
                return Ok(stalled("not-presigned", why));
            }
        };
        let t = Arc::clone(&self.terms);
        let s = cx.secp;
        let needs_operator = matches!(
            step.tx,
            Tx::Kickoff
                | Tx::Payout
                | Tx::ChallengeTimeout
                | Tx::Assert
                | Tx::DisproveTimeout
                | Tx::ReadyToReimburse
                | Tx::NextRound
                | Tx::Reimburse
                | Tx::OperatorChallengeAck
        );
        if needs_operator && let Err(outcome) = self.operator_online(cx) {
            return Ok(outcome);
        }
        let nofn_leaf = script::checksig(t.nofn);
        let nofn_info = t.nofn_info(s);
        let finalizer = |sig: Vec<u8>| leaf_witness(vec![sig], &nofn_leaf, &nofn_info);
        let built = match step.tx {
            Tx::Deposit | Tx::WotsVector => unreachable!("handled above"),
            Tx::TakeBack => {
                let user = d.user.clone();
                let secret = cx.keys.user_secret(Purpose::Staking, &user).expect("a user's key");
                let depositor =
                    cx.keys.user_public(Purpose::Staking, &user).inner.x_only_public_key().0;
                let leaf = script::timelock(depositor, t.timeouts.user_takes_after);
                let to = cx.script_of(&Destination::Actor(user));
                let mut b = graph::spend(
                    d.out.clone(),
                    Sequence::from_height(t.timeouts.user_takes_after),
                    vec![TxOut { value: d.out.1.value - FEE, script_pubkey: to }],
                );
                let sig =
                    presign::single_sig(s, &secret, &b, 0, Some(&leaf), TapSighashType::Default);
                b.tx.input[0].witness = leaf_witness(vec![sig], &leaf, &d.info);
                b
            }
            Tx::MoveToVault => {
                let mut b = g.move_to_vault.clone();
                let leaf = script::deposit(t.nofn, graph::evm_address(cx.keys, &d.user));
                b.tx.input[0].witness =
                    leaf_witness(vec![p.get(("move_to_vault", 0))], &leaf, &d.info);
                b
            }
            Tx::CouncilSweep => {
                let leaf = script::multisig(t.council_threshold, &t.council);
                let to = match self.council.first() {
                    Some(first) => cx.script_of(&Destination::Actor(first.clone())),
                    None => {
                        return Ok(stalled(
                            "council-cannot-sign",
                            "the council is the NUMS key: nobody can sign its leaf",
                        ));
                    }
                };
                let vault_out = g.move_to_vault.out(0);
                let mut b = graph::spend(
                    vault_out.clone(),
                    Sequence::ENABLE_RBF_NO_LOCKTIME,
                    vec![TxOut { value: vault_out.1.value - FEE, script_pubkey: to }],
                );
                let mut sigs = Vec::new();
                for name in self.council.iter().rev() {
                    let sig = match cx.signer(name) {
                        Ok(_)
                            if sigs.iter().filter(|s: &&Vec<u8>| !s.is_empty()).count()
                                < t.council_threshold =>
                        {
                            let secret = cx.keys.secret(name).expect("a signer's key");
                            presign::single_sig(
                                s,
                                &secret,
                                &b,
                                0,
                                Some(&leaf),
                                TapSighashType::Default,
                            )
                        }
                        _ => Vec::new(),
                    };
                    sigs.push(sig);
                }
                if sigs.iter().filter(|s| !s.is_empty()).count() < t.council_threshold {
                    return Ok(stalled(
                        "council-cannot-sign",
                        format!("fewer than {} council members can sign", t.council_threshold),
                    ));
                }
                b.tx.input[0].witness = leaf_witness(sigs, &leaf, &self.vault);
                b
            }
            Tx::Payout => return self.payout(step, cx, result),
            Tx::OptimisticPayout => {
                let vault = g.move_to_vault.out(0);
                return self.optimistic_payout(step, cx, result, vault);
            }
            Tx::Kickoff => {
                let k = t.program.constants.len();
                let claim = step.claim.unwrap_or(t.program.trace()[k]);
                let mut b = g.kickoff.clone();
                let leaf = t.kickoff_leaf();
                let mut items = vec![self.op_sig(cx, &b, 0, Some(&leaf))];
                items.extend(wots::sign(STATE, &self.wots_secrets[k - 1], &claim.to_le_bytes()));
                b.tx.input[0].witness = leaf_witness(items, &leaf, &t.kickoff_connector(s));
                result.events.push(Event::note(
                    &self.peg,
                    format!("the operator claims the program's output is {claim} (WOTS-signed)"),
                ));
                b
            }
            Tx::Challenge => {
                let Some(coin) = self.crowd.pop() else {
                    return Ok(stalled("no-coins", "the crowd's coins are used up"));
                };
                let mut b = g.challenge.clone();
                let change = coin.1.value + t.connector() - self.challenge_amount - FEE;
                b.tx.input.push(spend_anyone(coin.0));
                b.tx.output.push(TxOut { value: change, script_pubkey: anyone() });
                b.prevouts.push(coin.1);
                let leaf = script::checksig(t.operator);
                b.tx.input[0].witness =
                    leaf_witness(vec![p.get(("challenge", 0))], &leaf, &t.challenge_info(s));
                b
            }
            Tx::ChallengeTimeout => {
                let mut b = g.challenge_timeout.clone();
                let leaf = script::timelock(t.operator, t.timeouts.challenge);
                let sig = self.op_sig(cx, &b, 0, Some(&leaf));
                b.tx.input[0].witness = leaf_witness(vec![sig], &leaf, &t.challenge_info(s));
                b.tx.input[1].witness = finalizer(p.get(("challenge_timeout", 1)));
                b
            }
            Tx::Assert => {
                let mut states = t.program.trace();
                if let Some(j) = step.wrong_state {
                    states[j] = states[j].wrapping_add(1);
                    result.events.push(Event::note(
                        &self.peg,
                        format!(
                            "the operator commits state {j} as {} (the program gives {})",
                            states[j],
                            t.program.trace()[j]
                        ),
                    ));
                }
                let k = t.program.constants.len();
                let mut b = g.assert.clone();
                let leaf = t.assert_leaf();
                let mut items = vec![self.op_sig(cx, &b, 0, Some(&leaf))];
                // States 1..k-1, each under its own one-time key.
                for (secret, state) in self.wots_secrets.iter().zip(&states[1..k]) {
                    items.extend(wots::sign(STATE, secret, &state.to_le_bytes()));
                }
                b.tx.input[0].witness = leaf_witness(items, &leaf, &t.assert_info(s));
                b
            }
            Tx::AssertTimeout => {
                let mut b = g.assert_timeout.clone();
                let leaf = script::timelock(t.nofn, t.timeouts.assert);
                b.tx.input[0].witness =
                    leaf_witness(vec![p.get(("assert_timeout", 0))], &leaf, &t.assert_info(s));
                b.tx.input[1].witness = finalizer(p.get(("assert_timeout", 1)));
                b.tx.input[2].witness = Witness::from_slice(&[p.get(("assert_timeout", 2))]);
                b
            }
            Tx::Disprove => {
                let i = step.leaf;
                let Some(next) = self.committed(cx, i + 1, &g)? else {
                    return Ok(stalled(
                        "not-yet",
                        format!("state {} is not committed on the chain", i + 1),
                    ));
                };
                let mut items = next;
                if i > 0 {
                    let Some(this) = self.committed(cx, i, &g)? else {
                        return Ok(stalled(
                            "not-yet",
                            format!("state {i} is not committed on the chain"),
                        ));
                    };
                    items.extend(this);
                }
                let mut b = g.disprove.clone();
                let leaf = t.program.disprove_leaf(i, &t.wots);
                b.tx.input[0].witness = leaf_witness(items, &leaf, &t.disprove_info(s));
                b.tx.input[1].witness = Witness::from_slice(&[p.get(("disprove", 1))]);
                result.events.push(Event::note(&self.peg, format!("a verifier runs disprove leaf {i}: s_{} + {} mod 2^16 against the committed s_{}", i, t.program.constants[i], i + 1)));
                b
            }
            Tx::DisproveTimeout => {
                let mut b = g.disprove_timeout.clone();
                let leaf = script::timelock(t.operator, t.timeouts.disprove);
                let sig = self.op_sig(cx, &b, 0, Some(&leaf));
                b.tx.input[0].witness = leaf_witness(vec![sig], &leaf, &t.disprove_info(s));
                b.tx.input[1].witness = finalizer(p.get(("disprove_timeout", 1)));
                b
            }
            Tx::ReadyToReimburse => {
                let mut b = g.ready_to_reimburse.clone();
                let sig = self.op_sig(cx, &b, 0, None);
                b.tx.input[0].witness = Witness::from_slice(&[sig]);
                b
            }
            Tx::NextRound => {
                let mut b = g.next_round.clone();
                let sig = self.op_sig(cx, &b, 0, None);
                b.tx.input[0].witness = Witness::from_slice(&[sig]);
                b
            }
            Tx::KickoffNotFinalized => {
                let mut b = g.kickoff_not_finalized.clone();
                b.tx.input[0].witness = finalizer(p.get(("kickoff_not_finalized", 0)));
                b.tx.input[1].witness = Witness::from_slice(&[p.get(("kickoff_not_finalized", 1))]);
                b
            }
            Tx::Reimburse => {
                let mut b = g.reimburse.clone();
                let sig = self.op_sig(cx, &b, 2, None);
                b.tx.input[0].witness =
                    leaf_witness(vec![p.get(("reimburse", 0))], &nofn_leaf, &self.vault);
                b.tx.input[1].witness = finalizer(p.get(("reimburse", 1)));
                b.tx.input[2].witness = Witness::from_slice(&[sig]);
                b
            }
            Tx::KeyPath => return self.key_path(step, cx, result),
            Tx::WatchtowerChallenge => {
                let w = step.watchtower;
                let name = &self.watchtowers[w];
                if let Err(why) = cx.signer(name) {
                    return Ok(stalled("watchtower-offline", why.to_string()));
                }
                let secret = cx.keys.secret(name).expect("validated: it can sign");
                let mut b = g.watchtowers[w].challenge.clone();
                let root = t.watchtower_challenge_info(s, w).merkle_root();
                let default = TapSighashType::Default;
                let sig = presign::key_path_sig(s, &secret, &b, 0, root, default);
                b.tx.input[0].witness = Witness::from_slice(&[sig]);
                result.events.push(Event::note(
                    &self.peg,
                    format!(
                        "{name} commits {} bytes in an OP_RETURN (Clementine's proof of the heaviest chain; standard from Bitcoin Core 30)",
                        WATCHTOWER_CHALLENGE_BYTES
                    ),
                ));
                b
            }
            Tx::WatchtowerChallengeTimeout => {
                let w = step.watchtower;
                let mut b = g.watchtowers[w].timeout.clone();
                let leaf = script::timelock(t.nofn, t.timeouts.watchtower_challenge);
                let sig = p.watchtower(w, ("watchtower_challenge_timeout", 0));
                let info = t.watchtower_challenge_info(s, w);
                b.tx.input[0].witness = leaf_witness(vec![sig], &leaf, &info);
                let [_, wait_leaf, _] = t.challenge_ack_leaves(w);
                let sig = p.watchtower(w, ("watchtower_challenge_timeout", 1));
                b.tx.input[1].witness =
                    leaf_witness(vec![sig], &wait_leaf, &t.challenge_ack_info(s, w));
                b
            }
            Tx::OperatorChallengeAck => {
                let w = step.watchtower;
                let mut b = g.watchtowers[w].ack.clone();
                let [_, _, reveal] = t.challenge_ack_leaves(w);
                let sig = self.op_sig(cx, &b, 0, Some(&reveal));
                let items = vec![sig, self.preimages[w].to_vec()];
                b.tx.input[0].witness = leaf_witness(items, &reveal, &t.challenge_ack_info(s, w));
                b
            }
            Tx::OperatorChallengeNack => {
                let w = step.watchtower;
                let mut b = g.watchtowers[w].nack.clone();
                let [nack_leaf, _, _] = t.challenge_ack_leaves(w);
                let sig = p.watchtower(w, ("operator_challenge_nack", 0));
                b.tx.input[0].witness =
                    leaf_witness(vec![sig], &nack_leaf, &t.challenge_ack_info(s, w));
                b.tx.input[1].witness = finalizer(p.watchtower(w, ("operator_challenge_nack", 1)));
                let collateral = p.watchtower(w, ("operator_challenge_nack", 2));
                b.tx.input[2].witness = Witness::from_slice(&[collateral]);
                b
            }
        };
        self.submit(cx, &step.name, &built, step.via, result)
    }
}
