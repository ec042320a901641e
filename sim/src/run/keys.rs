//! Keys and wallets derived from the scenario's seed and each actor's name: same seed, same
//! keys, same txids.

use bitcoin::{
    Network, PublicKey,
    bip32::Xpriv,
    hashes::{Hash, sha256},
    secp256k1::{Secp256k1, SecretKey, Signing},
};

use crate::scenario::{Actor, ActorKey};

fn digest(parts: &[&str]) -> [u8; 32] {
    sha256::Hash::hash(parts.join("/").as_bytes()).to_byte_array()
}

/// The secret key of a signer, when it has one.
pub(crate) fn secret_key(seed: &str, actor: &Actor) -> Option<SecretKey> {
    match &actor.key {
        ActorKey::Derived => {
            SecretKey::from_slice(&digest(&["peglab", "v1", "key", seed, &actor.name])).ok()
        }
        ActorKey::Secret(sk) => Some(*sk),
        ActorKey::Public(_) => None,
    }
}

/// The public key of a signer.
pub(crate) fn public_key<C: Signing>(secp: &Secp256k1<C>, seed: &str, actor: &Actor) -> PublicKey {
    match &actor.key {
        ActorKey::Public(pk) => *pk,
        _ => {
            let sk = secret_key(seed, actor).expect("a derived or given secret key");
            PublicKey::new(sk.public_key(secp))
        }
    }
}

/// The master key of a user's wallet.
pub(crate) fn wallet_master(seed: &str, user: &str) -> Xpriv {
    Xpriv::new_master(Network::Regtest, &digest(&["peglab", "v1", "wallet", seed, user]))
        .expect("32 bytes make a master key")
}

/// The receive and change descriptors of a user's wallet (BIP84 on regtest).
pub(crate) fn wallet_descriptors(master: &Xpriv) -> (String, String) {
    (format!("wpkh({master}/84'/1'/0'/0/*)"), format!("wpkh({master}/84'/1'/0'/1/*)"))
}

/// A user's sidechain claim script: the P2WPKH of a key derived for the sidechain (what
/// Elements' `getpeginaddress` takes from a fresh bech32 wallet address).
pub(crate) fn claim_script<C: Signing>(
    secp: &Secp256k1<C>,
    seed: &str,
    user: &str,
) -> bitcoin::ScriptBuf {
    let sk = sidechain_key(seed, user);
    let pk = bitcoin::CompressedPublicKey(sk.public_key(secp));
    bitcoin::ScriptBuf::new_p2wpkh(&pk.wpubkey_hash())
}

/// A user's key on the sidechain (Liquid claim key, Rootstock account).
pub(crate) fn sidechain_key(seed: &str, user: &str) -> SecretKey {
    SecretKey::from_slice(&digest(&["peglab", "v1", "sidechain", seed, user])).expect("a valid key")
}

/// A user's Core staking key.
pub(crate) fn staking_key(seed: &str, user: &str) -> SecretKey {
    SecretKey::from_slice(&digest(&["peglab", "v1", "staking", seed, user])).expect("a valid key")
}
