//! The Bitcoin side of a Liquid peg: the federation's outputs and the transactions that move
//! them (peg-outs, sweeps, emergency recovery, and a colluding quorum's theft).

use bitcoin::{
    Amount, OutPoint, PublicKey, Script, ScriptBuf, Sequence, Transaction, TxIn, TxOut,
    absolute::LockTime,
    secp256k1::{Secp256k1, SecretKey, Signing},
    transaction::Version,
};

use super::script::{Watchman, tweak_script, tweak_secret};
use crate::{
    pegs::sign::{script_pubkey, sign_multisig_input},
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

/// A Liquid federation: its keys, script and outputs.
#[derive(Debug)]
pub(crate) struct Federation {
    pub(crate) watchman: Watchman,
    pub(crate) address: OutputType,
    pub(crate) utxos: Vec<FedUtxo>,
}

/// Who signs an input, and how.
pub(crate) enum Signers<'a> {
    /// Members (tweaked per output), the `OP_IF` branch.
    Members(&'a [(PublicKey, SecretKey)]),
    /// Emergency keys (never tweaked), the timelocked `OP_ELSE` branch.
    Emergency(&'a [SecretKey]),
}

impl Federation {
    /// The untweaked fedpegscript.
    pub(crate) fn script(&self) -> ScriptBuf {
        self.watchman.script()
    }

    /// The witness script of an output tweaked for `claim_script` (or untweaked).
    pub(crate) fn witness_script<C: bitcoin::secp256k1::Verification>(
        &self,
        secp: &Secp256k1<C>,
        claim_script: Option<&Script>,
    ) -> ScriptBuf {
        match claim_script {
            Some(claim) => tweak_script(secp, &self.script(), claim),
            None => self.script(),
        }
    }

    /// The peg-in output script for a claim script: the tweaked fedpegscript, wrapped.
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
    /// by `signing`. Emergency spends set each input's sequence to the CSV delay.
    pub(crate) fn spend<C: Signing + bitcoin::secp256k1::Verification>(
        &self,
        secp: &Secp256k1<C>,
        inputs: &[FedUtxo],
        mut outputs: Vec<TxOut>,
        signing: &Signers<'_>,
    ) -> Transaction {
        let sequence = match signing {
            Signers::Members(_) => Sequence::MAX,
            Signers::Emergency(_) => Sequence::from_height(self.watchman.csv),
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
        self.sign(secp, &mut tx, inputs, signing);
        let fee = Amount::from_sat(tx.vsize() as u64 * FEE_RATE);
        tx.output[fee_payer].value = start.checked_sub(fee).unwrap_or(Amount::ZERO);
        self.sign(secp, &mut tx, inputs, signing);
        tx
    }

    fn sign<C: Signing + bitcoin::secp256k1::Verification>(
        &self,
        secp: &Secp256k1<C>,
        tx: &mut Transaction,
        inputs: &[FedUtxo],
        signing: &Signers<'_>,
    ) {
        for (index, utxo) in inputs.iter().enumerate() {
            let claim = utxo.claim_script.as_deref();
            let script = self.witness_script(secp, claim);
            match signing {
                Signers::Members(members) => {
                    // Member keys in this output's script are tweaked with its claim script.
                    let keys: Vec<PublicKey> =
                        self.watchman.members.iter().map(|pk| tweaked(secp, pk, claim)).collect();
                    let secrets: Vec<SecretKey> = members
                        .iter()
                        .map(|(pk, sk)| claim.map_or(*sk, |c| tweak_secret(sk, pk, c)))
                        .collect();
                    let threshold = self.watchman.threshold;
                    sign_multisig_input(
                        secp,
                        tx,
                        index,
                        &script,
                        utxo.value,
                        &keys,
                        threshold,
                        &secrets,
                        self.address,
                    );
                }
                Signers::Emergency(secrets) => {
                    let keys = &self.watchman.emergency;
                    let threshold = self.watchman.emergency_threshold;
                    sign_multisig_input(
                        secp,
                        tx,
                        index,
                        &script,
                        utxo.value,
                        keys,
                        threshold,
                        secrets,
                        self.address,
                    );
                }
            }
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
    PublicKey::new(
        pk.inner.add_exp_tweak(secp, &super::script::tweak_of(&key, claim)).expect("a valid tweak"),
    )
}
