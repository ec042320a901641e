//! Schnorr adaptor signatures, as Babylon's covenant signs slashing transactions
//! (`crypto/schnorr-adaptor-signature`, a port of secp256kfun's `schnorr_fun::adaptor`).
//!
//! A covenant member signs *encrypted* to a finality provider's public key `Y`: the encrypted
//! signature can be checked by anyone but only becomes a valid BIP340 signature with the
//! provider's secret key `y`, which the provider gives away by double-signing (EOTS). So the
//! slashing transaction is complete exactly when the provider has equivocated.

use bitcoin::{
    XOnlyPublicKey,
    hashes::{Hash, HashEngine, sha256},
    secp256k1::SecretKey,
};
use k256::{ProjectivePoint, Scalar, elliptic_curve::point::DecompressPoint};

use super::bip340::{challenge, normalized, point, scalar};

/// A signature encrypted to a key: the final nonce point `R` (even y; its x is the final
/// signature's first half), `s_hat`, and whether the encryption key enters negated.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EncryptedSignature {
    r_x: [u8; 32],
    s_hat: Scalar,
    needs_negation: bool,
}

/// The point `Y` with x coordinate `key` and even y (BIP340's `lift_x`).
fn lift(key: &XOnlyPublicKey) -> ProjectivePoint {
    let x = k256::FieldBytes::from(key.serialize());
    let affine: Option<k256::AffinePoint> =
        k256::AffinePoint::decompress(&x, k256::elliptic_curve::subtle::Choice::from(0)).into();
    ProjectivePoint::from(affine.expect("a valid key"))
}

/// The deterministic nonce for one encrypted signature (same keys and message, same nonce);
/// `attempt` counts retries.
fn nonce(signer: &Scalar, encryption_key: &[u8; 32], m: &[u8; 32], attempt: u32) -> Scalar {
    let mut engine = sha256::Hash::engine();
    engine.input(b"peglab/adaptor/nonce");
    engine.input(&signer.to_bytes());
    engine.input(encryption_key);
    engine.input(m);
    engine.input(&attempt.to_be_bytes());
    scalar(&sha256::Hash::from_engine(engine).to_byte_array())
}

/// Signs `m` with `signer`, encrypted to `encryption_key`. As Babylon's `EncSign`, retries
/// nonces until its own verification (which wants `R' = s'·G - e·P` with even y) passes.
pub(crate) fn encrypted_sign(
    signer: &SecretKey,
    encryption_key: &XOnlyPublicKey,
    m: &[u8; 32],
) -> EncryptedSignature {
    let (x, signer_x) = normalized(signer);
    let y_point = lift(encryption_key);
    (0..)
        .find_map(|attempt| {
            let mut r = nonce(&x, &encryption_key.serialize(), m, attempt);
            let (r_x, even) = point(&(ProjectivePoint::GENERATOR * r + y_point));
            // The final nonce point must have even y: negating it negates both r and Y.
            let needs_negation = !even;
            if needs_negation {
                r = -r;
            }
            let (_, r_hat_even) = point(&(ProjectivePoint::GENERATOR * r));
            let s_hat = r + challenge(&r_x, &signer_x, m) * x;
            r_hat_even.then_some(EncryptedSignature { r_x, s_hat, needs_negation })
        })
        .expect("half of all nonces work")
}

/// Whether `sig` is `signer`'s signature on `m` encrypted to `encryption_key`, as Babylon's
/// `EncVerify` checks: `R' = s'·G - e·P` has even y and equals `R - Y` (`R + Y` when negated).
pub(crate) fn verify_encrypted(
    sig: &EncryptedSignature,
    signer: &XOnlyPublicKey,
    encryption_key: &XOnlyPublicKey,
    m: &[u8; 32],
) -> bool {
    let r_x = XOnlyPublicKey::from_slice(&sig.r_x).expect("a point's x coordinate");
    let (r_point, y_point) = (lift(&r_x), lift(encryption_key));
    let r_hat = if sig.needs_negation { r_point + y_point } else { r_point - y_point };
    let e = challenge(&sig.r_x, &signer.serialize(), m);
    let expected = ProjectivePoint::GENERATOR * sig.s_hat - lift(signer) * e;
    expected == r_hat && point(&expected).1
}

/// The decryption key's scalar, normalized to the even-y encryption key.
fn decryption_scalar(key: &SecretKey, needs_negation: bool) -> Scalar {
    let (y, _) = normalized(key);
    if needs_negation { -y } else { y }
}

