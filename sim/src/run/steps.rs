//! Executing one step against the chain.

use bitcoin::{Amount, OutPoint, ScriptBuf, Transaction};

use super::{Outcome, Run, RunError, StepReport, TxReport};
use crate::{
    Chain, NodeId,
    scenario::{Action, Destination, Step},
};

impl<C: Chain> Run<'_, C> {
    pub(crate) fn step(&mut self, step: &Step) -> Result<StepReport, RunError<C::Error>> {
        let node = step.node;
        let mut model = Vec::new();
        let mut made: Option<(String, Transaction, Option<Amount>)> = None;
        let chain_err = RunError::Chain;
        let (action, outcome) = match &step.action {
            Action::Mine(n) => {
                self.chain.mine(node, *n, None).map_err(chain_err)?;
                (format!("mine {n} block(s) on node {}", node.0), Outcome::None)
            }
            Action::AdvanceTime(secs) => {
                self.chain.advance_time(node, *secs).map_err(chain_err)?;
                (format!("advance time by {secs} s (and mine 6 blocks)"), Outcome::None)
            }
            Action::Reorg { depth, without } => {
                let txid =
                    without.as_ref().and_then(|n| self.txs.get(n)).map(Transaction::compute_txid);
                self.chain.reorg(node, *depth, txid).map_err(chain_err)?;
                let what = without.as_ref().map(|n| format!(" without {n}")).unwrap_or_default();
                (format!("reorg the last {depth} block(s){what}"), Outcome::None)
            }
            Action::Partition(groups) => {
                self.chain.partition(groups).map_err(chain_err)?;
                let text: Vec<String> = groups
                    .iter()
                    .map(|g| {
                        format!(
                            "[{}]",
                            g.iter().map(|n| n.0.to_string()).collect::<Vec<_>>().join(", ")
                        )
                    })
                    .collect();
                (format!("partition nodes into {}", text.join(" ")), Outcome::None)
            }
            Action::Heal => {
                self.chain.heal().map_err(chain_err)?;
                ("heal the partition".to_owned(), Outcome::None)
            }
            Action::Offline(who) => {
                self.offline.extend(who.iter().cloned());
                (format!("{} go offline", who.join(", ")), Outcome::None)
            }
            Action::Online(who) => {
                for w in who {
                    self.offline.remove(w);
                }
                (format!("{} come online", who.join(", ")), Outcome::None)
            }
            Action::Pay { from, to, amount, name } => {
                let script = self.destination_script(to);
                let outcome = self.user_pays(node, from, script, *amount, name, &mut made)?;
                (format!("{from} pays {amount} to {}", describe(to)), outcome)
            }
            Action::Deposit { peg, from, amount, name } => {
                let script = self.multisigs[peg].multisig.script_pubkey();
                let outcome =
                    self.user_pays(node, from, script.clone(), *amount, name, &mut made)?;
                if let (Outcome::Accepted, Some((_, tx, _))) = (&outcome, &made) {
                    let txid = tx.compute_txid();
                    if let Some(vout) = tx.output.iter().position(|o| o.script_pubkey == script) {
                        let state = self.multisigs.get_mut(peg).expect("validated peg");
                        state.deposits.push((
                            name.clone(),
                            OutPoint::new(txid, vout as u32),
                            *amount,
                        ));
                        model.push(format!("{peg} holds deposit {name} ({amount})"));
                    }
                }
                (format!("{from} deposits {amount} into {peg}"), outcome)
            }
            Action::Spend { peg, deposit, signers, to, name } => {
                let script = self.destination_script(to);
                let outcome =
                    self.spend(node, peg, deposit, signers, script, name, &mut made, &mut model)?;
                (
                    format!(
                        "{} sign a spend of {deposit} from {peg} to {}",
                        signers.join(", "),
                        describe(to)
                    ),
                    outcome,
                )
            }
            Action::PegIn { peg, from, amount, untweaked, rsk_to, name } => {
                let rsk_to = rsk_to.as_deref();
                let outcome = self.peg_in(
                    node, peg, from, *amount, *untweaked, rsk_to, name, &mut made, &mut model,
                )?;
                let to = if *untweaked {
                    "the untweaked federation script of"
                } else {
                    "the peg-in address of"
                };
                (format!("{from} pays {amount} to {to} {peg}"), outcome)
            }
            Action::Claim { peg, deposit, by } => {
                let outcome = self.claim(node, peg, deposit, by, &mut model)?;
                (format!("{by} claims {deposit} on {peg}"), outcome)
            }
            Action::PegOut { peg, from, amount, to, name } => {
                let script = self.destination_script(to);
                let outcome =
                    self.peg_out(node, peg, from, *amount, script, name, &mut made, &mut model)?;
                (format!("{from} pegs out {amount} from {peg} to {}", describe(to)), outcome)
            }
            Action::Sweep { peg, name } => {
                let outcome = self.sweep(node, peg, name, &mut made, &mut model)?;
                (format!("the {peg} federation sweeps its outputs"), outcome)
            }
            Action::Batch { peg, name } => {
                let outcome = self.batch(node, peg, name, &mut made, &mut model)?;
                (format!("the {peg} federation releases its queued peg-outs"), outcome)
            }
            Action::Recover { peg, signers, to, name }
            | Action::Steal { peg, signers, to, name } => {
                let emergency = matches!(step.action, Action::Recover { .. });
                let script = self.destination_script(to);
                let outcome =
                    self.take(node, peg, signers, script, name, emergency, &mut made, &mut model)?;
                let what =
                    if emergency { "recover the oldest output of" } else { "move every output of" };
                (format!("{} {what} {peg} to {}", signers.join(", "), describe(to)), outcome)
            }
            Action::Delegate { peg, amount, name } => {
                let outcome = self.delegate(node, peg, *amount, name, &mut made, &mut model)?;
                (format!("the staker delegates {amount} on {peg}"), outcome)
            }
            Action::Withdraw { peg, delegation, to, name } => {
                let script = self.destination_script(to);
                let outcome = self.withdraw(node, peg, delegation, script, name, &mut made)?;
                (
                    format!(
                        "the staker withdraws {delegation} through its timelock to {}",
                        describe(to)
                    ),
                    outcome,
                )
            }
            Action::Unbond { peg, delegation, covenant, name } => {
                let outcome =
                    self.unbond(node, peg, delegation, covenant, name, &mut made, &mut model)?;
                (format!("the staker and {} unbond {delegation}", covenant.join(", ")), outcome)
            }
            Action::Vote { peg, provider, height, block } => {
                let outcome = self.vote(peg, provider, *height, block, &mut model);
                (format!("{provider} votes for block {block} at height {height}"), outcome)
            }
            Action::Slash { peg, delegation, name } => {
                let outcome = self.slash(node, peg, delegation, name, &mut made, &mut model)?;
                (format!("anyone slashes {delegation} on {peg}"), outcome)
            }
            Action::Stake { peg, from, amount, lock, name } => {
                let outcome =
                    self.stake(node, peg, from, *amount, *lock, name, &mut made, &mut model)?;
                (format!("{from} stakes {amount} with {peg} for {lock} s"), outcome)
            }
            Action::Unstake { peg, stake, to, name } => {
                let script = self.destination_script(to);
                let outcome = self.unstake(node, peg, stake, script, name, &mut made)?;
                (format!("{stake} is unlocked to {}", describe(to)), outcome)
            }
            Action::RelayHeaders { peg, headers } => {
                let outcome = self.relay_headers(peg, headers, &mut model);
                (format!("{} mainnet header(s) submitted to {peg}", headers.len()), outcome)
            }
            Action::SubmitHeaders { peg } => {
                let outcome = self.submit_headers(node, peg, &mut model)?;
                (
                    format!("the relayer submits node {}'s best chain to {peg}'s relay", node.0),
                    outcome,
                )
            }
            Action::Issue { peg, from, amount, name } => {
                let outcome = self.issue(node, peg, from, *amount, name, &mut made)?;
                (format!("{from} pays {amount} to {peg}'s vault to issue tokens"), outcome)
            }
            Action::ExecuteIssue { peg, deposit } => {
                let outcome = self.execute_issue(node, peg, deposit, &mut model)?;
                (format!("{deposit} is proven to {peg}'s relay"), outcome)
            }
            Action::Redeem { peg, from, amount, name } => {
                let outcome = self.redeem(node, peg, from, *amount, name, &mut model)?;
                (format!("{from} redeems {amount} from {peg} ({name})"), outcome)
            }
            Action::VaultPays { peg, request, name } => {
                let outcome = self.vault_pays(node, peg, request, name, &mut made)?;
                (format!("{peg}'s vault pays {request}"), outcome)
            }
            Action::ExecuteRedeem { peg, request } => {
                let outcome = self.execute_redeem(node, peg, request, &mut model)?;
                (format!("the vault's payment of {request} is proven to {peg}'s relay"), outcome)
            }
            Action::CancelRedeem { peg, request } => {
                let outcome = self.cancel_redeem(peg, request, &mut model)?;
                (format!("{request} is cancelled on {peg}"), outcome)
            }
            Action::Check => ("check".to_owned(), Outcome::None),
        };
        if matches!(step.action, Action::Reorg { .. } | Action::Heal | Action::Partition(_)) {
            self.check_claims(node, &mut model)?;
        }
        let core = match &outcome {
            // Claims and proofs happen on the other chain: Bitcoin Core has no say in them.
            _ if step.action.tx_name().is_none() => None,
            Outcome::Accepted => Some("accepted".to_owned()),
            Outcome::Rejected(r) => Some(r.message.clone()),
            Outcome::None | Outcome::Stalled { .. } | Outcome::ModelRejected { .. } => None,
        };
        match &outcome {
            Outcome::Stalled { why, .. } => model.push(format!("stalled: {why}")),
            Outcome::ModelRejected { code, why } => model.push(format!("refused ({code}): {why}")),
            _ => {}
        }
        let transactions = made
            .iter()
            .map(|(name, tx, fee)| TxReport {
                name: name.clone(),
                txid: tx.compute_txid().to_string(),
                vsize: tx.vsize() as u64,
                fee_sat: fee.map(Amount::to_sat),
            })
            .collect();
        let expectations = self.check(step, &outcome)?;
        Ok(StepReport {
            index: step.index,
            line: step.line,
            action,
            note: step.note.clone(),
            transactions,
            core,
            model,
            passed: expectations.iter().all(|e| e.held),
            expectations,
        })
    }

    pub(crate) fn destination_script(&mut self, to: &Destination) -> ScriptBuf {
        match to {
            Destination::Address(a) => a.script_pubkey(),
            Destination::Actor(name) => match self.wallets.get_mut(name) {
                Some(wallet) => wallet.next_script(),
                None => {
                    let pk = self.signers[name].0;
                    ScriptBuf::new_p2wpkh(&pk.wpubkey_hash().expect("signer keys are compressed"))
                }
            },
        }
    }

    /// A user's wallet builds, signs and broadcasts a payment.
    pub(crate) fn user_pays(
        &mut self,
        node: NodeId,
        from: &str,
        script: ScriptBuf,
        amount: Amount,
        name: &str,
        made: &mut Option<(String, Transaction, Option<Amount>)>,
    ) -> Result<Outcome, RunError<C::Error>> {
        self.user_pays_with(node, from, script, amount, None, name, made)
    }

    /// A payment that also carries an OP_RETURN output with `data`.
    #[expect(clippy::too_many_arguments, reason = "one step's parts")]
    pub(crate) fn user_pays_with(
        &mut self,
        node: NodeId,
        from: &str,
        script: ScriptBuf,
        amount: Amount,
        data: Option<Vec<u8>>,
        name: &str,
        made: &mut Option<(String, Transaction, Option<Amount>)>,
    ) -> Result<Outcome, RunError<C::Error>> {
        let wallet = self.wallets.get_mut(from).expect("validated user");
        wallet.sync(&*self.chain, node)?;
        let tx = match wallet.pay(script, amount, data) {
            Ok(tx) => tx,
            Err(why) => return Ok(Outcome::Stalled { code: "insufficient-funds", why }),
        };
        let fee = self.fee_of(&tx);
        *made = Some((name.to_owned(), tx.clone(), fee));
        self.broadcast(node, name, tx)
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one call site; the arguments are the step's fields"
    )]
    fn spend(
        &mut self,
        node: NodeId,
        peg: &str,
        deposit: &str,
        signers: &[String],
        to: ScriptBuf,
        name: &str,
        made: &mut Option<(String, Transaction, Option<Amount>)>,
        model: &mut Vec<String>,
    ) -> Result<Outcome, RunError<C::Error>> {
        let state = &self.multisigs[peg];
        let Some((_, outpoint, value)) =
            state.deposits.iter().find(|(n, _, _)| n == deposit).cloned()
        else {
            return Ok(Outcome::Stalled {
                code: "no-deposit",
                why: format!("{peg} holds no deposit {deposit}"),
            });
        };
        let (mut keys, mut unable) = (Vec::new(), Vec::new());
        for s in signers {
            match (&self.signers[s].1, self.offline.contains(s)) {
                (Some(sk), false) => keys.push(*sk),
                (_, true) => unable.push(format!("{s} is offline")),
                (None, false) => unable.push(format!("{s} has no secret key in the scenario")),
            }
        }
        let threshold = state.multisig.threshold;
        if !unable.is_empty() && keys.len() < threshold {
            return Ok(Outcome::Stalled {
                code: "quorum",
                why: format!(
                    "{threshold} signatures needed, {} available ({})",
                    keys.len(),
                    unable.join(", ")
                ),
            });
        }
        let tx = state.multisig.spend(&self.secp, outpoint, value, to, &keys);
        model.push(format!(
            "{} of {} signature(s) on a {threshold}-of-{} script",
            keys.len(),
            signers.len(),
            state.signers.len()
        ));
        let fee = value.checked_sub(tx.output.iter().map(|o| o.value).sum());
        *made = Some((name.to_owned(), tx.clone(), fee));
        let outcome = self.broadcast(node, name, tx)?;
        if matches!(outcome, Outcome::Accepted) {
            let state = self.multisigs.get_mut(peg).expect("validated peg");
            state.deposits.retain(|(n, _, _)| n != deposit);
            model.push(format!("{peg} no longer holds {deposit}"));
        }
        Ok(outcome)
    }

    pub(crate) fn broadcast(
        &mut self,
        node: NodeId,
        name: &str,
        tx: Transaction,
    ) -> Result<Outcome, RunError<C::Error>> {
        let verdict = self.chain.broadcast(node, &tx).map_err(RunError::Chain)?;
        self.txs.insert(name.to_owned(), tx.clone());
        Ok(match verdict {
            Ok(_) => {
                self.seen += 1;
                for wallet in self.wallets.values_mut() {
                    wallet.saw(&tx, self.seen);
                }
                Outcome::Accepted
            }
            Err(rejection) => Outcome::Rejected(rejection),
        })
    }

    /// The fee of a transaction whose inputs are known named transactions or chain outputs.
    fn fee_of(&self, tx: &Transaction) -> Option<Amount> {
        let mut input = Amount::ZERO;
        for i in &tx.input {
            let prev =
                self.chain.transaction(NodeId::FIRST, i.previous_output.txid).ok().flatten()?;
            input += prev.output.get(i.previous_output.vout as usize)?.value;
        }
        input.checked_sub(tx.output.iter().map(|o| o.value).sum())
    }
}

fn describe(to: &Destination) -> String {
    match to {
        Destination::Actor(name) => name.clone(),
        Destination::Address(a) => a.to_string(),
    }
}
