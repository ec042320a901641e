//! The signers' aggregate key: a real FROST key (RFC 9591 over secp256k1 with BIP340/341
//! challenges, `frost-secp256k1-tr`) from a distributed key generation every signer takes
//! part in, and real threshold signing rounds over it.
//!
//! sBTC runs WSTS (a weighted FROST) with a DKG that needs every signer
//! (`dkg_threshold = num_signers`, `signer/src/wsts_state_machine.rs`) and signing rounds that
//! need `signatures_required` of them. FROST with one share per signer is the unweighted case:
//! on Bitcoin both leave one BIP340 signature by one key. Randomness comes from the scenario's
//! seed: same seed, same keys, same signatures.

use std::collections::BTreeMap;

use bitcoin::{
    ScriptBuf, XOnlyPublicKey,
    hashes::{Hash, sha256},
    secp256k1::{Secp256k1, SecretKey, Verification, schnorr},
};
use frost_secp256k1_tr::{
    self as frost, Identifier, SigningPackage,
    keys::{KeyPackage, PublicKeyPackage, dkg},
};
use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};

/// One generation of the signer set: its members, threshold and the shares of its key.
#[derive(Clone)]
pub(crate) struct Group {
    /// Its members, in identifier order (member `i` has FROST identifier `i + 1`).
    pub(crate) members: Vec<String>,
    /// Signatures a signing round needs.
    pub(crate) threshold: u16,
    shares: BTreeMap<Identifier, KeyPackage>,
    public: PublicKeyPackage,
    /// The untweaked aggregate key `P`: the deposit leaf's key.
    pub(crate) key: XOnlyPublicKey,
    /// What the randomness of its rounds derives from.
    label: String,
}

impl std::fmt::Debug for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Group")
            .field("members", &self.members)
            .field("threshold", &self.threshold)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

fn rng(parts: &[&[u8]]) -> ChaCha20Rng {
    let mut engine = sha256::Hash::engine();
    for part in parts {
        bitcoin::hashes::HashEngine::input(&mut engine, &(part.len() as u64).to_le_bytes());
        bitcoin::hashes::HashEngine::input(&mut engine, part);
    }
    ChaCha20Rng::from_seed(sha256::Hash::from_engine(engine).to_byte_array())
}

fn identifier(index: usize) -> Identifier {
    Identifier::try_from(index as u16 + 1).expect("1 to 65535 signers")
}

impl Group {
    /// The key of a distributed key generation among `members`, every one taking part (FROST's
    /// three-part DKG, with the proofs of knowledge and share checks it makes), each member's
    /// randomness derived from `label` and its name.
    pub(crate) fn generate(
        members: &[String],
        threshold: u16,
        label: &str,
    ) -> Result<Self, String> {
        let n = u16::try_from(members.len()).map_err(|_| "too many signers".to_owned())?;
        let ids: Vec<Identifier> = (0..members.len()).map(identifier).collect();
        let mut round1_secrets = BTreeMap::new();
        let mut round1 = BTreeMap::new();
        for (id, name) in ids.iter().zip(members) {
            let rng = rng(&[b"peglab/v1/frost-dkg", label.as_bytes(), name.as_bytes()]);
            let (secret, package) =
                dkg::part1(*id, n, threshold, rng).map_err(|e| e.to_string())?;
            round1_secrets.insert(*id, secret);
            round1.insert(*id, package);
        }
        let others = |me: &Identifier| {
            round1.iter().filter(|(id, _)| *id != me).map(|(id, p)| (*id, p.clone())).collect()
        };
        let mut round2_secrets = BTreeMap::new();
        let mut sent: BTreeMap<Identifier, BTreeMap<Identifier, dkg::round2::Package>> =
            BTreeMap::new();
        for (id, secret) in round1_secrets {
            let (secret2, packages) =
                dkg::part2(secret, &others(&id)).map_err(|e| e.to_string())?;
            round2_secrets.insert(id, secret2);
            for (to, package) in packages {
                sent.entry(to).or_default().insert(id, package);
            }
        }
        let mut shares = BTreeMap::new();
        let mut public = None;
        for (id, secret2) in &round2_secrets {
            let received = sent.remove(id).unwrap_or_default();
            let (share, group) =
                dkg::part3(secret2, &others(id), &received).map_err(|e| e.to_string())?;
            shares.insert(*id, share);
            public = Some(group);
        }
        let public = public.ok_or("no signers")?;
        let key = x_only(&public)?;
        Ok(Self { members: members.to_vec(), threshold, shares, public, key, label: label.into() })
    }

    /// The wallet's output key `Q`: `P` tweaked with no script tree (BIP86's tweak), as sBTC's
    /// `signers_script_pubkey` makes it.
    pub(crate) fn script_pubkey<C: Verification>(&self, secp: &Secp256k1<C>) -> ScriptBuf {
        ScriptBuf::new_p2tr(secp, self.key, None)
    }

    /// Whether `name` holds a share.
    pub(crate) fn is_member(&self, name: &str) -> bool {
        self.members.iter().any(|m| m == name)
    }

