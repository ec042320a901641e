//! The lab's own coins: coinbase outputs mined to a key only the harness holds.
//!
//! Nodes run without a wallet. The harness mines to its funding key by default and pays any
//! script from the mature coinbase outputs it finds with `scantxoutset`, signing with
//! rust-bitcoin. Coins spent by a funding transaction still in the mempool are remembered, so
//! they are not picked twice.

use std::collections::BTreeSet;

use bitcoin::{
    Amount, CompressedPublicKey, EcdsaSighashType, OutPoint, ScriptBuf, Sequence, Transaction,
    TxIn, TxOut, Txid, Witness,
    absolute::LockTime,
    hashes::{Hash, sha256},
    secp256k1::{All, Message, Secp256k1, SecretKey},
    sighash::SighashCache,
    transaction::Version,
};
use serde::Deserialize;
use serde_json::json;

use crate::{error::LabError, node::call, rpc::Rpc};
use peglab_sim::NodeId;

/// Blocks a coinbase output must wait before it can be spent.
pub const COINBASE_MATURITY: u32 = 100;
/// Fee rate of funding transactions, in sat/vB.
const FEE_RATE: u64 = 2;
/// Change below this is left to the fee rather than creating dust.
const MIN_CHANGE: Amount = Amount::from_sat(1_000);

/// The harness's funding key and the coins it has spent but not yet seen confirmed.
#[derive(Debug)]
pub(crate) struct Funder {
    secp: Secp256k1<All>,
    key: SecretKey,
    pubkey: CompressedPublicKey,
    script: ScriptBuf,
    spent: BTreeSet<OutPoint>,
    /// The premine's coins, as a premined datadir recorded them (saves a `scantxoutset`).
    premined: Option<Scan>,
}

/// A `scantxoutset` answer: the coins paying the funding key, and the height they were seen at.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Scan {
    height: u32,
    unspents: Vec<Unspent>,
}

#[derive(Debug, Clone, Deserialize)]
struct Unspent {
    txid: Txid,
    vout: u32,
    #[serde(with = "bitcoin::amount::serde::as_btc")]
    amount: Amount,
    #[serde(default)]
    coinbase: bool,
    height: u32,
}

impl Unspent {
    /// Whether a transaction in the block after `height` may spend it (a coinbase output
    /// needs 100 confirmations).
    fn spendable_at(&self, height: u32) -> bool {
        !self.coinbase || height + 1 - self.height >= COINBASE_MATURITY
    }
}

impl Funder {
    /// The same key in every lab, derived from a fixed label.
    pub(crate) fn new() -> Self {
        let secp = Secp256k1::new();
        let seed = sha256::Hash::hash(b"peglab harness funding key");
        let key =
            SecretKey::from_slice(seed.as_byte_array()).expect("a sha256 digest is a valid key");
        let pubkey = CompressedPublicKey(key.public_key(&secp));
        let script = ScriptBuf::new_p2wpkh(&pubkey.wpubkey_hash());
        Self { secp, key, pubkey, script, spent: BTreeSet::new(), premined: None }
    }

    /// Starts from the coins a premined datadir recorded (JSON of `scantxoutset`), instead of
    /// scanning for them at the first payment.
    pub(crate) fn use_premined(&mut self, scan_json: &str) {
        self.premined = serde_json::from_str(scan_json).ok();
    }

    /// The coins paying the funding key now: the premine's (unless spent), or a scan.
    fn coins(&mut self, rpc: &Rpc, node: NodeId, needed: Amount) -> Result<Scan, LabError> {
        if let Some(scan) = &self.premined {
            // What is left of it that was mature at the premine's height: coins it recorded
            // as immature count only after a fresh scan, at the chain's height now.
            let left: Amount = scan
                .unspents
                .iter()
                .filter(|u| u.spendable_at(scan.height))
                .filter(|u| !self.spent.contains(&OutPoint::new(u.txid, u.vout)))
                .map(|u| u.amount)
                .sum();
            if left >= needed + Amount::from_int_btc(1) {
                return Ok(scan.clone());
            }
            self.premined = None;
        }
        let desc = format!("raw({})", self.script.to_hex_string());
        call(rpc, node, "scantxoutset", &[json!("start"), json!([desc])])
    }

