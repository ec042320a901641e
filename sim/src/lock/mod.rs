//! Where a peg locks coins on Bitcoin, and how each of its spend paths spends them: the output
//! script, each path's policy tree, and a builder that makes a spend of a path signed by any
//! set of key holders. With it the trees `peglab derive` prints are checked against the
//! scripts themselves, as Bitcoin Core judges them (`tests/tests/spend_paths.rs`), and the
//! descriptor family and Liquid's raw fedpegscripts spend.

mod descriptor;
mod template;

use std::collections::{BTreeMap, BTreeSet};

use bitcoin::{
    Amount, OutPoint, PublicKey, ScriptBuf, Sequence, Transaction, TxIn, TxOut,
    absolute::LockTime,
    secp256k1::{Secp256k1, SecretKey},
    transaction::Version,
};
pub(crate) use descriptor::{DescriptorLock, fill};
use serde::Serialize;
pub(crate) use template::{Slot, Template, Wrap};

use crate::policy::{Policy, SpendPath, Timelocks};

/// The keys a lock's scripts hold: who holds each, and its secret when the scenario has it.
pub(crate) type Holders = BTreeMap<PublicKey, (String, Option<SecretKey>)>;

/// One kind of output a peg locks coins in, with every way to spend it.
#[derive(Debug, Clone)]
pub struct Lock {
    /// What the coins are (`deposit`, `staking output`).
    pub coins: String,
    /// The output script.
    pub script_pubkey: ScriptBuf,
    /// Its spend paths.
    pub paths: Vec<SpendPath>,
    pub(crate) spender: Spender,
    pub(crate) holders: Holders,
}

/// A transaction a peg pre-signs or builds, as `peglab derive` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TxShape {
    /// Its name.
    pub name: String,
    /// What it spends.
    pub spends: String,
    /// What it pays.
    pub pays: String,
    /// Who signs it, and when.
    pub signed: String,
}

impl TxShape {
    pub(crate) fn new(name: &str, spends: &str, pays: &str, signed: &str) -> Self {
        Self {
            name: name.to_owned(),
            spends: spends.to_owned(),
            pays: pays.to_owned(),
            signed: signed.to_owned(),
        }
    }
}

/// How a lock's paths are spent.
#[derive(Debug, Clone)]
pub(crate) enum Spender {
    /// One witness template per path: an attempt spends exactly that path.
    Templates(Vec<Template>),
    /// A miniscript descriptor: see [`DescriptorLock`].
    Descriptor(Box<DescriptorLock>),
}

/// How an attempt on a path relates to the path's tree (what a test of the tree compares).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Attempt {
    /// The attempt takes exactly that path (a template, a taproot leaf or the key path).
    Exact,
    /// The path is a branch of one segwit v0 script: the attempt is the cheapest satisfaction
    /// the signers' keys allow with the path's timelocks, which may take another branch.
    AnyBranch,
}

/// The fee every attempt pays (enough for the largest federation's witness at 1 sat/vB).
const ATTEMPT_FEE: Amount = Amount::from_sat(5_000);

impl Lock {
    pub(crate) fn new(
        coins: &str,
        script_pubkey: ScriptBuf,
        paths: Vec<SpendPath>,
        spender: Spender,
        holders: Holders,
    ) -> Self {
        Self { coins: coins.to_owned(), script_pubkey, paths, spender, holders }
    }

    /// The holders of its keys who can sign (the scenario has their secrets), by name.
    pub fn signers(&self) -> BTreeSet<String> {
        self.holders.values().filter(|(_, sk)| sk.is_some()).map(|(name, _)| name.clone()).collect()
    }

    /// How an attempt relates to its path's tree.
    pub fn attempt_kind(&self) -> Attempt {
        match &self.spender {
            Spender::Templates(_) => Attempt::Exact,
            Spender::Descriptor(d) if d.is_taproot() => Attempt::Exact,
            Spender::Descriptor(_) => Attempt::AnyBranch,
        }
    }

    /// The timelocks a spend of path `path` sets.
    pub fn timelocks(&self, path: usize) -> Timelocks {
        match &self.spender {
            Spender::Templates(t) => t[path].timelocks(),
            Spender::Descriptor(_) => self.paths[path].policy.timelocks(),
        }
    }

    /// A spend of `outpoint` (holding `prevout`) through path `path`, signed by those of
    /// `signers` who hold a key of it, paying all but a fixed fee to `to`. Missing signatures
    /// are left out (or, where the script needs something in their place, stand-ins that fail)
    /// so that Bitcoin Core judges the attempt.
    pub fn attempt(
        &self,
        path: usize,
        signers: &BTreeSet<String>,
        outpoint: OutPoint,
        prevout: &TxOut,
        to: ScriptBuf,
    ) -> Transaction {
        let locks = self.timelocks(path);
        let mut tx = Transaction {
            version: Version::TWO,
            lock_time: lock_time(&locks),
            input: vec![TxIn {
                previous_output: outpoint,
                sequence: sequence(&locks),
                ..TxIn::default()
            }],
            output: vec![TxOut {
                value: prevout.value.checked_sub(ATTEMPT_FEE).unwrap_or(Amount::ZERO),
                script_pubkey: to,
            }],
        };
        let secp = Secp256k1::new();
        let secrets: BTreeMap<PublicKey, SecretKey> = self
            .holders
            .iter()
            .filter(|(_, (holder, _))| signers.contains(holder))
            .filter_map(|(pk, (_, sk))| sk.map(|sk| (*pk, sk)))
            .collect();
        match &self.spender {
            Spender::Templates(t) => t[path].sign(&secp, &mut tx, 0, prevout, &secrets),
            Spender::Descriptor(d) => d.sign(
                &secp,
                &mut tx,
                0,
                std::slice::from_ref(prevout),
                path,
                &secrets,
                &self.paths[path],
                &self.holders,
            ),
        }
        tx
    }
}

