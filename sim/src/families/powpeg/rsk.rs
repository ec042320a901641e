//! Rootstock addresses and the `RSKT` peg-in instructions (RSKIP170): one OP_RETURN output
//! whose data is `RSKT | version 0x01 | 20-byte Rootstock destination [| refund type | hash]`.

use bitcoin::{ScriptBuf, Transaction, script::Instruction};
use sha3::{Digest, Keccak256};

const PREFIX: &[u8; 4] = b"RSKT";
const VERSION: u8 = 1;

/// A Rootstock (Ethereum-style) address: the last 20 bytes of Keccak-256 of the uncompressed
/// public key without its 0x04 prefix.
pub(crate) fn address(key: &bitcoin::PublicKey) -> [u8; 20] {
    let public = key.inner.serialize_uncompressed();
    let digest = Keccak256::digest(&public[1..]);
    digest[12..].try_into().expect("20 bytes")
}

/// The OP_RETURN data of a peg-in that names `destination` (the 25-byte form, no refund).
pub(crate) fn pegin_instructions(destination: &[u8; 20]) -> Vec<u8> {
    let mut data = PREFIX.to_vec();
    data.push(VERSION);
    data.extend_from_slice(destination);
    data
}

/// What a peg-in's `RSKT` outputs say (rskj `PeginInformation.parse`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Instructions {
    /// No `RSKT` output: a legacy peg-in.
    None,
    /// Exactly one, naming this Rootstock address.
    Destination([u8; 20]),
    /// More than one, or one rskj cannot parse.
    Invalid,
}

/// The `RSKT` instructions of a peg-in.
pub(crate) fn instructions_of(tx: &Transaction) -> Instructions {
    let found: Vec<Vec<u8>> =
        tx.output.iter().filter_map(|o| instructions(&o.script_pubkey)).collect();
    match found.as_slice() {
        [] => Instructions::None,
        [data] if data.len() == 25 || data.len() == 46 => {
            data[5..25].try_into().map_or(Instructions::Invalid, Instructions::Destination)
        }
        _ => Instructions::Invalid, // Rootstock requires exactly one.
    }
}

fn instructions(script: &ScriptBuf) -> Option<Vec<u8>> {
    if !script.is_op_return() {
        return None;
    }
    let data = match script.instructions().nth(1)? {
        Ok(Instruction::PushBytes(push)) => push.as_bytes().to_vec(),
        _ => return None,
    };
    (data.starts_with(PREFIX) && data.get(4) == Some(&VERSION)).then_some(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_of_a_known_key() {
        // Secret key 1: its Ethereum/Rootstock address is well known.
        let secp = bitcoin::secp256k1::Secp256k1::new();
        let mut one = [0u8; 32];
        one[31] = 1;
        let sk = bitcoin::secp256k1::SecretKey::from_slice(&one).unwrap();
        let addr = address(&bitcoin::PublicKey::new(sk.public_key(&secp)));
        assert_eq!(
            bitcoin::hex::DisplayHex::to_lower_hex_string(&addr[..]),
            "7e5f4552091a69125d5dfcb7b8c2659029395bdf"
        );
    }

    #[test]
    fn instructions_round_trip() {
        let dest = [7u8; 20];
        let data = pegin_instructions(&dest);
        assert_eq!(&data[..5], b"RSKT\x01");
        assert_eq!(data.len(), 25);
        let push = bitcoin::script::PushBytesBuf::try_from(data).unwrap();
        let tx = Transaction {
            version: bitcoin::transaction::Version::TWO,
            lock_time: bitcoin::absolute::LockTime::ZERO,
            input: vec![],
            output: vec![bitcoin::TxOut {
                value: bitcoin::Amount::ZERO,
                script_pubkey: ScriptBuf::new_op_return(push),
            }],
        };
        assert_eq!(instructions_of(&tx), Instructions::Destination(dest));
    }
}
