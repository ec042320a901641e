//! What the federated pegs (Liquid's and Rootstock's) share on the Bitcoin side: a
//! federation's coins, the transactions that move them (peg-outs, sweeps, emergency recovery,
//! a colluding quorum's theft), the sidechain's books, and the SPV evidence a claim is judged
//! on. Each family brings its own script through [`Custody`].

mod books;
mod evidence;
pub(crate) mod locks;
mod steps;

use bitcoin::{
    Amount, FeeRate, OutPoint, PublicKey, Script, ScriptBuf, Sequence, Transaction, TxIn, TxOut,
    absolute::LockTime,
    secp256k1::{All, Secp256k1, SecretKey},
    transaction::Version,
};

pub(crate) use books::Books;
pub(crate) use evidence::{EvidenceFault, gather};
pub(crate) use steps::{Fed, PayoutFee};

use crate::tx::{
    OutputType,
    fee::sign_with_split_fee,
    multisig::{MultisigSpend, sign_multisig_input},
};

/// A federation's script, as its family builds and signs it.
pub(crate) trait Custody: std::fmt::Debug + Send + Sync {
    /// The untweaked script.
    fn script(&self) -> ScriptBuf;
    /// The script of an output tweaked for `claim` (Liquid's peg-in addresses), or the plain
    /// one.
    fn witness_script(&self, secp: &Secp256k1<All>, claim: Option<&Script>) -> ScriptBuf {
        let _ = (secp, claim);
        self.script()
    }
    /// Member signatures the everyday branch needs.
    fn threshold(&self) -> usize;
    /// Whether the keys of `online` members can sign the everyday branch.
    fn quorum_met(&self, online: &[PublicKey]) -> bool {
        online.len() >= self.threshold()
    }
    /// Blocks an output must age before the emergency branch may spend it.
    fn csv(&self) -> u16;
    /// Signs input `index` of `tx`, spending `value` from an output tweaked for `claim`, with
    /// `signers`: missing signatures are left for Bitcoin Core to judge.
    #[expect(clippy::too_many_arguments, reason = "each is a distinct part of the input")]
    fn sign_input(
        &self,
        secp: &Secp256k1<All>,
        tx: &mut Transaction,
        index: usize,
        value: Amount,
        claim: Option<&Script>,
        signers: &Signers<'_>,
        output: OutputType,
    );
}

/// One `OP_CHECKMULTISIG` branch as a spend needs it: keys in script order, signatures
/// needed, the signers' secrets (tweaked as the output's keys are), the branch selector.
pub(crate) type MultisigBranch = (Vec<PublicKey>, usize, Vec<SecretKey>, Option<bool>);

/// Signs input `index` through a multisig branch of `script`.
pub(crate) fn sign_branch(
    secp: &Secp256k1<All>,
    tx: &mut Transaction,
    index: usize,
    (script, value, output): (&Script, Amount, OutputType),
    (keys, threshold, secrets, selector): MultisigBranch,
) {
    let spend = MultisigSpend { keys: &keys, threshold, secrets: &secrets, selector };
    sign_multisig_input(secp, tx, index, script, value, &spend, output);
}

/// Which outputs of a federation transaction pay its fee: in equal shares, the first paying
/// the remainder (one output: it pays all).
#[derive(Debug, Clone)]
pub(crate) enum FeeFrom {
    Outputs(Vec<usize>),
}

/// An output the federation controls.
#[derive(Debug, Clone)]
pub(crate) struct FedUtxo {
    pub(crate) outpoint: OutPoint,
    pub(crate) value: Amount,
    /// The claim script its keys are tweaked with; `None` for untweaked outputs.
    pub(crate) claim_script: Option<ScriptBuf>,
}

/// Who signs a federation input, and how.
pub(crate) enum Signers<'a> {
    /// Members: the everyday branch.
    Members(&'a [(PublicKey, SecretKey)]),
    /// Emergency keys: the timelocked branch.
    Emergency(&'a [SecretKey]),
}

/// A federation: its script, how its outputs are wrapped, and the outputs it holds.
#[derive(Debug)]
pub(crate) struct Federation {
    pub(crate) custody: Box<dyn Custody>,
    pub(crate) address: OutputType,
    pub(crate) utxos: Vec<FedUtxo>,
}

impl Federation {
    /// The output script for a peg-in tweaked for `claim` (or the plain federation address).
    pub(crate) fn script_pubkey(&self, secp: &Secp256k1<All>, claim: Option<&Script>) -> ScriptBuf {
        crate::tx::script_pubkey(&self.custody.witness_script(secp, claim), self.address)
    }

    /// Total value of the outputs it holds.
    pub(crate) fn holdings(&self) -> Amount {
        self.utxos.iter().map(|u| u.value).sum()
    }

    /// A transaction spending `inputs` to `outputs` at `rate`, the last output paying the fee,
    /// signed by `signers`. Emergency spends set each input's sequence to the CSV delay.
    pub(crate) fn spend(
        &self,
        secp: &Secp256k1<All>,
        inputs: &[FedUtxo],
        outputs: Vec<TxOut>,
        signers: &Signers<'_>,
        rate: FeeRate,
    ) -> Transaction {
        let last = outputs.len() - 1;
        self.spend_with(secp, inputs, outputs, signers, rate, &FeeFrom::Outputs(vec![last]))
    }

    /// [`Federation::spend`], the fee taken as `fee` says.
    pub(crate) fn spend_with(
        &self,
        secp: &Secp256k1<All>,
        inputs: &[FedUtxo],
        outputs: Vec<TxOut>,
        signers: &Signers<'_>,
        rate: FeeRate,
        fee: &FeeFrom,
    ) -> Transaction {
        let sequence = match signers {
            Signers::Members(_) => Sequence::MAX,
            Signers::Emergency(_) => Sequence::from_height(self.custody.csv()),
        };
        let FeeFrom::Outputs(payers) = fee;
        let payers: Vec<(usize, Amount)> = payers.iter().map(|&i| (i, outputs[i].value)).collect();
        let mut tx = Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: inputs
                .iter()
                .map(|u| TxIn { previous_output: u.outpoint, sequence, ..TxIn::default() })
                .collect(),
            output: outputs,
        };
        sign_with_split_fee(&mut tx, &payers, rate, |tx| self.sign(secp, tx, inputs, signers));
        tx
    }

    fn sign(
        &self,
        secp: &Secp256k1<All>,
        tx: &mut Transaction,
        inputs: &[FedUtxo],
        signers: &Signers<'_>,
    ) {
        for (index, utxo) in inputs.iter().enumerate() {
            let claim = utxo.claim_script.as_deref();
            self.custody.sign_input(secp, tx, index, utxo.value, claim, signers, self.address);
        }
    }
}

/// The oldest outputs that together cover `amount`.
pub(crate) fn select(utxos: &[FedUtxo], amount: Amount) -> Option<Vec<FedUtxo>> {
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
