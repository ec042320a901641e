//! Babylon staking steps: delegate, withdraw through a timelock leaf, unbond with the covenant.

use bitcoin::{
    Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, XOnlyPublicKey,
    absolute::LockTime, hashes::Hash, key::Keypair, secp256k1::SecretKey, transaction::Version,
};

use super::{Outcome, Run, RunError, federated::Made, keys};
use crate::{
    Chain, NodeId,
    pegs::babylon::{
        adaptor, eots,
        script::Delegation,
        spend::{leaf_sighash, leaf_witness, sign_leaf},
    },
    scenario::BabylonParams,
};

/// Fee rate of withdrawals, in sat/vB.
const FEE_RATE: u64 = 2;

/// Where a delegation's coins are.
#[derive(Debug, Clone)]
pub(crate) enum Position {
    /// In the staking output.
    Staked,
    /// In the unbonding output.
    Unbonded { outpoint: OutPoint, value: Amount },
    /// Slashed: what is left waits in the slashing-refund output.
    Slashed { outpoint: OutPoint, value: Amount },
    /// Spent (withdrawn or slashed).
    Gone,
}

/// A delegation as made.
#[derive(Debug, Clone)]
pub(crate) struct DelegationRecord {
    pub(crate) name: String,
    pub(crate) outpoint: OutPoint,
    pub(crate) value: Amount,
    pub(crate) position: Position,
}

/// A Babylon peg's modelled state.
#[derive(Debug)]
pub(crate) struct BabylonState {
    pub(crate) params: BabylonParams,
    pub(crate) delegation: Delegation,
    pub(crate) records: Vec<DelegationRecord>,
    /// Votes signed: (provider, height) -> (message, signature).
    pub(crate) votes: std::collections::BTreeMap<(String, u64), ([u8; 32], eots::Signature)>,
    /// Provider keys extracted from double votes.
    pub(crate) extracted: std::collections::BTreeMap<String, bitcoin::secp256k1::SecretKey>,
}

/// `OP_RETURN "babylon"`: Babylon mainnet's slashing burn script.
fn burn_script() -> ScriptBuf {
    ScriptBuf::new_op_return(b"babylon")
}

