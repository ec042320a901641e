//! The n-of-n committee: MuSig2 (BIP-327) through the `musig2` crate (k256 backend). Every
//! verifier's key goes into one aggregate x-only key (`nofn`, Clementine's name); each message
//! is signed by a full session: every member's nonce pair, nonce aggregation, a partial
//! signature from each member, and their aggregation into one BIP340 signature.
//!
//! Nonces come from the scenario's seed, the member and the message (same seed, same
//! signatures, same txids). That is a lab's choice: a real signer draws them at random
//! (BIP-327's NonceGen), since a nonce reused for two messages leaks its key.

use bitcoin::{
    XOnlyPublicKey,
    hashes::{Hash, sha256},
    hex::DisplayHex,
    secp256k1::SecretKey,
};
use musig2::{
    AggNonce, KeyAggContext, PartialSignature, SecNonce, SecNonceBuilder,
    secp::{Point, Scalar},
};

/// An n-of-n MuSig2 committee.
#[derive(Debug, Clone)]
pub(crate) struct Committee {
    ctx: KeyAggContext,
    secrets: Vec<Scalar>,
    label: String,
}

impl Committee {
    /// The committee of `secrets`, their public keys sorted (BIP-327 KeySort), so the key
    /// does not depend on the order the scenario names them in. `label` seeds the nonces.
    pub(crate) fn new(secrets: &[SecretKey], label: &str) -> Self {
        let mut secrets: Vec<Scalar> = secrets
            .iter()
            .map(|s| Scalar::from_slice(&s.secret_bytes()).expect("a valid secret key"))
            .collect();
        secrets.sort_by_key(|s| (*s * musig2::secp::G).serialize());
        let points: Vec<Point> = secrets.iter().map(|s| *s * musig2::secp::G).collect();
        let ctx = KeyAggContext::new(points).expect("distinct valid keys aggregate");
        Self { ctx, secrets, label: label.to_owned() }
    }

    /// The aggregate x-only key every `<nofn> OP_CHECKSIG` leaf holds (untweaked: it is only
    /// ever used inside tapscript leaves).
    pub(crate) fn key(&self) -> XOnlyPublicKey {
        let point: Point = self.ctx.aggregated_pubkey();
        XOnlyPublicKey::from_slice(&point.serialize_xonly()).expect("a valid x-only key")
    }

    /// The secret the aggregate key stands for (`Σ a_i·x_i`): what n colluding verifiers
    /// hold together, for `peglab explain --prove`.
    pub(crate) fn aggregate_secret(&self) -> SecretKey {
        let secret: Scalar =
            self.ctx.aggregated_seckey(self.secrets.iter().copied()).expect("the members' keys");
        SecretKey::from_slice(&secret.serialize()).expect("a valid secret key")
    }

    /// How many sign.
    pub(crate) fn size(&self) -> usize {
        self.secrets.len()
    }

    /// One BIP340 signature of `message` by all members: both MuSig2 rounds.
    pub(crate) fn sign(&self, message: [u8; 32]) -> bitcoin::secp256k1::schnorr::Signature {
        let aggregate: Point = self.ctx.aggregated_pubkey();
        let secnonces: Vec<SecNonce> = self
            .secrets
            .iter()
            .enumerate()
            .map(|(i, secret)| {
                let seed = sha256::Hash::hash(
                    format!(
                        "peglab/musig2-nonce/{}/{i}/{}",
                        self.label,
                        message.to_lower_hex_string()
                    )
                    .as_bytes(),
                )
                .to_byte_array();
                SecNonceBuilder::from_seckey(seed, *secret)
                    .with_message(&message)
                    .with_aggregated_pubkey(aggregate)
                    .build()
            })
            .collect();
        let aggnonce: AggNonce = secnonces.iter().map(SecNonce::public_nonce).sum();
        let partials: Vec<PartialSignature> = self
            .secrets
            .iter()
            .zip(secnonces)
            .map(|(secret, nonce)| {
                musig2::sign_partial(&self.ctx, *secret, nonce, &aggnonce, message)
                    .expect("a member of the context signs")
            })
            .collect();
        let signature: [u8; 64] =
            musig2::aggregate_partial_signatures(&self.ctx, &aggnonce, partials, message)
                .expect("valid partial signatures aggregate");
        bitcoin::secp256k1::schnorr::Signature::from_slice(&signature).expect("64 bytes")
    }
}

#[cfg(test)]
mod tests {
    //! BIP-327's own vectors (bitcoin/bips `bip-0327/vectors/` @ 7fe0b034, in `testdata/`):
    //! the crate peglab signs with agrees with them.

