//! Core (Satoshi Plus) staking steps: lock with a CLTV script and a `SAT+` OP_RETURN, unlock
//! once median-time-past passes the lock.

use bitcoin::{
    Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, absolute::LockTime,
    transaction::Version,
};

use super::{Outcome, Run, RunError, federated::Made, keys};
use crate::{
    Chain, NodeId,
    pegs::{
        core::{Owner, payload, redeem_script},
        powpeg::rsk,
        sign::{MultisigSpend, script_pubkey, sign_multisig_input, sign_single_input},
    },
    scenario::{CoreParams, CoreTemplate},
};

/// Fee rate of unstaking transactions, in sat/vB.
const FEE_RATE: u64 = 2;

/// A stake as locked.
#[derive(Debug, Clone)]
pub(crate) struct StakeRecord {
    name: String,
    from: String,
    locktime: u32,
    script: ScriptBuf,
    outpoint: OutPoint,
    value: Amount,
}

/// A Core peg's modelled state.
#[derive(Debug)]
pub(crate) struct CoreState {
    pub(crate) params: CoreParams,
    stakes: Vec<StakeRecord>,
}

impl CoreState {
    pub(crate) fn new(params: CoreParams) -> Self {
        Self { params, stakes: Vec::new() }
    }
}

impl<C: Chain> Run<'_, C> {
    fn core_owner(&self, peg: &str, user: &str) -> Owner {
        let staker = bitcoin::PublicKey::new(
            keys::staking_key(&self.scenario.seed, user).public_key(&self.secp),
        );
        match &self.cores[peg].params.template {
            CoreTemplate::PubKey => Owner::PubKey(staker),
            CoreTemplate::PubKeyHash => Owner::PubKeyHash(staker),
            CoreTemplate::Multisig { signers, threshold } => Owner::Multisig {
                threshold: *threshold,
                keys: signers.iter().map(|s| self.signers[s].0).collect(),
            },
        }
    }

    #[expect(clippy::too_many_arguments, reason = "one step's parts")]
    pub(crate) fn stake(
        &mut self,
        node: NodeId,
        peg: &str,
        from: &str,
        amount: Amount,
        lock: u32,
        name: &str,
        made: &mut Made,
        model: &mut Vec<String>,
    ) -> Result<Outcome, RunError<C::Error>> {
        let mtp = self.chain.median_time_past(node).map_err(RunError::Chain)?;
        let locktime = mtp.saturating_add(lock);
        let script = redeem_script(locktime, &self.core_owner(peg, from));
        let params = &self.cores[peg].params;
        let spk = script_pubkey(&script, params.output);
        let delegator = rsk::address(&self.secp, &keys::sidechain_key(&self.scenario.seed, from));
        let data = payload(params.chain_id, &delegator, &params.validator);
        let outcome =
            self.user_pays_with(node, from, spk.clone(), amount, Some(data), name, made)?;
        if let (Outcome::Accepted, Some((_, tx, _))) = (&outcome, made.as_ref()) {
            let vout =
                tx.output.iter().position(|o| o.script_pubkey == spk).expect("the stake output");
            let record = StakeRecord {
                name: name.to_owned(),
                from: from.to_owned(),
                locktime,
                script,
                outpoint: OutPoint::new(tx.compute_txid(), vout as u32),
                value: amount,
            };
            self.cores.get_mut(peg).expect("validated peg").stakes.push(record);
            model.push(format!(
                "{from} locked {amount} until UNIX time {locktime} (median-time-past now {mtp})"
            ));
        }
        Ok(outcome)
    }

    pub(crate) fn unstake(
        &mut self,
        node: NodeId,
        peg: &str,
        stake: &str,
        to: ScriptBuf,
        name: &str,
        made: &mut Made,
    ) -> Result<Outcome, RunError<C::Error>> {
        let state = &self.cores[peg];
        let Some(record) = state.stakes.iter().find(|s| s.name == stake).cloned() else {
            return Ok(Outcome::ModelRejected {
                code: "no-stake",
                why: format!("{stake} was never accepted"),
            });
        };
        let lock_time = LockTime::from_time(record.locktime).unwrap_or(LockTime::ZERO);
        let mut tx = Transaction {
            version: Version::TWO,
            lock_time,
            input: vec![TxIn {
                previous_output: record.outpoint,
                sequence: Sequence::ENABLE_LOCKTIME_NO_RBF,
                ..TxIn::default()
            }],
            output: vec![TxOut { value: record.value, script_pubkey: to }],
        };
        self.sign_stake(peg, &record, &mut tx);
        let fee = Amount::from_sat(tx.vsize() as u64 * FEE_RATE);
        tx.output[0].value = record.value.checked_sub(fee).unwrap_or(Amount::ZERO);
        self.sign_stake(peg, &record, &mut tx);
        *made = Some((name.to_owned(), tx.clone(), Some(fee)));
        self.broadcast(node, name, tx)
    }

    fn sign_stake(&self, peg: &str, record: &StakeRecord, tx: &mut Transaction) {
        let output = self.cores[peg].params.output;
        let (script, value) = (&record.script, record.value);
        match &self.cores[peg].params.template {
            CoreTemplate::Multisig { signers, threshold } => {
                let keys: Vec<_> = signers.iter().map(|s| self.signers[s].0).collect();
                let secrets: Vec<_> = signers.iter().filter_map(|s| self.signers[s].1).collect();
                let spend = MultisigSpend {
                    keys: &keys,
                    threshold: *threshold,
                    secrets: &secrets,
                    selector: None,
                };
                sign_multisig_input(&self.secp, tx, 0, script, value, &spend, output);
            }
            template => {
                let secret = keys::staking_key(&self.scenario.seed, &record.from);
                let with_pubkey = matches!(template, CoreTemplate::PubKeyHash);
                sign_single_input(&self.secp, tx, 0, script, value, &secret, with_pubkey, output);
            }
        }
    }
}
