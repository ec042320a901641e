//! A plain k-of-n multisig custody peg (`kind = "multisig"`): users deposit into it, a
//! quorum of its signers spends. The simplest federation.

mod script;
mod steps;

use std::sync::Arc;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    family::{Code, Family, PegRun, PegSpec, Per, Quantity, StepSpec, Verb},
    lock::{Lock, Spender, TxShape},
    run::{Cx, RunError, keys::KeyBook},
    scenario::{Destination, Reader},
    tx::OutputType,
};
pub(crate) use script::Multisig as Script;

/// The multisig family.
pub(crate) struct Multisig;

/// `[[peg]] kind = "multisig"`.
#[derive(Debug, Deserialize, JsonSchema)]
struct Params {
    /// Signer actors, in key order (1 to 20).
    signers: Vec<String>,
    /// Signatures needed (default: all signers).
    threshold: Option<u64>,
    /// How the script is wrapped: "p2wsh" (default) or "p2sh-p2wsh".
    output: Option<Wrap>,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
enum Wrap {
    /// Native segwit.
    P2wsh,
    /// Segwit nested in P2SH.
    P2shP2wsh,
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

/// `spend = { deposit, signers, to, name }`.
#[derive(Debug, Deserialize, JsonSchema)]
struct SpendArgs {
    /// The deposit's name.
    deposit: String,
    /// Who signs (fewer than the threshold: Bitcoin Core judges the attempt).
    signers: Vec<String>,
    /// An actor or a regtest address.
    to: String,
    /// The transaction's name (default `spend:<step number>`).
    name: Option<String>,
}

/// A multisig step, as read.
#[derive(Debug)]
enum Step {
    Deposit { from: String, amount: bitcoin::Amount, name: String },
    Spend { deposit: String, signers: Vec<String>, to: Destination, name: String },
}

/// A validated multisig peg.
#[derive(Debug)]
struct Spec {
    signers: Vec<String>,
    threshold: usize,
    output: OutputType,
}

const VERBS: &[Verb] = &[
    Verb {
        name: "deposit",
        about: "a user pays into the peg: `deposit = { from = \"alice\", amount = \"1 BTC\", name = \"dep1\" }`",
        schema: |g| g.subschema_for::<DepositArgs>(),
    },
    Verb {
        name: "spend",
        about: "signers spend a deposit: `spend = { deposit = \"dep1\", signers = [\"carol\", \"dave\"], to = \"alice\" }`",
        schema: |g| g.subschema_for::<SpendArgs>(),
    },
];

const STALLS: &[Code] = &[
    Code {
        code: "quorum",
        meaning: "fewer signers than the threshold are online and hold their keys: nothing is broadcast",
    },
    Code {
        code: "no-deposit",
        meaning: "the named deposit was never accepted by Bitcoin Core: there is nothing to spend",
    },
];

impl Family for Multisig {
    fn kind(&self) -> &'static str {
        "multisig"
    }
    fn about(&self) -> &'static str {
        "a k-of-n multisig custody peg: deposits, spends by a quorum of signers"
    }
    fn starter(&self) -> &'static str {
        include_str!("../../../../scenarios/multisig/two_of_three.toml")
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
        let signers = r.members("signers", &crate::scenario::Members::Names(p.signers), "signer");
        let threshold = r.threshold(
            "threshold",
            p.threshold.unwrap_or(signers.len() as u64),
            signers.len(),
            "signers",
        );
        let output = match p.output.unwrap_or(Wrap::P2wsh) {
            Wrap::P2wsh => OutputType::P2wsh,
            Wrap::P2shP2wsh => OutputType::P2shP2wsh,
        };
        Some(Arc::new(Spec { signers, threshold, output }))
    }
}

impl Spec {
    fn script(&self, keys: &KeyBook) -> Script {
        let public = self.signers.iter().map(|s| keys.public(s)).collect();
        // Validation admits compressed keys only, 1 to 20, and a possible threshold.
        Script::new(self.threshold, public, self.output).expect("a valid multi descriptor")
    }
}

impl PegSpec for Spec {
    fn family(&self) -> &'static dyn Family {
        &Multisig
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
                for s in &a.signers {
                    if r.signer("signers", s) && !self.signers.contains(s) {
                        let message = format!("`{s}` is not a signer of `{}`", r.peg());
                        r.report("signers", message, None);
                    }
                }
                let to = r.destination("to", &a.to);
                let name = r.name_tx("name", verb, a.name.as_deref());
                Step::Spend { deposit: a.deposit, signers: a.signers, to, name }
            }
            _ => return None,
        };
        let tx = match &step {
            Step::Deposit { name, .. } | Step::Spend { name, .. } => Some(name.clone()),
        };
        Some(StepSpec { args: Arc::new(step), tx, judged: true })
    }

    fn derive(&self, keys: &KeyBook, _: &[&StepSpec]) -> Value {
        let script = self.script(keys);
        json!({
            "threshold": self.threshold,
            "signers": self.signers,
            "output": self.output,
            "descriptor": script.descriptor(),
            "witness_script": script.witness_script().to_hex_string(),
            "script_pubkey": script.script_pubkey().to_hex_string(),
            "address": crate::derive::address(&script.script_pubkey()),
        })
    }

    fn locks(&self, keys: &KeyBook) -> Vec<Lock> {
        let script = self.script(keys);
        let lock = script.lock();
        let holders = crate::lock::actor_holders(keys);
        let paths = lock.paths(&holders, "deposit", &["multisig".to_owned()]);
        let spender = Spender::Descriptor(Box::new(lock));
        vec![Lock::new("deposit", script.script_pubkey(), paths, spender, holders)]
    }

    fn transactions(&self) -> Vec<TxShape> {
        vec![
            TxShape::new("deposit", "a user's wallet", "the multisig", "the user's wallet"),
            TxShape::new("spend", "a deposit", "anyone", "a quorum of the signers"),
        ]
    }

    fn start(&self, peg: &str, cx: &mut Cx<'_>) -> Result<Box<dyn PegRun>, RunError> {
        Ok(Box::new(steps::State::new(peg, self.script(cx.keys), self.signers.clone())))
    }
}
