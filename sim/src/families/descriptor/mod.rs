//! Any custody a user describes (`kind = "descriptor"`): an output descriptor (`wsh`,
//! `sh(wsh)`, `tr` with a script tree; miniscript inside) whose keys are named by actor.
//! Deposits pay it; spends pick a path by name or by who signs, set its timelocks, and are
//! satisfied by miniscript. Bitcoin Core judges every spend; the spend paths are read from the
//! script itself.

mod custody;
mod steps;

use std::{collections::BTreeSet, str::FromStr, sync::Arc};

use bitcoin::Amount;
use miniscript::{Descriptor, ForEachKey, descriptor::DescriptorType};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    family::{Code, Family, PegRun, PegSpec, Per, Quantity, StepSpec, Verb},
    lock::{DescriptorLock, Holders, Lock, Spender, TxShape},
    run::{Cx, RunError, keys::KeyBook},
    scenario::{Destination, Reader, suggest},
};
use custody::{PRESETS, Preset, concrete, placeholder, translate};

/// The descriptor family.
pub(crate) struct DescriptorPeg;

/// `[[peg]] kind = "descriptor"`.
#[derive(Debug, Deserialize, JsonSchema)]
struct Params {
    /// The custody, keys named by actor (or given in hex):
    /// `wsh(or_d(multi(3,a,b,c,d,e),and_v(v:multi(2,r1,r2,r3),older(1000))))`.
    descriptor: Option<String>,
    /// A published custodial peg instead: "wbtc-bitgo" (2-of-3) or "lombard-consortium"
    /// (10-of-15); its signers are made when the file does not define them.
    preset: Option<String>,
    /// Names for the spend paths, in order (default `branch-1`, ... for `wsh`; `key`,
    /// `leaf-1`, ... for `tr`).
    paths: Option<Vec<String>>,
}

/// `deposit = { from, amount, name }`.
#[derive(Debug, Deserialize, JsonSchema)]
struct DepositArgs {
    /// The paying user.
    from: String,
    /// How much, e.g. "1 BTC".
    amount: String,
    /// The transaction's name (default `deposit:<step number>`).
    name: Option<String>,
}

/// `spend = { deposit, signers, path, to, name }`.
#[derive(Debug, Deserialize, JsonSchema)]
struct SpendArgs {
    /// The deposit's name.
    deposit: String,
    /// Who signs.
    signers: Vec<String>,
    /// The spend path (default: the one the signers come closest to satisfying); its
    /// timelocks are set.
    path: Option<String>,
    /// An actor or a regtest address.
    to: String,
    /// The transaction's name (default `spend:<step number>`).
    name: Option<String>,
}

/// A descriptor step, as read.
#[derive(Debug)]
enum Step {
    Deposit {
        from: String,
        amount: Amount,
        name: String,
    },
    Spend {
        deposit: String,
        signers: Vec<String>,
        path: Option<usize>,
        to: Destination,
        name: String,
    },
}

const VERBS: &[Verb] = &[
    Verb {
        name: "deposit",
        about: "a user pays into the peg: `deposit = { from = \"alice\", amount = \"1 BTC\", name = \"dep1\" }`",
        schema: |g| g.subschema_for::<DepositArgs>(),
    },
    Verb {
        name: "spend",
        about: "signers spend a deposit through a path: `spend = { deposit = \"dep1\", signers = [\"r1\", \"r2\"], path = \"recovery\", to = \"alice\" }`",
        schema: |g| g.subschema_for::<SpendArgs>(),
    },
];

const STALLS: &[Code] = &[
    Code {
        code: "quorum",
        meaning: "signers named for the spend are offline and the others cannot satisfy its path: nothing is broadcast",
    },
    Code {
        code: "no-deposit",
        meaning: "the named deposit was never accepted by Bitcoin Core: there is nothing to spend",
    },
];

/// A validated descriptor peg.
#[derive(Debug)]
struct Spec {
    descriptor: Descriptor<String>,
    names: Vec<String>,
    about: Option<&'static str>,
}

