//! Federated peg steps (Liquid and Rootstock's PowPeg): peg-in, claim or registration (with
//! an SPV proof from the node), peg-out (at once, or queued and batched), sweep, emergency
//! recovery and theft by a colluding quorum.

use bitcoin::{Amount, OutPoint, ScriptBuf, Transaction, TxOut};

use super::{Outcome, Run, RunError, keys};
use crate::pegs::powpeg::rsk;
use crate::{
    Chain, NodeId, TxStatus,
    pegs::{
        federation::{FedUtxo, Federation, Signers},
        liquid::sidechain::{Evidence, PegIn, Sidechain, check_claim},
    },
};

/// A federated peg's modelled state.
#[derive(Debug)]
pub(crate) struct FederatedState {
    pub(crate) federation: Federation,
    pub(crate) sidechain: Sidechain,
    pub(crate) pegins: Vec<PegIn>,
    pub(crate) members: Vec<String>,
    /// Confirmations a peg-in needs before it can be claimed (Liquid: pegin_depth + 2).
    pub(crate) claim_depth: u32,
    /// Rootstock: registration instead of claims, peg-outs queued for a batch.
    pub(crate) powpeg: bool,
    /// PowPeg peg-out requests waiting for a batch: requester, amount, destination.
    pub(crate) queue: Vec<(String, Amount, ScriptBuf)>,
}

impl FederatedState {
    /// Liabilities minus `holdings` minus fees the federation paid, when positive.
    pub(crate) fn shortfall(&self, holdings: Amount) -> Amount {
        let covered = holdings + self.sidechain.fees_paid;
        self.sidechain.liabilities().checked_sub(covered).unwrap_or(Amount::ZERO)
    }
}

/// The transaction a step made: name, transaction, fee.
pub(crate) type Made = Option<(String, Transaction, Option<Amount>)>;

