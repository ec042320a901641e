//! A vault bridge proven through a header relay, modelled on Interlay (`kind = "spv-vault"`):
//! users pay a vault to issue tokens, proving the payment to the relay; redeems burn tokens
//! and the vault must pay within a period, or its collateral reimburses the user.

mod steps;

use std::sync::{Arc, LazyLock};

use bitcoin::Amount;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;
use serde_json::{Value, json};

use miniscript::ForEachKey;

use crate::{
    family::{Code, Family, PegRun, PegSpec, Per, Quantity, StepSpec, Verb, codes},
    lock::{Lock, Spender, TxShape},
    relay::store::{Fault, ForkChoice, Relay, attacker_success},
    run::{Cx, RunError, keys::KeyBook},
    scenario::Reader,
};

/// The SPV vault family.
pub(crate) struct SpvVault;

/// The largest `k` a relay takes (proof confirmations).
const MAX_K: u32 = 1_000;

/// `[[peg]] kind = "spv-vault"`.
#[derive(Debug, Deserialize, JsonSchema)]
struct Params {
    /// The vault operator: a user whose wallet receives issues and pays redeems.
    vault: String,
    /// The vault's collateral, in BTC terms (default 0).
    collateral: Option<String>,
    /// Whose relay the proofs go to: "btc-relay" (Interlay; default), "bob-full-relay" or
    /// "tbtc-light-relay".
    fork_choice: Option<Rule>,
    /// Relay confirmations a proof needs (1 to 1000; default 6).
    k: Option<u32>,
    /// Proofs come with the block's coinbase proof (default false).
    coinbase_proof: Option<bool>,
    /// Relay blocks the vault has to pay a redeem (default 24).
    redeem_period: Option<u32>,
    /// Extra share of a failed redeem paid from collateral, 0 to 1 (default 0.1).
    punishment: Option<f64>,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[expect(clippy::enum_variant_names, reason = "the relays' own names")]
enum Rule {
    /// Interlay's BTC-Relay: a fork takes over k blocks ahead; a fork within k freezes proofs.
    BtcRelay,
    /// BOB's FullRelay: the tip moves only when a keeper marks a heavier header.
    BobFullRelay,
    /// tBTC's LightRelay: no tip; a proof brings k blocks of headers.
    TbtcLightRelay,
}

/// `issue = { from, amount, name }` and `redeem = { from, amount, name }`.
#[derive(Debug, Deserialize, JsonSchema)]
struct AmountArgs {
    /// The user.
    from: String,
    /// How much.
    amount: String,
    /// The transaction's (issue) or request's (redeem) name.
    name: Option<String>,
}

/// `execute_issue = { deposit }`.
#[derive(Debug, Deserialize, JsonSchema)]
struct ExecuteArgs {
    /// The issue transaction's name.
    deposit: String,
}

/// `vault_pays`, `execute_redeem`, `cancel_redeem`: a redeem request by name.
#[derive(Debug, Deserialize, JsonSchema)]
struct RequestArgs {
    /// The redeem request's name.
    request: String,
    /// The vault's payment's name (vault_pays only; default `vault_pays:<step number>`).
    name: Option<String>,
}

/// `submit_headers = {}`.
#[derive(Debug, Deserialize, JsonSchema)]
struct NoArgs {}

/// An SPV vault step, as read.
#[derive(Debug)]
enum Step {
    SubmitHeaders,
    MarkHeaviest,
    Issue { from: String, amount: Amount, name: String },
    ExecuteIssue { deposit: String },
    Redeem { from: String, amount: Amount, name: String },
    VaultPays { request: String, name: String },
    ExecuteRedeem { request: String },
    CancelRedeem { request: String },
}

codes! {
    /// Why the vault bridge refuses a step (besides its relay's refusals).
    pub(crate) enum Refused {
        NotConfirmed = "not-confirmed": "the transaction is not confirmed on the node's best chain: no proof exists",
        NoIssue = "no-issue": "the named issue was never accepted by Bitcoin Core",
        NoRequest = "no-request": "the named redeem request was never made",
        AlreadyExecuted = "already-executed": "the issue or request was executed before",
        InsufficientTokens = "insufficient-tokens": "the user holds fewer tokens than it redeems",
        NotPaid = "not-paid": "the vault has not paid the request",
        WrongPayment = "wrong-payment": "the payment does not pay the request's amount tagged with its id",
        PastDeadline = "past-deadline": "the vault paid after the redeem period",
        RedeemPeriodRunning = "redeem-period-running": "the vault may still pay: the request cannot be cancelled yet",
    }
}

static REFUSALS: LazyLock<Vec<Code>> =
    LazyLock::new(|| Fault::ALL.iter().chain(Refused::ALL).copied().collect());

const VERBS: &[Verb] = &[
    Verb {
        name: "submit_headers",
        about: "the relayer submits the step node's best chain to the relay (not to a tbtc-light-relay, which stores none): `submit_headers = {}`",
        schema: |g| g.subschema_for::<NoArgs>(),
    },
    Verb {
        name: "mark_heaviest",
        about: "a keeper calls a bob-full-relay's markNewHeaviest with the step node's best block: `mark_heaviest = {}`",
        schema: |g| g.subschema_for::<NoArgs>(),
    },
    Verb {
        name: "issue",
        about: "a user pays the vault to issue tokens: `issue = { from = \"alice\", amount = \"1 BTC\", name = \"iss\" }`",
        schema: |g| g.subschema_for::<AmountArgs>(),
    },
    Verb {
        name: "execute_issue",
        about: "prove the issue to the relay: tokens are minted",
        schema: |g| g.subschema_for::<ExecuteArgs>(),
    },
    Verb {
        name: "redeem",
        about: "a user burns tokens and asks the vault to pay BTC",
        schema: |g| g.subschema_for::<AmountArgs>(),
    },
    Verb {
        name: "vault_pays",
        about: "the vault pays a redeem request, tagged `OP_RETURN <redeem id>`",
        schema: |g| g.subschema_for::<RequestArgs>(),
    },
    Verb {
        name: "execute_redeem",
        about: "prove the vault's payment to the relay: the redeem completes",
        schema: |g| g.subschema_for::<RequestArgs>(),
    },
    Verb {
        name: "cancel_redeem",
        about: "after the redeem period, reimburse the user from the vault's collateral",
        schema: |g| g.subschema_for::<RequestArgs>(),
    },
];

const QUANTITIES: &[Quantity] = &[
    Quantity {
        key: "sidechain_balance",
        per: Per::Holder,
        about: "what the holder has on the peg's other side (L-BTC, RBTC, tokens)",
    },
    Quantity {
        key: "shortfall",
        per: Per::Peg,
        about: "what the other side owes less what backs it, when positive",
    },
    Quantity { key: "collateral", per: Per::Peg, about: "the vault's remaining collateral" },
    Quantity {
        key: "reimbursed",
        per: Per::Holder,
        about: "what the user was paid from vault collateral for failed redeems",
    },
];

/// A validated SPV vault peg.
#[derive(Debug)]
pub(crate) struct Spec {
    vault: String,
    collateral: Amount,
    fork_choice: ForkChoice,
    k: u32,
    coinbase_proof: bool,
    redeem_period: u32,
    punishment: f64,
}

impl Family for SpvVault {
    fn kind(&self) -> &'static str {
        "spv-vault"
    }
    fn about(&self) -> &'static str {
        "a vault bridge proven through a header relay (Interlay-like): issue, redeem, collateral"
    }
    fn starter(&self) -> &'static str {
        include_str!("../../../../scenarios/spv-vault/issue_and_redeem.toml")
    }
    fn verbs(&self) -> &'static [Verb] {
        VERBS
    }
    fn quantities(&self) -> &'static [Quantity] {
        QUANTITIES
    }
    fn refusals(&self) -> &'static [Code] {
        &REFUSALS
    }
    fn stalls(&self) -> &'static [Code] {
        &[]
    }
    fn peg_schema(&self, g: &mut SchemaGenerator) -> Schema {
        g.subschema_for::<Params>()
    }

    fn read_peg(&self, r: &mut Reader<'_, '_>) -> Option<Arc<dyn PegSpec>> {
        let p: Params = r.parse()?;
        r.payer("vault", &p.vault);
        let collateral = match &p.collateral {
            Some(text) => r.amount("collateral", text).unwrap_or_default(),
            None => Amount::ZERO,
        };
        let fork_choice = match p.fork_choice.unwrap_or(Rule::BtcRelay) {
            Rule::BtcRelay => ForkChoice::BtcRelay,
            Rule::BobFullRelay => ForkChoice::BobFullRelay,
            Rule::TbtcLightRelay => ForkChoice::TbtcLightRelay,
        };
        let k = p.k.unwrap_or(6);
        if !(1..=MAX_K).contains(&k) {
            r.report("k", format!("a proof needs 1 to {MAX_K} confirmations, not {k}"), None);
        }
        let redeem_period = p.redeem_period.unwrap_or(24);
        if redeem_period == 0 {
            r.report("redeem_period", "a vault needs at least one block to pay", None);
        }
        let punishment = p.punishment.unwrap_or(0.1);
        if !(0.0..=1.0).contains(&punishment) {
            r.report(
                "punishment",
                format!("punishment {punishment} is not a share between 0 and 1"),
                None,
            );
        }
        let coinbase_proof = p.coinbase_proof.unwrap_or(false);
        Some(Arc::new(Spec {
            vault: p.vault,
            collateral,
            fork_choice,
            k,
            coinbase_proof,
            redeem_period,
            punishment,
        }))
    }
}

