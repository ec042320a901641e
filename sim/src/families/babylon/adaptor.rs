//! Schnorr adaptor signatures as Babylon's covenant signs slashing transactions today:
//! Blockstream's secp256k1-zkp Schnorr adaptor spec, which Babylon adopted in `4588c996`
//! (2025-03-18, `crypto/schnorr-adaptor-signature/sign_utils.go` and `sig.go` @ `a3b6540f`),
//! pinned to its published vectors (`testdata/*_vectors.csv`).
//!
//! The nonce follows the spec's vectors: `tagged_hash("SchnorrAdaptor/nonce", t ‖ cbytes(T) ‖
//! bytes(P) ‖ m)` with the 32-byte x-only `P`. (Babylon's Go `genRandForNonce` hashes the
//! 33-byte compressed `P` instead, and its vector test does not compare the bytes it signs:
//! `vectors_test.go:71-73` returns a nil error on a mismatch. Verification does not depend on
//! the nonce, so either side's pre-signatures verify on the other.)
//!
//! A covenant member pre-signs *encrypted* to a finality provider's key `T`: the 65-byte
//! pre-signature `R0 (33 bytes, with its parity) ‖ s0` can be checked by anyone, but only
//! becomes a valid BIP340 signature with the provider's secret `t`, which the provider gives
//! away by double-signing (EOTS). So the slashing transaction is complete exactly when the
//! provider has equivocated.

use bitcoin::{
    XOnlyPublicKey,
    hashes::{Hash, HashEngine, sha256},
    secp256k1::SecretKey,
};
use k256::{
    ProjectivePoint, Scalar,
    elliptic_curve::{
        PrimeField,
        sec1::{FromEncodedPoint, ToEncodedPoint},
    },
};

use super::bip340::{challenge, normalized, point, scalar};

/// A pre-signature: `R0 = k0·G + T` and `s0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PreSignature {
    r0: ProjectivePoint,
    s0: Scalar,
}

/// `tagged_hash(tag, parts...)` (BIP340).
fn tagged(tag: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let tag = sha256::Hash::hash(tag);
    let mut engine = sha256::Hash::engine();
    engine.input(tag.as_byte_array());
    engine.input(tag.as_byte_array());
    for part in parts {
        engine.input(part);
    }
    sha256::Hash::from_engine(engine).to_byte_array()
}

/// A point's 33-byte compressed encoding.
fn compressed(p: &ProjectivePoint) -> [u8; 33] {
    p.to_affine().to_encoded_point(true).as_bytes().try_into().expect("33 bytes")
}

/// A point from its 33-byte compressed encoding.
pub(crate) fn decompress(bytes: &[u8]) -> Option<ProjectivePoint> {
    let encoded = k256::EncodedPoint::from_bytes(bytes).ok()?;
    Option::<k256::AffinePoint>::from(k256::AffinePoint::from_encoded_point(&encoded))
        .map(ProjectivePoint::from)
}

/// The provider key a covenant encrypts to: its x-only key with even y (`lift_x`).
pub(crate) fn encryption_key(provider: &XOnlyPublicKey) -> ProjectivePoint {
    let mut bytes = [2u8; 33];
    bytes[1..].copy_from_slice(&provider.serialize());
    decompress(&bytes).expect("a valid key")
}

/// The decryption key for [`encryption_key`]: the provider's secret, normalized to even y.
pub(crate) fn decryption_key(provider: &SecretKey) -> Scalar {
    normalized(provider).0
}

impl PreSignature {
    /// `cbytes(R0) ‖ bytes(s0)`.
    #[cfg(test)]
    pub(crate) fn to_bytes(self) -> [u8; 65] {
        let mut out = [0u8; 65];
        out[..33].copy_from_slice(&compressed(&self.r0));
        out[33..].copy_from_slice(&self.s0.to_bytes());
        out
    }

    /// Parses 65 bytes; `None` when `R0` is no point or `s0` not below the curve order.
    #[cfg(test)]
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != 65 {
            return None;
        }
        let r0 = decompress(&bytes[..33])?;
        let s0 = Option::from(Scalar::from_repr(k256::FieldBytes::clone_from_slice(&bytes[33..])))?;
        Some(Self { r0, s0 })
    }

    fn r0_even(&self) -> bool {
        point(&self.r0).1
    }

    /// The bytes a witness holds when nobody can decrypt: `x(R0) ‖ s0`, no valid signature.
    pub(crate) fn undecrypted(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&point(&self.r0).0);
        out[32..].copy_from_slice(&self.s0.to_bytes());
        out
    }
}