    /// A signing round among `signers` (members, each once) over the 32-byte `digest`: for the
    /// wallet's key path (`tweaked`: the key tweaked as `Q`) or a deposit leaf (plain `P`).
    /// Each signer commits, signs its share, and the coordinator aggregates and checks the
    /// result. Fewer signers than the threshold and FROST refuses to sign: the error says so.
    pub(crate) fn sign(
        &self,
        signers: &[String],
        digest: [u8; 32],
        tweaked: bool,
    ) -> Result<schnorr::Signature, String> {
        let mut nonces = BTreeMap::new();
        let mut commitments = BTreeMap::new();
        for name in signers {
            let (id, share) = self.share(name)?;
            let mut rng =
                rng(&[b"peglab/v1/frost-nonce", self.label.as_bytes(), name.as_bytes(), &digest]);
            let (nonce, commitment) = frost::round1::commit(share.signing_share(), &mut rng);
            nonces.insert(id, nonce);
            commitments.insert(id, commitment);
        }
        let package = SigningPackage::new(commitments, &digest);
        let mut shares = BTreeMap::new();
        for name in signers {
            let (id, key) = self.share(name)?;
            let share = if tweaked {
                frost::round2::sign_with_tweak(&package, &nonces[&id], key, None)
            } else {
                frost::round2::sign(&package, &nonces[&id], key)
            }
            .map_err(|e| format!("{name}'s share: {e}"))?;
            shares.insert(id, share);
        }
        let signature = if tweaked {
            frost::aggregate_with_tweak(&package, &shares, &self.public, None)
        } else {
            frost::aggregate(&package, &shares, &self.public)
        }
        .map_err(|e| e.to_string())?;
        let bytes = signature.serialize().map_err(|e| e.to_string())?;
        schnorr::Signature::from_slice(&bytes).map_err(|e| e.to_string())
    }

    /// The key `signers` get by Lagrange interpolation of their shares as though they were a
    /// quorum (FROST's `reconstruct`, told their number is the threshold). With the threshold
    /// or more it is the group's key; with fewer it is some other key.
    pub(crate) fn interpolate(&self, signers: &[String]) -> Result<SecretKey, String> {
        let count = u16::try_from(signers.len()).map_err(|_| "too many signers".to_owned())?;
        let packages = signers
            .iter()
            .map(|name| {
                let (_, p) = self.share(name)?;
                Ok(KeyPackage::new(
                    *p.identifier(),
                    *p.signing_share(),
                    *p.verifying_share(),
                    *p.verifying_key(),
                    count.min(self.threshold),
                ))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let key = frost::keys::reconstruct(&packages).map_err(|e| e.to_string())?;
        SecretKey::from_slice(&key.serialize()).map_err(|e| e.to_string())
    }

    /// The group's secret: every share interpolated. Only the spend-path checks use it (they
    /// sign the deposit leaf as "the signers' key").
    pub(crate) fn secret(&self) -> SecretKey {
        self.interpolate(&self.members).expect("every member's share")
    }

    fn share(&self, name: &str) -> Result<(Identifier, &KeyPackage), String> {
        let index = self
            .members
            .iter()
            .position(|m| m == name)
            .ok_or_else(|| format!("{name} holds no share of this key"))?;
        let id = identifier(index);
        Ok((id, &self.shares[&id]))
    }
}

fn x_only(public: &PublicKeyPackage) -> Result<XOnlyPublicKey, String> {
    let bytes = public.verifying_key().serialize().map_err(|e| e.to_string())?;
    XOnlyPublicKey::from_slice(&bytes[1..]).map_err(|e| e.to_string())
}

/// The x-only key `Q` a key-path signature verifies against.
#[cfg(test)]
pub(crate) fn output_key<C: Verification>(
    secp: &Secp256k1<C>,
    key: XOnlyPublicKey,
) -> XOnlyPublicKey {
    bitcoin::key::TapTweak::tap_tweak(key, secp, None).0.to_x_only_public_key()
}

#[cfg(test)]
mod tests {
    use bitcoin::secp256k1::{Keypair, Message};

    use super::*;

    fn names(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("signer-{i}")).collect()
    }

    #[test]
    fn a_quorum_signs_both_the_leaf_key_and_the_tweaked_wallet_key() {
        let secp = Secp256k1::new();
        let group = Group::generate(&names(3), 2, "test").unwrap();
        let digest = [7u8; 32];
        let message = Message::from_digest(digest);
        let quorum = &group.members[1..];
        let plain = group.sign(quorum, digest, false).unwrap();
        secp.verify_schnorr(&plain, &message, &group.key).unwrap();
        let tweaked = group.sign(quorum, digest, true).unwrap();
        secp.verify_schnorr(&tweaked, &message, &output_key(&secp, group.key)).unwrap();
        assert!(secp.verify_schnorr(&plain, &message, &output_key(&secp, group.key)).is_err());
        // The wallet's script is the key tweaked with no tree.
        let q = output_key(&secp, group.key);
        assert_eq!(group.script_pubkey(&secp).as_bytes()[2..], q.serialize());
    }

    #[test]
    fn fewer_than_the_threshold_cannot_sign_and_interpolate_to_another_key() {
        let secp = Secp256k1::new();
        let group = Group::generate(&names(5), 3, "short").unwrap();
        let short = &group.members[..2];
        let error = group.sign(short, [1; 32], true).unwrap_err();
        assert!(error.contains("Incorrect number of commitments"), "{error}");
        let wrong = group.interpolate(short).unwrap();
        assert_ne!(Keypair::from_secret_key(&secp, &wrong).x_only_public_key().0, group.key);
        let right = group.interpolate(&group.members[2..]).unwrap();
        assert_eq!(Keypair::from_secret_key(&secp, &right).x_only_public_key().0, group.key);
    }

    #[test]
    fn the_same_label_makes_the_same_key_and_signatures() {
        let a = Group::generate(&names(3), 2, "same").unwrap();
        let b = Group::generate(&names(3), 2, "same").unwrap();
        let c = Group::generate(&names(3), 2, "other").unwrap();
        assert_eq!(a.key, b.key);
        assert_ne!(a.key, c.key);
        let quorum = &a.members[..2];
        assert_eq!(a.sign(quorum, [2; 32], true).unwrap(), b.sign(quorum, [2; 32], true).unwrap());
    }
}