impl Lock {
    /// The name of the holder of a key as a script writes it: 33 bytes, 32 (x-only) or 20
    /// (a key hash); hex for a key nobody holds.
    pub fn name_of_key(&self, bytes: &[u8]) -> String {
        let found = self.holders.iter().find(|(pk, _)| match bytes.len() {
            32 => pk.inner.x_only_public_key().0.serialize() == bytes,
            20 => bitcoin::hashes::Hash::as_byte_array(&pk.pubkey_hash()) == bytes,
            _ => pk.to_bytes() == bytes,
        });
        found.map_or_else(
            || bitcoin::hex::DisplayHex::to_lower_hex_string(bytes),
            |(_, (name, _))| name.clone(),
        )
    }

    /// Each script of the lock read back into a policy by [`crate::trust::recognize`], with
    /// the paths it serves: a tapscript leaf or key path serves one, a witness script every
    /// path that runs it. `None` where the bytes are not recognized.
    pub fn script_policies(&self) -> Vec<(Vec<usize>, Option<Policy>)> {
        let name = |b: &[u8]| self.name_of_key(b);
        let recognize = |script: &bitcoin::Script, tap| crate::trust::recognize(script, tap, &name);
        match &self.spender {
            Spender::Templates(templates) => {
                let mut out: Vec<(Vec<usize>, Option<Policy>)> = Vec::new();
                let mut scripts: Vec<(ScriptBuf, Vec<usize>)> = Vec::new();
                for (p, t) in templates.iter().enumerate() {
                    match &t.wrap {
                        Wrap::Leaf(script, _) => out.push((vec![p], recognize(script, true))),
                        Wrap::KeyPath(info) => {
                            let key = info.internal_key().serialize();
                            out.push((vec![p], Some(Policy::pk(name(&key)))));
                        }
                        Wrap::Script(script, _) => {
                            match scripts.iter_mut().find(|(s, _)| s == script) {
                                Some((_, paths)) => paths.push(p),
                                None => scripts.push((script.clone(), vec![p])),
                            }
                        }
                    }
                }
                out.extend(scripts.into_iter().map(|(s, paths)| (paths, recognize(&s, false))));
                out
            }
            Spender::Descriptor(d) => {
                let all: Vec<usize> = (0..self.paths.len()).collect();
                let policy = match &d.descriptor {
                    miniscript::Descriptor::Tr(tr) => {
                        let mut of: Vec<Option<Policy>> = tr
                            .iter_scripts()
                            .map(|(_, ms)| recognize(&ms.encode(), true))
                            .collect();
                        if d.has_key_path() {
                            of.push(Some(Policy::pk(name(&tr.internal_key().to_bytes()))));
                        }
                        of.into_iter().collect::<Option<Vec<_>>>().map(|of| Policy::Or { of })
                    }
                    // The script code: the witness script, or for a single-key output its
                    // `DUP HASH160 <h> EQUALVERIFY CHECKSIG`.
                    other => other.script_code().ok().and_then(|s| recognize(&s, false)),
                };
                vec![(all, policy)]
            }
        }
    }
}

/// Every lock of every peg of `scenario`, with the peg's name.
pub fn of_scenario(scenario: &crate::scenario::Scenario) -> Vec<(String, Lock)> {
    let keys = crate::run::keys::KeyBook::new(&Secp256k1::new(), scenario);
    scenario
        .pegs
        .iter()
        .flat_map(|peg| peg.spec.locks(&keys).into_iter().map(|lock| (peg.name.clone(), lock)))
        .collect()
}

/// The sequence a spend with `locks` sets: its relative lock, else final but for RBF (so
/// that an absolute lock still applies).
pub(crate) fn sequence(locks: &Timelocks) -> Sequence {
    if locks.blocks_old > 0 {
        Sequence::from_height(u16::try_from(locks.blocks_old).unwrap_or(u16::MAX))
    } else if locks.seconds_old > 0 {
        Sequence::from_seconds_ceil(locks.seconds_old).unwrap_or(Sequence::ENABLE_RBF_NO_LOCKTIME)
    } else {
        Sequence::ENABLE_RBF_NO_LOCKTIME
    }
}

/// The lock time a spend with `locks` sets.
pub(crate) fn lock_time(locks: &Timelocks) -> LockTime {
    match (locks.height, locks.time) {
        (Some(h), _) => LockTime::from_height(h).unwrap_or(LockTime::ZERO),
        (None, Some(t)) if t > 0 => LockTime::from_time(t).unwrap_or(LockTime::ZERO),
        _ => LockTime::ZERO,
    }
}

/// The holders of every actor's key in `keys`, with the secrets the scenario has.
pub(crate) fn actor_holders(keys: &crate::run::keys::KeyBook) -> Holders {
    keys.names().map(|name| (keys.public(name), (name.to_owned(), keys.secret(name)))).collect()
}

/// The name a key goes by in a policy: its holder's, or its hex when no actor holds it.
pub(crate) fn holder_name(holders: &Holders, pk: &PublicKey) -> String {
    holders.get(pk).map_or_else(|| pk.to_string(), |(name, _)| name.clone())
}