/// The BIP340 signature (64 bytes) inside `sig`, decrypted with the encryption key's secret.
/// With any other key the result is not a valid signature.
pub(crate) fn decrypt(sig: &EncryptedSignature, key: &SecretKey) -> [u8; 64] {
    let s = sig.s_hat + decryption_scalar(key, sig.needs_negation);
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&sig.r_x);
    out[32..].copy_from_slice(&s.to_bytes());
    out
}

/// The encrypted signature's bytes as if it were a signature (`R`, `s_hat`): what anyone who
/// lacks the decryption key can put in a witness. It is no valid BIP340 signature.
pub(crate) fn undecrypted(sig: &EncryptedSignature) -> [u8; 64] {
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&sig.r_x);
    out[32..].copy_from_slice(&sig.s_hat.to_bytes());
    out
}

/// The decryption key, from an encrypted signature and the signature it became (what anyone
/// who sees the slashing transaction learns); `None` if `sig` is not that signature. The
/// property that makes these signatures one-time; peglab checks it in tests only.
#[cfg(test)]
fn recover(
    encrypted: &EncryptedSignature,
    sig: &[u8; 64],
    encryption_key: &XOnlyPublicKey,
) -> Option<SecretKey> {
    if sig[..32] != encrypted.r_x {
        return None;
    }
    let s = scalar(sig[32..].try_into().ok()?);
    let y = s - encrypted.s_hat;
    let y = if encrypted.needs_negation { -y } else { y };
    let key = SecretKey::from_slice(&y.to_bytes()).ok()?;
    let secp = bitcoin::secp256k1::Secp256k1::signing_only();
    (key.x_only_public_key(&secp).0 == *encryption_key).then_some(key)
}

#[cfg(test)]
mod tests {
    use bitcoin::secp256k1::{Message, Secp256k1, schnorr};
    use proptest::prelude::*;

    use super::*;

    fn key(seed: &[u8]) -> Option<SecretKey> {
        SecretKey::from_slice(&sha256::Hash::hash(seed).to_byte_array()).ok()
    }

    proptest! {
        #[test]
        fn decrypted_with_the_right_key_it_is_a_bip340_signature(
            a in any::<[u8; 32]>(), b in any::<[u8; 32]>(), c in any::<[u8; 32]>(), m in any::<[u8; 32]>(),
        ) {
            let (Some(signer), Some(provider), Some(other)) = (key(&a), key(&b), key(&c)) else { return Ok(()) };
            prop_assume!(provider != other);
            let secp = Secp256k1::new();
            let (signer_pk, provider_pk) = (signer.x_only_public_key(&secp).0, provider.x_only_public_key(&secp).0);
            let enc = encrypted_sign(&signer, &provider_pk, &m);
            prop_assert!(verify_encrypted(&enc, &signer_pk, &provider_pk, &m));
            prop_assert!(!verify_encrypted(&enc, &signer_pk, &other.x_only_public_key(&secp).0, &m));

            let sig = decrypt(&enc, &provider);
            let parsed = schnorr::Signature::from_slice(&sig).unwrap();
            prop_assert!(secp.verify_schnorr(&parsed, &Message::from_digest(m), &signer_pk).is_ok());
            prop_assert_eq!(recover(&enc, &sig, &provider_pk).map(|k| k.x_only_public_key(&secp).0), Some(provider_pk));

            let wrong = schnorr::Signature::from_slice(&decrypt(&enc, &other)).unwrap();
            prop_assert!(secp.verify_schnorr(&wrong, &Message::from_digest(m), &signer_pk).is_err());
        }
    }

    #[test]
    fn the_encrypted_signature_alone_does_not_verify() {
        let secp = Secp256k1::new();
        let (signer, provider) = (key(b"covenant").unwrap(), key(b"provider").unwrap());
        let m = [7u8; 32];
        let enc = encrypted_sign(&signer, &provider.x_only_public_key(&secp).0, &m);
        let mut naive = [0u8; 64];
        naive[..32].copy_from_slice(&enc.r_x);
        naive[32..].copy_from_slice(&enc.s_hat.to_bytes());
        let naive = schnorr::Signature::from_slice(&naive).unwrap();
        let signer_pk = signer.x_only_public_key(&secp).0;
        assert!(secp.verify_schnorr(&naive, &Message::from_digest(m), &signer_pk).is_err());
    }
}
