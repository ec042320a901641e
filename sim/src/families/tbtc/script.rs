//! tBTC v2's deposit script, byte for byte as the Bridge rebuilds it on reveal
//! (keep-network/tbtc-v2 @ 4a253098, `solidity/contracts/bridge/Deposit.sol`), pinned to the
//! twelve testnet deposits of `solidity/test/data/deposit-sweep.ts` (`testdata/`).
//!
//! ```text
//! <depositor (20)> DROP [<extra data (32)> DROP] <blinding factor (8)> DROP
//! DUP HASH160 <wallet PKH> EQUAL
//! IF CHECKSIG
//! ELSE DUP HASH160 <refund PKH> EQUALVERIFY <refund locktime (4, LE)> CHECKLOCKTIMEVERIFY DROP CHECKSIG
//! ENDIF
//! ```

use bitcoin::{
    ScriptBuf,
    opcodes::all::{
        OP_CHECKSIG, OP_CLTV, OP_DROP, OP_DUP, OP_ELSE, OP_ENDIF, OP_EQUAL, OP_EQUALVERIFY,
        OP_HASH160, OP_IF,
    },
    script::Builder,
};

/// What a depositor reveals: the deposit script's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reveal {
    /// The depositor's Ethereum address.
    pub(crate) depositor: [u8; 20],
    /// 32 bytes of extra data (the 126-byte variant), if any.
    pub(crate) extra_data: Option<[u8; 32]>,
    /// Makes each script unique.
    pub(crate) blinding_factor: [u8; 8],
    /// HASH160 of the wallet's compressed key.
    pub(crate) wallet_pkh: [u8; 20],
    /// HASH160 of the depositor's refund key.
    pub(crate) refund_pkh: [u8; 20],
    /// The refund's earliest time (UNIX seconds; the script holds it as 4 bytes LE).
    pub(crate) refund_locktime: u32,
}

/// The deposit script (92 bytes, or 126 with extra data).
pub(crate) fn deposit_script(r: &Reveal) -> ScriptBuf {
    let mut b = Builder::new().push_slice(r.depositor).push_opcode(OP_DROP);
    if let Some(extra) = r.extra_data {
        b = b.push_slice(extra).push_opcode(OP_DROP);
    }
    b.push_slice(r.blinding_factor)
        .push_opcode(OP_DROP)
        .push_opcode(OP_DUP)
        .push_opcode(OP_HASH160)
        .push_slice(r.wallet_pkh)
        .push_opcode(OP_EQUAL)
        .push_opcode(OP_IF)
        .push_opcode(OP_CHECKSIG)
        .push_opcode(OP_ELSE)
        .push_opcode(OP_DUP)
        .push_opcode(OP_HASH160)
        .push_slice(r.refund_pkh)
        .push_opcode(OP_EQUALVERIFY)
        // Always 4 bytes, as the contract writes it (not a minimal script number).
        .push_slice(r.refund_locktime.to_le_bytes())
        .push_opcode(OP_CLTV)
        .push_opcode(OP_DROP)
        .push_opcode(OP_CHECKSIG)
        .push_opcode(OP_ENDIF)
        .into_script()
}

#[cfg(test)]
mod tests {
    use bitcoin::{TxOut, consensus::Decodable, hex::FromHex};
    use serde_json::Value;

    use super::*;

    fn bytes<const N: usize>(v: &Value) -> [u8; N] {
        let text = v.as_str().unwrap().trim_start_matches("0x");
        <[u8; N]>::from_hex(text).unwrap()
    }

    #[test]
    fn every_testnet_deposit_of_the_bridge_tests_is_rebuilt_at_its_funding_output() {
        let vectors: Vec<Value> =
            serde_json::from_str(include_str!("testdata/deposit-sweep.json")).unwrap();
        assert_eq!(vectors.len(), 12);
        let (mut p2sh, mut p2wsh) = (0, 0);
        for v in &vectors {
            let locktime: [u8; 4] = bytes(&v["refundLocktime"]);
            let reveal = Reveal {
                depositor: bytes(&v["depositor"]),
                extra_data: None,
                blinding_factor: bytes(&v["blindingFactor"]),
                wallet_pkh: bytes(&v["walletPubKeyHash"]),
                refund_pkh: bytes(&v["refundPubKeyHash"]),
                refund_locktime: u32::from_le_bytes(locktime),
            };
            let script = deposit_script(&reveal);
            assert_eq!(script.len(), 92);
            let raw = Vec::<u8>::from_hex(v["outputVector"].as_str().unwrap()).unwrap();
            let outputs = Vec::<TxOut>::consensus_decode(&mut raw.as_slice()).unwrap();
            let index: usize = v["fundingOutputIndex"].as_str().unwrap().parse().unwrap();
            let spk = &outputs[index].script_pubkey;
            if spk.is_p2sh() {
                assert_eq!(*spk, ScriptBuf::new_p2sh(&script.script_hash()));
                p2sh += 1;
            } else {
                assert_eq!(*spk, ScriptBuf::new_p2wsh(&script.wscript_hash()));
                p2wsh += 1;
            }
        }
        assert_eq!((p2sh, p2wsh), (5, 7));
    }

    #[test]
    fn extra_data_makes_the_126_byte_variant() {
        let reveal = Reveal {
            depositor: [1; 20],
            extra_data: Some([2; 32]),
            blinding_factor: [3; 8],
            wallet_pkh: [4; 20],
            refund_pkh: [5; 20],
            refund_locktime: 600_000_000,
        };
        let script = deposit_script(&reveal);
        assert_eq!(script.len(), 126);
        assert_eq!(&script.as_bytes()[22..56], [[0x20].as_slice(), &[2; 32], &[0x75]].concat());
    }
}
