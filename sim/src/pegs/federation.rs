//! The Bitcoin side of a federated peg (Liquid's watchman script or Rootstock's ERP script):
//! the federation's outputs and the transactions that move them (peg-outs, sweeps, emergency
//! recovery, and a colluding quorum's theft).

use bitcoin::{
    Amount, OutPoint, PublicKey, Script, ScriptBuf, Sequence, Transaction, TxIn, TxOut,
    absolute::LockTime,
    secp256k1::{Secp256k1, SecretKey, Signing},
    transaction::Version,
};

use super::liquid::script::{Watchman, tweak_script, tweak_secret};
use crate::{
    pegs::{
        powpeg::script::{Erp, majority},
        sign::{MultisigSpend, script_pubkey, sign_multisig_input},
    },
    scenario::OutputType,
};

/// Fee rate of federation transactions, in sat/vB.
const FEE_RATE: u64 = 2;

/// An output the federation controls.
#[derive(Debug, Clone)]
pub(crate) struct FedUtxo {
    /// Where it came from (a peg-in's or a federation transaction's name).
    pub(crate) source: String,
    pub(crate) outpoint: OutPoint,
    pub(crate) value: Amount,
    /// The claim script its keys are tweaked with; `None` for the federation's own
    /// (untweaked) outputs.
    pub(crate) claim_script: Option<ScriptBuf>,
}

/// The script a federation's coins are locked with.
#[derive(Debug, Clone)]
pub(crate) enum Custody {
    /// Liquid's watchman template; peg-in outputs are tweaked per claim script.
    Watchman(Watchman),
    /// Rootstock's ERP redeem script.
    Erp(Erp),
}

/// A federation (Liquid's or Rootstock's): its script and the outputs it holds.
#[derive(Debug)]
pub(crate) struct Federation {
    pub(crate) custody: Custody,
    pub(crate) address: OutputType,
    pub(crate) utxos: Vec<FedUtxo>,
}

/// Who signs an input, and how.
pub(crate) enum Signers<'a> {
    /// Members (tweaked per output for Liquid): the everyday branch.
    Members(&'a [(PublicKey, SecretKey)]),
    /// Emergency keys (never tweaked): the timelocked branch.
    Emergency(&'a [SecretKey]),
}

impl Federation {
    /// The untweaked federation script.
    pub(crate) fn script(&self) -> ScriptBuf {
        match &self.custody {
            Custody::Watchman(w) => w.script(),
            Custody::Erp(e) => e.script(),
        }
    }

    /// Member signatures the everyday branch needs.
    pub(crate) fn threshold(&self) -> usize {
        match &self.custody {
            Custody::Watchman(w) => w.threshold,
            Custody::Erp(e) => majority(e.members.len()),
        }
    }

    /// Blocks an output must age before the emergency branch may spend it.
    pub(crate) fn csv(&self) -> u16 {
        match &self.custody {
            Custody::Watchman(w) => w.csv,
            Custody::Erp(e) => e.csv,
        }
    }

    /// The script of an output tweaked for `claim_script` (Liquid), or the plain one.
    pub(crate) fn witness_script<C: bitcoin::secp256k1::Verification>(
        &self,
        secp: &Secp256k1<C>,
        claim_script: Option<&Script>,
    ) -> ScriptBuf {
        match (&self.custody, claim_script) {
            (Custody::Watchman(_), Some(claim)) => tweak_script(secp, &self.script(), claim),
            _ => self.script(),
        }
    }

    /// The peg-in output script for a claim script, wrapped as the federation's addresses are.
    pub(crate) fn pegin_script_pubkey<C: bitcoin::secp256k1::Verification>(
        &self,
        secp: &Secp256k1<C>,
        claim_script: Option<&Script>,
    ) -> ScriptBuf {
        script_pubkey(&self.witness_script(secp, claim_script), self.address)
    }

    /// Total value of the outputs it holds.
    pub(crate) fn holdings(&self) -> Amount {
        self.utxos.iter().map(|u| u.value).sum()
    }

    /// A transaction spending `inputs` to `outputs` (the last output absorbs the fee), signed
    /// by `signers`. Emergency spends set each input's sequence to the CSV delay.
    pub(crate) fn spend<C: Signing + bitcoin::secp256k1::Verification>(
        &self,
        secp: &Secp256k1<C>,
        inputs: &[FedUtxo],
        mut outputs: Vec<TxOut>,
        signers: &Signers<'_>,
    ) -> Transaction {
        let sequence = match signers {
            Signers::Members(_) => Sequence::MAX,
            Signers::Emergency(_) => Sequence::from_height(self.csv()),
        };
        let fee_payer = outputs.len() - 1;
        let start = outputs[fee_payer].value;
        let mut tx = Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: inputs
                .iter()
                .map(|u| TxIn { previous_output: u.outpoint, sequence, ..TxIn::default() })
                .collect(),
            output: std::mem::take(&mut outputs),
        };
        self.sign(secp, &mut tx, inputs, signers);
        let fee = Amount::from_sat(tx.vsize() as u64 * FEE_RATE);
        tx.output[fee_payer].value = start.checked_sub(fee).unwrap_or(Amount::ZERO);
        self.sign(secp, &mut tx, inputs, signers);
        tx
    }

    fn sign<C: Signing + bitcoin::secp256k1::Verification>(
        &self,
        secp: &Secp256k1<C>,
        tx: &mut Transaction,
        inputs: &[FedUtxo],
        signers: &Signers<'_>,
    ) {
        for (index, utxo) in inputs.iter().enumerate() {
            let claim = utxo.claim_script.as_deref();
            let script = self.witness_script(secp, claim);
            let (keys, threshold, secrets, selector) = match (&self.custody, signers) {
                (Custody::Watchman(w), Signers::Members(members)) => {
                    // Member keys in this output's script are tweaked with its claim script.
                    let keys = w.members.iter().map(|pk| tweaked(secp, pk, claim)).collect();
                    let secrets = members
                        .iter()
                        .map(|(pk, sk)| claim.map_or(*sk, |c| tweak_secret(sk, pk, c)))
                        .collect();
                    (keys, w.threshold, secrets, None)
                }
                (Custody::Watchman(w), Signers::Emergency(secrets)) => {
                    (w.emergency.clone(), w.emergency_threshold, secrets.to_vec(), None)
                }
                // `OP_NOTIF`: a false selector takes the members' branch.
                (Custody::Erp(e), Signers::Members(members)) => {
                    let secrets = members.iter().map(|(_, sk)| *sk).collect();
                    (e.sorted_members(), majority(e.members.len()), secrets, Some(false))
                }
                (Custody::Erp(e), Signers::Emergency(secrets)) => (
                    e.sorted_emergency(),
                    majority(e.emergency.len()),
                    secrets.to_vec(),
                    Some(true),
                ),
            };
            let spend = MultisigSpend { keys: &keys, threshold, secrets: &secrets, selector };
            sign_multisig_input(secp, tx, index, &script, utxo.value, &spend, self.address);
        }
    }
}

/// A member key as it appears in an output tweaked for `claim`.
fn tweaked<C: bitcoin::secp256k1::Verification>(
    secp: &Secp256k1<C>,
    pk: &PublicKey,
    claim: Option<&Script>,
) -> PublicKey {
    let Some(claim) = claim else { return *pk };
    let key = pk.inner.serialize();
    let tweak = super::liquid::script::tweak_of(&key, claim);
    PublicKey::new(pk.inner.add_exp_tweak(secp, &tweak).expect("a valid tweak"))
}
