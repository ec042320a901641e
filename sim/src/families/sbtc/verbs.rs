//! An sBTC peg's steps as a scenario writes them: their arguments, read and checked.

use std::sync::Arc;

use bitcoin::Amount;
use schemars::JsonSchema;
use serde::Deserialize;

use super::Spec;
use crate::{
    family::{StepSpec, Verb},
    scenario::{Destination, Members, Reader},
};

/// `donate = { from, amount }`.
#[derive(Debug, Deserialize, JsonSchema)]
struct DonateArgs {
    /// Who pays.
    from: String,
    /// How much (the first donation becomes the signers' UTXO).
    amount: String,
    /// The transaction's name (default `donate:<step number>`).
    name: Option<String>,
}

/// `deposit = { from, amount, max_fee, lock, name }`.
#[derive(Debug, Deserialize, JsonSchema)]
struct DepositArgs {
    /// The depositor: its staking key reclaims, its sidechain key's hash is the recipient.
    from: String,
    /// How much.
    amount: String,
    /// The most the signers may take as fee (default: the peg's `max_fee`).
    max_fee: Option<String>,
    /// Blocks before the depositor may reclaim (default: the peg's `reclaim_lock`).
    lock: Option<u64>,
    /// The transaction's name (default `deposit:<step number>`).
    name: Option<String>,
}

/// `sweep = { deposits, withdrawals, name }`.
#[derive(Debug, Deserialize, JsonSchema)]
struct SweepArgs {
    /// Deposits to sweep (default: every one the signers would accept now).
    deposits: Option<Vec<String>>,
    /// Withdrawal requests to pay (default: every one the signers would accept now).
    withdrawals: Option<Vec<String>>,
    /// The transaction's name (default `sweep:<step number>`).
    name: Option<String>,
}

/// `withdraw = { from, amount, to, max_fee, name }`.
#[derive(Debug, Deserialize, JsonSchema)]
struct WithdrawArgs {
    /// The sBTC holder.
    from: String,
    /// How much BTC it asks for.
    amount: String,
    /// An actor or a regtest address.
    to: String,
    /// The most the signers may take as fee (default: the peg's `max_fee`).
    max_fee: Option<String>,
    /// The request's name.
    name: String,
}

/// `reclaim = { deposit, to, name }`.
#[derive(Debug, Deserialize, JsonSchema)]
struct ReclaimArgs {
    /// The deposit transaction's name.
    deposit: String,
    /// An actor or a regtest address (default: the depositor).
    to: Option<String>,
    /// The transaction's name (default `reclaim:<step number>`).
    name: Option<String>,
}

/// `rotate_keys = { signers, threshold }`.
#[derive(Debug, Deserialize, JsonSchema)]
struct RotateArgs {
    /// The new signer set (default: the current one).
    signers: Option<Vec<String>>,
    /// The new threshold (default: the current one).
    threshold: Option<u64>,
}

/// `steal = { signers, to, name }`.
#[derive(Debug, Deserialize, JsonSchema)]
struct StealArgs {
    /// The colluding signers.
    signers: Vec<String>,
    /// An actor or a regtest address.
    to: String,
    /// The transaction's name (default `steal:<step number>`).
    name: Option<String>,
}

/// An sBTC step, as read.
#[derive(Debug)]
pub(super) enum Step {
    Donate { from: String, amount: Amount, name: String },
    Deposit { from: String, amount: Amount, max_fee: Amount, lock: u16, name: String },
    Sweep { deposits: Option<Vec<String>>, withdrawals: Option<Vec<String>>, name: String },
    Withdraw { from: String, amount: Amount, to: Destination, max_fee: Amount, name: String },
    Reclaim { deposit: String, to: Option<Destination>, name: String },
    Rotate { signers: Option<Vec<String>>, threshold: Option<u16> },
    Steal { signers: Vec<String>, to: Destination, name: String },
}

pub(super) const VERBS: &[Verb] = &[
    Verb {
        name: "donate",
        about: "a payment to the signers' address (the first one becomes the signers' UTXO): `donate = { from = \"alice\", amount = \"0.01 BTC\" }`",
        schema: |g| g.subschema_for::<DonateArgs>(),
    },
    Verb {
        name: "deposit",
        about: "a user locks BTC in a deposit output (signers' key, or the user after the lock): `deposit = { from = \"alice\", amount = \"0.01 BTC\", name = \"d1\" }`",
        schema: |g| g.subschema_for::<DepositArgs>(),
    },
    Verb {
        name: "sweep",
        about: "the online signers sweep deposits into the signers' UTXO and pay withdrawals, signing with FROST: `sweep = {}`",
        schema: |g| g.subschema_for::<SweepArgs>(),
    },
    Verb {
        name: "withdraw",
        about: "an sBTC holder asks on Stacks for BTC (amount and max fee locked): `withdraw = { from = \"alice\", amount = \"0.005 BTC\", to = \"alice\", name = \"w1\" }`",
        schema: |g| g.subschema_for::<WithdrawArgs>(),
    },
    Verb {
        name: "reclaim",
        about: "the depositor takes an unswept deposit back after its lock: `reclaim = { deposit = \"d1\" }`",
        schema: |g| g.subschema_for::<ReclaimArgs>(),
    },
    Verb {
        name: "rotate_keys",
        about: "a new DKG (every signer of the new set online) makes a new aggregate key; funds move at the next sweep: `rotate_keys = { signers = [...] }`",
        schema: |g| g.subschema_for::<RotateArgs>(),
    },
    Verb {
        name: "steal",
        about: "colluding signers sign the signers' UTXO and unswept deposits over to themselves: `steal = { signers = [...], to = \"mallory\" }`",
        schema: |g| g.subschema_for::<StealArgs>(),
    },
];