impl<C: Chain> Run<'_, C> {
    #[expect(clippy::too_many_arguments, reason = "one step's parts")]
    pub(crate) fn peg_in(
        &mut self,
        node: NodeId,
        peg: &str,
        from: &str,
        amount: Amount,
        untweaked: bool,
        rsk_to: Option<&str>,
        name: &str,
        made: &mut Made,
        model: &mut Vec<String>,
    ) -> Result<Outcome, RunError<C::Error>> {
        let claim_script = keys::claim_script(&self.secp, &self.scenario.seed, from);
        let state = &self.liquids[peg];
        let tweak = (!untweaked && !state.powpeg).then_some(claim_script.as_script());
        let script = state.federation.pegin_script_pubkey(&self.secp, tweak);
        let data = rsk_to.map(|to| rsk::pegin_instructions(&self.rsk_address(to)));
        let outcome = self.user_pays_with(node, from, script, amount, data, name, made)?;
        if let (Outcome::Accepted, Some((_, tx, _))) = (&outcome, made.as_ref()) {
            let txid = tx.compute_txid();
            let state = self.liquids.get_mut(peg).expect("validated peg");
            state.pegins.push(PegIn {
                name: name.to_owned(),
                from: from.to_owned(),
                txid,
                claim_script,
            });
            let what = match (state.powpeg, untweaked) {
                (true, _) => "the federation address",
                (false, true) => "the untweaked federation script",
                (false, false) => "its peg-in address",
            };
            let verb = if state.powpeg { "registrable" } else { "claimable" };
            model.push(format!(
                "{from} paid {amount} to {what}; {verb} after {} confirmations",
                state.claim_depth
            ));
        }
        Ok(outcome)
    }

    pub(crate) fn claim(
        &mut self,
        node: NodeId,
        peg: &str,
        deposit: &str,
        by: &str,
        model: &mut Vec<String>,
    ) -> Result<Outcome, RunError<C::Error>> {
        let refused = |code: &'static str, why: String| Ok(Outcome::ModelRejected { code, why });
        let state = &self.liquids[peg];
        // The peg-in may have paid another federation's address: the script check says so.
        let pegin =
            self.liquids.values().flat_map(|s| &s.pegins).find(|p| p.name == deposit).cloned();
        let Some(pegin) = pegin else {
            return refused("no-peg-in", format!("{deposit} was never accepted by Bitcoin Core"));
        };
        if state.sidechain.claimed.iter().any(|(n, _, _)| n == deposit) {
            return refused("already-claimed", format!("{deposit} was claimed before"));
        }
        if !state.powpeg && pegin.from != by {
            return refused(
                "claim-key",
                format!(
                    "{by} cannot sign with the claim key of {deposit}, which is {}'s",
                    pegin.from
                ),
            );
        }
        let chain_err = RunError::Chain;
        let Some(proof) = self.chain.inclusion_proof(node, pegin.txid).map_err(chain_err)? else {
            return refused(
                "insufficient-depth",
                format!("{deposit} is not confirmed on the best chain"),
            );
        };
        let TxStatus::Confirmed { block, confirmations } =
            self.chain.tx_status(node, pegin.txid).map_err(chain_err)?
        else {
            return refused(
                "insufficient-depth",
                format!("{deposit} is not confirmed on the best chain"),
            );
        };
        let tx = self
            .chain
            .transaction(node, pegin.txid)
            .map_err(chain_err)?
            .expect("a confirmed transaction");
        let best_at_height = self.chain.block_at(node, block.height).map_err(chain_err)?;
        let tweak = (!state.powpeg).then_some(pegin.claim_script.as_script());
        let expected = state.federation.pegin_script_pubkey(&self.secp, tweak);
        let required = state.claim_depth;
        let evidence = Evidence { tx: &tx, proof: &proof, best_at_height, confirmations };
        let (vout, value) = match check_claim(&evidence, &expected, required) {
            Ok(claimed) => claimed,
            Err(refusal) => return refused(refusal.code, refusal.why),
        };
        // A PowPeg credits the RSKT destination, or else the sender (`BtcLockSender`).
        let credited = if self.liquids[peg].powpeg {
            let named = rsk::destination(&tx).and_then(|address| self.rsk_owner(&address));
            named.unwrap_or_else(|| pegin.from.clone())
        } else {
            by.to_owned()
        };
        let state = self.liquids.get_mut(peg).expect("validated peg");
        let outpoint = OutPoint::new(pegin.txid, vout);
        state.sidechain.claimed.push((deposit.to_owned(), outpoint, value));
        *state.sidechain.balances.entry(credited.clone()).or_default() += value;
        state.federation.utxos.push(FedUtxo {
            source: deposit.to_owned(),
            outpoint,
            value,
            claim_script: Some(pegin.claim_script),
        });
        model.push(format!(
            "SPV proof checked: merkle branch to header {}, on the best chain with {confirmations} confirmations (needs {required}); {credited} credited {value}",
            block.hash
        ));
        Ok(Outcome::Accepted)
    }

    #[expect(clippy::too_many_arguments, reason = "one step's parts")]
    pub(crate) fn peg_out(
        &mut self,
        node: NodeId,
        peg: &str,
        from: &str,
        amount: Amount,
        to: ScriptBuf,
        name: &str,
        made: &mut Made,
        model: &mut Vec<String>,
    ) -> Result<Outcome, RunError<C::Error>> {
        let state = self.liquids.get_mut(peg).expect("validated peg");
        let balance = state.sidechain.balance(from);
        if balance < amount {
            let why = format!("{from} holds {balance} on the sidechain, less than {amount}");
            return Ok(Outcome::ModelRejected { code: "insufficient-sidechain-balance", why });
        }
        state.sidechain.balances.insert(from.to_owned(), balance - amount);
        state.sidechain.pending_pegouts += amount;
        model.push(format!("{from} burned {amount} on the sidechain"));
        if state.powpeg {
            state.queue.push((from.to_owned(), amount, to));
            model.push(format!(
                "the bridge queued the peg-out ({} waiting for the next batch)",
                state.queue.len()
            ));
            return Ok(Outcome::Accepted);
        }
        let members = match self.quorum(peg) {
            Ok(members) => members,
            Err(stall) => return Ok(stall),
        };
        let state = &self.liquids[peg];
        let Some(inputs) = select(&state.federation.utxos, amount) else {
            let why =
                format!("the federation holds {}, less than {amount}", state.federation.holdings());
            return Ok(Outcome::Stalled { code: "insufficient-federation-funds", why });
        };
        let total: Amount = inputs.iter().map(|u| u.value).sum();
        let change_script = state.federation.pegin_script_pubkey(&self.secp, None);
        let mut outputs = Vec::new();
        if total > amount {
            outputs.push(TxOut { value: total - amount, script_pubkey: change_script });
        }
        // The user's output pays the fee, as a peg-out does: it is last.
        outputs.push(TxOut { value: amount, script_pubkey: to });
        let tx = state.federation.spend(&self.secp, &inputs, outputs, &Signers::Members(&members));
        let outcome =
            self.federation_broadcast(node, peg, name, tx, &inputs, false, made, model)?;
        if matches!(outcome, Outcome::Accepted) {
            let state = self.liquids.get_mut(peg).expect("validated peg");
            state.sidechain.pending_pegouts -= amount;
            model.push(format!(
                "federation paid out {amount} (less the fee) with {} signatures",
                state.federation.threshold()
            ));
        }
        Ok(outcome)
    }

    pub(crate) fn sweep(
        &mut self,
        node: NodeId,
        peg: &str,
        name: &str,
        made: &mut Made,
        model: &mut Vec<String>,
    ) -> Result<Outcome, RunError<C::Error>> {
        let members = match self.quorum(peg) {
            Ok(members) => members,
            Err(stall) => return Ok(stall),
        };
        let state = &self.liquids[peg];
        let inputs = state.federation.utxos.clone();
        if inputs.is_empty() {
            return Ok(Outcome::Stalled {
                code: "nothing-to-sweep",
                why: "the federation holds nothing".into(),
            });
        }
        let total = inputs.iter().map(|u| u.value).sum();
        let output = TxOut {
            value: total,
            script_pubkey: state.federation.pegin_script_pubkey(&self.secp, None),
        };
        let tx =
            state.federation.spend(&self.secp, &inputs, vec![output], &Signers::Members(&members));
        let outcome = self.federation_broadcast(node, peg, name, tx, &inputs, true, made, model)?;
        if matches!(outcome, Outcome::Accepted) {
            model.push(format!(
                "federation swept {} output(s) into one: the emergency timelock starts again",
                inputs.len()
            ));
        }
        Ok(outcome)
    }

    /// Emergency recovery (`emergency`) of the oldest output, or theft (`!emergency`) of all.
    #[expect(clippy::too_many_arguments, reason = "one step's parts")]
    pub(crate) fn take(
        &mut self,
        node: NodeId,
        peg: &str,
        signers: &[String],
        to: ScriptBuf,
        name: &str,
        emergency: bool,
        made: &mut Made,
        model: &mut Vec<String>,
    ) -> Result<Outcome, RunError<C::Error>> {
        let state = &self.liquids[peg];
        let inputs: Vec<FedUtxo> = if emergency {
            state.federation.utxos.iter().take(1).cloned().collect()
        } else {
            state.federation.utxos.clone()
        };
        if inputs.is_empty() {
            return Ok(Outcome::Stalled {
                code: "nothing-to-take",
                why: "the federation holds nothing".into(),
            });
        }
        let total: Amount = inputs.iter().map(|u| u.value).sum();
        let outputs = vec![TxOut { value: total, script_pubkey: to }];
        let tx = if emergency {
            let secrets: Vec<_> = signers.iter().filter_map(|s| self.signers[s].1).collect();
            state.federation.spend(&self.secp, &inputs, outputs, &Signers::Emergency(&secrets))
        } else {
            let members: Vec<_> = signers
                .iter()
                .filter_map(|s| self.signers[s].1.map(|sk| (self.signers[s].0, sk)))
                .collect();
            state.federation.spend(&self.secp, &inputs, outputs, &Signers::Members(&members))
        };
        let outcome =
            self.federation_broadcast(node, peg, name, tx, &inputs, false, made, model)?;
        if matches!(outcome, Outcome::Accepted) {
            let holdings = self.liquid_holdings(node, peg)?;
            let state = &self.liquids[peg];
            let who = if emergency { "the emergency keys" } else { "colluding members" };
            model.push(format!(
                "{who} moved {total} out of the federation with no burn behind it: the sidechain owes {}, the federation holds {holdings}; short by {}",
                state.sidechain.liabilities(),
                state.shortfall(holdings)
            ));
        }
        Ok(outcome)
    }

    /// PowPeg: one Bitcoin transaction paying every queued peg-out, signed by a majority.
    pub(crate) fn batch(
        &mut self,
        node: NodeId,
        peg: &str,
        name: &str,
        made: &mut Made,
        model: &mut Vec<String>,
    ) -> Result<Outcome, RunError<C::Error>> {
        let members = match self.quorum(peg) {
            Ok(members) => members,
            Err(stall) => return Ok(stall),
        };
        let state = &self.liquids[peg];
        let threshold = state.federation.threshold();
        if state.queue.is_empty() {
            return Ok(Outcome::Stalled {
                code: "nothing-queued",
                why: "no peg-out is waiting".into(),
            });
        }
        let total: Amount = state.queue.iter().map(|(_, a, _)| *a).sum();
        let Some(inputs) = select(&state.federation.utxos, total) else {
            let why =
                format!("the federation holds {}, less than {total}", state.federation.holdings());
            return Ok(Outcome::Stalled { code: "insufficient-federation-funds", why });
        };
        let held: Amount = inputs.iter().map(|u| u.value).sum();
        let mut outputs = Vec::new();
        if held > total {
            outputs.push(TxOut {
                value: held - total,
                script_pubkey: state.federation.pegin_script_pubkey(&self.secp, None),
            });
        }
        // The last request's output pays the fee (rskj spreads it over the batch).
        outputs.extend(
            state.queue.iter().map(|(_, a, to)| TxOut { value: *a, script_pubkey: to.clone() }),
        );
        let tx = state.federation.spend(&self.secp, &inputs, outputs, &Signers::Members(&members));
        let requests = state.queue.len();
        let outcome =
            self.federation_broadcast(node, peg, name, tx, &inputs, false, made, model)?;
        if matches!(outcome, Outcome::Accepted) {
            let state = self.liquids.get_mut(peg).expect("validated peg");
            state.sidechain.pending_pegouts -= total;
            state.queue.clear();
            model.push(format!("{requests} peg-out request(s) paid in one transaction, signed by {threshold} members"));
        }
        Ok(outcome)
    }

    /// A user's Rootstock address.
    fn rsk_address(&self, user: &str) -> [u8; 20] {
        rsk::address(&self.secp, &keys::sidechain_key(&self.scenario.seed, user))
    }

    /// The user whose Rootstock address this is.
    fn rsk_owner(&self, address: &[u8; 20]) -> Option<String> {
        self.wallets.keys().find(|u| self.rsk_address(u) == *address).cloned()
    }

    /// What the federation holds as `node` sees it: a claimed peg-in backs L-BTC only while it
    /// is confirmed on the best chain; the federation's own outputs count from the mempool on.
    pub(crate) fn liquid_holdings(
        &self,
        node: NodeId,
        peg: &str,
    ) -> Result<Amount, RunError<C::Error>> {
        let mut total = Amount::ZERO;
        for utxo in &self.liquids[peg].federation.utxos {
            let status = self.chain.tx_status(node, utxo.outpoint.txid).map_err(RunError::Chain)?;
            let counts = match status {
                TxStatus::Confirmed { .. } => true,
                TxStatus::InMempool => utxo.claim_script.is_none(),
                TxStatus::Unknown => false,
            };
            if counts {
                total += utxo.value;
            }
        }
        Ok(total)
    }

    /// After the chain changed under it: says which claimed peg-ins left the best chain.
    pub(crate) fn check_claims(
        &self,
        node: NodeId,
        model: &mut Vec<String>,
    ) -> Result<(), RunError<C::Error>> {
        for (peg, state) in &self.liquids {
            for (name, outpoint, value) in &state.sidechain.claimed {
                let status = self.chain.tx_status(node, outpoint.txid).map_err(RunError::Chain)?;
                if !matches!(status, TxStatus::Confirmed { .. }) {
                    let holdings = self.liquid_holdings(node, peg)?;
                    model.push(format!(
                        "claimed peg-in {name} ({value}) is no longer confirmed on the best chain. Liquid does not undo a claim: \
                         the L-BTC it minted stays in circulation, unbacked while the peg-in is out ({peg} is short by {})",
                        state.shortfall(holdings)
                    ));
                }
            }
        }
        Ok(())
    }

    /// The online members if they reach the threshold, else the stall that says why.
    fn quorum(
        &self,
        peg: &str,
    ) -> Result<Vec<(bitcoin::PublicKey, bitcoin::secp256k1::SecretKey)>, Outcome> {
        let members = self.online_members(peg);
        let threshold = self.liquids[peg].federation.threshold();
        if members.len() < threshold {
            let why = format!("{threshold} member signatures needed, {} online", members.len());
            return Err(Outcome::Stalled { code: "quorum", why });
        }
        Ok(members)
    }

    /// Members that are online and hold their secret key, with their public keys.
    fn online_members(
        &self,
        peg: &str,
    ) -> Vec<(bitcoin::PublicKey, bitcoin::secp256k1::SecretKey)> {
        self.liquids[peg]
            .members
            .iter()
            .filter(|m| !self.offline.contains(*m))
            .filter_map(|m| self.signers[m].1.map(|sk| (self.signers[m].0, sk)))
            .collect()
    }

    /// Broadcasts a federation transaction; when accepted, the federation's outputs follow.
    /// `federation_pays_fee`: the fee comes out of the federation's own coins (a sweep), not
    /// out of what leaves (a peg-out's user, a thief).
    #[expect(clippy::too_many_arguments, reason = "one step's parts")]
    fn federation_broadcast(
        &mut self,
        node: NodeId,
        peg: &str,
        name: &str,
        tx: Transaction,
        inputs: &[FedUtxo],
        federation_pays_fee: bool,
        made: &mut Made,
        model: &mut Vec<String>,
    ) -> Result<Outcome, RunError<C::Error>> {
        let value_in: Amount = inputs.iter().map(|u| u.value).sum();
        let value_out: Amount = tx.output.iter().map(|o| o.value).sum();
        let fee = value_in.checked_sub(value_out);
        *made = Some((name.to_owned(), tx.clone(), fee));
        let outcome = self.broadcast(node, name, tx.clone())?;
        if matches!(outcome, Outcome::Accepted) {
            let state = self.liquids.get_mut(peg).expect("validated peg");
            let spent: Vec<OutPoint> = inputs.iter().map(|u| u.outpoint).collect();
            state.federation.utxos.retain(|u| !spent.contains(&u.outpoint));
            let own = state.federation.pegin_script_pubkey(&self.secp, None);
            let txid = tx.compute_txid();
            for (vout, out) in tx.output.iter().enumerate().filter(|(_, o)| o.script_pubkey == own)
            {
                state.federation.utxos.push(FedUtxo {
                    source: name.to_owned(),
                    outpoint: OutPoint::new(txid, vout as u32),
                    value: out.value,
                    claim_script: None,
                });
            }
            if federation_pays_fee {
                state.sidechain.fees_paid += fee.unwrap_or(Amount::ZERO);
            }
            if state.federation.utxos.iter().any(|u| u.source == name) {
                model.push(format!("the federation now holds {}", state.federation.holdings()));
            }
        }
        Ok(outcome)
    }
}

/// The oldest outputs that together cover `amount`.
fn select(utxos: &[FedUtxo], amount: Amount) -> Option<Vec<FedUtxo>> {
    let mut picked = Vec::new();
    let mut total = Amount::ZERO;
    for u in utxos {
        if total >= amount {
            break;
        }
        total += u.value;
        picked.push(u.clone());
    }
    (total >= amount).then_some(picked)
}
