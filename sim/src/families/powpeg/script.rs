//! Rootstock's ERP federation redeem script, as rskj's `P2shErpRedeemScriptBuilder` builds it
//! (formats 3000, P2SH, and 4000, P2SH-P2WSH, share it):
//!
//! ```text
//! OP_NOTIF <M> <member keys, sorted> <N> OP_CHECKMULTISIG
//! OP_ELSE  <csv as data> OP_CHECKSEQUENCEVERIFY OP_DROP <M'> <ERP keys, sorted> <K> OP_CHECKMULTISIG
//! OP_ENDIF
//! ```
//!
//! M = N/2 + 1 and M' = K/2 + 1 (`Federation.getNumberOfSignaturesRequired`). Keys are sorted
//! by their compressed bytes (`BtcECKey.PUBKEY_COMPARATOR`). The CSV is a data push of
//! `Utils.signedLongToByteArrayLE(csv)`: the number's minimal signed little-endian bytes (as
//! long as `BigInteger.toByteArray()`, which rskj's tests check), so even 1..16 is a data push,
//! not `OP_1`..`OP_16`.

use bitcoin::{
    PublicKey, Script, ScriptBuf,
    opcodes::all::{OP_CHECKMULTISIG, OP_CSV, OP_DROP, OP_ELSE, OP_ENDIF, OP_NOTIF},
    script::{Builder, PushBytesBuf},
    secp256k1::{All, Secp256k1},
};

use crate::federation::{Custody, Signers};

/// Signatures a federation of `n` needs: a majority.
pub(crate) fn majority(n: usize) -> usize {
    n / 2 + 1
}

/// The parameters of an ERP redeem script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Erp {
    pub(crate) members: Vec<PublicKey>,
    pub(crate) emergency: Vec<PublicKey>,
    pub(crate) csv: u16,
}

impl Erp {
    /// Member keys as the script holds them.
    pub(crate) fn sorted_members(&self) -> Vec<PublicKey> {
        sorted(&self.members)
    }

    /// ERP keys as the script holds them.
    pub(crate) fn sorted_emergency(&self) -> Vec<PublicKey> {
        sorted(&self.emergency)
    }

    /// The redeem (or witness) script, byte for byte as rskj builds it.
    pub(crate) fn script(&self) -> ScriptBuf {
        let multisig = |b: Builder, keys: &[PublicKey]| {
            let b = keys.iter().fold(b.push_int(majority(keys.len()) as i64), |b, k| b.push_key(k));
            b.push_int(keys.len() as i64).push_opcode(OP_CHECKMULTISIG)
        };
        let csv = PushBytesBuf::try_from(signed_le(i64::from(self.csv))).expect("at most 3 bytes");
        let b = multisig(Builder::new().push_opcode(OP_NOTIF), &self.sorted_members())
            .push_opcode(OP_ELSE)
            .push_slice(csv)
            .push_opcode(OP_CSV)
            .push_opcode(OP_DROP);
        multisig(b, &self.sorted_emergency()).push_opcode(OP_ENDIF).into_script()
    }
}

impl Custody for Erp {
    fn script(&self) -> ScriptBuf {
        Erp::script(self)
    }

    fn threshold(&self) -> usize {
        majority(self.members.len())
    }

    fn csv(&self) -> u16 {
        self.csv
    }

    fn sign_input(
        &self,
        secp: &Secp256k1<All>,
        tx: &mut bitcoin::Transaction,
        index: usize,
        value: bitcoin::Amount,
        _: Option<&Script>,
        signers: &Signers<'_>,
        output: crate::tx::OutputType,
    ) {
        let script = self.script();
        let branch = self.branch(signers);
        crate::federation::sign_branch(secp, tx, index, (&script, value, output), branch);
    }
}

impl Erp {
    /// The branch `signers` spend through.
    fn branch(&self, signers: &Signers<'_>) -> crate::federation::MultisigBranch {
        match signers {
            // `OP_NOTIF`: a false selector takes the members' branch.
            Signers::Members(members) => {
                let secrets = members.iter().map(|(_, sk)| *sk).collect();
                (self.sorted_members(), majority(self.members.len()), secrets, Some(false))
            }
            Signers::Emergency(secrets) => (
                self.sorted_emergency(),
                majority(self.emergency.len()),
                secrets.to_vec(),
                Some(true),
            ),
        }
    }
}

