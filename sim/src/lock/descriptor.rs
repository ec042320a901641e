//! Locks described by a miniscript descriptor (`wsh`, `sh(wsh)`, `tr`): their spend paths read
//! from the script itself (lifted by miniscript), and spends satisfied by miniscript with the
//! signers' keys. Where the signers fall short of a path, the missing keys get stand-in
//! signatures (by a key the script does not hold), so the attempt reaches Bitcoin Core, which
//! refuses it in its own words.

use std::{
    collections::{BTreeMap, BTreeSet},
    str::FromStr,
};

use bitcoin::{
    EcdsaSighashType, PublicKey, ScriptBuf, Transaction, TxOut, Witness, absolute,
    hashes::{Hash, sha256},
    key::{Keypair, TapTweak},
    relative,
    secp256k1::{All, Message, Secp256k1, SecretKey},
    sighash::{Prevouts, SighashCache, TapSighashType},
    taproot::{LeafVersion, TapLeafHash},
};
use miniscript::{Descriptor, Satisfier, policy::Liftable};

use super::{Holders, holder_name};
use crate::policy::{Policy, SpendPath};

/// A lock given as a descriptor over concrete keys.
#[derive(Debug, Clone)]
pub(crate) struct DescriptorLock {
    pub(crate) descriptor: Descriptor<PublicKey>,
}

/// BIP341's provably unspendable "H" point: an internal key nobody can sign for.
const NUMS: &str = "0250929b74c1a04954b78b4b6035e97a5e078a5a0f28ec96d547bfee9ace803ac0";

impl DescriptorLock {
    pub(crate) fn new(descriptor: Descriptor<PublicKey>) -> Self {
        Self { descriptor }
    }

    /// Whether a taproot descriptor's internal key is a real one (not the NUMS point).
    pub(crate) fn has_key_path(&self) -> bool {
        matches!(&self.descriptor, Descriptor::Tr(tr) if !is_nums(tr.internal_key()))
    }

    pub(crate) fn is_taproot(&self) -> bool {
        matches!(self.descriptor, Descriptor::Tr(_))
    }

    /// The paths: for taproot the key path and then each leaf in tree order; otherwise the
    /// top-level branches of the script's lifted policy. Named by `names` when given (in that
    /// order), else `key`, `leaf-1`, ... or `branch-1`, ....
    pub(crate) fn paths(&self, holders: &Holders, coins: &str, names: &[String]) -> Vec<SpendPath> {
        let name_of = |pk: &PublicKey| holder_name(holders, pk);
        let mut paths: Vec<(String, Policy)> = Vec::new();
        match &self.descriptor {
            Descriptor::Tr(tr) => {
                let internal = tr.internal_key();
                let key =
                    if is_nums(internal) { Policy::Nobody } else { Policy::pk(name_of(internal)) };
                paths.push(("key".into(), key));
                for (i, (_, ms)) in tr.iter_scripts().enumerate() {
                    let policy = ms
                        .lift()
                        .map(|s| Policy::from_semantic(&s.normalized(), &name_of))
                        .unwrap_or(Policy::Nobody);
                    paths.push((format!("leaf-{}", i + 1), policy));
                }
            }
            other => {
                let lifted = other.lift().map(|s| s.normalized());
                let policy =
                    lifted.map(|s| Policy::from_semantic(&s, &name_of)).unwrap_or(Policy::Nobody);
                let branches = match policy {
                    Policy::Or { of } => of,
                    single => vec![single],
                };
                for (i, p) in branches.into_iter().enumerate() {
                    paths.push((format!("branch-{}", i + 1), p));
                }
            }
        }
        paths
            .into_iter()
            .enumerate()
            .map(|(i, (default, policy))| {
                let name = names.get(i).cloned().unwrap_or(default);
                SpendPath { name, coins: coins.to_owned(), policy }
            })
            .collect()
    }