    /// The script the lab mines to by default.
    pub(crate) fn script(&self) -> &ScriptBuf {
        &self.script
    }

    /// Builds and signs a transaction paying `amount` to `target`, with change back to the
    /// funding key. Does not broadcast it.
    pub(crate) fn pay(
        &mut self,
        rpc: &Rpc,
        node: NodeId,
        target: ScriptBuf,
        amount: Amount,
    ) -> Result<Transaction, LabError> {
        self.pay_many(rpc, node, &[(target, amount)])
    }

    /// Builds and signs one transaction paying every `(script, amount)`, in order, with change
    /// back to the funding key last. Does not broadcast it.
    pub(crate) fn pay_many(
        &mut self,
        rpc: &Rpc,
        node: NodeId,
        targets: &[(ScriptBuf, Amount)],
    ) -> Result<Transaction, LabError> {
        let amount: Amount = targets.iter().map(|(_, a)| *a).sum();
        let scan = self.coins(rpc, node, amount)?;
        let mut coins: Vec<_> = scan
            .unspents
            .into_iter()
            .filter(|u| u.spendable_at(scan.height))
            .filter(|u| !self.spent.contains(&OutPoint::new(u.txid, u.vout)))
            .collect();
        coins.sort_by_key(|u| (u.height, u.txid, u.vout));

        let mut picked = Vec::new();
        let mut total = Amount::ZERO;
        let outs: Vec<TxOut> = targets
            .iter()
            .map(|(script, value)| TxOut { value: *value, script_pubkey: script.clone() })
            .collect();
        for coin in coins {
            if total >= amount + Self::fee_bound(picked.len(), &outs) {
                break;
            }
            total += coin.amount;
            picked.push(coin);
        }
        let needed = amount + Self::fee_bound(picked.len(), &outs);
        if total < needed {
            return Err(LabError::OutOfCoins { needed, available: total });
        }
        let change_index = outs.len();

        let mut tx = Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: picked
                .iter()
                .map(|c| TxIn {
                    previous_output: OutPoint::new(c.txid, c.vout),
                    sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                    ..TxIn::default()
                })
                .collect(),
            output: outs
                .into_iter()
                .chain([TxOut { value: total - amount, script_pubkey: self.script.clone() }])
                .collect(),
        };
        let values: Vec<Amount> = picked.iter().map(|c| c.amount).collect();
        self.sign(&mut tx, &values);
        let fee = Amount::from_sat(tx.vsize() as u64 * FEE_RATE);
        let change = total - amount - fee;
        if change < MIN_CHANGE {
            tx.output.pop();
        } else {
            tx.output[change_index].value = change;
        }
        self.sign(&mut tx, &values);
        Ok(tx)
    }

    /// Remembers that `tx`'s inputs are spent (call once it is accepted).
    pub(crate) fn mark_spent(&mut self, tx: &Transaction) {
        self.spent.extend(tx.input.iter().map(|i| i.previous_output));
    }

    /// A generous fee for a transaction with `inputs` inputs (the exact fee is set after
    /// signing).
    fn fee_bound(inputs: usize, targets: &[TxOut]) -> Amount {
        let outputs: u64 = targets.iter().map(|t| 9 + t.script_pubkey.len() as u64).sum();
        let vbytes = 11 + 69 * inputs.max(1) as u64 + 43 + outputs;
        Amount::from_sat(vbytes * FEE_RATE)
    }

    fn sign(&self, tx: &mut Transaction, values: &[Amount]) {
        let mut witnesses = Vec::with_capacity(values.len());
        let mut cache = SighashCache::new(&*tx);
        for (index, value) in values.iter().enumerate() {
            let sighash = cache
                .p2wpkh_signature_hash(index, &self.script, *value, EcdsaSighashType::All)
                .expect("the input index exists and the script is P2WPKH");
            let msg = Message::from_digest(sighash.to_byte_array());
            let signature =
                bitcoin::ecdsa::Signature::sighash_all(self.secp.sign_ecdsa(&msg, &self.key));
            witnesses.push(Witness::p2wpkh(&signature, &self.pubkey.0));
        }
        for (input, witness) in tx.input.iter_mut().zip(witnesses) {
            input.witness = witness;
        }
    }
}
