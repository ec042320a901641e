//! Witness templates: the stack a script path takes, with a slot for each signature, filled
//! from whichever keys sign. A missing signature is an empty push (what the scripts' own
//! spenders put there), so an attempt short of a quorum reaches Bitcoin Core and Core judges it.

use std::collections::BTreeMap;

use bitcoin::{
    PublicKey, ScriptBuf, Transaction, TxOut, Witness,
    key::{Keypair, TapTweak},
    script::{Builder, PushBytesBuf},
    secp256k1::{All, Message, Secp256k1, SecretKey},
    taproot::TaprootSpendInfo,
};

use crate::{
    policy::Timelocks,
    tx::{
        OutputType,
        multisig::ecdsa_sighash,
        taproot::{leaf_witness, sign_key_path, sign_leaf},
    },
};

/// One item of a witness stack.
#[derive(Debug, Clone)]
pub(crate) enum Slot {
    /// This key's signature, or an empty push.
    Sig(PublicKey),
    /// `OP_CHECKMULTISIG`'s signatures: those of the signing keys in key order, at most `k`,
    /// padded with empty pushes to `k`.
    Multi {
        /// Signatures the script takes.
        k: usize,
        /// The keys, in script order.
        keys: Vec<PublicKey>,
    },
    /// A tapscript `multi_a` (`<pk1> OP_CHECKSIG <pk2> OP_CHECKSIGADD … <k> OP_NUMEQUAL`):
    /// exactly `k` signatures, by the first `k` signing keys in key order, an empty push for
    /// every other key; the last key's item deepest.
    MultiA {
        /// Signatures the script takes (exactly).
        k: usize,
        /// The keys, in script order.
        keys: Vec<PublicKey>,
    },
    /// Fixed bytes (a branch selector, `OP_CHECKMULTISIG`'s dummy).
    Push(Vec<u8>),
}

/// How the script is reached.
#[derive(Debug, Clone)]
pub(crate) enum Wrap {
    /// A witness or redeem script in an output of this type.
    Script(ScriptBuf, OutputType),
    /// A tapscript leaf of this tree (BIP342; signatures are BIP340, default sighash).
    Leaf(ScriptBuf, Box<TaprootSpendInfo>),
    /// The key path of this tree: a signature by the internal key, tweaked by the tree.
    KeyPath(Box<TaprootSpendInfo>),
}

/// One path's witness: the stack before the script, how the script is reached, and the
/// timelocks the spend sets.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    pub(crate) wrap: Wrap,
    pub(crate) stack: Vec<Slot>,
    pub(crate) locks: Timelocks,
}

impl Template {
    pub(crate) fn new(wrap: Wrap, stack: Vec<Slot>, locks: Timelocks) -> Self {
        Self { wrap, stack, locks }
    }

    pub(crate) fn timelocks(&self) -> Timelocks {
        self.locks
    }

    /// Fills the slots with signatures of input `index` (spending `prevout`) by `secrets`.
    pub(crate) fn sign(
        &self,
        secp: &Secp256k1<All>,
        tx: &mut Transaction,
        index: usize,
        prevout: &TxOut,
        secrets: &BTreeMap<PublicKey, SecretKey>,
    ) {
        let sign = |pk: &PublicKey| -> Option<Vec<u8>> {
            let sk = secrets.get(pk)?;
            Some(match &self.wrap {
                Wrap::Script(script, output) => {
                    let digest = ecdsa_sighash(tx, index, script, prevout.value, *output);
                    ecdsa(secp, digest, sk)
                }
                Wrap::Leaf(script, _) => {
                    let keypair = Keypair::from_secret_key(secp, sk);
                    sign_leaf(secp, tx, index, prevout, script, &keypair)
                }
                Wrap::KeyPath(info) => {
                    let keypair = Keypair::from_secret_key(secp, sk)
                        .tap_tweak(secp, info.merkle_root())
                        .to_keypair();
                    sign_key_path(secp, tx, index, prevout, &keypair)
                }
            })
        };
        let mut items: Vec<Vec<u8>> = Vec::new();
        for slot in &self.stack {
            match slot {
                Slot::Sig(pk) => items.push(sign(pk).unwrap_or_default()),
                Slot::Multi { k, keys } => {
                    let mut sigs: Vec<Vec<u8>> = keys.iter().filter_map(sign).take(*k).collect();
                    sigs.resize(*k, Vec::new());
                    items.extend(sigs);
                }
                Slot::MultiA { k, keys } => {
                    let mut signed = 0;
                    let mut sigs: Vec<Vec<u8>> = keys
                        .iter()
                        .map(|pk| match sign(pk) {
                            Some(sig) if signed < *k => {
                                signed += 1;
                                sig
                            }
                            _ => Vec::new(),
                        })
                        .collect();
                    sigs.reverse();
                    items.extend(sigs);
                }
                Slot::Push(bytes) => items.push(bytes.clone()),
            }
        }
        let input = &mut tx.input[index];
        match &self.wrap {
            Wrap::Leaf(script, info) => input.witness = leaf_witness(items, script, info),
            Wrap::KeyPath(_) => input.witness = Witness::from_slice(&items),
            Wrap::Script(script, OutputType::P2sh) => {
                items.push(script.to_bytes());
                // A scriptSig must push minimally (`OP_1`..`OP_16` for one small byte).
                input.script_sig = items
                    .into_iter()
                    .fold(Builder::new(), |b, item| match item.as_slice() {
                        [n @ 1..=16] => b.push_int(i64::from(*n)),
                        _ => {
                            b.push_slice(PushBytesBuf::try_from(item).expect("an item fits a push"))
                        }
                    })
                    .into_script();
            }
            Wrap::Script(script, output) => {
                items.push(script.to_bytes());
                input.witness = Witness::from_slice(&items);
                if *output == OutputType::P2shP2wsh {
                    let program = ScriptBuf::new_p2wsh(&script.wscript_hash()).into_bytes();
                    let push = PushBytesBuf::try_from(program).expect("34 bytes");
                    input.script_sig = Builder::new().push_slice(push).into_script();
                }
            }
        }
    }
}

fn ecdsa(secp: &Secp256k1<All>, digest: [u8; 32], sk: &SecretKey) -> Vec<u8> {
    bitcoin::ecdsa::Signature::sighash_all(secp.sign_ecdsa(&Message::from_digest(digest), sk))
        .to_vec()
}
