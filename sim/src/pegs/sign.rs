//! Signing an input whose witness script ends in `OP_CHECKMULTISIG`: `[<>, sig.., script]`.

use bitcoin::{
    Amount, EcdsaSighashType, PublicKey, Script, ScriptBuf, Transaction, Witness,
    hashes::Hash,
    script::{Builder, PushBytesBuf},
    secp256k1::{Message, Secp256k1, SecretKey, Signing},
    sighash::SighashCache,
};

use crate::scenario::OutputType;

/// Signs input `index` (spending `value` locked by `witness_script`) with those of `secrets`
/// whose key is in `keys`, in key order, at most `threshold` of them; missing signatures are
/// left empty so that Bitcoin Core judges the attempt. Sets the witness, and for P2SH-P2WSH
/// the scriptSig.
#[expect(clippy::too_many_arguments, reason = "each argument is a distinct part of the input")]
pub(crate) fn sign_multisig_input<C: Signing>(
    secp: &Secp256k1<C>,
    tx: &mut Transaction,
    index: usize,
    witness_script: &Script,
    value: Amount,
    keys: &[PublicKey],
    threshold: usize,
    secrets: &[SecretKey],
    output: OutputType,
) {
    let sighash = SighashCache::new(&*tx)
        .p2wsh_signature_hash(index, witness_script, value, EcdsaSighashType::All)
        .expect("the input exists");
    let msg = Message::from_digest(sighash.to_byte_array());
    let mut sigs: Vec<Vec<u8>> = keys
        .iter()
        .filter_map(|pk| secrets.iter().find(|sk| PublicKey::new(sk.public_key(secp)) == *pk))
        .take(threshold)
        .map(|sk| bitcoin::ecdsa::Signature::sighash_all(secp.sign_ecdsa(&msg, sk)).to_vec())
        .collect();
    sigs.resize(threshold, Vec::new());
    let mut witness = Witness::new();
    witness.push([]);
    for sig in sigs {
        witness.push(sig);
    }
    witness.push(witness_script.as_bytes());
    tx.input[index].witness = witness;
    if output == OutputType::P2shP2wsh {
        let program = ScriptBuf::new_p2wsh(&witness_script.wscript_hash());
        let push = PushBytesBuf::try_from(program.into_bytes()).expect("34 bytes");
        tx.input[index].script_sig = Builder::new().push_slice(push).into_script();
    }
}

/// The output script locking coins to `witness_script`.
pub(crate) fn script_pubkey(witness_script: &Script, output: OutputType) -> ScriptBuf {
    let p2wsh = ScriptBuf::new_p2wsh(&witness_script.wscript_hash());
    match output {
        OutputType::P2wsh => p2wsh,
        OutputType::P2shP2wsh => ScriptBuf::new_p2sh(&p2wsh.script_hash()),
    }
}
