//! The graph's leaf scripts, in Clementine's shapes (chainwayxyz/clementine
//! `core/src/builder/script.rs` @ b61efacf: `Multisig::to_script_buf` l.247,
//! `TimelockScript` l.394, `BaseDepositScript` l.487; peg-catalog-2.md §4.1), and the toy
//! computation whose steps the disprove leaves check (§4.4).

use bitcoin::{
    ScriptBuf, XOnlyPublicKey,
    opcodes::{OP_FALSE, all::*},
    script::Builder,
    secp256k1::{Secp256k1, Verification},
    taproot::{TaprootBuilder, TaprootSpendInfo},
};

use super::wots::{self, Params, PublicKey};

/// Clementine's `UNSPENDABLE_XONLY_PUBKEY` (BIP341's NUMS point H): every output's internal
/// key unless a key path is named.
pub(crate) const NUMS: &str = "50929b74c1a04954b78b4b6035e97a5e078a5a0f28ec96d547bfee9ace803ac0";

/// The NUMS key.
pub(crate) fn nums() -> XOnlyPublicKey {
    NUMS.parse().expect("a valid x-only key")
}

/// A state of the toy computation: 16 bits, committed as a 2-byte WOTS message.
pub(crate) const STATE: Params = Params::for_bytes(2);

/// `CheckSig(K)`: `<K> OP_CHECKSIG`.
pub(crate) fn checksig(key: XOnlyPublicKey) -> ScriptBuf {
    Builder::new().push_x_only_key(&key).push_opcode(OP_CHECKSIG).into_script()
}

/// `TimelockScript(K, n)`: `<n> OP_CSV OP_DROP <K> OP_CHECKSIG`.
pub(crate) fn timelock(key: XOnlyPublicKey, blocks: u16) -> ScriptBuf {
    Builder::new()
        .push_int(i64::from(blocks))
        .push_opcode(OP_CSV)
        .push_opcode(OP_DROP)
        .push_x_only_key(&key)
        .push_opcode(OP_CHECKSIG)
        .into_script()
}

/// `BaseDepositScript(nofn, evm)`: `<nofn> OP_CHECKSIG OP_FALSE OP_IF "citrea" <evm20> OP_ENDIF`.
pub(crate) fn deposit(nofn: XOnlyPublicKey, evm: [u8; 20]) -> ScriptBuf {
    Builder::new()
        .push_x_only_key(&nofn)
        .push_opcode(OP_CHECKSIG)
        .push_opcode(OP_FALSE)
        .push_opcode(OP_IF)
        .push_slice(b"citrea")
        .push_slice(evm)
        .push_opcode(OP_ENDIF)
        .into_script()
}

/// The security council's `Multisig`: `<pk1> OP_CHECKSIG <pk2> OP_CHECKSIGADD … <k> OP_NUMEQUAL`.
pub(crate) fn multisig(threshold: usize, keys: &[XOnlyPublicKey]) -> ScriptBuf {
    let mut b = Builder::new();
    for (i, key) in keys.iter().enumerate() {
        b = b.push_x_only_key(key).push_opcode(if i == 0 { OP_CHECKSIG } else { OP_CHECKSIGADD });
    }
    b.push_int(threshold as i64).push_opcode(OP_NUMEQUAL).into_script()
}

/// `WinternitzCommit`: verifies a WOTS signature per key (the last key's signature on top),
/// drops the messages, then `<K> OP_CHECKSIG`.
pub(crate) fn commit(keys: &[PublicKey], signer: XOnlyPublicKey) -> ScriptBuf {
    let mut b = Builder::new();
    for key in keys.iter().rev() {
        b = wots::drop_digits(wots::verify(b, STATE, key), STATE);
    }
    b.push_x_only_key(&signer).push_opcode(OP_CHECKSIG).into_script()
}

