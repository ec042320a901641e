//! A plain k-of-n multisig output, built with miniscript (`multi`, wrapped in `wsh`,
//! `sh(wsh)` or `sh`).

use std::str::FromStr;

use bitcoin::{
    Amount, FeeRate, OutPoint, PublicKey, ScriptBuf, Sequence, Transaction, TxIn, TxOut,
    absolute::LockTime,
    secp256k1::{Secp256k1, SecretKey, Signing},
    transaction::Version,
};
use miniscript::Descriptor;

use crate::tx::{
    OutputType,
    fee::sign_with_fee,
    multisig::{MultisigSpend, sign_multisig_input},
};

/// A multisig's keys and scripts.
#[derive(Debug, Clone)]
pub(crate) struct Multisig {
    pub(crate) threshold: usize,
    pub(crate) keys: Vec<PublicKey>,
    pub(crate) output: OutputType,
    descriptor: Descriptor<PublicKey>,
}

impl Multisig {
    /// `threshold` of `keys` (compressed, 1 to 20 of them), wrapped as `output`. `None` when
    /// miniscript refuses the combination.
    pub(crate) fn new(threshold: usize, keys: Vec<PublicKey>, output: OutputType) -> Option<Self> {
        let list: Vec<String> = keys.iter().map(ToString::to_string).collect();
        let inner = format!("multi({threshold},{})", list.join(","));
        let text = match output {
            OutputType::P2wsh => format!("wsh({inner})"),
            OutputType::P2shP2wsh => format!("sh(wsh({inner}))"),
            OutputType::P2sh => format!("sh({inner})"),
        };
        let descriptor = Descriptor::from_str(&text).ok()?;
        Some(Self { threshold, keys, output, descriptor })
    }

    /// The descriptor itself.
    pub(crate) fn lock(&self) -> crate::lock::DescriptorLock {
        crate::lock::DescriptorLock::new(self.descriptor.clone())
    }

    pub(crate) fn descriptor(&self) -> String {
        self.descriptor.to_string()
    }

    pub(crate) fn script_pubkey(&self) -> ScriptBuf {
        self.descriptor.script_pubkey()
    }

    pub(crate) fn witness_script(&self) -> ScriptBuf {
        self.descriptor.explicit_script().expect("a wsh or sh descriptor has an explicit script")
    }

    /// A transaction spending `outpoint` (worth `value`) to `to` at `rate`, signed with
    /// `secrets` (in any order). With fewer than `threshold` of them the missing signatures
    /// are left empty, so that Bitcoin Core judges the attempt and says why it fails.
    pub(crate) fn spend<C: Signing>(
        &self,
        secp: &Secp256k1<C>,
        outpoint: OutPoint,
        value: Amount,
        to: ScriptBuf,
        secrets: &[SecretKey],
        rate: FeeRate,
    ) -> Transaction {
        let mut tx = Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: outpoint,
                sequence: Sequence::MAX,
                ..TxIn::default()
            }],
            output: vec![TxOut { value, script_pubkey: to }],
        };
        let script = self.witness_script();
        let spend =
            MultisigSpend { keys: &self.keys, threshold: self.threshold, secrets, selector: None };
        sign_with_fee(&mut tx, 0, value, rate, |tx| {
            sign_multisig_input(secp, tx, 0, &script, value, &spend, self.output)
        });
        tx
    }
}
