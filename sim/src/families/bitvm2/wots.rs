//! Winternitz one-time signatures as BitVM implements them (log2 base 4, hash160 chains), and a
//! tapscript that verifies one. Source: BitVM/BitVM `bitvm/src/signatures/{winternitz,utils}.rs`
//! @ 23c6cdf6 (peg-catalog-2.md §4.4); pinned to its `bitvm/wots-test-vectors.json` (in
//! `testdata/`).
//!
//! Keys: digit i's secret is `hash160(sk ‖ i as little-endian bytes without trailing zeros)`,
//! its public key that hashed 15 more times. A message's bytes become 4-bit digits (bits
//! least-significant first, then the digit list reversed: a little-endian number's digits come
//! out most significant first), followed by a checksum `15·n − Σdigits` in base 16. The
//! signature is, per digit, the secret hashed `digit` times and the digit as a minimal script
//! number (0 is the empty item).

use std::sync::OnceLock;

use bitcoin::{
    hashes::{Hash, hash160},
    hex::FromHex,
    opcodes::all::*,
    script::Builder,
};

/// Bits per digit (BitVM's `log2_base` everywhere in the bridge).
const LOG2_BASE: u32 = 4;
/// The largest digit.
const MAX_DIGIT: u32 = (1 << LOG2_BASE) - 1;

/// A one-time public key: one hash per digit.
pub(crate) type PublicKey = Vec<[u8; 20]>;

/// The digit counts of messages of one length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Params {
    /// Message digits.
    pub(crate) n: u32,
    /// Checksum digits.
    pub(crate) m: u32,
}

impl Params {
    /// For messages of `bytes` bytes.
    pub(crate) const fn for_bytes(bytes: u32) -> Self {
        let n = (bytes * 8).div_ceil(LOG2_BASE);
        // ceil(log16(15·n + 1))
        let (mut m, mut reach) = (0, 1u64);
        while reach < (MAX_DIGIT * n + 1) as u64 {
            reach *= (MAX_DIGIT + 1) as u64;
            m += 1;
        }
        Self { n, m }
    }

    fn total(self) -> u32 {
        self.n + self.m
    }
}

fn digit_secret(secret: &[u8], mut index: u32) -> [u8; 20] {
    let mut bytes = secret.to_vec();
    while index > 0 {
        bytes.push((index & 0xff) as u8);
        index >>= 8;
    }
    hash160::Hash::hash(&bytes).to_byte_array()
}

fn chain(mut hash: [u8; 20], times: u32) -> [u8; 20] {
    for _ in 0..times {
        hash = hash160::Hash::hash(&hash).to_byte_array();
    }
    hash
}

/// The public key of `secret` for messages of `ps`.
pub(crate) fn public_key(ps: Params, secret: &[u8]) -> PublicKey {
    (0..ps.total()).map(|i| chain(digit_secret(secret, i), MAX_DIGIT)).collect()
}

/// A message's digits, most significant first (BitVM `message_to_digits`).
pub(crate) fn message_digits(ps: Params, message: &[u8]) -> Vec<u32> {
    let mut digits = vec![0u32; ps.n as usize];
    let (mut digit, mut bit) = (0usize, 0u32);
    for &byte in message {
        let mut byte = byte;
        for _ in 0..8 {
            if bit == LOG2_BASE {
                bit = 0;
                digit += 1;
            }
            digits[digit] |= u32::from(byte & 1) << bit;
            byte >>= 1;
            bit += 1;
        }
    }
    digits.reverse();
    digits
}

/// The digits and their checksum digits (big-endian base 16).
fn with_checksum(ps: Params, mut digits: Vec<u32>) -> Vec<u32> {
    let mut checksum = MAX_DIGIT * ps.n - digits.iter().sum::<u32>();
    let mut tail = vec![0; ps.m as usize];
    for d in tail.iter_mut().rev() {
        *d = checksum % (MAX_DIGIT + 1);
        checksum /= MAX_DIGIT + 1;
    }
    digits.extend(tail);
    digits
}

/// A digit as a minimal script number: 0 is the empty item, 1..15 one byte.
fn number(digit: u32) -> Vec<u8> {
    if digit == 0 { Vec::new() } else { vec![digit as u8] }
}

/// The witness items signing `digits` (the message's, without checksum): per digit, its hash
/// and the digit, the last checksum digit on top of the stack.
pub(crate) fn sign_digits(ps: Params, secret: &[u8], digits: Vec<u32>) -> Vec<Vec<u8>> {
    with_checksum(ps, digits)
        .into_iter()
        .enumerate()
        .flat_map(|(i, d)| [chain(digit_secret(secret, i as u32), d).to_vec(), number(d)])
        .collect()
}

/// The witness items signing `message`.
pub(crate) fn sign(ps: Params, secret: &[u8], message: &[u8]) -> Vec<Vec<u8>> {
    sign_digits(ps, secret, message_digits(ps, message))
}