fn sorted(keys: &[PublicKey]) -> Vec<PublicKey> {
    let mut keys = keys.to_vec();
    keys.sort_by_key(|k| k.inner.serialize());
    keys
}

/// A number's minimal signed little-endian bytes: Java's `BigInteger.toByteArray()` reversed.
pub(crate) fn signed_le(value: i64) -> Vec<u8> {
    let mut bytes = value.to_be_bytes().to_vec();
    // Drop leading bytes that only repeat the sign, as BigInteger does.
    while bytes.len() > 1 {
        let (first, second) = (bytes[0], bytes[1]);
        let redundant =
            (first == 0x00 && second & 0x80 == 0) || (first == 0xff && second & 0x80 != 0);
        if !redundant {
            break;
        }
        bytes.remove(0);
    }
    bytes.reverse();
    bytes
}

#[cfg(test)]
mod tests {
    use bitcoin::{
        script::Instruction,
        secp256k1::{Secp256k1, SecretKey},
    };

    use super::*;

    #[test]
    fn csv_bytes_match_java_big_integer() {
        // BigInteger.valueOf(x).toByteArray(), reversed.
        assert_eq!(signed_le(10), vec![0x0a]);
        assert_eq!(signed_le(127), vec![0x7f]);
        assert_eq!(signed_le(128), vec![0x80, 0x00]);
        assert_eq!(signed_le(500), vec![0xf4, 0x01]);
        assert_eq!(signed_le(52_560), vec![0x50, 0xcd, 0x00]); // Rootstock mainnet's delay
        assert_eq!(signed_le(65_535), vec![0xff, 0xff, 0x00]);
    }

    fn keys(seeds: &[u8]) -> Vec<PublicKey> {
        let secp = Secp256k1::new();
        seeds
            .iter()
            .map(|s| PublicKey::new(SecretKey::from_slice(&[*s; 32]).unwrap().public_key(&secp)))
            .collect()
    }

    /// The structure rskj's `P2shErpRedeemScriptBuilderTest` asserts, element by element.
    #[test]
    fn script_has_rskj_structure() {
        let erp = Erp {
            members: keys(&[9, 3, 7, 1, 5, 2, 8, 4, 6]),
            emergency: keys(&[11, 14, 12, 13]),
            csv: 52_560,
        };
        let script = erp.script();
        let ins: Vec<Instruction> = script.instructions().map(Result::unwrap).collect();
        assert_eq!(ins[0], Instruction::Op(OP_NOTIF));
        assert_eq!(ins[1].script_num(), Some(5), "M = 9/2 + 1");
        let members: Vec<&[u8]> =
            ins[2..11].iter().map(|i| i.push_bytes().unwrap().as_bytes()).collect();
        let mut expected: Vec<[u8; 33]> = erp.members.iter().map(|k| k.inner.serialize()).collect();
        expected.sort();
        assert_eq!(members, expected.iter().map(|k| &k[..]).collect::<Vec<_>>(), "sorted keys");
        assert_eq!(ins[11].script_num(), Some(9));
        assert_eq!(ins[12], Instruction::Op(OP_CHECKMULTISIG));
        assert_eq!(ins[13], Instruction::Op(OP_ELSE));
        assert_eq!(ins[14].push_bytes().unwrap().as_bytes(), &[0x50, 0xcd, 0x00]);
        assert_eq!(ins[15], Instruction::Op(OP_CSV));
        assert_eq!(ins[16], Instruction::Op(OP_DROP));
        assert_eq!(ins[17].script_num(), Some(3), "M' = 4/2 + 1");
        assert_eq!(ins[22].script_num(), Some(4));
        assert_eq!(ins[23], Instruction::Op(OP_CHECKMULTISIG));
        assert_eq!(ins[24], Instruction::Op(OP_ENDIF));
        assert_eq!(ins.len(), 25);
        // A small delay stays a data push: `OP_ELSE 01 0a OP_CSV`.
        let small = Erp { csv: 10, ..erp }.script().to_hex_string();
        assert!(small.contains("67010ab275"), "{small}");
    }
}
