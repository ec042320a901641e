//! A plain k-of-n multisig custody output (`kind = "multisig"`), built with miniscript.

use std::str::FromStr;

use bitcoin::{
    Address, Amount, Network, OutPoint, PublicKey, ScriptBuf, Sequence, Transaction, TxIn, TxOut,
    absolute::LockTime,
    secp256k1::{Secp256k1, SecretKey, Signing},
    transaction::Version,
};
use miniscript::Descriptor;
use serde::Serialize;

use super::SpendPath;
use crate::scenario::{MultisigParams, OutputType};

/// Fee rate of peg spends, in sat/vB.
const FEE_RATE: u64 = 2;

/// A multisig peg's keys and scripts.
#[derive(Debug, Clone)]
pub(crate) struct Multisig {
    pub(crate) threshold: usize,
    pub(crate) keys: Vec<PublicKey>,
    pub(crate) output: OutputType,
    descriptor: Descriptor<PublicKey>,
}

/// What `peglab derive` shows of a multisig peg.
#[derive(Debug, Serialize)]
pub(crate) struct MultisigView {
    pub(crate) descriptor: String,
    pub(crate) witness_script: String,
    pub(crate) script_pubkey: String,
    pub(crate) address: String,
    pub(crate) spend_paths: Vec<SpendPath>,
}

impl Multisig {
    pub(crate) fn new(params: &MultisigParams, keys: Vec<PublicKey>) -> Self {
        let list: Vec<String> = keys.iter().map(ToString::to_string).collect();
        let inner = format!("multi({},{})", params.threshold, list.join(","));
        let text = match params.output {
            OutputType::P2wsh => format!("wsh({inner})"),
            OutputType::P2shP2wsh => format!("sh(wsh({inner}))"),
            OutputType::P2sh => format!("sh({inner})"),
        };
        let descriptor = Descriptor::from_str(&text).expect("a valid multi descriptor");
        Self { threshold: params.threshold, keys, output: params.output, descriptor }
    }

    pub(crate) fn script_pubkey(&self) -> ScriptBuf {
        self.descriptor.script_pubkey()
    }

    pub(crate) fn witness_script(&self) -> ScriptBuf {
        self.descriptor.explicit_script().expect("a wsh descriptor has an explicit script")
    }

    pub(crate) fn view(&self, signers: &[String]) -> MultisigView {
        MultisigView {
            descriptor: self.descriptor.to_string(),
            witness_script: self.witness_script().to_hex_string(),
            script_pubkey: self.script_pubkey().to_hex_string(),
            address: Address::from_script(&self.script_pubkey(), Network::Regtest)
                .map(|a| a.to_string())
                .unwrap_or_default(),
            spend_paths: vec![SpendPath {
                name: "multisig".into(),
                keys: signers.to_vec(),
                threshold: self.threshold,
                timelock: None,
            }],
        }
    }

    /// A transaction spending `outpoint` (worth `value`) to `to`, signed with `keys` (in any
    /// order). With fewer than `threshold` keys the missing signatures are left empty, so
    /// Bitcoin Core judges the attempt and says why it fails.
    pub(crate) fn spend<C: Signing>(
        &self,
        secp: &Secp256k1<C>,
        outpoint: OutPoint,
        value: Amount,
        to: ScriptBuf,
        keys: &[SecretKey],
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
        self.sign(secp, &mut tx, value, keys);
        let fee = Amount::from_sat(tx.vsize() as u64 * FEE_RATE);
        tx.output[0].value = value.checked_sub(fee).unwrap_or(Amount::ZERO);
        self.sign(secp, &mut tx, value, keys);
        tx
    }

    fn sign<C: Signing>(
        &self,
        secp: &Secp256k1<C>,
        tx: &mut Transaction,
        value: Amount,
        keys: &[SecretKey],
    ) {
        let script = self.witness_script();
        let spend = super::sign::MultisigSpend {
            keys: &self.keys,
            threshold: self.threshold,
            secrets: keys,
            selector: None,
        };
        super::sign::sign_multisig_input(secp, tx, 0, &script, value, &spend, self.output);
    }
}