/// `schnorr_presig_sign`: `sk` signs `m` encrypted to `t`, with auxiliary randomness `aux`
/// (Babylon's `EncSignWithAuxData`). `None` for a zero nonce or `R0` at infinity.
pub(crate) fn pre_sign(
    sk: &SecretKey,
    aux: &[u8; 32],
    m: &[u8; 32],
    t: &ProjectivePoint,
) -> Option<PreSignature> {
    let d0 = Option::<Scalar>::from(Scalar::from_repr(sk.secret_bytes().into()))?;
    let p = ProjectivePoint::GENERATOR * d0;
    let (p_x, even) = point(&p);
    let d = if even { d0 } else { -d0 };
    let aux_hash = tagged(b"SchnorrAdaptor/aux", &[aux]);
    let mut masked = d.to_bytes();
    for (byte, mask) in masked.iter_mut().zip(aux_hash) {
        *byte ^= mask;
    }
    let rand = tagged(b"SchnorrAdaptor/nonce", &[&masked, &compressed(t), &p_x, m]);
    let k0 = scalar(&rand);
    if bool::from(k0.is_zero()) {
        return None;
    }
    let r0 = ProjectivePoint::GENERATOR * k0 + t;
    if r0 == ProjectivePoint::IDENTITY {
        return None;
    }
    let (r0_x, r0_even) = point(&r0);
    let k = if r0_even { k0 } else { -k0 };
    let s0 = k + challenge(&r0_x, &p_x, m) * d;
    Some(PreSignature { r0, s0 })
}

/// `schnorr_presig_verify`: whether `psig` is `pk`'s pre-signature of `m` encrypted to `t`
/// (Babylon's `EncVerify`).
pub(crate) fn pre_verify(
    psig: &PreSignature,
    pk: &XOnlyPublicKey,
    m: &[u8; 32],
    t: &ProjectivePoint,
) -> bool {
    if bool::from(psig.s0.is_zero()) {
        return false;
    }
    let (r0_x, _) = point(&psig.r0);
    let e = challenge(&r0_x, &pk.serialize(), m);
    let r = ProjectivePoint::GENERATOR * psig.s0 - encryption_key(pk) * e;
    if r == ProjectivePoint::IDENTITY {
        return false;
    }
    let derived = if psig.r0_even() { psig.r0 - r } else { psig.r0 + r };
    derived == *t
}

/// `schnorr_adapt`: the BIP340 signature inside `psig`, with the decryption key `t`. With any
/// other key the result is not a valid signature.
pub(crate) fn adapt(psig: &PreSignature, t: &Scalar) -> [u8; 64] {
    let s = if psig.r0_even() { psig.s0 + t } else { psig.s0 - t };
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&point(&psig.r0).0);
    out[32..].copy_from_slice(&s.to_bytes());
    out
}

/// `schnorr_extract_secadaptor`: the decryption key, from a pre-signature and the signature it
/// became (what anyone who sees the slashing transaction learns).
#[cfg(test)]
pub(crate) fn extract(psig: &PreSignature, sig: &[u8; 64]) -> Option<Scalar> {
    if sig[..32] != point(&psig.r0).0 {
        return None;
    }
    let s =
        Option::<Scalar>::from(Scalar::from_repr(k256::FieldBytes::clone_from_slice(&sig[32..])))?;
    Some(if psig.r0_even() { s - psig.s0 } else { psig.s0 - s })
}

#[cfg(test)]
mod tests {
    use bitcoin::{
        hex::FromHex,
        secp256k1::{Message, Secp256k1, schnorr},
    };

    use super::*;

    /// The CSV rows after the header and the comment row, split by comma.
    fn rows(text: &str) -> Vec<Vec<String>> {
        text.lines().skip(2).map(|l| l.split(',').map(str::to_owned).collect()).collect()
    }

    fn bytes(hex: &str) -> Vec<u8> {
        Vec::<u8>::from_hex(hex).unwrap()
    }