    /// Satisfies input `index` (spending `prevouts[index]`) through path `path` with
    /// `secrets`; stand-ins for the keys the path still needs when they fall short. Leaves the
    /// input empty when even that cannot satisfy the script (a hash lock, an unspendable key).
    #[expect(clippy::too_many_arguments, reason = "each is a distinct part of the spend")]
    pub(crate) fn sign(
        &self,
        secp: &Secp256k1<All>,
        tx: &mut Transaction,
        index: usize,
        prevouts: &[TxOut],
        path: usize,
        secrets: &BTreeMap<PublicKey, SecretKey>,
        spec: &SpendPath,
        holders: &Holders,
    ) {
        let (leaf, key_path) = match &self.descriptor {
            Descriptor::Tr(tr) if path == 0 => (None, true),
            Descriptor::Tr(tr) => {
                let leaf = tr
                    .iter_scripts()
                    .nth(path - 1)
                    .map(|(_, ms)| TapLeafHash::from_script(&ms.encode(), LeafVersion::TapScript));
                (leaf, false)
            }
            _ => (None, false),
        };
        let attempt = |secrets: &BTreeMap<PublicKey, SecretKey>| {
            let signer =
                Signer { secp, tx: &*tx, index, prevouts, secrets, lock: self, leaf, key_path };
            self.descriptor.get_satisfaction(&signer).ok()
        };
        let satisfied = attempt(secrets).or_else(|| {
            let signers: BTreeSet<String> =
                secrets.keys().map(|pk| holder_name(holders, pk)).collect();
            let missing = fill(&spec.policy, &signers)?;
            let mut with = secrets.clone();
            for name in &missing {
                let pk = holders
                    .iter()
                    .find(|(_, (holder, _))| holder == name)
                    .map(|(pk, _)| *pk)
                    .or_else(|| PublicKey::from_str(name).ok());
                if let Some(pk) = pk {
                    with.insert(pk, stranger());
                }
            }
            attempt(&with)
        });
        if let Some((witness, script_sig)) = satisfied {
            tx.input[index].witness = Witness::from_slice(&witness);
            tx.input[index].script_sig = script_sig;
        }
    }

    /// The script a segwit v0 signature commits to (BIP143's scriptCode).
    fn script_code(&self) -> Option<ScriptBuf> {
        match &self.descriptor {
            Descriptor::Wsh(_) | Descriptor::Sh(_) | Descriptor::Wpkh(_) => {
                self.descriptor.script_code().ok()
            }
            _ => None,
        }
    }
}

fn is_nums(pk: &PublicKey) -> bool {
    PublicKey::from_str(NUMS)
        .is_ok_and(|nums| nums.inner.x_only_public_key() == pk.inner.x_only_public_key())
}

/// A key no script holds: its signatures stand in for missing ones, and fail.
fn stranger() -> SecretKey {
    let digest = sha256::Hash::hash(b"peglab stand-in signer").to_byte_array();
    SecretKey::from_slice(&digest).expect("a valid key")
}

/// The key holders, beyond `signers`, that `policy` still needs: the fewest, the first ones on
/// ties. `None` when nothing can satisfy it (a hash lock, nobody).
pub(crate) fn fill(policy: &Policy, signers: &BTreeSet<String>) -> Option<BTreeSet<String>> {
    match policy {
        Policy::Pk { key } if signers.contains(key) => Some(BTreeSet::new()),
        Policy::Pk { key } => Some(BTreeSet::from([key.clone()])),
        Policy::And { of } => of.iter().try_fold(BTreeSet::new(), |mut all, p| {
            all.extend(fill(p, signers)?);
            Some(all)
        }),
        Policy::Or { of } => of.iter().filter_map(|p| fill(p, signers)).min_by_key(BTreeSet::len),
        Policy::Thresh { k, of } => {
            let mut options: Vec<BTreeSet<String>> =
                of.iter().filter_map(|p| fill(p, signers)).collect();
            if options.len() < *k {
                return None;
            }
            options.sort_by_key(BTreeSet::len);
            Some(options.into_iter().take(*k).flatten().collect())
        }
        Policy::Older { .. }
        | Policy::OlderTime { .. }
        | Policy::AfterTime { .. }
        | Policy::AfterHeight { .. }
        | Policy::Anyone => Some(BTreeSet::new()),
        Policy::Sha256 { .. }
        | Policy::Hash160 { .. }
        | Policy::Hash256 { .. }
        | Policy::Ripemd160 { .. }
        | Policy::Nobody => None,
    }
}

