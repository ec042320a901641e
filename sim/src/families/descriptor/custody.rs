//! A descriptor whose keys are actors' names (or keys in hex), turned into one over the
//! actors' keys; and the published custodial presets.

use std::str::FromStr;

use bitcoin::{
    PublicKey,
    hashes::{Hash, hash160, ripemd160, sha256},
    secp256k1::{Secp256k1, SecretKey},
};
use miniscript::{Descriptor, TranslatePk, Translator, hash256};

use crate::run::keys::KeyBook;

/// A custodial peg whose signer threshold is published, with the source.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Preset {
    pub(crate) name: &'static str,
    /// The descriptor, keys named by signer.
    pub(crate) descriptor: &'static str,
    /// What it is, custodial said plainly, and where the numbers come from.
    pub(crate) about: &'static str,
}

/// The presets: custodial pegs whose signer thresholds are published (their keys are this
/// scenario's own, derived from the seed).
pub(crate) const PRESETS: &[Preset] = &[
    Preset {
        name: "wbtc-bitgo",
        descriptor: "wsh(multi(2,bitgo,bitgo-singapore,bit-global))",
        about: "custodial: WBTC's reserve is a 2-of-3 multisig whose keys BitGo Inc. (US), BitGo \
                Singapore and BiT Global (Hong Kong) hold, one each (BitGo's announcement of 9 \
                August 2024 and its revision after the community call, reported by Unchained and \
                AMBCrypto, August 2024). The output type is not published: modelled as P2WSH.",
    },
    Preset {
        name: "lombard-consortium",
        descriptor: "wsh(multi(10,consortium-1,consortium-2,consortium-3,consortium-4,consortium-5,consortium-6,consortium-7,consortium-8,consortium-9,consortium-10,consortium-11,consortium-12,consortium-13,consortium-14,consortium-15))",
        about: "custodial: Lombard's Security Consortium of 15 institutions must sign every \
                critical operation, 10 of 15 (docs.lombard.finance, \"Lombard Security Model\" and \
                \"Consortium Members\"). The BTC itself sits at keys CubeSigner manages, with no \
                published script: modelled as a 10-of-15 multisig of the consortium.",
    },
];

/// Names keys: an actor's name becomes its key, a key in hex stays itself.
struct ByName<'a> {
    key: &'a dyn Fn(&str) -> Option<PublicKey>,
}

impl Translator<String, PublicKey, String> for ByName<'_> {
    fn pk(&mut self, name: &String) -> Result<PublicKey, String> {
        (self.key)(name).ok_or_else(|| name.clone())
    }
    fn sha256(&mut self, h: &String) -> Result<sha256::Hash, String> {
        sha256::Hash::from_str(h).map_err(|_| h.clone())
    }
    fn hash256(&mut self, h: &String) -> Result<hash256::Hash, String> {
        hash256::Hash::from_str(h).map_err(|_| h.clone())
    }
    fn ripemd160(&mut self, h: &String) -> Result<ripemd160::Hash, String> {
        ripemd160::Hash::from_str(h).map_err(|_| h.clone())
    }
    fn hash160(&mut self, h: &String) -> Result<hash160::Hash, String> {
        hash160::Hash::from_str(h).map_err(|_| h.clone())
    }
}

/// `descriptor` over keys: each name's key from `key`, or the name itself read as a key. The
/// error is the first name that is neither.
pub(crate) fn translate(
    descriptor: &Descriptor<String>,
    key: &dyn Fn(&str) -> Option<PublicKey>,
) -> Result<Descriptor<PublicKey>, String> {
    let lookup = |name: &str| key(name).or_else(|| PublicKey::from_str(name).ok());
    descriptor.translate_pk(&mut ByName { key: &lookup }).map_err(|e| match e {
        miniscript::TranslateErr::TranslatorErr(name) => name,
        miniscript::TranslateErr::OuterError(e) => e.to_string(),
    })
}

/// The descriptor over the scenario's keys.
pub(crate) fn concrete(descriptor: &Descriptor<String>, keys: &KeyBook) -> Descriptor<PublicKey> {
    let names: Vec<String> = keys.names().map(str::to_owned).collect();
    let key = |name: &str| names.iter().any(|n| n == name).then(|| keys.public(name));
    translate(descriptor, &key).expect("check resolved every key")
}

/// A stand-in key for a name at check time (distinct per name), to lift the descriptor's
/// paths before any key is known.
pub(crate) fn placeholder(name: &str) -> PublicKey {
    let digest = sha256::Hash::hash(format!("peglab placeholder {name}").as_bytes());
    let sk = SecretKey::from_slice(digest.as_ref()).expect("a valid key");
    PublicKey::new(sk.public_key(&Secp256k1::signing_only()))
}
