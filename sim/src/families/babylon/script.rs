//! Babylon's staking scripts, as `btcstaking/scripts_utils.go` and `types.go` build them.
//!
//! ```text
//! timelock  : <staker> OP_CHECKSIGVERIFY <time> OP_CHECKSEQUENCEVERIFY
//! unbonding : <staker> OP_CHECKSIGVERIFY <covenant multisig, quorum, OP_NUMEQUAL>
//! slashing  : <staker> OP_CHECKSIGVERIFY <provider multisig, 1, OP_NUMEQUALVERIFY>
//!             <covenant multisig, quorum, OP_NUMEQUAL>
//! ```
//!
//! Keys are x-only and sorted by their bytes; a multisig of one key is a plain `OP_CHECKSIG`
//! (`OP_CHECKSIGVERIFY`). The staking output is a P2TR with the unspendable NUMS internal key,
//! the slashing leaf at depth 1 and the unbonding and timelock leaves at depth 2; the unbonding
//! output has its own timelock leaf and the same slashing leaf, both at depth 1.

use std::str::FromStr;

use bitcoin::{
    Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, XOnlyPublicKey,
    absolute::LockTime,
    opcodes::all::{
        OP_CHECKSIG, OP_CHECKSIGADD, OP_CHECKSIGVERIFY, OP_CSV, OP_NUMEQUAL, OP_NUMEQUALVERIFY,
    },
    script::{Builder, PushBytesBuf},
    secp256k1::{Secp256k1, Verification},
    taproot::{TaprootBuilder, TaprootSpendInfo},
    transaction::Version,
};

/// BIP341's unspendable "H" point, Babylon's internal key.
pub(crate) const NUMS: &str = "50929b74c1a04954b78b4b6035e97a5e078a5a0f28ec96d547bfee9ace803ac0";

/// The unspendable internal key.
pub(crate) fn nums() -> XOnlyPublicKey {
    XOnlyPublicKey::from_str(NUMS).expect("a valid x-only key")
}

/// The keys and parameters of one delegation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Delegation {
    pub(crate) staker: XOnlyPublicKey,
    pub(crate) providers: Vec<XOnlyPublicKey>,
    pub(crate) covenant: Vec<XOnlyPublicKey>,
    pub(crate) quorum: usize,
    pub(crate) staking_time: u16,
    pub(crate) unbonding_time: u16,
}

/// `keys` (sorted) with `threshold`: `<k> OP_CHECKSIG[VERIFY]` for one key, else
/// `<k1> OP_CHECKSIG <k2> OP_CHECKSIGADD ... <threshold> OP_NUMEQUAL[VERIFY]`.
fn multisig(b: Builder, keys: &[XOnlyPublicKey], threshold: usize, verify: bool) -> Builder {
    let mut keys = keys.to_vec();
    keys.sort_by_key(|k| k.serialize());
    if keys.len() == 1 {
        return b.push_x_only_key(&keys[0]).push_opcode(if verify {
            OP_CHECKSIGVERIFY
        } else {
            OP_CHECKSIG
        });
    }
    let b = keys.iter().enumerate().fold(b, |b, (i, k)| {
        b.push_x_only_key(k).push_opcode(if i == 0 { OP_CHECKSIG } else { OP_CHECKSIGADD })
    });
    b.push_int(threshold as i64).push_opcode(if verify { OP_NUMEQUALVERIFY } else { OP_NUMEQUAL })
}

fn staker(d: &Delegation) -> Builder {
    Builder::new().push_x_only_key(&d.staker).push_opcode(OP_CHECKSIGVERIFY)
}

impl Delegation {
    /// `<staker> OP_CHECKSIGVERIFY <blocks> OP_CHECKSEQUENCEVERIFY`.
    pub(crate) fn timelock_script(&self, blocks: u16) -> ScriptBuf {
        staker(self).push_int(i64::from(blocks)).push_opcode(OP_CSV).into_script()
    }

    pub(crate) fn unbonding_script(&self) -> ScriptBuf {
        multisig(staker(self), &self.covenant, self.quorum, false).into_script()
    }

    pub(crate) fn slashing_script(&self) -> ScriptBuf {
        let b = multisig(staker(self), &self.providers, 1, true);
        multisig(b, &self.covenant, self.quorum, false).into_script()
    }

    /// The staking output's tree: slashing at depth 1, unbonding and timelock at depth 2.
    pub(crate) fn staking_info<C: Verification>(&self, secp: &Secp256k1<C>) -> TaprootSpendInfo {
        TaprootBuilder::new()
            .add_leaf(1, self.slashing_script())
            .and_then(|b| b.add_leaf(2, self.unbonding_script()))
            .and_then(|b| b.add_leaf(2, self.timelock_script(self.staking_time)))
            .expect("a valid tree")
            .finalize(secp, nums())
            .expect("a complete tree")
    }

    /// The unbonding output's tree: timelock (unbonding time) and slashing, both at depth 1.
    pub(crate) fn unbonding_info<C: Verification>(&self, secp: &Secp256k1<C>) -> TaprootSpendInfo {
        TaprootBuilder::new()
            .add_leaf(1, self.timelock_script(self.unbonding_time))
            .and_then(|b| b.add_leaf(1, self.slashing_script()))
            .expect("a valid tree")
            .finalize(secp, nums())
            .expect("a complete tree")
    }