/// Signs for miniscript as it satisfies: ECDSA for segwit v0, Schnorr for taproot (only the
/// chosen leaf, or the key path), and timelocks as the transaction sets them.
struct Signer<'a> {
    secp: &'a Secp256k1<All>,
    tx: &'a Transaction,
    index: usize,
    prevouts: &'a [TxOut],
    secrets: &'a BTreeMap<PublicKey, SecretKey>,
    lock: &'a DescriptorLock,
    leaf: Option<TapLeafHash>,
    key_path: bool,
}

impl Signer<'_> {
    fn schnorr(&self, digest: [u8; 32], keypair: &Keypair) -> bitcoin::taproot::Signature {
        let signature = self.secp.sign_schnorr_no_aux_rand(&Message::from_digest(digest), keypair);
        bitcoin::taproot::Signature { signature, sighash_type: TapSighashType::Default }
    }
}

impl Satisfier<PublicKey> for Signer<'_> {
    fn lookup_ecdsa_sig(&self, pk: &PublicKey) -> Option<bitcoin::ecdsa::Signature> {
        let sk = self.secrets.get(pk)?;
        let script = self.lock.script_code()?;
        let value = self.prevouts.get(self.index)?.value;
        let digest = SighashCache::new(self.tx)
            .p2wsh_signature_hash(self.index, &script, value, EcdsaSighashType::All)
            .ok()?
            .to_byte_array();
        let signature = self.secp.sign_ecdsa(&Message::from_digest(digest), sk);
        Some(bitcoin::ecdsa::Signature::sighash_all(signature))
    }

    fn lookup_tap_leaf_script_sig(
        &self,
        pk: &PublicKey,
        leaf: &TapLeafHash,
    ) -> Option<bitcoin::taproot::Signature> {
        if self.leaf != Some(*leaf) {
            return None;
        }
        let sk = self.secrets.get(pk)?;
        let digest = SighashCache::new(self.tx)
            .taproot_script_spend_signature_hash(
                self.index,
                &Prevouts::All(self.prevouts),
                *leaf,
                TapSighashType::Default,
            )
            .ok()?
            .to_byte_array();
        Some(self.schnorr(digest, &Keypair::from_secret_key(self.secp, sk)))
    }

    fn lookup_tap_key_spend_sig(&self) -> Option<bitcoin::taproot::Signature> {
        let Descriptor::Tr(tr) = &self.lock.descriptor else { return None };
        if !self.key_path {
            return None;
        }
        let sk = self.secrets.get(tr.internal_key())?;
        let tweaked = Keypair::from_secret_key(self.secp, sk)
            .tap_tweak(self.secp, tr.spend_info().merkle_root())
            .to_keypair();
        let digest = SighashCache::new(self.tx)
            .taproot_key_spend_signature_hash(
                self.index,
                &Prevouts::All(self.prevouts),
                TapSighashType::Default,
            )
            .ok()?
            .to_byte_array();
        Some(self.schnorr(digest, &tweaked))
    }

    fn check_older(&self, n: relative::LockTime) -> bool {
        <bitcoin::Sequence as Satisfier<PublicKey>>::check_older(
            &self.tx.input[self.index].sequence,
            n,
        )
    }

    fn check_after(&self, n: absolute::LockTime) -> bool {
        <absolute::LockTime as Satisfier<PublicKey>>::check_after(&self.tx.lock_time, n)
    }
}
