//! Extractable one-time signatures (Babylon's `crypto/eots`): a finality provider commits to a
//! nonce per block height and signs its vote for that height as a BIP340 signature with that
//! nonce. Two signatures with one nonce give away the secret key:
//! `x = (s1 - s2) / (e1 - e2)`.

use bitcoin::{
    XOnlyPublicKey,
    hashes::{Hash, HashEngine, sha256},
    secp256k1::SecretKey,
};
use k256::{ProjectivePoint, Scalar};

use super::bip340::{challenge, normalized, point, scalar};

/// A vote signature: the nonce point's x coordinate and `s`.
pub(crate) type Signature = [u8; 64];

/// The vote message Babylon signs: SHA256 of `height (u64 big-endian) || block hash`.
pub(crate) fn vote_message(height: u64, block: &[u8; 32]) -> [u8; 32] {
    let mut engine = sha256::Hash::engine();
    engine.input(&height.to_be_bytes());
    engine.input(block);
    sha256::Hash::from_engine(engine).to_byte_array()
}

/// The nonce a provider commits to for `height` (derived from its key: deterministic), with
/// even-y normalization as BIP340 wants.
fn nonce(key: &SecretKey, height: u64) -> Scalar {
    let mut engine = sha256::Hash::engine();
    engine.input(b"peglab/eots/nonce");
    engine.input(&key.secret_bytes());
    engine.input(&height.to_be_bytes());
    let k = scalar(&sha256::Hash::from_engine(engine).to_byte_array());
    let (_, even) = point(&(ProjectivePoint::GENERATOR * k));
    if even { k } else { -k }
}

/// Signs message `m` with the nonce committed for `height`: a valid BIP340 signature.
pub(crate) fn sign(key: &SecretKey, height: u64, m: &[u8; 32]) -> Signature {
    let (d, p_x) = normalized(key);
    let k = nonce(key, height);
    let (r_x, _) = point(&(ProjectivePoint::GENERATOR * k));
    let s = k + challenge(&r_x, &p_x, m) * d;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&r_x);
    sig[32..].copy_from_slice(&s.to_bytes());
    sig
}

/// The secret key behind `public`, from two signatures over different messages that share a
/// nonce; `None` when they do not (or do not belong to `public`).
pub(crate) fn extract(
    public: &XOnlyPublicKey,
    m1: &[u8; 32],
    sig1: &Signature,
    m2: &[u8; 32],
    sig2: &Signature,
) -> Option<SecretKey> {
    let p_x = public.serialize();
    let (r1, r2): (&[u8; 32], &[u8; 32]) =
        (sig1[..32].try_into().ok()?, sig2[..32].try_into().ok()?);
    let (s1, s2) = (scalar(sig1[32..].try_into().ok()?), scalar(sig2[32..].try_into().ok()?));
    let (e1, e2) = (challenge(r1, &p_x, m1), challenge(r2, &p_x, m2));
    let inverse: Option<Scalar> = (e1 - e2).invert().into();
    let x = (s1 - s2) * inverse?;
    let key = SecretKey::from_slice(&x.to_bytes()).ok()?;
    let secp = bitcoin::secp256k1::Secp256k1::signing_only();
    (key.x_only_public_key(&secp).0 == *public).then_some(key)
}

#[cfg(test)]
mod tests {
    use bitcoin::secp256k1::{Message, Secp256k1, schnorr};
    use proptest::prelude::*;

    use super::*;

    fn key(seed: u8) -> SecretKey {
        SecretKey::from_slice(&sha256::Hash::hash(&[seed]).to_byte_array()).unwrap()
    }

    #[test]
    fn eots_signatures_are_bip340_signatures() {
        let secp = Secp256k1::new();
        for seed in 0..8u8 {
            let sk = key(seed);
            let m = vote_message(100, &[seed; 32]);
            let sig = schnorr::Signature::from_slice(&sign(&sk, 100, &m)).unwrap();
            secp.verify_schnorr(&sig, &Message::from_digest(m), &sk.x_only_public_key(&secp).0)
                .unwrap();
        }
    }

    proptest! {
        #[test]
        fn one_nonce_twice_gives_the_key(seed in any::<[u8; 32]>(), height in any::<u64>(), a in any::<[u8; 32]>(), b in any::<[u8; 32]>()) {
            prop_assume!(a != b);
            let Ok(sk) = SecretKey::from_slice(&sha256::Hash::hash(&seed).to_byte_array()) else { return Ok(()) };
            let secp = Secp256k1::new();
            let public = sk.x_only_public_key(&secp).0;
            let (m1, m2) = (vote_message(height, &a), vote_message(height, &b));
            let extracted = extract(&public, &m1, &sign(&sk, height, &m1), &m2, &sign(&sk, height, &m2));
            prop_assert_eq!(extracted.map(|k| k.x_only_public_key(&secp).0), Some(public));
        }

        #[test]
        fn different_nonces_never_give_the_key(seed in any::<[u8; 32]>(), h1 in any::<u64>(), h2 in any::<u64>(), a in any::<[u8; 32]>(), b in any::<[u8; 32]>()) {
            prop_assume!(h1 != h2);
            let Ok(sk) = SecretKey::from_slice(&sha256::Hash::hash(&seed).to_byte_array()) else { return Ok(()) };
            let secp = Secp256k1::new();
            let public = sk.x_only_public_key(&secp).0;
            let (m1, m2) = (vote_message(h1, &a), vote_message(h2, &b));
            prop_assert_eq!(extract(&public, &m1, &sign(&sk, h1, &m1), &m2, &sign(&sk, h2, &m2)), None);
        }
    }
}
