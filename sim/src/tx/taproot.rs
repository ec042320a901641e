//! Signing tapscript leaves (BIP341/342) and assembling their witnesses.

use bitcoin::{
    PublicKey, ScriptBuf, Transaction, TxOut, Witness, XOnlyPublicKey,
    hashes::Hash,
    key::Keypair,
    secp256k1::{Message, Parity, Secp256k1, Signing},
    sighash::{Prevouts, SighashCache, TapSighashType},
    taproot::{LeafVersion, Signature, TapLeafHash, TaprootSpendInfo},
};

/// `key` as the compressed key with even y a BIP340 signer stands for (how a descriptor and a
/// lock's holders name an x-only key).
pub(crate) fn even(key: XOnlyPublicKey) -> PublicKey {
    PublicKey::new(key.public_key(Parity::Even))
}

/// The BIP341 script-path digest (default sighash) of input `index` spending `prevout` through
/// `script`, for the single-input transactions Babylon uses (the default sighash commits to
/// every prevout).
pub(crate) fn leaf_sighash(
    tx: &Transaction,
    index: usize,
    prevout: &TxOut,
    script: &ScriptBuf,
) -> [u8; 32] {
    let leaf = TapLeafHash::from_script(script, LeafVersion::TapScript);
    SighashCache::new(tx)
        .taproot_script_spend_signature_hash(
            index,
            &Prevouts::All(std::slice::from_ref(prevout)),
            leaf,
            TapSighashType::Default,
        )
        .expect("the input exists")
        .to_byte_array()
}

/// A BIP340 signature (default sighash) of input `index` spending `prevout` through `script`.
/// Deterministic: no auxiliary randomness, so same seed, same txids.
pub(crate) fn sign_leaf<C: Signing>(
    secp: &Secp256k1<C>,
    tx: &Transaction,
    index: usize,
    prevout: &TxOut,
    script: &ScriptBuf,
    keypair: &Keypair,
) -> Vec<u8> {
    let sighash = leaf_sighash(tx, index, prevout, script);
    let signature = secp.sign_schnorr_no_aux_rand(&Message::from_digest(sighash), keypair);
    Signature { signature, sighash_type: TapSighashType::Default }.to_vec()
}

/// A BIP340 key-path signature (default sighash) of input `index` spending `prevout`, by the
/// tweaked `keypair`, for single-input transactions.
pub(crate) fn sign_key_path<C: Signing>(
    secp: &Secp256k1<C>,
    tx: &Transaction,
    index: usize,
    prevout: &TxOut,
    keypair: &Keypair,
) -> Vec<u8> {
    let sighash = SighashCache::new(tx)
        .taproot_key_spend_signature_hash(
            index,
            &Prevouts::All(std::slice::from_ref(prevout)),
            TapSighashType::Default,
        )
        .expect("the input exists")
        .to_byte_array();
    let signature = secp.sign_schnorr_no_aux_rand(&Message::from_digest(sighash), keypair);
    Signature { signature, sighash_type: TapSighashType::Default }.to_vec()
}

/// `items` (bottom of the stack first), then the leaf script and its control block.
pub(crate) fn leaf_witness(
    items: Vec<Vec<u8>>,
    script: &ScriptBuf,
    info: &TaprootSpendInfo,
) -> Witness {
    let control = info
        .control_block(&(script.clone(), LeafVersion::TapScript))
        .expect("the leaf is in the tree");
    let mut witness = Witness::from_slice(&items);
    witness.push(script.as_bytes());
    witness.push(control.serialize());
    witness
}