    #[test]
    fn presig_vectors() {
        let all = rows(include_str!("testdata/presig_vectors.csv"));
        assert_eq!(all.len(), 15);
        for r in &all {
            let (index, sk, pk, aux, m, t, psig, result) =
                (&r[0], &r[1], &r[2], &r[3], &r[4], &r[5], &r[6], r[7] == "TRUE");
            let m: [u8; 32] = bytes(m).try_into().unwrap();
            let t = decompress(&bytes(t));
            let parsed = PreSignature::from_bytes(&bytes(psig));
            let pk = XOnlyPublicKey::from_slice(&bytes(pk)).ok();
            let verified = match (&parsed, &t, &pk) {
                (Some(p), Some(t), Some(pk)) => pre_verify(p, pk, &m, t),
                _ => false,
            };
            assert_eq!(verified, result, "presig vector {index}");
            if !sk.is_empty() {
                let sk = SecretKey::from_slice(&bytes(sk)).unwrap();
                let aux: [u8; 32] = bytes(aux).try_into().unwrap();
                let made = pre_sign(&sk, &aux, &m, &t.unwrap()).unwrap();
                assert_eq!(made.to_bytes().to_vec(), bytes(psig), "presig vector {index} signs");
            }
        }
    }

    #[test]
    fn adapt_vectors() {
        let secp = Secp256k1::verification_only();
        let all = rows(include_str!("testdata/adapt_vectors.csv"));
        assert_eq!(all.len(), 5);
        for r in &all {
            let (index, pk, m, t, psig, sig, result) =
                (&r[0], &r[1], &r[2], &r[3], &r[4], &r[5], r[6] == "TRUE");
            let psig = PreSignature::from_bytes(&bytes(psig)).unwrap();
            let t: [u8; 32] = bytes(t).try_into().unwrap();
            let adapted = adapt(&psig, &scalar(&t));
            assert_eq!(adapted.to_vec(), bytes(sig), "adapt vector {index}");
            let pk = XOnlyPublicKey::from_slice(&bytes(pk)).unwrap();
            let m = Message::from_digest(bytes(m).try_into().unwrap());
            let valid = schnorr::Signature::from_slice(&adapted)
                .is_ok_and(|s| secp.verify_schnorr(&s, &m, &pk).is_ok());
            assert_eq!(valid, result, "adapt vector {index} verifies");
        }
    }

    #[test]
    fn secadaptor_vectors() {
        let all = rows(include_str!("testdata/secadaptor_vectors.csv"));
        assert_eq!(all.len(), 4);
        for r in &all {
            let (index, psig, sig, t, result) = (&r[0], &r[1], &r[2], &r[3], r[4] == "TRUE");
            let psig = PreSignature::from_bytes(&bytes(psig)).unwrap();
            let sig: [u8; 64] = bytes(sig).try_into().unwrap();
            let extracted = extract(&psig, &sig).map(|s| s.to_bytes().to_vec());
            assert_eq!(extracted == Some(bytes(t)), result, "secadaptor vector {index}");
        }
    }

    #[test]
    fn a_covenant_signature_decrypts_only_with_the_providers_key() {
        let secp = Secp256k1::new();
        let key = |s: &[u8]| SecretKey::from_slice(&sha256::Hash::hash(s).to_byte_array()).unwrap();
        let (covenant, provider, other) = (key(b"covenant"), key(b"provider"), key(b"other"));
        let m = [7u8; 32];
        let t = encryption_key(&provider.x_only_public_key(&secp).0);
        let psig = pre_sign(&covenant, &[0; 32], &m, &t).unwrap();
        let covenant_pk = covenant.x_only_public_key(&secp).0;
        assert!(pre_verify(&psig, &covenant_pk, &m, &t));
        let message = Message::from_digest(m);
        let check = |sig: [u8; 64]| {
            schnorr::Signature::from_slice(&sig)
                .is_ok_and(|s| secp.verify_schnorr(&s, &message, &covenant_pk).is_ok())
        };
        assert!(check(adapt(&psig, &decryption_key(&provider))));
        assert!(!check(adapt(&psig, &decryption_key(&other))));
        assert!(!check(psig.undecrypted()));
        let sig = adapt(&psig, &decryption_key(&provider));
        assert_eq!(extract(&psig, &sig), Some(decryption_key(&provider)));
    }
}