/// `PreimageRevealScript(K, h)`: `OP_SIZE 20 OP_EQUALVERIFY OP_HASH160 <h> OP_EQUALVERIFY <K>
/// OP_CHECKSIG` (the operator's acknowledgement of a watchtower challenge).
pub(crate) fn preimage_reveal(key: XOnlyPublicKey, hash: [u8; 20]) -> ScriptBuf {
    Builder::new()
        .push_opcode(OP_SIZE)
        .push_int(20)
        .push_opcode(OP_EQUALVERIFY)
        .push_opcode(OP_HASH160)
        .push_slice(hash)
        .push_opcode(OP_EQUALVERIFY)
        .push_x_only_key(&key)
        .push_opcode(OP_CHECKSIG)
        .into_script()
}

/// The toy program: `steps` additions mod 2^16, `s_{i+1} = (s_i + c_i) mod 65536`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Program {
    /// The public input `s_0`.
    pub(crate) input: u16,
    /// The constant of each step.
    pub(crate) constants: Vec<u16>,
}

impl Program {
    /// The honest trace `s_0..s_k`.
    pub(crate) fn trace(&self) -> Vec<u16> {
        let mut states = vec![self.input];
        for c in &self.constants {
            states.push(states.last().expect("s_0").wrapping_add(*c));
        }
        states
    }

    /// Disprove leaf `i`: the WOTS-signed `s_{i+1}` (its signature deeper) and `s_i` (on
    /// top; for `i = 0` the public input is in the script), then `step_i(s_i) != s_{i+1}`.
    /// `keys[j]` is the key of `s_{j+1}`.
    pub(crate) fn disprove_leaf(&self, i: usize, keys: &[PublicKey]) -> ScriptBuf {
        let mut b = Builder::new();
        if i == 0 {
            b = b.push_int(i64::from(self.input));
        } else {
            b = wots::to_number(wots::verify(b, STATE, &keys[i - 1]), STATE);
        }
        b = b.push_opcode(OP_TOALTSTACK);
        b = wots::to_number(wots::verify(b, STATE, &keys[i]), STATE);
        b.push_opcode(OP_FROMALTSTACK)
            .push_int(i64::from(self.constants[i]))
            .push_opcode(OP_ADD)
            .push_opcode(OP_DUP)
            .push_int(65_536)
            .push_opcode(OP_GREATERTHANOREQUAL)
            .push_opcode(OP_IF)
            .push_int(65_536)
            .push_opcode(OP_SUB)
            .push_opcode(OP_ENDIF)
            .push_opcode(OP_NUMNOTEQUAL)
            .into_script()
    }
}

/// A taproot output of `leaves` under `internal` (balanced, as Clementine's
/// `taproot_builder_with_scripts`).
pub(crate) fn tree<C: Verification>(
    secp: &Secp256k1<C>,
    internal: XOnlyPublicKey,
    leaves: &[ScriptBuf],
) -> TaprootSpendInfo {
    TaprootBuilder::with_huffman_tree(leaves.iter().map(|s| (1, s.clone())))
        .expect("a valid tree")
        .finalize(secp, internal)
        .expect("a complete tree")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_clementines() {
        let k = nums();
        assert_eq!(timelock(k, 24).to_hex_string(), format!("0118b27520{NUMS}ac"));
        assert_eq!(checksig(k).to_hex_string(), format!("20{NUMS}ac"));
        let evm = [0xab; 20];
        assert_eq!(
            deposit(k, evm).to_hex_string(),
            format!("20{NUMS}ac00630663697472656114{}68", "ab".repeat(20))
        );
        assert_eq!(multisig(1, &[k, k]).to_hex_string(), format!("20{NUMS}ac20{NUMS}ba519c"));
    }

    #[test]
    fn the_trace_wraps_at_16_bits() {
        let p = Program { input: 65_000, constants: vec![600, 1] };
        assert_eq!(p.trace(), vec![65_000, 64, 65]);
    }
}