impl Family for DescriptorPeg {
    fn kind(&self) -> &'static str {
        "descriptor"
    }
    fn about(&self) -> &'static str {
        "any custody given as an output descriptor (wsh, sh(wsh), tr; miniscript inside), keys named by actor"
    }
    fn starter(&self) -> &'static str {
        include_str!("../../../../scenarios/descriptor/custodian_recovery.toml")
    }
    fn verbs(&self) -> &'static [Verb] {
        VERBS
    }
    fn quantities(&self) -> &'static [Quantity] {
        &[Quantity {
            key: "peg_balance",
            per: Per::Peg,
            about: "what the peg holds in unspent deposits",
        }]
    }
    fn stalls(&self) -> &'static [Code] {
        STALLS
    }
    fn peg_schema(&self, g: &mut SchemaGenerator) -> Schema {
        g.subschema_for::<Params>()
    }

    fn read_peg(&self, r: &mut Reader<'_, '_>) -> Option<Arc<dyn PegSpec>> {
        let p: Params = r.parse()?;
        let (text, key, about) = match (&p.descriptor, &p.preset) {
            (Some(_), Some(_)) => {
                r.report("preset", "give a `descriptor` or a `preset`, not both", None);
                return None;
            }
            (None, None) => {
                let known: Vec<&str> = PRESETS.iter().map(|p| p.name).collect();
                let message = format!(
                    "a descriptor peg needs a `descriptor`, or a `preset` ({})",
                    known.join(", ")
                );
                r.report("", message, None);
                return None;
            }
            (Some(text), None) => (text.clone(), "descriptor", None),
            (None, Some(name)) => {
                let presets: Vec<(&str, Preset)> = PRESETS.iter().map(|p| (p.name, *p)).collect();
                let preset = r.preset(name, &presets)?;
                (preset.descriptor.to_owned(), "preset", Some(preset.about))
            }
        };
        let descriptor = match Descriptor::<String>::from_str(text.trim()) {
            Ok(d) => d,
            Err(e) => {
                r.report(key, format!("not a descriptor: {e}"), None);
                return None;
            }
        };
        match descriptor.desc_type() {
            DescriptorType::Wsh
            | DescriptorType::ShWsh
            | DescriptorType::WshSortedMulti
            | DescriptorType::ShWshSortedMulti
            | DescriptorType::Tr => {}
            other => {
                let message = format!(
                    "a {other:?} descriptor: a descriptor peg's custody is a script, in wsh(...), \
                     sh(wsh(...)) or tr(...)"
                );
                r.report(key, message, None);
                return None;
            }
        }
        // Every key is an actor's name or a key in hex; a preset's signers are made.
        let mut names = BTreeSet::new();
        descriptor.for_each_key(|k| {
            names.insert(k.clone());
            true
        });
        let mut bad = Vec::new();
        for name in &names {
            if bitcoin::PublicKey::from_str(name).is_ok() {
                continue;
            }
            if about.is_some() {
                r.ensure_signer(name);
            } else if !r.knows_actor(name) {
                bad.push(name.clone());
            }
        }
        for name in &bad {
            let help = r.suggest_actor(name);
            let message = format!("`{name}` in the descriptor is no actor and no key in hex");
            r.report(key, message, help);
        }
        if !bad.is_empty() {
            return None;
        }
        let holders: Holders = names
            .iter()
            .filter(|n| bitcoin::PublicKey::from_str(n).is_err())
            .map(|n| (placeholder(n), (n.clone(), None)))
            .collect();
        let lock = DescriptorLock::new(translate(&descriptor, &|n| Some(placeholder(n))).ok()?);
        let default = lock.paths(&holders, "deposit", &[]);
        let names = match p.paths {
            Some(given) if given.len() != default.len() => {
                let message = format!(
                    "the descriptor has {} spend paths ({}); name each, in order",
                    default.len(),
                    default.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
                );
                r.report("paths", message, None);
                default.iter().map(|p| p.name.clone()).collect()
            }
            Some(given) => given,
            None => default.iter().map(|p| p.name.clone()).collect(),
        };
        Some(Arc::new(Spec { descriptor, names, about }))
    }
}