    /// The slashing-refund output's single leaf: the staker after the unbonding time.
    pub(crate) fn refund_info<C: Verification>(&self, secp: &Secp256k1<C>) -> TaprootSpendInfo {
        TaprootBuilder::new()
            .add_leaf(0, self.timelock_script(self.unbonding_time))
            .expect("a valid tree")
            .finalize(secp, nums())
            .expect("a complete tree")
    }

    /// The identifiable-staking OP_RETURN: tag, version 0, staker, first provider, staking time.
    pub(crate) fn op_return(&self, tag: [u8; 4]) -> ScriptBuf {
        let mut data = tag.to_vec();
        data.push(0);
        data.extend_from_slice(&self.staker.serialize());
        data.extend_from_slice(&self.providers[0].serialize());
        data.extend_from_slice(&self.staking_time.to_be_bytes());
        ScriptBuf::new_op_return(PushBytesBuf::try_from(data).expect("71 bytes"))
    }

    /// The unbonding transaction: one input (final sequence), one output paying the staking
    /// value less the exact fee to the unbonding output.
    pub(crate) fn unbonding_tx<C: Verification>(
        &self,
        secp: &Secp256k1<C>,
        staking: OutPoint,
        value: Amount,
        fee: Amount,
    ) -> Transaction {
        let output = self.unbonding_info(secp);
        Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: staking,
                sequence: Sequence::MAX,
                ..TxIn::default()
            }],
            output: vec![TxOut {
                value: value - fee,
                script_pubkey: ScriptBuf::new_p2tr_tweaked(output.output_key()),
            }],
        }
    }
}

#[cfg(test)]
mod tests {
    use bitcoin::{Address, Network, PublicKey, consensus::encode::serialize_hex};
    use serde_json::Value;

    use super::*;

    fn x_only(hex: &Value) -> XOnlyPublicKey {
        PublicKey::from_str(hex.as_str().unwrap()).unwrap().inner.x_only_public_key().0
    }

    #[test]
    fn reproduces_babylons_published_vectors() {
        let secp = Secp256k1::verification_only();
        let data: Value =
            serde_json::from_str(include_str!("testdata/babylon_vectors.json")).unwrap();
        for vector in data["vectors"].as_array().unwrap() {
            let (p, e) = (&vector["parameters"], &vector["expected"]);
            let name = vector["name"].as_str().unwrap();
            let keys = |k: &str| p[k].as_array().unwrap().iter().map(x_only).collect::<Vec<_>>();
            let d = Delegation {
                staker: x_only(&p["staker_public_key"]),
                providers: keys("finality_provider_public_keys"),
                covenant: keys("covenant_public_keys"),
                quorum: p["covenant_quorum"].as_u64().unwrap() as usize,
                staking_time: p["staking_time"].as_u64().unwrap() as u16,
                unbonding_time: p["unbonding_time"].as_u64().unwrap() as u16,
            };
            let hex = |k: &str| e[k].as_str().unwrap().to_owned();
            assert_eq!(
                d.timelock_script(d.staking_time).to_hex_string(),
                hex("staking_transaction_timelock_script_hex"),
                "{name}"
            );
            assert_eq!(
                d.unbonding_script().to_hex_string(),
                hex("staking_transaction_unbonding_script_hex"),
                "{name}"
            );
            assert_eq!(
                d.slashing_script().to_hex_string(),
                hex("staking_transaction_slashing_script_hex"),
                "{name}"
            );
            assert_eq!(
                d.timelock_script(d.unbonding_time).to_hex_string(),
                hex("unbonding_transaction_time_lock_script_hex")
            );
            let spk = ScriptBuf::new_p2tr_tweaked(d.staking_info(&secp).output_key());
            assert_eq!(spk.to_hex_string(), hex("staking_output_pkscript_hex"), "{name}");
            // The unbonding output's leaves, and the address (later versions of the file).
            assert_eq!(
                d.timelock_script(d.unbonding_time).to_hex_string(),
                hex("unbonding_transaction_time_lock_script_hex"),
                "{name}"
            );
            assert_eq!(
                d.slashing_script().to_hex_string(),
                hex("unbonding_transaction_slashing_script_hex")
            );
            if let Some(address) = e.get("taproot_address_staking_output") {
                let ours = Address::from_script(&spk, Network::Bitcoin).unwrap();
                assert_eq!(ours.to_string(), address.as_str().unwrap(), "{name}");
            }
            if !hex("op_return_script_hex").is_empty() {
                let tag: [u8; 4] =
                    bitcoin::hex::FromHex::from_hex(p["tag"].as_str().unwrap()).unwrap();
                assert_eq!(d.op_return(tag).to_hex_string(), hex("op_return_script_hex"), "{name}");
            }
            let value = Amount::from_sat(p["staking_value"].as_u64().unwrap());
            let fee = Amount::from_sat(p["unbonding_fee"].as_u64().unwrap());
            let unbonding = d.unbonding_tx(&secp, OutPoint::default(), value, fee);
            // Babylon's vectors spend output 0 of an all-zero txid.
            let unbonding = Transaction {
                input: vec![TxIn {
                    previous_output: OutPoint { vout: 0, ..OutPoint::default() },
                    ..unbonding.input[0].clone()
                }],
                ..unbonding
            };
            assert_eq!(serialize_hex(&unbonding), hex("unbonding_transaction_hex"), "{name}");
        }
    }
}