impl PegSpec for Spec {
    fn family(&self) -> &'static dyn Family {
        &SpvVault
    }

    fn read_step(&self, verb: &'static str, r: &mut Reader<'_, '_>) -> Option<StepSpec> {
        let (step, tx) = match verb {
            "submit_headers" => {
                let _: NoArgs = r.parse()?;
                if self.fork_choice == ForkChoice::TbtcLightRelay {
                    let message = "a tbtc-light-relay stores no headers: proofs bring their own, \
                                   so there is nothing to submit";
                    r.report("", message, None);
                }
                (Step::SubmitHeaders, None)
            }
            "mark_heaviest" => {
                let _: NoArgs = r.parse()?;
                if self.fork_choice != ForkChoice::BobFullRelay {
                    let message = "only a bob-full-relay has a best digest a keeper marks";
                    r.report("", message, None);
                }
                (Step::MarkHeaviest, None)
            }
            "issue" | "redeem" => {
                let a: AmountArgs = r.parse()?;
                r.payer("from", &a.from);
                let amount = r.amount("amount", &a.amount).unwrap_or_default();
                if verb == "issue" {
                    let name = r.name_tx("name", verb, a.name.as_deref());
                    r.define("issue", "name", &name);
                    (Step::Issue { from: a.from, amount, name: name.clone() }, Some(name))
                } else {
                    let name = r.default_name(verb, a.name.as_deref());
                    r.define("redeem request", "name", &name);
                    (Step::Redeem { from: a.from, amount, name }, None)
                }
            }
            "execute_issue" => {
                let a: ExecuteArgs = r.parse()?;
                r.find("issue", "deposit", &a.deposit);
                (Step::ExecuteIssue { deposit: a.deposit }, None)
            }
            "vault_pays" | "execute_redeem" | "cancel_redeem" => {
                let a: RequestArgs = r.parse()?;
                r.find("redeem request", "request", &a.request);
                match verb {
                    "vault_pays" => {
                        let name = r.name_tx("name", verb, a.name.as_deref());
                        (Step::VaultPays { request: a.request, name: name.clone() }, Some(name))
                    }
                    _ => {
                        if a.name.is_some() {
                            r.report(
                                "name",
                                format!("`{verb}` makes no transaction to name"),
                                None,
                            );
                        }
                        let request = a.request;
                        let step = if verb == "execute_redeem" {
                            Step::ExecuteRedeem { request }
                        } else {
                            Step::CancelRedeem { request }
                        };
                        (step, None)
                    }
                }
            }
            _ => return None,
        };
        Some(StepSpec { args: Arc::new(step), tx, judged: true })
    }

    fn derive(&self, _: &KeyBook, _: &[&StepSpec]) -> Value {
        json!({
            "vault": self.vault,
            "collateral": self.collateral.to_string(),
            "fork_choice": self.fork_choice,
            "k": self.k,
            "coinbase_proof": self.coinbase_proof,
            "redeem_period": self.redeem_period,
            "punishment": self.punishment,
        })
    }

    fn locks(&self, keys: &KeyBook) -> Vec<Lock> {
        // The vault holds the BTC it redeems with in its wallet: its first receive output
        // stands for them.
        let Some((descriptor, secrets)) = keys.first_receive(&self.vault) else {
            return Vec::new();
        };
        let lock = crate::lock::DescriptorLock::new(descriptor);
        let mut holders = crate::lock::Holders::new();
        lock.descriptor.for_each_key(|pk| {
            holders.insert(*pk, (self.vault.clone(), secrets.get(pk).copied()));
            true
        });
        let coins = "the vault's coins";
        let paths = lock.paths(&holders, coins, &["vault".to_owned()]);
        let spk = lock.descriptor.script_pubkey();
        vec![Lock::new(coins, spk, paths, Spender::Descriptor(Box::new(lock)), holders)]
    }

    fn transactions(&self) -> Vec<TxShape> {
        vec![
            TxShape::new(
                "issue",
                "a user's wallet",
                "the vault's address (the relay checks its inclusion proof at k)",
                "the user's wallet",
            ),
            TxShape::new(
                "redeem",
                "the vault's coins",
                "the redeemer's address (proven back to the relay at k)",
                "the vault",
            ),
        ]
    }

    fn analysis(&self, peg: &str) -> Vec<String> {
        let k = self.k;
        let odds: Vec<String> = [0.1, 0.2, 0.3, 0.4]
            .iter()
            .map(|q| format!("{:.0} %: {:.7}", q * 100.0, attacker_success(*q, k)))
            .collect();
        let mut lines = vec![format!(
            "{peg}: proofs need k = {k} confirmations; an attacker with this share of the hashrate overtakes them with probability (Nakamoto, section 11): {}",
            odds.join(", ")
        )];
        match self.fork_choice {
            ForkChoice::TbtcLightRelay => lines.push(format!(
                "{peg}: a light relay keeps no chain: any {k} linked headers at the epoch difficulty prove a payment, so the bound is the cost of mining {k} blocks privately, whatever the attacker's share"
            )),
            ForkChoice::BobFullRelay => lines.push(format!(
                "{peg}: the relay's tip moves only when someone calls markNewHeaviest: without a keeper it stays where it was marked, on whatever branch"
            )),
            ForkChoice::BtcRelay => lines.push(format!(
                "{peg}: a fork within {k} blocks of the relay's main chain freezes every proof until one side is {k} ahead"
            )),
        }
        lines
    }

    fn declared_trust(&self) -> Vec<String> {
        vec![
            "tokens are issued by a contract on the relay's view of Bitcoin: the relay trusts the heaviest header chain it is shown (k confirmations)".into(),
            "a vault that does not redeem is punished from its collateral, not in BTC".into(),
        ]
    }

    fn start(&self, peg: &str, cx: &mut Cx<'_>) -> Result<Box<dyn PegRun>, RunError> {
        let tip = cx.chain.tip(crate::NodeId::FIRST)?;
        let header = cx.chain.header(crate::NodeId::FIRST, tip.hash)?;
        let relay = Relay::new(self.fork_choice, self.k, tip.height, header);
        let vault_script = cx
            .wallets
            .get_mut(&self.vault)
            .ok_or_else(|| RunError::NoWallet(self.vault.clone()))?
            .next_script();
        Ok(Box::new(steps::State::new(peg, self, relay, vault_script)))
    }
}
