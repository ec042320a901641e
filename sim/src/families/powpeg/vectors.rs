//! The ERP script and its segwit spend against rskj's own data (`testdata/SOURCES.md`): all
//! 1,001 P2SH-ERP redeem scripts of `redeemScripts_p2shERP.json`, and a real testnet
//! P2SH-P2WSH federation whose spend's signatures verify against peglab's sighash.

use std::str::FromStr;

use bitcoin::{
    Address, Amount, Network, OutPoint, PublicKey, ScriptBuf, Sequence, Transaction, TxIn, TxOut,
    Txid,
    absolute::LockTime,
    hex::FromHex,
    script::{Builder, Instruction, PushBytesBuf},
    secp256k1::{Message, Secp256k1, ecdsa::Signature},
    transaction::Version,
};
use serde_json::Value;

use super::script::Erp;
use crate::tx::{OutputType, multisig::ecdsa_sighash, script_pubkey};

fn keys(list: &Value) -> Vec<PublicKey> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|k| PublicKey::from_str(k.as_str().unwrap()).unwrap())
        .collect()
}

#[test]
fn every_rskj_p2sh_erp_redeem_script() {
    let data: Value =
        serde_json::from_str(include_str!("testdata/redeemScripts_p2shERP.json")).unwrap();
    let vectors = data.as_array().unwrap();
    assert_eq!(vectors.len(), 1001);
    for (i, v) in vectors.iter().enumerate() {
        let erp = Erp {
            members: keys(&v["mainFed"]),
            emergency: keys(&v["emergencyFed"]),
            csv: u16::try_from(v["timelock"].as_u64().unwrap()).unwrap(),
        };
        assert_eq!(erp.script().to_hex_string(), v["script"].as_str().unwrap(), "vector {i}");
    }
}

/// The 33-byte keys a script pushes, in order.
fn pushed_keys(script: &ScriptBuf) -> Vec<PublicKey> {
    script
        .instructions()
        .filter_map(|i| match i.unwrap() {
            Instruction::PushBytes(p) if p.len() == 33 => PublicKey::from_slice(p.as_bytes()).ok(),
            _ => None,
        })
        .collect()
}

#[test]
fn a_real_testnet_p2sh_p2wsh_federation_and_its_spend() {
    let v: Value =
        serde_json::from_str(include_str!("testdata/testnet_p2sh_p2wsh_federation.json")).unwrap();
    let redeem = ScriptBuf::from_hex(v["redeem_script"].as_str().unwrap()).unwrap();
    let all = pushed_keys(&redeem);
    assert_eq!(all.len(), 40);
    let erp = Erp {
        members: all[..20].to_vec(),
        emergency: all[20..].to_vec(),
        csv: v["erp_activation_delay"].as_u64().unwrap() as u16,
    };
    assert_eq!(erp.script(), redeem, "the builder makes the live script");
    let spk = script_pubkey(&redeem, OutputType::P2shP2wsh);
    let address = Address::from_script(&spk, Network::Testnet).unwrap();
    assert_eq!(address.to_string(), v["address"].as_str().unwrap());

    // The spend rskj's test rebuilds: its txid, and 11 member signatures over peglab's sighash.
    let value = Amount::from_sat(v["prev_value"].as_u64().unwrap());
    let receiver = Address::from_str(v["receiver"].as_str().unwrap()).unwrap().assume_checked();
    let program = ScriptBuf::new_p2wsh(&redeem.wscript_hash()).into_bytes();
    let tx = Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::new(
                Txid::from_str(v["prev_txid"].as_str().unwrap()).unwrap(),
                0,
            ),
            script_sig: Builder::new()
                .push_slice(PushBytesBuf::try_from(program).unwrap())
                .into_script(),
            sequence: Sequence::MAX,
            ..TxIn::default()
        }],
        output: vec![TxOut {
            value: value - Amount::from_sat(v["fee"].as_u64().unwrap()),
            script_pubkey: receiver.script_pubkey(),
        }],
    };
    assert_eq!(tx.compute_txid().to_string(), v["txid"].as_str().unwrap());
    let digest = ecdsa_sighash(&tx, 0, &redeem, value, OutputType::P2shP2wsh);
    let secp = Secp256k1::verification_only();
    let message = Message::from_digest(digest);
    let members = erp.sorted_members();
    let mut signers = 0;
    for sig in v["signatures"].as_array().unwrap() {
        let bytes = Vec::<u8>::from_hex(sig.as_str().unwrap()).unwrap();
        let signature = Signature::from_der(&bytes[..bytes.len() - 1]).unwrap();
        assert!(
            members.iter().any(|pk| secp.verify_ecdsa(&message, &signature, &pk.inner).is_ok()),
            "a member signed {sig}"
        );
        signers += 1;
    }
    assert_eq!(signers, super::script::majority(20));
}
