//! A tBTC peg's steps as a scenario writes them: their arguments, read and checked.

use std::sync::Arc;

use bitcoin::Amount;
use schemars::JsonSchema;
use serde::Deserialize;

use super::Spec;
use crate::{
    family::{StepSpec, Verb},
    scenario::{Destination, Reader, RoleName},
};

/// `deposit = { from, amount, extra_data, name }`.
#[derive(Debug, Deserialize, JsonSchema)]
struct DepositArgs {
    /// The depositor: its staking key refunds, its sidechain key is its Ethereum address.
    from: String,
    /// How much.
    amount: String,
    /// 32 bytes of extra data, hex (the 126-byte script).
    extra_data: Option<String>,
    /// The transaction's name (default `deposit:<step number>`).
    name: Option<String>,
}

/// `sweep = { deposits, outputs, name }`.
#[derive(Debug, Deserialize, JsonSchema)]
struct SweepArgs {
    /// Deposits to sweep (default: every revealed, unswept one).
    deposits: Option<Vec<String>>,
    /// Outputs the wallet makes (default 1; anything else the Bridge refuses).
    outputs: Option<u8>,
    /// The transaction's name (default `sweep:<step number>`).
    name: Option<String>,
}

/// `redeem = { from, amount, to, inputs, name }`.
#[derive(Debug, Deserialize, JsonSchema)]
struct RedeemArgs {
    /// The tBTC holder.
    from: String,
    /// How much tBTC it redeems.
    amount: String,
    /// An actor or a regtest address.
    to: String,
    /// Inputs the wallet spends (default 1, its main UTXO; 2 adds an unswept deposit, which
    /// the Bridge refuses).
    inputs: Option<u8>,
    /// Whether the wallet pays it now (default true); false leaves the request pending.
    pay: Option<bool>,
    /// The transaction's name (default `redeem:<step number>`).
    name: Option<String>,
}

/// `move_funds = { targets, name }`.
#[derive(Debug, Deserialize, JsonSchema)]
struct MoveArgs {
    /// The target wallets (signers): the main UTXO is split evenly among them.
    targets: Vec<String>,
    /// The transaction's name (default `move_funds:<step number>`).
    name: Option<String>,
}

/// `prove = { tx }`.
#[derive(Debug, Deserialize, JsonSchema)]
struct ProveArgs {
    /// The wallet's transaction (a sweep, redemption, moving funds or theft).
    tx: String,
}

/// `steal = { to, name }`.
#[derive(Debug, Deserialize, JsonSchema)]
struct StealArgs {
    /// An actor or a regtest address.
    to: String,
    /// The transaction's name (default `steal:<step number>`).
    name: Option<String>,
}

/// `fraud_challenge = { tx }`.
#[derive(Debug, Deserialize, JsonSchema)]
struct ChallengeArgs {
    /// The wallet's transaction whose signature the challenger submits.
    tx: String,
}

/// `redemption_timeout = { request }`.
#[derive(Debug, Deserialize, JsonSchema)]
struct TimeoutArgs {
    /// The redemption request (the `redeem` step's name).
    request: String,
}

/// `refund = { deposit, to, name }`.
#[derive(Debug, Deserialize, JsonSchema)]
struct RefundArgs {
    /// The deposit transaction's name.
    deposit: String,
    /// An actor or a regtest address (default: the depositor).
    to: Option<String>,
    /// The transaction's name (default `refund:<step number>`).
    name: Option<String>,
}

/// A tBTC step, as read.
#[derive(Debug)]
pub(super) enum Step {
    Deposit { from: String, amount: Amount, extra_data: Option<[u8; 32]>, name: String },
    Sweep { deposits: Option<Vec<String>>, outputs: u8, name: String },
    Redeem { from: String, amount: Amount, to: Destination, inputs: u8, pay: bool, name: String },
    Prove { tx: String },
    Steal { to: Destination, name: String },
    Challenge { tx: String },
    Timeout { request: String },
    Move { targets: Vec<String>, name: String },
    Refund { deposit: String, to: Option<Destination>, name: String },
}