impl Spec {
    /// The lock over the scenario's keys.
    fn lock(&self, keys: &KeyBook) -> Lock {
        let descriptor = concrete(&self.descriptor, keys);
        let holders = crate::lock::actor_holders(keys);
        let lock = DescriptorLock::new(descriptor);
        let paths = lock.paths(&holders, "deposit", &self.names);
        let spk = lock.descriptor.script_pubkey();
        Lock::new("deposit", spk, paths, Spender::Descriptor(Box::new(lock)), holders)
    }
}

impl PegSpec for Spec {
    fn family(&self) -> &'static dyn Family {
        &DescriptorPeg
    }

    fn read_step(&self, verb: &'static str, r: &mut Reader<'_, '_>) -> Option<StepSpec> {
        let step = match verb {
            "deposit" => {
                let a: DepositArgs = r.parse()?;
                r.payer("from", &a.from);
                let amount = r.amount("amount", &a.amount).unwrap_or_default();
                let name = r.name_tx("name", verb, a.name.as_deref());
                r.define("deposit", "name", &name);
                Step::Deposit { from: a.from, amount, name }
            }
            "spend" => {
                let a: SpendArgs = r.parse()?;
                if let Some(peg) = r.find("deposit", "deposit", &a.deposit)
                    && peg != r.peg()
                {
                    let message =
                        format!("`{}` is a deposit to `{peg}`, not to `{}`", a.deposit, r.peg());
                    r.report("deposit", message, None);
                }
                let mut holders = BTreeSet::new();
                self.descriptor.for_each_key(|k| {
                    holders.insert(k.clone());
                    true
                });
                for s in &a.signers {
                    if !holders.contains(s) {
                        let help = suggest(s, holders.iter().map(String::as_str));
                        r.report("signers", format!("`{s}` holds no key of `{}`", r.peg()), help);
                    } else {
                        r.key_signer("signers", s, "this spend");
                    }
                }
                let path = a.path.as_deref().and_then(|name| {
                    let found = self.names.iter().position(|n| n == name);
                    if found.is_none() {
                        let help = suggest(name, self.names.iter().map(String::as_str));
                        let message = format!(
                            "`{name}` is no spend path of `{}` (its paths: {})",
                            r.peg(),
                            self.names.join(", ")
                        );
                        r.report("path", message, help);
                    }
                    found
                });
                let to = r.destination("to", &a.to);
                let name = r.name_tx("name", verb, a.name.as_deref());
                Step::Spend { deposit: a.deposit, signers: a.signers, path, to, name }
            }
            _ => return None,
        };
        let tx = match &step {
            Step::Deposit { name, .. } | Step::Spend { name, .. } => Some(name.clone()),
        };
        Some(StepSpec { args: Arc::new(step), tx, judged: true })
    }

    fn derive(&self, keys: &KeyBook, _: &[&StepSpec]) -> Value {
        let lock = self.lock(keys);
        let Spender::Descriptor(d) = &lock.spender else { unreachable!("a descriptor lock") };
        json!({
            "descriptor": self.descriptor.to_string(),
            "descriptor_with_keys": d.descriptor.to_string(),
            "script_pubkey": lock.script_pubkey.to_hex_string(),
            "address": crate::derive::address(&lock.script_pubkey),
            "witness_script": d.descriptor.explicit_script().map(|s| s.to_hex_string()).ok(),
            "about": self.about,
        })
    }

    fn locks(&self, keys: &KeyBook) -> Vec<Lock> {
        vec![self.lock(keys)]
    }

    fn transactions(&self) -> Vec<TxShape> {
        vec![
            TxShape::new(
                "deposit",
                "a user's wallet",
                "the descriptor's output",
                "the user's wallet",
            ),
            TxShape::new(
                "spend",
                "a deposit",
                "anyone",
                "the signers of one spend path, with its timelocks",
            ),
        ]
    }

    fn start(&self, peg: &str, cx: &mut Cx<'_>) -> Result<Box<dyn PegRun>, RunError> {
        Ok(Box::new(steps::State::new(peg, self.lock(cx.keys))))
    }
}
