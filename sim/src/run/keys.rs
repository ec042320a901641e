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
    /// The file gave the key: a user's staking and sidechain key are this one.
    given: bool,
    /// The wallet descriptor the file gave.
    wallet: Option<String>,
}

/// A user's wallet descriptors: receive, and change when there is a separate one.
#[derive(Debug, Clone)]
pub(crate) struct WalletDescriptors {
    pub(crate) receive: String,
    pub(crate) change: Option<String>,
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
                let given = !matches!(actor.key, ActorKey::Derived);
                let wallet = actor.wallet.as_ref().map(|w| w.descriptor.clone());
                (actor.name.clone(), Entry { public, secret, user, given, wallet })
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

    fn purpose_label(purpose: Purpose) -> &'static str {
        match purpose {
            Purpose::Staking => "staking",
            Purpose::Sidechain => "sidechain",
        }
    }

    /// A user's secret key for `purpose`: the key the file gave it, else one derived for that
    /// purpose. `None` when the file gave only its public key.
    pub(crate) fn user_secret(&self, purpose: Purpose, user: &str) -> Option<SecretKey> {
        let entry = &self.actors[user];
        if entry.given {
            return entry.secret;
        }
        Some(derived(&["peglab", "v1", Self::purpose_label(purpose), &self.seed, user]))
    }

    /// A user's public key for `purpose` (see [`KeyBook::user_secret`]).
    pub(crate) fn user_public(&self, purpose: Purpose, user: &str) -> PublicKey {
        let entry = &self.actors[user];
        if entry.given {
            return entry.public;
        }
        let sk = derived(&["peglab", "v1", Self::purpose_label(purpose), &self.seed, user]);
        PublicKey::new(sk.public_key(&Secp256k1::signing_only()))
    }

    /// The descriptors of a user's wallet: the one the file gave, else BIP84 descriptors on
    /// regtest from the seed (with their secret keys).
    pub(crate) fn wallet_descriptors(&self, user: &str) -> WalletDescriptors {
        if let Some(given) = &self.actors[user].wallet {
            return WalletDescriptors { receive: given.clone(), change: None };
        }
        let master = Xpriv::new_master(
            Network::Regtest,
            &digest(&["peglab", "v1", "wallet", &self.seed, user]),
        )
        .expect("32 bytes make a master key");
        WalletDescriptors {
            receive: format!("wpkh({master}/84'/1'/0'/0/*)"),
            change: Some(format!("wpkh({master}/84'/1'/0'/1/*)")),
        }
    }

    /// The first receive output of a user's wallet as a concrete descriptor, with the secret
    /// keys the wallet holds for it.
    pub(crate) fn first_receive(
        &self,
        user: &str,
    ) -> Option<(miniscript::Descriptor<PublicKey>, BTreeMap<PublicKey, SecretKey>)> {
        let secp = Secp256k1::new();
        let text = self.wallet_descriptors(user).receive;
        let (descriptor, keymap) =
            bdk_wallet::descriptor::IntoWalletDescriptor::into_wallet_descriptor(
                text.as_str(),
                &secp,
                bitcoin::NetworkKind::Test,
            )
            .ok()?;
        let concrete = descriptor.at_derivation_index(0).ok()?.derived_descriptor(&secp).ok()?;
        let mut secrets = BTreeMap::new();
        for secret in keymap.values() {
            let sk = match secret {
                miniscript::descriptor::DescriptorSecretKey::Single(single) => single.key.inner,
                miniscript::descriptor::DescriptorSecretKey::XPrv(x) => {
                    let path = match x.wildcard {
                        miniscript::descriptor::Wildcard::None => x.derivation_path.clone(),
                        _ => x
                            .derivation_path
                            .child(bitcoin::bip32::ChildNumber::Normal { index: 0 }),
                    };
                    x.xkey.derive_priv(&secp, &path).ok()?.private_key
                }
                miniscript::descriptor::DescriptorSecretKey::MultiXPrv(_) => continue,
            };
            secrets.insert(PublicKey::new(sk.public_key(&secp)), sk);
        }
        Some((concrete, secrets))
    }

    /// A user's public receive descriptor, as `peglab derive` shows it.
    pub fn public_descriptor(&self, secp: &Secp256k1<All>, user: &str) -> String {
        let receive = self.wallet_descriptors(user).receive;
        bdk_wallet::descriptor::IntoWalletDescriptor::into_wallet_descriptor(
            receive.as_str(),
            secp,
            bitcoin::NetworkKind::Test,
        )
        .map(|(d, _)| d.to_string())
        .unwrap_or_default()
    }
}