    use bitcoin::hex::FromHex;
    use musig2::{BinaryEncoding, LiftedSignature, PubNonce};
    use serde_json::Value;

    use super::*;

    fn vectors(name: &str) -> Value {
        let path = format!(
            "{}/src/families/bitvm2/testdata/bip327_{name}_vectors.json",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).expect("vectors")).expect("json")
    }

    fn bytes(v: &Value) -> Vec<u8> {
        Vec::from_hex(v.as_str().expect("hex")).expect("hex")
    }

    fn points(v: &Value, key: &str, indices: &Value) -> Vec<Point> {
        indices
            .as_array()
            .unwrap()
            .iter()
            .map(|i| Point::from_slice(&bytes(&v[key][i.as_u64().unwrap() as usize])).unwrap())
            .collect()
    }

    #[test]
    fn key_aggregation_matches_bip327() {
        let v = vectors("key_agg");
        for case in v["valid_test_cases"].as_array().unwrap() {
            let ctx = KeyAggContext::new(points(&v, "pubkeys", &case["key_indices"])).unwrap();
            let key: Point = ctx.aggregated_pubkey();
            assert_eq!(key.serialize_xonly().to_vec(), bytes(&case["expected"]));
        }
    }

    #[test]
    fn partial_signatures_match_bip327() {
        let v = vectors("sign_verify");
        let secret = Scalar::from_slice(&bytes(&v["sk"])).unwrap();
        let secnonce = SecNonce::from_bytes(&bytes(&v["secnonces"][0])).unwrap();
        let mut checked = 0;
        for case in v["valid_test_cases"].as_array().unwrap() {
            // `sk` signs every valid case, with the first secret nonce, at `signer_index`.
            let ctx = KeyAggContext::new(points(&v, "pubkeys", &case["key_indices"])).unwrap();
            let aggnonce = AggNonce::from_bytes(&bytes(
                &v["aggnonces"][case["aggnonce_index"].as_u64().unwrap() as usize],
            ))
            .unwrap();
            let message = bytes(&v["msgs"][case["msg_index"].as_u64().unwrap() as usize]);
            let partial: PartialSignature =
                musig2::sign_partial(&ctx, secret, secnonce.clone(), &aggnonce, &message).unwrap();
            assert_eq!(partial.serialize().to_vec(), bytes(&case["expected"]));
            checked += 1;
        }
        assert_eq!(checked, 6);
    }

    #[test]
    fn signature_aggregation_matches_bip327() {
        let v = vectors("sig_agg");
        let message = bytes(&v["msg"]);
        let mut checked = 0;
        for case in v["valid_test_cases"].as_array().unwrap() {
            if !case["tweak_indices"].as_array().unwrap().is_empty() {
                continue;
            }
            let ctx = KeyAggContext::new(points(&v, "pubkeys", &case["key_indices"])).unwrap();
            let nonces: Vec<PubNonce> = case["nonce_indices"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| {
                    PubNonce::from_bytes(&bytes(&v["pnonces"][i.as_u64().unwrap() as usize]))
                        .unwrap()
                })
                .collect();
            let aggnonce: AggNonce = nonces.into_iter().sum();
            assert_eq!(aggnonce.to_bytes().to_vec(), bytes(&case["aggnonce"]));
            let partials: Vec<PartialSignature> = case["psig_indices"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| {
                    PartialSignature::from_slice(&bytes(&v["psigs"][i.as_u64().unwrap() as usize]))
                        .unwrap()
                })
                .collect();
            let signature: LiftedSignature =
                musig2::aggregate_partial_signatures(&ctx, &aggnonce, partials, &message).unwrap();
            assert_eq!(signature.to_bytes().to_vec(), bytes(&case["expected"]));
            checked += 1;
        }
        assert!(checked >= 1);
    }

    /// A committee of five signs; the signature verifies under the aggregate key with
    /// libsecp256k1 (rust-bitcoin's), not only with the crate that made it.
    #[test]
    fn a_committee_signature_verifies_under_its_key() {
        let secp = bitcoin::secp256k1::Secp256k1::verification_only();
        let secrets: Vec<SecretKey> =
            (1..=5u8).map(|i| SecretKey::from_slice(&[i; 32]).unwrap()).collect();
        let committee = Committee::new(&secrets, "test");
        let message = [7u8; 32];
        let signature = committee.sign(message);
        let digest = bitcoin::secp256k1::Message::from_digest(message);
        secp.verify_schnorr(&signature, &digest, &committee.key()).expect("valid");
        // The order the members are named in does not change the key.
        let mut reversed = secrets.clone();
        reversed.reverse();
        assert_eq!(Committee::new(&reversed, "test").key(), committee.key());
        assert_eq!(committee.size(), 5);
    }
}