pub(super) const VERBS: &[Verb] = &[
    Verb {
        name: "deposit",
        about: "a user pays the deposit script and reveals it to the Bridge: `deposit = { from = \"alice\", amount = \"0.1 BTC\", name = \"d1\" }`",
        schema: |g| g.subschema_for::<DepositArgs>(),
    },
    Verb {
        name: "sweep",
        about: "the wallet sweeps revealed deposits (and its main UTXO) into one output; tBTC is minted: `sweep = {}`",
        schema: |g| g.subschema_for::<SweepArgs>(),
    },
    Verb {
        name: "redeem",
        about: "a tBTC holder redeems; the wallet pays from its main UTXO: `redeem = { from = \"alice\", amount = \"0.05 BTC\", to = \"alice\" }`",
        schema: |g| g.subschema_for::<RedeemArgs>(),
    },
    Verb {
        name: "move_funds",
        about: "the wallet moves its main UTXO to target wallets in equal parts: `move_funds = { targets = [\"w2\", \"w3\"] }`",
        schema: |g| g.subschema_for::<MoveArgs>(),
    },
    Verb {
        name: "prove",
        about: "a relayer proves a wallet transaction to the Bridge through the LightRelay (the block and the headers after it): `prove = { tx = \"sweep1\" }`",
        schema: |g| g.subschema_for::<ProveArgs>(),
    },
    Verb {
        name: "steal",
        about: "the wallet's operators (a threshold of them) sign the main UTXO over to anyone: `steal = { to = \"mallory\" }`",
        schema: |g| g.subschema_for::<StealArgs>(),
    },
    Verb {
        name: "fraud_challenge",
        about: "anyone submits a wallet signature to the Bridge; the wallet defeats it only with a transaction proven before: `fraud_challenge = { tx = \"theft\" }`",
        schema: |g| g.subschema_for::<ChallengeArgs>(),
    },
    Verb {
        name: "redemption_timeout",
        about: "notifyRedemptionTimeout on a request the wallet left unpaid for redemptionTimeout (5 days): `redemption_timeout = { request = \"r1\" }`",
        schema: |g| g.subschema_for::<TimeoutArgs>(),
    },
    Verb {
        name: "refund",
        about: "the depositor takes an unswept deposit back after its refund locktime: `refund = { deposit = \"d1\" }`",
        schema: |g| g.subschema_for::<RefundArgs>(),
    },
];

impl Spec {
    pub(super) fn read(&self, verb: &'static str, r: &mut Reader<'_, '_>) -> Option<StepSpec> {
        let step = match verb {
            "deposit" => {
                let a: DepositArgs = r.parse()?;
                r.payer("from", &a.from);
                let amount = r.amount("amount", &a.amount).unwrap_or_default();
                let extra_data =
                    a.extra_data.as_deref().and_then(|hex| r.hex::<32>("extra_data", hex));
                let name = r.name_tx("name", verb, a.name.as_deref());
                r.define_with("deposit", "name", &name, &a.from);
                Step::Deposit { from: a.from, amount, extra_data, name }
            }
            "sweep" => {
                let a: SweepArgs = r.parse()?;
                for d in a.deposits.iter().flatten() {
                    r.find("deposit", "deposits", d);
                }
                let outputs = a.outputs.unwrap_or(1);
                if outputs == 0 {
                    r.report("outputs", "a sweep makes at least one output", None);
                }
                let name = r.name_tx("name", verb, a.name.as_deref());
                Step::Sweep { deposits: a.deposits, outputs, name }
            }
            "redeem" => {
                let a: RedeemArgs = r.parse()?;
                r.user("from", &a.from);
                let amount = r.amount("amount", &a.amount).unwrap_or_default();
                let to = r.destination("to", &a.to);
                let inputs = a.inputs.unwrap_or(1);
                if !(1..=2).contains(&inputs) {
                    r.report("inputs", "1 (the main UTXO) or 2 (with an unswept deposit)", None);
                }
                let name = r.name_tx("name", verb, a.name.as_deref());
                r.define_with("redemption", "name", &name, &a.from);
                Step::Redeem { from: a.from, amount, to, inputs, pay: a.pay.unwrap_or(true), name }
            }
            "prove" => {
                let a: ProveArgs = r.parse()?;
                r.require_tx("tx", &a.tx);
                Step::Prove { tx: a.tx }
            }
            "steal" => {
                let a: StealArgs = r.parse()?;
                let to = r.destination("to", &a.to);
                let name = r.name_tx("name", verb, a.name.as_deref());
                Step::Steal { to, name }
            }
            "fraud_challenge" => {
                let a: ChallengeArgs = r.parse()?;
                r.require_tx("tx", &a.tx);
                Step::Challenge { tx: a.tx }
            }
            "redemption_timeout" => {
                let a: TimeoutArgs = r.parse()?;
                r.find("redemption", "request", &a.request);
                Step::Timeout { request: a.request }
            }
            "move_funds" => {
                let a: MoveArgs = r.parse()?;
                if a.targets.is_empty() || a.targets.len() > 20 {
                    r.report("targets", "1 to 20 target wallets", None);
                }
                for t in &a.targets {
                    r.actor("targets", t, Some(RoleName::Signer));
                }
                let name = r.name_tx("name", verb, a.name.as_deref());
                Step::Move { targets: a.targets, name }
            }
            "refund" => {
                let a: RefundArgs = r.parse()?;
                if r.find("deposit", "deposit", &a.deposit).is_some()
                    && let Some((_, owner)) = r.lookup("deposit", &a.deposit)
                {
                    r.key_signer("deposit", &owner, "the refund (its staking key signs)");
                }
                let to = a.to.as_deref().map(|to| r.destination("to", to));
                let name = r.name_tx("name", verb, a.name.as_deref());
                Step::Refund { deposit: a.deposit, to, name }
            }
            _ => return None,
        };
        let tx = match &step {
            Step::Deposit { name, .. }
            | Step::Sweep { name, .. }
            | Step::Redeem { name, .. }
            | Step::Move { name, .. }
            | Step::Steal { name, .. }
            | Step::Refund { name, .. } => Some(name.clone()),
            Step::Prove { .. } | Step::Challenge { .. } | Step::Timeout { .. } => None,
        };
        Some(StepSpec { args: Arc::new(step), tx, judged: true })
    }
}