impl Spec {
    pub(super) fn read(&self, verb: &'static str, r: &mut Reader<'_, '_>) -> Option<StepSpec> {
        let fee = |r: &mut Reader<'_, '_>, given: &Option<String>| match given {
            Some(text) => r.amount("max_fee", text).unwrap_or(self.max_fee),
            None => self.max_fee,
        };
        let step = match verb {
            "donate" => {
                let a: DonateArgs = r.parse()?;
                r.payer("from", &a.from);
                let amount = r.amount("amount", &a.amount).unwrap_or_default();
                let name = r.name_tx("name", verb, a.name.as_deref());
                Step::Donate { from: a.from, amount, name }
            }
            "deposit" => {
                let a: DepositArgs = r.parse()?;
                r.payer("from", &a.from);
                let amount = r.amount("amount", &a.amount).unwrap_or_default();
                let max_fee = fee(r, &a.max_fee);
                // A lock of 0 parses (sBTC's own test: "sneaky guy setting the lock time to
                // zero"); the signers' guard then never sweeps it.
                let lock = a.lock.map_or(self.lock, |l| {
                    u16::try_from(l).unwrap_or_else(|_| {
                        let message = format!("lock {l}: sBTC takes block locks of 0 to 65535");
                        r.report("lock", message, None);
                        0
                    })
                });
                let name = r.name_tx("name", verb, a.name.as_deref());
                r.define_with("deposit", "name", &name, &a.from);
                Step::Deposit { from: a.from, amount, max_fee, lock, name }
            }
            "sweep" => {
                let a: SweepArgs = r.parse()?;
                for d in a.deposits.iter().flatten() {
                    r.find("deposit", "deposits", d);
                }
                for w in a.withdrawals.iter().flatten() {
                    r.find("withdrawal", "withdrawals", w);
                }
                let name = r.name_tx("name", verb, a.name.as_deref());
                Step::Sweep { deposits: a.deposits, withdrawals: a.withdrawals, name }
            }
            "withdraw" => {
                let a: WithdrawArgs = r.parse()?;
                r.user("from", &a.from);
                let amount = r.amount("amount", &a.amount).unwrap_or_default();
                let max_fee = fee(r, &a.max_fee);
                let to = r.destination("to", &a.to);
                r.define_with("withdrawal", "name", &a.name, &a.from);
                Step::Withdraw { from: a.from, amount, to, max_fee, name: a.name }
            }
            "reclaim" => {
                let a: ReclaimArgs = r.parse()?;
                if r.find("deposit", "deposit", &a.deposit).is_some()
                    && let Some((_, owner)) = r.lookup("deposit", &a.deposit)
                {
                    r.key_signer("deposit", &owner, "the reclaim (its staking key signs)");
                }
                let to = a.to.as_deref().map(|to| r.destination("to", to));
                let name = r.name_tx("name", verb, a.name.as_deref());
                Step::Reclaim { deposit: a.deposit, to, name }
            }
            "rotate_keys" => {
                let a: RotateArgs = r.parse()?;
                let signers =
                    a.signers.map(|names| r.members("signers", &Members::Names(names), "signer"));
                let n = signers.as_ref().map_or(self.members.len(), Vec::len);
                if n < 2 {
                    r.report("signers", "a FROST signer set has at least 2 signers", None);
                }
                let threshold = a.threshold.map(|t| {
                    let t = r.threshold("threshold", t, n, "signers");
                    if t * 2 <= n {
                        let message = format!("threshold {t} of {n}: sBTC requires more than half");
                        r.report("threshold", message, None);
                    }
                    t as u16
                });
                Step::Rotate { signers, threshold }
            }
            "steal" => {
                let a: StealArgs = r.parse()?;
                if a.signers.is_empty() {
                    r.report("signers", "name at least one colluding signer", None);
                }
                for s in &a.signers {
                    r.actor("signers", s, Some(crate::scenario::RoleName::Signer));
                }
                let to = r.destination("to", &a.to);
                let name = r.name_tx("name", verb, a.name.as_deref());
                Step::Steal { signers: a.signers, to, name }
            }
            _ => return None,
        };
        let (tx, judged) = match &step {
            Step::Donate { name, .. }
            | Step::Deposit { name, .. }
            | Step::Sweep { name, .. }
            | Step::Reclaim { name, .. }
            | Step::Steal { name, .. } => (Some(name.clone()), true),
            Step::Withdraw { .. } | Step::Rotate { .. } => (None, true),
        };
        Some(StepSpec { args: Arc::new(step), tx, judged })
    }
}