impl<C: Chain> Run<'_, C> {
    fn x_only(&self, signer: &str) -> XOnlyPublicKey {
        self.signers[signer].0.inner.x_only_public_key().0
    }

    /// The scripts' keys and times for `params`.
    pub(crate) fn babylon_delegation(&self, params: &BabylonParams) -> Delegation {
        let staker =
            keys::staking_key(&self.scenario.seed, &params.staker).x_only_public_key(&self.secp).0;
        Delegation {
            staker,
            providers: params.providers.iter().map(|p| self.x_only(p)).collect(),
            covenant: params.covenant.iter().map(|c| self.x_only(c)).collect(),
            quorum: params.quorum,
            staking_time: params.staking_time,
            unbonding_time: params.unbonding_time,
        }
    }

    fn staker_keypair(&self, peg: &str) -> Keypair {
        let sk = keys::staking_key(&self.scenario.seed, &self.babylons[peg].params.staker);
        Keypair::from_secret_key(&self.secp, &sk)
    }

    pub(crate) fn delegate(
        &mut self,
        node: NodeId,
        peg: &str,
        amount: Amount,
        name: &str,
        made: &mut Made,
        model: &mut Vec<String>,
    ) -> Result<Outcome, RunError<C::Error>> {
        let state = &self.babylons[peg];
        let info = state.delegation.staking_info(&self.secp);
        let spk = ScriptBuf::new_p2tr_tweaked(info.output_key());
        let data =
            state.params.tag.map(|tag| state.delegation.op_return(tag).as_bytes()[2..].to_vec());
        let staker = state.params.staker.clone();
        let outcome = self.user_pays_with(node, &staker, spk.clone(), amount, data, name, made)?;
        if let (Outcome::Accepted, Some((_, tx, _))) = (&outcome, made.as_ref()) {
            let vout =
                tx.output.iter().position(|o| o.script_pubkey == spk).expect("the staking output");
            let outpoint = OutPoint::new(tx.compute_txid(), vout as u32);
            let record = DelegationRecord {
                name: name.to_owned(),
                outpoint,
                value: amount,
                position: Position::Staked,
            };
            let state = self.babylons.get_mut(peg).expect("validated peg");
            state.records.push(record);
            model.push(format!(
                "{staker} staked {amount}: withdrawable alone after {} blocks, or earlier with {} of {} covenant signatures",
                state.params.staking_time,
                state.params.quorum,
                state.params.covenant.len()
            ));
        }
        Ok(outcome)
    }

    /// The named delegation, or the step's refusal when Bitcoin Core never accepted it.
    fn record(&self, peg: &str, name: &str) -> Result<DelegationRecord, Outcome> {
        self.babylons[peg].records.iter().find(|r| r.name == name).cloned().ok_or_else(|| {
            Outcome::ModelRejected {
                code: "no-delegation",
                why: format!("{name} was never accepted"),
            }
        })
    }

    pub(crate) fn withdraw(
        &mut self,
        node: NodeId,
        peg: &str,
        delegation: &str,
        to: ScriptBuf,
        name: &str,
        made: &mut Made,
    ) -> Result<Outcome, RunError<C::Error>> {
        let record = match self.record(peg, delegation) {
            Ok(record) => record,
            Err(refused) => return Ok(refused),
        };
        let d = &self.babylons[peg].delegation;
        let (outpoint, value, info, blocks) = match record.position {
            Position::Staked => {
                (record.outpoint, record.value, d.staking_info(&self.secp), d.staking_time)
            }
            Position::Unbonded { outpoint, value } => {
                (outpoint, value, d.unbonding_info(&self.secp), d.unbonding_time)
            }
            Position::Slashed { outpoint, value } => {
                (outpoint, value, d.refund_info(&self.secp), d.unbonding_time)
            }
            Position::Gone => {
                return Ok(Outcome::ModelRejected {
                    code: "spent",
                    why: format!("{delegation} was already spent"),
                });
            }
        };
        let script = d.timelock_script(blocks);
        let prevout =
            TxOut { value, script_pubkey: ScriptBuf::new_p2tr_tweaked(info.output_key()) };
        let keypair = self.staker_keypair(peg);
        let sign = |tx: &mut Transaction| {
            let sig = sign_leaf(&self.secp, tx, 0, &prevout, &script, &keypair);
            tx.input[0].witness = leaf_witness(vec![sig], &script, &info);
        };
        let tx =
            with_fee(spend_tx(outpoint, Sequence::from_height(blocks), value, to), value, sign);
        self.spend_delegation(node, peg, delegation, name, tx, value, made, Position::Gone)
    }

    #[expect(clippy::too_many_arguments, reason = "one step's parts")]
    pub(crate) fn unbond(
        &mut self,
        node: NodeId,
        peg: &str,
        delegation: &str,
        covenant: &[String],
        name: &str,
        made: &mut Made,
        model: &mut Vec<String>,
    ) -> Result<Outcome, RunError<C::Error>> {
        let record = match self.record(peg, delegation) {
            Ok(record) => record,
            Err(refused) => return Ok(refused),
        };
        let state = &self.babylons[peg];
        let d = &state.delegation;
        let tx =
            d.unbonding_tx(&self.secp, record.outpoint, record.value, state.params.unbonding_fee);
        let info = d.staking_info(&self.secp);
        let script = d.unbonding_script();
        let prevout = TxOut {
            value: record.value,
            script_pubkey: ScriptBuf::new_p2tr_tweaked(info.output_key()),
        };
        let staker = sign_leaf(&self.secp, &tx, 0, &prevout, &script, &self.staker_keypair(peg));
        let mut items = self.covenant_sigs(peg, covenant, |sk| {
            sign_leaf(
                &self.secp,
                &tx,
                0,
                &prevout,
                &script,
                &Keypair::from_secret_key(&self.secp, sk),
            )
        });
        items.push(staker);
        let mut tx = tx;
        tx.input[0].witness = leaf_witness(items, &script, &info);
        let unbonded = Position::Unbonded {
            outpoint: OutPoint::new(tx.compute_txid(), 0),
            value: tx.output[0].value,
        };
        let signed = covenant.len();
        let outcome =
            self.spend_delegation(node, peg, delegation, name, tx, record.value, made, unbonded)?;
        if matches!(outcome, Outcome::Accepted) {
            let p = &self.babylons[peg].params;
            model.push(format!(
                "{signed} covenant signature(s) (quorum {}): unbonded; the staker may withdraw after {} blocks",
                p.quorum, p.unbonding_time
            ));
        }
        Ok(outcome)
    }

    /// A provider's vote; a second vote at one height for another block gives its key away.
    pub(crate) fn vote(
        &mut self,
        peg: &str,
        provider: &str,
        height: u64,
        block: &str,
        model: &mut Vec<String>,
    ) -> Outcome {
        let Some(secret) = self.signers[provider].1 else {
            return Outcome::ModelRejected {
                code: "no-secret-key",
                why: format!("{provider} has no secret key in the scenario"),
            };
        };
        let public = secret.x_only_public_key(&self.secp).0;
        let block_hash = bitcoin::hashes::sha256::Hash::hash(block.as_bytes()).to_byte_array();
        let message = eots::vote_message(height, &block_hash);
        let signature = eots::sign(&secret, height, &message);
        let state = self.babylons.get_mut(peg).expect("validated peg");
        match state.votes.get(&(provider.to_owned(), height)).copied() {
            Some((earlier, _)) if earlier == message => {
                model.push(format!("{provider} repeats its vote at height {height}"))
            }
            Some((earlier, earlier_sig)) => {
                match eots::extract(&public, &earlier, &earlier_sig, &message, &signature) {
                    Some(key) => {
                        state.extracted.insert(provider.to_owned(), key);
                        model.push(format!(
                        "{provider} signed two blocks at height {height} with one committed nonce: its secret key is extracted, and anyone can now complete the slashing transactions"
                    ));
                    }
                    None => model.push(format!(
                        "{provider} signed two blocks at height {height}, but no key came out"
                    )),
                }
            }
            None => {
                state.votes.insert((provider.to_owned(), height), (message, signature));
                model.push(format!("{provider} votes for block {block} at height {height}"));
            }
        }
        Outcome::Accepted
    }

    /// Completes the delegation's slashing transaction (signed by the staker, adaptor-signed by
    /// the covenant) with an extracted provider key, from the staking or the unbonding output.
    pub(crate) fn slash(
        &mut self,
        node: NodeId,
        peg: &str,
        delegation: &str,
        name: &str,
        made: &mut Made,
        model: &mut Vec<String>,
    ) -> Result<Outcome, RunError<C::Error>> {
        let record = match self.record(peg, delegation) {
            Ok(record) => record,
            Err(refused) => return Ok(refused),
        };
        let state = &self.babylons[peg];
        let Some((provider, key)) = state.extracted.iter().next().map(|(p, k)| (p.clone(), *k))
        else {
            let why = "no finality provider's key has been extracted: nobody can complete the slashing transaction".to_owned();
            return Ok(Outcome::ModelRejected { code: "no-extracted-key", why });
        };
        let d = &state.delegation;
        let (outpoint, value, info, from) = match record.position {
            Position::Staked => {
                (record.outpoint, record.value, d.staking_info(&self.secp), "staking")
            }
            Position::Unbonded { outpoint, value } => {
                (outpoint, value, d.unbonding_info(&self.secp), "unbonding")
            }
            Position::Slashed { .. } | Position::Gone => {
                return Ok(Outcome::ModelRejected {
                    code: "spent",
                    why: format!("{delegation} was already spent"),
                });
            }
        };
        let p = &state.params;
        let burn = Amount::from_sat((value.to_sat() as f64 * p.slashing_rate).ceil() as u64);
        let refund_info = d.refund_info(&self.secp);
        let refund = value.checked_sub(burn + p.slashing_fee).unwrap_or(Amount::ZERO);
        let mut tx = spend_tx(outpoint, Sequence::MAX, burn, burn_script());
        tx.output.push(TxOut {
            value: refund,
            script_pubkey: ScriptBuf::new_p2tr_tweaked(refund_info.output_key()),
        });
        let script = d.slashing_script();
        let prevout =
            TxOut { value, script_pubkey: ScriptBuf::new_p2tr_tweaked(info.output_key()) };
        // The covenant quorum's signatures are adaptor signatures encrypted to the provider's
        // key (as Babylon's covenant gives them at delegation): the extracted key decrypts
        // them into BIP340 signatures, which Bitcoin Core then checks.
        let quorum: Vec<String> = p.covenant.iter().take(p.quorum).cloned().collect();
        let sighash = leaf_sighash(&tx, 0, &prevout, &script);
        let provider_key = self.x_only(&provider);
        let mut items = self.covenant_sigs(peg, &quorum, |sk| {
            let encrypted = adaptor::encrypted_sign(sk, &provider_key, &sighash);
            debug_assert!(adaptor::verify_encrypted(
                &encrypted,
                &sk.x_only_public_key(&self.secp).0,
                &provider_key,
                &sighash
            ));
            adaptor::decrypt(&encrypted, &key).to_vec()
        });
        let mut providers: Vec<&String> = p.providers.iter().collect();
        providers.sort_by_key(|f| self.x_only(f).serialize());
        let provider_keypair = Keypair::from_secret_key(&self.secp, &key);
        for f in providers.iter().rev() {
            items.push(if **f == provider {
                sign_leaf(&self.secp, &tx, 0, &prevout, &script, &provider_keypair)
            } else {
                Vec::new()
            });
        }
        items.push(sign_leaf(&self.secp, &tx, 0, &prevout, &script, &self.staker_keypair(peg)));
        tx.input[0].witness = leaf_witness(items, &script, &info);
        let slashed =
            Position::Slashed { outpoint: OutPoint::new(tx.compute_txid(), 1), value: refund };
        let unbonding_time = p.unbonding_time;
        let outcome =
            self.spend_delegation(node, peg, delegation, name, tx, value, made, slashed)?;
        if matches!(outcome, Outcome::Accepted) {
            model.push(format!(
                "slashed from the {from} output: {provider}'s extracted key signs and decrypts the covenant's adaptor signatures; {burn} burned to OP_RETURN \"babylon\", {refund} to the staker after {unbonding_time} blocks"
            ));
        }
        Ok(outcome)
    }

    /// Covenant signatures for a leaf whose covenant multisig checks keys in sorted order:
    /// the witness holds them last key first, an empty item for each member who does not sign.
    fn covenant_sigs(
        &self,
        peg: &str,
        signing: &[String],
        sign: impl Fn(&SecretKey) -> Vec<u8>,
    ) -> Vec<Vec<u8>> {
        let mut committee: Vec<&String> = self.babylons[peg].params.covenant.iter().collect();
        committee.sort_by_key(|m| self.x_only(m).serialize());
        committee
            .iter()
            .rev()
            .map(|member| match (signing.contains(member), self.signers[*member].1) {
                (true, Some(sk)) => sign(&sk),
                _ => Vec::new(),
            })
            .collect()
    }

    #[expect(clippy::too_many_arguments, reason = "one step's parts")]
    fn spend_delegation(
        &mut self,
        node: NodeId,
        peg: &str,
        delegation: &str,
        name: &str,
        tx: Transaction,
        value_in: Amount,
        made: &mut Made,
        after: Position,
    ) -> Result<Outcome, RunError<C::Error>> {
        let fee = value_in.checked_sub(tx.output.iter().map(|o| o.value).sum());
        *made = Some((name.to_owned(), tx.clone(), fee));
        let outcome = self.broadcast(node, name, tx)?;
        if matches!(outcome, Outcome::Accepted) {
            let state = self.babylons.get_mut(peg).expect("validated peg");
            if let Some(record) = state.records.iter_mut().find(|r| r.name == delegation) {
                record.position = after;
            }
        }
        Ok(outcome)
    }
}

/// One input, one output paying `value` to `to` (the fee is taken later).
fn spend_tx(outpoint: OutPoint, sequence: Sequence, value: Amount, to: ScriptBuf) -> Transaction {
    Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn { previous_output: outpoint, sequence, ..TxIn::default() }],
        output: vec![TxOut { value, script_pubkey: to }],
    }
}

/// Signs, sets the fee from the signed size, signs again.
fn with_fee(mut tx: Transaction, value: Amount, sign: impl Fn(&mut Transaction)) -> Transaction {
    sign(&mut tx);
    let fee = Amount::from_sat(tx.vsize() as u64 * FEE_RATE);
    tx.output[0].value = value.checked_sub(fee).unwrap_or(Amount::ZERO);
    sign(&mut tx);
    tx
}
