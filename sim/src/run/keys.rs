//! Every actor's keys, from the scenario's seed and each actor's name (or given in the file):
//! same seed, same keys, same txids. The run and `peglab derive` read the same book.

use std::collections::BTreeMap;

use bitcoin::{
    Network, PublicKey, XOnlyPublicKey,
    bip32::Xpriv,
    hashes::{Hash, sha256},
    secp256k1::{All, Secp256k1, SecretKey, Signing},
};

use crate::scenario::{ActorKey, Role, Scenario};

fn digest(parts: &[&str]) -> [u8; 32] {
    sha256::Hash::hash(parts.join("/").as_bytes()).to_byte_array()
}

/// A key derived from the seed; the digest of a label is a valid secret key with
/// overwhelming probability, and the label is retried with a counter otherwise.
fn derived(parts: &[&str]) -> SecretKey {
    (0u32..)
        .find_map(|n| {
            let bytes = if n == 0 {
                digest(parts)
            } else {
                let mut with: Vec<String> = parts.iter().map(|p| (*p).to_owned()).collect();
                with.push(n.to_string());
                digest(&with.iter().map(String::as_str).collect::<Vec<_>>())
            };
            SecretKey::from_slice(&bytes).ok()
        })
        .expect("some digest is a valid key")
}

/// What a user's keys are used for, besides its wallet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// A staking key (Babylon's staker key, Core's owner key).
    Staking,
    /// A key on the peg's other side (Liquid's claim key, a Rootstock or EVM account).
    Sidechain,
}

#[derive(Debug, Clone)]
struct Entry {
    public: PublicKey,
    secret: Option<SecretKey>,
    user: bool,
}

/// The keys of every actor of a scenario.
#[derive(Debug, Clone)]
pub struct KeyBook {
    seed: String,
    actors: BTreeMap<String, Entry>,
}

impl KeyBook {
    /// The keys of `scenario`'s actors.
    pub fn new<C: Signing>(secp: &Secp256k1<C>, scenario: &Scenario) -> Self {
        let seed = scenario.seed.clone();
        let actors = scenario
            .actors
            .iter()
            .map(|actor| {
                let secret = match &actor.key {
                    ActorKey::Derived => {
                        Some(derived(&["peglab", "v1", "key", &seed, &actor.name]))
                    }
                    ActorKey::Secret(sk) => Some(*sk),
                    ActorKey::Public(_) => None,
                };
                let public = match (&actor.key, secret) {
                    (ActorKey::Public(pk), _) => *pk,
                    (_, Some(sk)) => PublicKey::new(sk.public_key(secp)),
                    (_, None) => unreachable!("a key is either given public or has a secret"),
                };
                let user = matches!(actor.role, Role::User { .. });
                (actor.name.clone(), Entry { public, secret, user })
            })
            .collect();
        Self { seed, actors }
    }

    /// The scenario's seed.
    pub fn seed(&self) -> &str {
        &self.seed
    }

    /// An actor's public key (a signer's signing key).
    pub fn public(&self, name: &str) -> PublicKey {
        self.actors[name].public
    }

    /// An actor's key, x-only.
    pub fn x_only(&self, name: &str) -> XOnlyPublicKey {
        self.actors[name].public.inner.x_only_public_key().0
    }

    /// An actor's secret key, unless the file gave only its public key.
    pub fn secret(&self, name: &str) -> Option<SecretKey> {
        self.actors[name].secret
    }

    /// Every actor's name.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.actors.keys().map(String::as_str)
    }

    /// The users' names.
    pub fn users(&self) -> impl Iterator<Item = &str> {
        self.actors.iter().filter(|(_, e)| e.user).map(|(name, _)| name.as_str())
    }

    /// Whether `name` is a user.
    pub fn is_user(&self, name: &str) -> bool {
        self.actors.get(name).is_some_and(|e| e.user)
    }

    /// A user's key for `purpose`.
    pub(crate) fn user_key(&self, purpose: Purpose, user: &str) -> SecretKey {
        let label = match purpose {
            Purpose::Staking => "staking",
            Purpose::Sidechain => "sidechain",
        };
        derived(&["peglab", "v1", label, &self.seed, user])
    }

    /// The master key of a user's wallet.
    pub(crate) fn wallet_master(&self, user: &str) -> Xpriv {
        Xpriv::new_master(Network::Regtest, &digest(&["peglab", "v1", "wallet", &self.seed, user]))
            .expect("32 bytes make a master key")
    }

    /// The first receive key of a user's wallet (`m/84'/1'/0'/0/0`), with its secret.
    pub(crate) fn wallet_key(&self, user: &str) -> (PublicKey, SecretKey) {
        let secp = Secp256k1::new();
        let path: bitcoin::bip32::DerivationPath = "m/84'/1'/0'/0/0".parse().expect("a valid path");
        let child = self.wallet_master(user).derive_priv(&secp, &path).expect("a derivable path");
        (PublicKey::new(child.private_key.public_key(&secp)), child.private_key)
    }

    /// The receive and change descriptors of a user's wallet (BIP84 on regtest), with its
    /// secret keys.
    pub(crate) fn wallet_descriptors(&self, user: &str) -> (String, String) {
        let master = self.wallet_master(user);
        (format!("wpkh({master}/84'/1'/0'/0/*)"), format!("wpkh({master}/84'/1'/0'/1/*)"))
    }

    /// A user's public receive descriptor, as `peglab derive` shows it.
    pub fn public_descriptor(&self, secp: &Secp256k1<All>, user: &str) -> String {
        let (receive, _) = self.wallet_descriptors(user);
        bdk_wallet::descriptor::IntoWalletDescriptor::into_wallet_descriptor(
            receive.as_str(),
            secp,
            bitcoin::NetworkKind::Test,
        )
        .map(|(d, _)| d.to_string())
        .unwrap_or_default()
    }
}
