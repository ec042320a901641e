//! A fedpegscript that is not the watchman template (Elements' OP_CHECKMULTISIG and OP_TRUE
//! examples, the dynafed descriptors of Blockstream's functionary): every key is tweaked for a
//! peg-in, as Elements' `calculate_contract` does for any such script, and the federation
//! spends by miniscript satisfaction when the script is miniscript.

use std::collections::{BTreeMap, BTreeSet};

use bitcoin::{
    Amount, PublicKey, Script, ScriptBuf, Transaction, TxOut,
    secp256k1::{All, Secp256k1, SecretKey},
};
use miniscript::{Descriptor, Miniscript, Segwitv0};

use super::script::{tweak_key, tweak_script, tweak_secret};
use crate::{
    federation::{Custody, Signers},
    lock::{DescriptorLock, Holders, fill},
    policy::SpendPath,
    tx::OutputType,
};

/// A fedpegscript given as bytes, other than the watchman template.
#[derive(Debug, Clone)]
pub(crate) struct ScriptFedpeg {
    pub(crate) script: ScriptBuf,
    /// The 33-byte keys it holds, in script order.
    pub(crate) keys: Vec<PublicKey>,
    pub(crate) output: OutputType,
}

impl ScriptFedpeg {
    pub(crate) fn new(script: ScriptBuf, output: OutputType) -> Self {
        let keys = super::script::keys_of(&script);
        Self { script, keys, output }
    }

    /// The script as miniscript, when it is (tweaked for `claim`).
    pub(crate) fn miniscript(
        &self,
        secp: &Secp256k1<All>,
        claim: Option<&Script>,
    ) -> Option<Descriptor<PublicKey>> {
        let script = self.witness_script(secp, claim);
        let ms = Miniscript::<PublicKey, Segwitv0>::parse_insane(&script).ok()?;
        match self.output {
            OutputType::P2shP2wsh => Descriptor::new_sh_wsh(ms).ok(),
            _ => Descriptor::new_wsh(ms).ok(),
        }
    }

    /// Whether the federation can spend it (it is miniscript).
    pub(crate) fn spendable(&self) -> bool {
        self.miniscript(&Secp256k1::new(), None).is_some()
    }

    /// The spend paths of the untweaked script, keys named by `name`.
    pub(crate) fn paths(&self, holders: &Holders, coins: &str) -> Vec<SpendPath> {
        let secp = Secp256k1::new();
        match self.miniscript(&secp, None) {
            Some(d) => DescriptorLock::new(d).paths(holders, coins, &[]),
            None => Vec::new(),
        }
    }

    /// The script (tweaked for `claim`) as a lock, its keys held by `names` (in script order).
    pub(crate) fn lock(
        &self,
        keys: &crate::run::keys::KeyBook,
        names: &[String],
        coins: &str,
        claim: Option<&Script>,
    ) -> crate::lock::Lock {
        let secp = Secp256k1::new();
        let mut holders = Holders::new();
        for (pk, name) in self.keys.iter().zip(names) {
            let sk = keys.secret(name);
            let entry = match claim {
                Some(c) => (tweak_key(&secp, pk, Some(c)), sk.map(|sk| tweak_secret(&sk, pk, c))),
                None => (*pk, sk),
            };
            holders.insert(entry.0, (name.clone(), entry.1));
        }
        let spk = crate::tx::script_pubkey(&self.witness_script(&secp, claim), self.output);
        match self.miniscript(&secp, claim) {
            Some(d) => {
                let lock = DescriptorLock::new(d);
                let paths = lock.paths(&holders, coins, &[]);
                let spender = crate::lock::Spender::Descriptor(Box::new(lock));
                crate::lock::Lock::new(coins, spk, paths, spender, holders)
            }
            None => crate::lock::Lock::new(
                coins,
                spk,
                Vec::new(),
                crate::lock::Spender::Templates(Vec::new()),
                holders,
            ),
        }
    }

    /// The keys a path without a timelock needs at the fewest.
    fn quorum(&self) -> usize {
        let holders = Holders::new();
        self.paths(&holders, "custody")
            .iter()
            .filter(|p| p.policy.timelocks() == Default::default())
            .filter_map(|p| fill(&p.policy, &BTreeSet::new()).map(|s| s.len()))
            .min()
            .unwrap_or(usize::MAX)
    }
}

impl Custody for ScriptFedpeg {
    fn script(&self) -> ScriptBuf {
        self.script.clone()
    }

    fn witness_script(&self, secp: &Secp256k1<All>, claim: Option<&Script>) -> ScriptBuf {
        match claim {
            Some(claim) => tweak_script(secp, &self.script, claim),
            None => self.script.clone(),
        }
    }

    fn threshold(&self) -> usize {
        self.quorum()
    }

    fn quorum_met(&self, online: &[PublicKey]) -> bool {
        let names: BTreeSet<String> = online.iter().map(PublicKey::to_string).collect();
        self.paths(&Holders::new(), "custody")
            .iter()
            .filter(|p| p.policy.timelocks() == Default::default())
            .any(|p| fill(&p.policy, &names).is_some_and(|missing| missing.is_empty()))
    }

    fn csv(&self) -> u16 {
        let holders = Holders::new();
        let most =
            self.paths(&holders, "custody").iter().map(|p| p.policy.timelocks().blocks_old).max();
        u16::try_from(most.unwrap_or(0)).unwrap_or(u16::MAX)
    }

    fn sign_input(
        &self,
        secp: &Secp256k1<All>,
        tx: &mut Transaction,
        index: usize,
        value: Amount,
        claim: Option<&Script>,
        signers: &Signers<'_>,
        _: OutputType,
    ) {
        let Some(descriptor) = self.miniscript(secp, claim) else { return };
        // The signers' keys as the output holds them: tweaked for the claim script.
        let secrets: BTreeMap<PublicKey, SecretKey> = match signers {
            Signers::Members(members) => members
                .iter()
                .map(|(pk, sk)| match claim {
                    Some(c) => (tweak_key(secp, pk, Some(c)), tweak_secret(sk, pk, c)),
                    None => (*pk, *sk),
                })
                .collect(),
            Signers::Emergency(secrets) => secrets
                .iter()
                .map(|sk| {
                    let pk = PublicKey::new(sk.public_key(secp));
                    match claim {
                        Some(c) => (tweak_key(secp, &pk, Some(c)), tweak_secret(sk, &pk, c)),
                        None => (pk, *sk),
                    }
                })
                .collect(),
        };
        let holders: Holders =
            secrets.iter().map(|(pk, sk)| (*pk, (pk.to_string(), Some(*sk)))).collect();
        let lock = DescriptorLock::new(descriptor);
        let paths = lock.paths(&holders, "custody", &[]);
        // Members take a path without a timelock, emergency keys one with.
        let emergency = matches!(signers, Signers::Emergency(_));
        let names: BTreeSet<String> = holders.values().map(|(n, _)| n.clone()).collect();
        let chosen = paths
            .iter()
            .enumerate()
            .filter(|(_, p)| (p.policy.timelocks().blocks_old > 0) == emergency)
            .filter_map(|(i, p)| fill(&p.policy, &names).map(|need| (need.len(), i)))
            .min();
        let Some((_, path)) = chosen else { return };
        let mut prevouts = vec![TxOut::NULL; index + 1];
        prevouts[index].value = value;
        lock.sign(secp, tx, index, &prevouts, path, &secrets, &paths[path], &holders);
    }
}
