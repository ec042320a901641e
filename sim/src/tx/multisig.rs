//! Signing ECDSA inputs: a witness script ending in `OP_CHECKMULTISIG` (`[<>, sig.., script]`)
//! or in one `OP_CHECKSIG`, for P2WSH, P2SH-P2WSH and legacy P2SH.

use bitcoin::{
    Amount, EcdsaSighashType, PublicKey, Script, ScriptBuf, Transaction, Witness,
    hashes::Hash,
    script::{Builder, PushBytesBuf},
    secp256k1::{Message, Secp256k1, SecretKey, Signing},
    sighash::SighashCache,
};

use super::OutputType;

/// Which `OP_CHECKMULTISIG` to satisfy, and with whom.
#[derive(Debug)]
pub(crate) struct MultisigSpend<'a> {
    /// The keys of the multisig, in script order.
    pub(crate) keys: &'a [PublicKey],
    /// Signatures it needs.
    pub(crate) threshold: usize,
    /// Who signs (keys not in `keys` are ignored).
    pub(crate) secrets: &'a [SecretKey],
    /// A branch selector pushed after the signatures (`OP_NOTIF`/`OP_IF` templates).
    pub(crate) selector: Option<bool>,
}

/// Signs input `index` (spending `value` locked by `script`) with those of `spend.secrets`
/// whose key is in `spend.keys`, in key order, at most `threshold` of them; missing signatures
/// are left empty so that Bitcoin Core judges the attempt. Sets the witness and/or scriptSig
/// for the output type.
pub(crate) fn sign_multisig_input<C: Signing>(
    secp: &Secp256k1<C>,
    tx: &mut Transaction,
    index: usize,
    script: &Script,
    value: Amount,
    spend: &MultisigSpend<'_>,
    output: OutputType,
) {
    let (keys, threshold, secrets) = (spend.keys, spend.threshold, spend.secrets);
    let sighash = ecdsa_sighash(tx, index, script, value, output);
    let msg = Message::from_digest(sighash);
    let mut sigs: Vec<Vec<u8>> = keys
        .iter()
        .filter_map(|pk| secrets.iter().find(|sk| PublicKey::new(sk.public_key(secp)) == *pk))
        .take(threshold)
        .map(|sk| bitcoin::ecdsa::Signature::sighash_all(secp.sign_ecdsa(&msg, sk)).to_vec())
        .collect();
    sigs.resize(threshold, Vec::new());
    if output == OutputType::P2sh {
        let mut b = Builder::new().push_int(0);
        for sig in sigs {
            b = b.push_slice(PushBytesBuf::try_from(sig).expect("a signature fits a push"));
        }
        if let Some(selector) = spend.selector {
            b = b.push_int(i64::from(selector));
        }
        let redeem = PushBytesBuf::try_from(script.to_bytes()).unwrap_or_default();
        tx.input[index].script_sig = b.push_slice(redeem).into_script();
        return;
    }
    let mut witness = Witness::new();
    witness.push([]);
    for sig in sigs {
        witness.push(sig);
    }
    match spend.selector {
        Some(true) => witness.push([1]),
        Some(false) => witness.push([]),
        None => {}
    }
    witness.push(script.as_bytes());
    tx.input[index].witness = witness;
    if output == OutputType::P2shP2wsh {
        let program = ScriptBuf::new_p2wsh(&script.wscript_hash());
        let push = PushBytesBuf::try_from(program.into_bytes()).expect("34 bytes");
        tx.input[index].script_sig = Builder::new().push_slice(push).into_script();
    }
}

/// Signs input `index` (spending `value` locked by `script`, which ends in one
/// `OP_CHECKSIG`) with `secret`: `[sig, script]`, or `[sig, pubkey, script]` when the script
/// checks a key hash (`with_pubkey`). Sets the witness, or the scriptSig for legacy P2SH.
#[expect(clippy::too_many_arguments, reason = "each argument is a distinct part of the input")]
pub(crate) fn sign_single_input<C: Signing>(
    secp: &Secp256k1<C>,
    tx: &mut Transaction,
    index: usize,
    script: &Script,
    value: Amount,
    secret: &SecretKey,
    with_pubkey: bool,
    output: OutputType,
) {
    let sighash = ecdsa_sighash(tx, index, script, value, output);
    let sig = bitcoin::ecdsa::Signature::sighash_all(
        secp.sign_ecdsa(&Message::from_digest(sighash), secret),
    )
    .to_vec();
    let pubkey = PublicKey::new(secret.public_key(secp)).to_bytes();
    let mut items = vec![sig];
    if with_pubkey {
        items.push(pubkey);
    }
    items.push(script.to_bytes());
    if output == OutputType::P2sh {
        let b = items.into_iter().fold(Builder::new(), |b, item| {
            b.push_slice(PushBytesBuf::try_from(item).expect("a script item fits a push"))
        });
        tx.input[index].script_sig = b.into_script();
        return;
    }
    tx.input[index].witness = Witness::from_slice(&items);
    if output == OutputType::P2shP2wsh {
        let program = ScriptBuf::new_p2wsh(&script.wscript_hash());
        let push = PushBytesBuf::try_from(program.into_bytes()).expect("34 bytes");
        tx.input[index].script_sig = Builder::new().push_slice(push).into_script();
    }
}

/// The `SIGHASH_ALL` digest an ECDSA signature on input `index` commits to: legacy for P2SH,
/// BIP 143 for P2WSH (bare or nested).
pub(crate) fn ecdsa_sighash(
    tx: &Transaction,
    index: usize,
    script: &Script,
    value: Amount,
    output: OutputType,
) -> [u8; 32] {
    let mut cache = SighashCache::new(tx);
    match output {
        OutputType::P2sh => cache
            .legacy_signature_hash(index, script, EcdsaSighashType::All.to_u32())
            .expect("the input exists")
            .to_byte_array(),
        OutputType::P2wsh | OutputType::P2shP2wsh => cache
            .p2wsh_signature_hash(index, script, value, EcdsaSighashType::All)
            .expect("the input exists")
            .to_byte_array(),
    }
}
