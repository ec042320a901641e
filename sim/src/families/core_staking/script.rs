//! Core's staking scripts: a CLTV redeem script over one of three templates, and the `SAT+`
//! OP_RETURN naming the delegator and validator.
//!
//! Core's `BitcoinStake.sol` requires the redeem script to begin `04 <4-byte LE locktime> b1`:
//! `<locktime> OP_CHECKLOCKTIMEVERIFY OP_DROP`, the locktime a UNIX timestamp, then
//!
//! ```text
//! pubkey      : <pubkey> OP_CHECKSIG
//! pubkey-hash : OP_DUP OP_HASH160 <pkh> OP_EQUALVERIFY OP_CHECKSIG
//! multisig    : <m> <pubkey>... <n> OP_CHECKMULTISIG
//! ```

use bitcoin::{
    PublicKey, ScriptBuf,
    opcodes::all::{
        OP_CHECKMULTISIG, OP_CHECKSIG, OP_CLTV, OP_DROP, OP_DUP, OP_EQUALVERIFY, OP_HASH160,
    },
    script::Builder,
};

/// The protocol tag of a staking OP_RETURN.
const TAG: &[u8; 4] = b"SAT+";
/// Version 1: BTC staking (version 2 is BTC LST staking).
const VERSION: u8 = 1;

/// What the redeem script locks to after its timelock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Owner {
    /// `<pubkey> OP_CHECKSIG`.
    PubKey(PublicKey),
    /// `OP_DUP OP_HASH160 <pkh> OP_EQUALVERIFY OP_CHECKSIG`.
    PubKeyHash(PublicKey),
    /// `<m> <pubkeys> <n> OP_CHECKMULTISIG`.
    Multisig { threshold: usize, keys: Vec<PublicKey> },
}

/// The redeem script locking to `owner` until the UNIX time `locktime`.
pub(crate) fn redeem_script(locktime: u32, owner: &Owner) -> ScriptBuf {
    let b =
        Builder::new().push_slice(locktime.to_le_bytes()).push_opcode(OP_CLTV).push_opcode(OP_DROP);
    match owner {
        Owner::PubKey(pk) => b.push_key(pk).push_opcode(OP_CHECKSIG),
        Owner::PubKeyHash(pk) => b
            .push_opcode(OP_DUP)
            .push_opcode(OP_HASH160)
            .push_slice(pk.pubkey_hash())
            .push_opcode(OP_EQUALVERIFY)
            .push_opcode(OP_CHECKSIG),
        Owner::Multisig { threshold, keys } => {
            let b = keys.iter().fold(b.push_int(*threshold as i64), |b, k| b.push_key(k));
            b.push_int(keys.len() as i64).push_opcode(OP_CHECKMULTISIG)
        }
    }
    .into_script()
}