/// Verifies a signature of `public`'s message on top of the stack and leaves the message's
/// digits, most significant deepest; fails the script otherwise. Per digit: the digit is
/// 0..15, the hash 20 bytes, and hashing it `15 − digit` times gives the public key's hash;
/// then the checksum of the digits must equal the signed checksum digits. The hashing is a
/// counted loop (`OP_IF` takes only 0 or 1 in tapscript: MINIMALIF), not BitVM's `OP_PICK` list,
/// and accepts the same witnesses.
pub(crate) fn verify(builder: Builder, ps: Params, public: &PublicKey) -> Builder {
    let mut b = builder;
    // The top of the stack is the last digit: verify from the last key down.
    for i in (0..ps.total() as usize).rev() {
        b = b
            .push_opcode(OP_DUP)
            .push_int(0)
            .push_int(i64::from(MAX_DIGIT) + 1)
            .push_opcode(OP_WITHIN)
            .push_opcode(OP_VERIFY)
            .push_opcode(OP_DUP)
            .push_opcode(OP_TOALTSTACK)
            .push_int(i64::from(MAX_DIGIT))
            .push_opcode(OP_SWAP)
            .push_opcode(OP_SUB)
            .push_opcode(OP_SWAP)
            .push_opcode(OP_SIZE)
            .push_int(20)
            .push_opcode(OP_EQUALVERIFY)
            .push_opcode(OP_SWAP);
        for _ in 0..MAX_DIGIT {
            b = b
                .push_opcode(OP_DUP)
                .push_opcode(OP_0NOTEQUAL)
                .push_opcode(OP_IF)
                .push_opcode(OP_SWAP)
                .push_opcode(OP_HASH160)
                .push_opcode(OP_SWAP)
                .push_opcode(OP_1SUB)
                .push_opcode(OP_ENDIF);
        }
        b = b.push_opcode(OP_DROP).push_slice(public[i]).push_opcode(OP_EQUALVERIFY);
    }
    // The alt stack holds the digits, the first message digit on top (BitVM's checksum check).
    b = b.push_opcode(OP_FROMALTSTACK).push_opcode(OP_DUP).push_opcode(OP_NEGATE);
    for _ in 1..ps.n {
        b = b.push_opcode(OP_FROMALTSTACK).push_opcode(OP_TUCK).push_opcode(OP_SUB);
    }
    b = b.push_int(i64::from(MAX_DIGIT * ps.n)).push_opcode(OP_ADD).push_opcode(OP_FROMALTSTACK);
    for _ in 1..ps.m {
        for _ in 0..LOG2_BASE {
            b = b.push_opcode(OP_DUP).push_opcode(OP_ADD);
        }
        b = b.push_opcode(OP_FROMALTSTACK).push_opcode(OP_ADD);
    }
    b.push_opcode(OP_EQUALVERIFY)
}

/// Turns the `n` digits `verify` left into one number (BitVM `digits_to_number`).
pub(crate) fn to_number(builder: Builder, ps: Params) -> Builder {
    let mut b = builder;
    for _ in 1..ps.n {
        b = b.push_opcode(OP_TOALTSTACK);
    }
    for _ in 1..ps.n {
        for _ in 0..LOG2_BASE {
            b = b.push_opcode(OP_DUP).push_opcode(OP_ADD);
        }
        b = b.push_opcode(OP_FROMALTSTACK).push_opcode(OP_ADD);
    }
    b
}

/// Drops the `n` digits `verify` left.
pub(crate) fn drop_digits(builder: Builder, ps: Params) -> Builder {
    let mut b = builder;
    for _ in 0..ps.n / 2 {
        b = b.push_opcode(OP_2DROP);
    }
    if ps.n % 2 == 1 {
        b = b.push_opcode(OP_DROP);
    }
    b
}

/// One of BitVM's published vectors (`bitvm/wots-test-vectors.json` @ 23c6cdf6, in
/// `testdata/`): a message, a secret, its public key and the signature's witness items.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Vector {
    message: String,
    /// Only the tests sign with it.
    #[cfg(test)]
    secret_key: String,
    public_key: Vec<String>,
    witness: Vec<String>,
}

fn bytes(text: &str) -> Vec<u8> {
    Vec::from_hex(text).expect("the vectors are hex")
}

impl Vector {
    pub(crate) fn message(&self) -> Vec<u8> {
        bytes(&self.message)
    }

    #[cfg(test)]
    fn secret(&self) -> Vec<u8> {
        bytes(&self.secret_key)
    }

    pub(crate) fn public_key(&self) -> PublicKey {
        self.public_key.iter().map(|h| bytes(h).try_into().expect("20-byte hashes")).collect()
    }

    /// The witness items, bottom of the stack first.
    pub(crate) fn witness(&self) -> Vec<Vec<u8>> {
        self.witness.iter().map(|h| bytes(h)).collect()
    }
}

/// BitVM's 21 vectors, parsed once.
pub(crate) fn bitvm_vectors() -> &'static [Vector] {
    static VECTORS: OnceLock<Vec<Vector>> = OnceLock::new();
    VECTORS.get_or_init(|| {
        serde_json::from_str(include_str!("testdata/wots-test-vectors.json"))
            .expect("the vectors parse")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// BitVM's 21 published vectors: keys and witnesses, byte for byte.
    #[test]
    fn keys_and_signatures_match_bitvm_vectors() {
        let vectors = bitvm_vectors();
        assert_eq!(vectors.len(), 21);
        for v in vectors {
            let (message, secret) = (v.message(), v.secret());
            let ps = Params::for_bytes(message.len() as u32);
            assert_eq!(public_key(ps, &secret), v.public_key(), "public key of {}", v.message);
            assert_eq!(sign(ps, &secret, &message), v.witness(), "signature of {}", v.message);
        }
    }

    #[test]
    fn digit_counts_follow_bitvm() {
        assert_eq!(Params::for_bytes(4), Params { n: 8, m: 2 });
        assert_eq!(Params::for_bytes(16), Params { n: 32, m: 3 });
        assert_eq!(Params::for_bytes(32), Params { n: 64, m: 3 });
        assert_eq!(Params::for_bytes(2), Params { n: 4, m: 2 });
    }

    #[test]
    fn a_little_endian_number_comes_out_most_significant_digit_first() {
        let ps = Params::for_bytes(2);
        assert_eq!(message_digits(ps, &0x1234u16.to_le_bytes()), vec![1, 2, 3, 4]);
    }
}