/// The `SAT+` payload as Core's staking tool writes it (coredao-org/btc-staking-tool
/// `src/script.ts` `buildOPReturnScript` @ 623cc6e9): tag, version, chain id (big-endian),
/// reward address, validator, the core fee byte, then what a relayer needs to rebuild the
/// redeem script: the script itself for the pubkey-hash template, else the lock time (a script
/// number, padded to 4 bytes). `BitcoinStake.sol` reads the first 47 and wants at least 48.
pub(crate) fn payload(
    chain_id: u16,
    delegator: &[u8; 20],
    validator: &[u8; 20],
    core_fee: u8,
    (locktime, owner, redeem): (u32, &Owner, &[u8]),
) -> Vec<u8> {
    let mut data = TAG.to_vec();
    data.push(VERSION);
    data.extend_from_slice(&chain_id.to_be_bytes());
    data.extend_from_slice(delegator);
    data.extend_from_slice(validator);
    data.push(core_fee);
    match owner {
        Owner::PubKeyHash(_) => data.extend_from_slice(redeem),
        _ => {
            let mut time = crate::families::powpeg::script::signed_le(i64::from(locktime));
            while time.len() < 4 {
                time.insert(0, 0); // the tool pads the hex on the left
            }
            data.extend_from_slice(&time);
        }
    }
    data
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn key() -> PublicKey {
        PublicKey::from_str("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")
            .unwrap()
    }

    #[test]
    fn scripts_begin_as_core_requires() {
        let locktime = 1_735_776_000u32; // 2025-01-02T00:00:00Z
        for owner in [
            Owner::PubKey(key()),
            Owner::PubKeyHash(key()),
            Owner::Multisig { threshold: 1, keys: vec![key(), key()] },
        ] {
            let script = redeem_script(locktime, &owner).into_bytes();
            // `script[0] == 0x04 && script[5] == 0xb1`, the locktime little-endian between.
            assert_eq!(script[0], 0x04);
            assert_eq!(&script[1..5], &locktime.to_le_bytes());
            assert_eq!(script[5], 0xb1);
            assert_eq!(script[6], 0x75, "OP_DROP");
        }
        let pkh = redeem_script(locktime, &Owner::PubKeyHash(key())).to_hex_string();
        assert_eq!(
            pkh,
            format!("04{}b17576a914751e76e8199196d454941c45d1b3a323f1433bd688ac", "00d77567")
        );
    }

    #[test]
    fn payload_layout() {
        let owner = Owner::PubKey(key());
        let data = payload(1116, &[0xaa; 20], &[0xbb; 20], 1, (1_736_956_800, &owner, &[]));
        assert_eq!(&data[..4], b"SAT+");
        assert_eq!(data[4], 1);
        assert_eq!(&data[5..7], &[0x04, 0x5c], "chain id 1116, big-endian");
        assert_eq!(&data[7..27], &[0xaa; 20], "delegator at 7");
        assert_eq!(&data[27..47], &[0xbb; 20], "validator at 27");
        assert_eq!(data.len(), 52);
    }

    /// The lock scripts and stake transactions of Core's contract tests
    /// (`testdata/SOURCES.md`): peglab's scripts and payloads, byte for byte.
    #[test]
    fn core_contract_test_vectors() {
        use bitcoin::{Transaction, consensus::encode::deserialize_hex};
        let v: serde_json::Value =
            serde_json::from_str(include_str!("testdata/core_stake_vectors.json")).unwrap();
        let pk = PublicKey::from_str(v["public_key"].as_str().unwrap()).unwrap();
        let locktime = v["lock_time"].as_u64().unwrap() as u32;
        let pkh = redeem_script(locktime, &Owner::PubKeyHash(pk));
        assert_eq!(pkh.to_hex_string(), v["lock_script"].as_str().unwrap());
        for stake in v["stakes"].as_array().unwrap() {
            let name = stake["name"].as_str().unwrap();
            let expected = stake["lock_script"].as_str().unwrap();
            let script = bitcoin::ScriptBuf::from_hex(expected).unwrap();
            // The template the script is, rebuilt from its keys.
            let keys: Vec<PublicKey> = script
                .instructions()
                .filter_map(|i| match i.unwrap() {
                    bitcoin::script::Instruction::PushBytes(p) if p.len() == 33 => {
                        PublicKey::from_slice(p.as_bytes()).ok()
                    }
                    _ => None,
                })
                .collect();
            let owner = if keys.len() > 1 {
                Owner::Multisig { threshold: 1, keys }
            } else {
                Owner::PubKeyHash(pk)
            };
            assert_eq!(redeem_script(locktime, &owner).to_hex_string(), expected, "{name}");
            let tx: Transaction = deserialize_hex(stake["tx"].as_str().unwrap()).unwrap();
            let op_return = tx.output.iter().find(|o| o.script_pubkey.is_op_return()).unwrap();
            let pushed = match op_return.script_pubkey.instructions().nth(1).unwrap().unwrap() {
                bitcoin::script::Instruction::PushBytes(p) => p.as_bytes().to_vec(),
                _ => panic!("a push"),
            };
            let delegator: [u8; 20] = pushed[7..27].try_into().unwrap();
            let validator: [u8; 20] = pushed[27..47].try_into().unwrap();
            let ours =
                payload(1112, &delegator, &validator, 1, (locktime, &owner, script.as_bytes()));
            assert_eq!(ours, pushed, "{name}: the payload");
        }
    }
}
