//! Babylon BTC staking (`kind = "babylon"`): the staking output's three-leaf taproot tree
//! (timelock, unbonding with the covenant quorum, slashing), the unbonding and slashing
//! transactions, EOTS votes whose double-signing gives the provider's key away, and the
//! covenant's adaptor signatures that only that key decrypts.

mod adaptor;
mod bip340;
mod descriptors;
mod eots;
pub(crate) mod script;
mod steps;

use std::sync::Arc;

use bitcoin::{Amount, ScriptBuf};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    family::{Code, Family, PegRun, PegSpec, Per, Quantity, StepSpec, Verb, codes},
    lock::{Lock, Spender, TxShape},
    run::{
        Cx, RunError,
        keys::{KeyBook, Purpose},
    },
    scenario::{Destination, Members, Reader},
};
use script::Delegation;

/// The Babylon family.
pub(crate) struct Babylon;

/// `[[peg]] kind = "babylon"`.
#[derive(Debug, Deserialize, JsonSchema)]
struct Params {
    /// "babylon-mainnet" or "babylon-devnet": covenant size and quorum, times, rate, fees.
    preset: Option<String>,
    /// The staker: a user whose wallet funds delegations and whose staking key signs.
    staker: String,
    /// Finality provider signers.
    providers: Vec<String>,
    /// The covenant committee: a count (covenant-1..) or signer names.
    covenant: Option<Members>,
    /// Covenant signatures needed.
    quorum: Option<u64>,
    /// Blocks before the staker may withdraw alone (1 to 65535).
    staking_time: Option<u64>,
    /// Blocks an unbonding (or slashing-refund) output waits (1 to 65535).
    unbonding_time: Option<u64>,
    /// The unbonding transaction's exact fee.
    unbonding_fee: Option<String>,
    /// Share of the stake a slashing burns (between 0 and 1).
    slashing_rate: Option<f64>,
    /// The slashing transaction's fee.
    slashing_fee: Option<String>,
    /// A 4-byte tag (hex): delegations carry the identifiable-staking OP_RETURN.
    tag: Option<String>,
    /// The network's bounds on a delegation's value (`min_staking_value_sat`,
    /// `max_staking_value_sat`), e.g. "0.005 BTC".
    min_staking_value: Option<String>,
    max_staking_value: Option<String>,
    /// The network's bounds on the staking time, in blocks.
    min_staking_time: Option<u64>,
    max_staking_time: Option<u64>,
    /// Bitcoin confirmations before a delegation is active (`btc_confirmation_depth`, k).
    confirmation_depth: Option<u32>,
    /// Blocks until a checkpoint is final (`checkpoint_finalization_timeout`, w); the unbonding
    /// time must exceed it.
    finalization_timeout: Option<u32>,
}

/// `delegate = { amount, covenant, name }`.
#[derive(Debug, Deserialize, JsonSchema)]
struct DelegateArgs {
    /// How much the staker stakes.
    amount: String,
    /// The covenant members who sign at registration (the unbonding transaction, and both
    /// slashing transactions encrypted to the provider); default: every member online.
    covenant: Option<Vec<String>>,
    /// The transaction's name (default `delegate:<step number>`).
    name: Option<String>,
}

/// `withdraw = { delegation, to, name }`.
#[derive(Debug, Deserialize, JsonSchema)]
struct WithdrawArgs {
    /// The delegation's name.
    delegation: String,
    /// An actor or a regtest address.
    to: String,
    /// The transaction's name.
    name: Option<String>,
}

/// `unbond = { delegation, covenant, name }`.
#[derive(Debug, Deserialize, JsonSchema)]
struct UnbondArgs {
    /// The delegation's name.
    delegation: String,
    /// Which of the covenant signatures collected at registration the staker uses (default:
    /// all of them).
    covenant: Option<Vec<String>>,
    /// The transaction's name.
    name: Option<String>,
}

/// `vote = { provider, height, block }`.
#[derive(Debug, Deserialize, JsonSchema)]
struct VoteArgs {
    /// The finality provider.
    provider: String,
    /// The height voted on.
    height: u64,
    /// A label for the block voted for.
    block: String,
}

/// `slash = { delegation, name }`.
#[derive(Debug, Deserialize, JsonSchema)]
struct SlashArgs {
    /// The delegation's name.
    delegation: String,
    /// The transaction's name.
    name: Option<String>,
}

/// A Babylon step, as read.
#[derive(Debug)]
enum Step {
    Delegate { amount: Amount, covenant: Option<Vec<String>>, name: String },
    Withdraw { delegation: String, to: Destination, name: String },
    Unbond { delegation: String, covenant: Option<Vec<String>>, name: String },
    Vote { provider: String, height: u64, block: String },
    Slash { delegation: String, name: String },
}

const VERBS: &[Verb] = &[
    Verb {
        name: "delegate",
        about: "the staker pays a staking output: `delegate = { amount = \"0.5 BTC\", name = \"d1\" }`",
        schema: |g| g.subschema_for::<DelegateArgs>(),
    },
    Verb {
        name: "withdraw",
        about: "the staker spends a delegation alone through its timelock leaf: `withdraw = { delegation = \"d1\", to = \"sam\" }`",
        schema: |g| g.subschema_for::<WithdrawArgs>(),
    },
    Verb {
        name: "unbond",
        about: "the staker and covenant members sign the unbonding transaction: `unbond = { delegation = \"d1\", covenant = [...] }`",
        schema: |g| g.subschema_for::<UnbondArgs>(),
    },
    Verb {
        name: "vote",
        about: "a finality provider signs an EOTS vote for a block at a height: `vote = { provider = \"fp\", height = 500, block = \"A\" }`",
        schema: |g| g.subschema_for::<VoteArgs>(),
    },
    Verb {
        name: "slash",
        about: "anyone completes a delegation's slashing transaction: `slash = { delegation = \"d1\" }`",
        schema: |g| g.subschema_for::<SlashArgs>(),
    },
];

const STALLS: &[Code] = &[Code {
    code: "no-delegation",
    meaning: "the named delegation was never accepted by Bitcoin Core: there is nothing to spend",
}];

codes! {
    /// Why Babylon refuses a delegation at registration (`MsgCreateBTCDelegation`).
    pub(crate) enum Refused {
        InvalidStakingTx = "invalid-staking-tx": "Babylon ErrInvalidStakingTx (x/btcstaking/types/validate_parsed_message.go): the staking value or the staking time is out of the network's bounds; the staker does not broadcast",
    }
}

/// A preset: covenant size, quorum, staking time, unbonding time, unbonding fee (sat), slashing
/// rate, slashing fee (sat).
type Preset = (u64, u64, u64, u64, u64, f64, u64);

/// Babylon mainnet (phase 2, `btcstaking_params.go` @ d4d5650f): 6-of-9 covenant, 64000 blocks
/// staking, 1008 blocks unbonding, 32000 sat unbonding fee, 0.1 % slashing, 100000 sat
/// slashing fee.
const MAINNET: Preset = (9, 6, 64_000, 1008, 32_000, 0.001, 100_000);
/// Babylon's `DefaultParams` (`x/btcstaking/types/params.go`, devnets): 3-of-5 covenant, 400
/// blocks minimum staking, 200 blocks unbonding, 10 % slashing (fees are scenario-scale).
const DEVNET: Preset = (5, 3, 400, 200, 2_000, 0.1, 2_000);
const PRESETS: &[(&str, Preset)] = &[("babylon-mainnet", MAINNET), ("babylon-devnet", DEVNET)];

/// The network's registration bounds: staking value (sat), staking time (blocks), k, w.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bounds {
    pub(crate) min_value: Amount,
    pub(crate) max_value: Amount,
    pub(crate) min_time: u16,
    pub(crate) max_time: u16,
    pub(crate) k: u32,
    pub(crate) w: u32,
}

/// Mainnet (`btcstaking_params.go` version 3 @ d4d5650f: 500,000..5e11 sat, exactly 64,000
/// blocks; `params_update.go:38-39`: k = 30, w = 300).
const MAINNET_BOUNDS: Bounds = Bounds {
    min_value: Amount::from_sat(500_000),
    max_value: Amount::from_sat(500_000_000_000),
    min_time: 64_000,
    max_time: 64_000,
    k: 30,
    w: 300,
};
/// `DefaultParams` (`x/btcstaking/types/params.go`: 10,000..10e9 sat, 400..65535 blocks;
/// `x/btccheckpoint/types/params.go`: k = 10, w = 100).
const DEFAULT_BOUNDS: Bounds = Bounds {
    min_value: Amount::from_sat(10_000),
    max_value: Amount::from_sat(10_000_000_000),
    min_time: 400,
    max_time: u16::MAX,
    k: 10,
    w: 100,
};

/// A validated Babylon peg.
#[derive(Debug)]
pub(crate) struct Spec {
    pub(crate) staker: String,
    pub(crate) providers: Vec<String>,
    pub(crate) covenant: Vec<String>,
    pub(crate) quorum: usize,
    pub(crate) staking_time: u16,
    pub(crate) unbonding_time: u16,
    pub(crate) unbonding_fee: Amount,
    pub(crate) slashing_rate: f64,
    pub(crate) slashing_fee: Amount,
    pub(crate) tag: Option<[u8; 4]>,
    pub(crate) bounds: Bounds,
}

impl Family for Babylon {
    fn kind(&self) -> &'static str {
        "babylon"
    }
    fn about(&self) -> &'static str {
        "Babylon BTC staking: timelock, unbonding and slashing leaves, EOTS key extraction, covenant adaptor signatures"
    }
    fn starter(&self) -> &'static str {
        include_str!("../../../../scenarios/babylon/withdraw_and_unbond.toml")
    }
    fn verbs(&self) -> &'static [Verb] {
        VERBS
    }
    fn stalls(&self) -> &'static [Code] {
        STALLS
    }
    fn refusals(&self) -> &'static [Code] {
        Refused::ALL
    }
    fn quantities(&self) -> &'static [Quantity] {
        &[Quantity {
            key: "active_stake",
            per: Per::Peg,
            about: "delegations active on Babylon: k confirmations deep, with the covenant quorum's signatures collected at registration, and not yet unbonded, withdrawn or slashed",
        }]
    }
    fn peg_schema(&self, g: &mut SchemaGenerator) -> Schema {
        g.subschema_for::<Params>()
    }

    fn read_peg(&self, r: &mut Reader<'_, '_>) -> Option<Arc<dyn PegSpec>> {
        let p: Params = r.parse()?;
        let preset = p.preset.as_deref().and_then(|name| r.preset(name, PRESETS));
        r.user("staker", &p.staker);
        if p.providers.is_empty() {
            r.report("providers", "a babylon peg needs at least one finality provider", None);
        }
        let providers = if p.providers.is_empty() {
            Vec::new()
        } else {
            r.members("providers", &Members::Names(p.providers), "provider")
        };
        let covenant = match (&p.covenant, preset) {
            (Some(spec), _) => r.members("covenant", spec, "covenant"),
            (None, Some(preset)) => r.members("preset", &Members::Count(preset.0), "covenant"),
            (None, None) => {
                r.report("", "a babylon peg needs a `covenant` committee, or a `preset`", None);
                Vec::new()
            }
        };
        let quorum = p.quorum.or(preset.map(|p| p.1)).unwrap_or(covenant.len() as u64);
        let quorum = r.threshold("quorum", quorum, covenant.len(), "covenant keys");
        let staking_time = match p.staking_time.or(preset.map(|p| p.2)) {
            Some(t) => r.csv("staking_time", t),
            None => {
                r.report("", "a babylon peg needs a `staking_time`, or a `preset`", None);
                1
            }
        };
        let unbonding_time = match p.unbonding_time.or(preset.map(|p| p.3)) {
            Some(t) => r.csv("unbonding_time", t),
            None => {
                r.report("", "a babylon peg needs an `unbonding_time`, or a `preset`", None);
                1
            }
        };
        let mut fee = |key: &str, given: &Option<String>, default: Option<u64>| match given {
            Some(text) => r.amount(key, text).unwrap_or_default(),
            None => Amount::from_sat(default.unwrap_or(2_000)),
        };
        let unbonding_fee = fee("unbonding_fee", &p.unbonding_fee, preset.map(|p| p.4));
        let slashing_fee = fee("slashing_fee", &p.slashing_fee, preset.map(|p| p.6));
        let slashing_rate = p.slashing_rate.or(preset.map(|p| p.5)).unwrap_or(0.1);
        if !(slashing_rate > 0.0 && slashing_rate < 1.0) {
            r.report(
                "slashing_rate",
                format!("slashing rate {slashing_rate} must be between 0 and 1"),
                None,
            );
        }
        let tag = p.tag.as_deref().and_then(|t| r.hex::<4>("tag", t));
        if tag.is_some() && providers.len() > 1 {
            let message = "the identifiable-staking OP_RETURN names one finality provider: a \
                           tagged delegation has exactly one";
            r.report("tag", message, None);
        }
        let base = if p.preset.as_deref() == Some("babylon-mainnet") {
            MAINNET_BOUNDS
        } else {
            DEFAULT_BOUNDS
        };
        let mut value = |k: &str, given: &Option<String>, default: Amount| match given {
            Some(text) => r.amount(k, text).unwrap_or(default),
            None => default,
        };
        let min_value = value("min_staking_value", &p.min_staking_value, base.min_value);
        let max_value = value("max_staking_value", &p.max_staking_value, base.max_value);
        let min_time = p.min_staking_time.map_or(base.min_time, |t| r.csv("min_staking_time", t));
        let max_time = p.max_staking_time.map_or(base.max_time, |t| r.csv("max_staking_time", t));
        let bounds = Bounds {
            min_value,
            max_value,
            min_time,
            max_time,
            k: p.confirmation_depth.unwrap_or(base.k),
            w: p.finalization_timeout.unwrap_or(base.w),
        };
        if u32::from(unbonding_time) <= bounds.w {
            let message = format!(
                "an unbonding time of {unbonding_time} blocks is not above the finalization \
                 timeout w = {}: Babylon requires it to be (x/btcstaking/types/params.go)",
                bounds.w
            );
            r.report("unbonding_time", message, None);
        }
        if bounds.k == 0 {
            r.report("confirmation_depth", "a delegation needs at least one confirmation", None);
        }
        Some(Arc::new(Spec {
            staker: p.staker,
            providers,
            covenant,
            quorum,
            staking_time,
            unbonding_time,
            unbonding_fee,
            slashing_rate,
            slashing_fee,
            tag,
            bounds,
        }))
    }
}

impl Spec {
    /// The scripts' keys and times.
    pub(crate) fn delegation(
        &self,
        keys: &KeyBook,
        _secp: &bitcoin::secp256k1::Secp256k1<bitcoin::secp256k1::All>,
    ) -> Delegation {
        Delegation {
            staker: keys.user_public(Purpose::Staking, &self.staker).inner.x_only_public_key().0,
            providers: self.providers.iter().map(|p| keys.x_only(p)).collect(),
            covenant: self.covenant.iter().map(|c| keys.x_only(c)).collect(),
            quorum: self.quorum,
            staking_time: self.staking_time,
            unbonding_time: self.unbonding_time,
        }
    }
}

impl PegSpec for Spec {
    fn family(&self) -> &'static dyn Family {
        &Babylon
    }

    fn read_step(&self, verb: &'static str, r: &mut Reader<'_, '_>) -> Option<StepSpec> {
        let (step, tx, judged) = match verb {
            "delegate" => {
                let a: DelegateArgs = r.parse()?;
                r.payer("", &self.staker);
                let amount = r.amount("amount", &a.amount).unwrap_or_default();
                for member in a.covenant.iter().flatten() {
                    if r.signer("covenant", member) && !self.covenant.contains(member) {
                        let message =
                            format!("`{member}` is not on `{}`'s covenant committee", r.peg());
                        r.report("covenant", message, None);
                    }
                }
                let name = r.name_tx("name", verb, a.name.as_deref());
                r.define("delegation", "name", &name);
                (
                    Step::Delegate { amount, covenant: a.covenant, name: name.clone() },
                    Some(name),
                    true,
                )
            }
            "withdraw" => {
                let a: WithdrawArgs = r.parse()?;
                r.key_signer("", &self.staker, "a withdrawal (its staking key signs)");
                r.find("delegation", "delegation", &a.delegation);
                let to = r.destination("to", &a.to);
                let name = r.name_tx("name", verb, a.name.as_deref());
                (
                    Step::Withdraw { delegation: a.delegation, to, name: name.clone() },
                    Some(name),
                    true,
                )
            }
            "unbond" => {
                let a: UnbondArgs = r.parse()?;
                r.key_signer("", &self.staker, "an unbonding (its staking key signs)");
                r.find("delegation", "delegation", &a.delegation);
                for member in a.covenant.iter().flatten() {
                    if r.signer("covenant", member) && !self.covenant.contains(member) {
                        let message =
                            format!("`{member}` is not on `{}`'s covenant committee", r.peg());
                        r.report("covenant", message, None);
                    }
                }
                let name = r.name_tx("name", verb, a.name.as_deref());
                (
                    Step::Unbond {
                        delegation: a.delegation,
                        covenant: a.covenant,
                        name: name.clone(),
                    },
                    Some(name),
                    true,
                )
            }
            "vote" => {
                let a: VoteArgs = r.parse()?;
                if !self.providers.contains(&a.provider) {
                    let help = crate::scenario::suggest(
                        &a.provider,
                        self.providers.iter().map(String::as_str),
                    );
                    r.report(
                        "provider",
                        format!("`{}` is not a finality provider of `{}`", a.provider, r.peg()),
                        help,
                    );
                } else {
                    r.signer("provider", &a.provider);
                }
                (Step::Vote { provider: a.provider, height: a.height, block: a.block }, None, false)
            }
            "slash" => {
                let a: SlashArgs = r.parse()?;
                r.find("delegation", "delegation", &a.delegation);
                let name = r.name_tx("name", verb, a.name.as_deref());
                (Step::Slash { delegation: a.delegation, name: name.clone() }, Some(name), true)
            }
            _ => return None,
        };
        Some(StepSpec { args: Arc::new(step), tx, judged })
    }

    fn derive(&self, keys: &KeyBook, _: &[&StepSpec]) -> Value {
        let secp = bitcoin::secp256k1::Secp256k1::new();
        let d = self.delegation(keys, &secp);
        let staking = ScriptBuf::new_p2tr_tweaked(d.staking_info(&secp).output_key());
        let unbonding = ScriptBuf::new_p2tr_tweaked(d.unbonding_info(&secp).output_key());
        json!({
            "staker_key": d.staker.to_string(),
            "timelock_script": d.timelock_script(d.staking_time).to_hex_string(),
            "unbonding_script": d.unbonding_script().to_hex_string(),
            "slashing_script": d.slashing_script().to_hex_string(),
            "unbonding_timelock_script": d.timelock_script(d.unbonding_time).to_hex_string(),
            "staking_output_script": staking.to_hex_string(),
            "staking_address": crate::derive::address(&staking),
            "unbonding_output_script": unbonding.to_hex_string(),
            "unbonding_address": crate::derive::address(&unbonding),
        })
    }

    fn locks(&self, keys: &KeyBook) -> Vec<Lock> {
        let secp = bitcoin::secp256k1::Secp256k1::new();
        let d = self.delegation(keys, &secp);
        let mut holders = crate::lock::Holders::new();
        let staking_key = keys.user_secret(Purpose::Staking, &self.staker);
        holders.insert(crate::tx::taproot::even(d.staker), (self.staker.clone(), staking_key));
        for name in self.providers.iter().chain(&self.covenant) {
            holders.insert(
                crate::tx::taproot::even(keys.x_only(name)),
                (name.clone(), keys.secret(name)),
            );
        }
        let lock = |coins: &str,
                    descriptor: miniscript::Descriptor<bitcoin::PublicKey>,
                    names: &[&str]| {
            let lock = crate::lock::DescriptorLock::new(descriptor);
            let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
            let paths = lock.paths(&holders, coins, &names);
            let spk = lock.descriptor.script_pubkey();
            Lock::new(coins, spk, paths, Spender::Descriptor(Box::new(lock)), holders.clone())
        };
        let key = "key path (unspendable NUMS key)";
        vec![
            lock(
                "staking output",
                d.staking_descriptor(),
                &[key, "slashing", "unbonding", "timelock"],
            ),
            lock("unbonding output", d.unbonding_descriptor(), &[key, "timelock", "slashing"]),
            lock("slashing-refund output", d.refund_descriptor(), &[key, "timelock"]),
        ]
    }

    fn transactions(&self) -> Vec<TxShape> {
        let slashing = "the staker, the covenant quorum (adaptor signatures) and the provider's key, which a double vote gives away";
        vec![
            TxShape::new(
                "staking",
                "the staker's wallet",
                "the staking output (and the identifiable-staking OP_RETURN when a tag is set)",
                "the staker's wallet",
            ),
            TxShape::new(
                "unbonding",
                "the staking output",
                "the unbonding output, less the exact unbonding fee",
                "the staker and the covenant quorum, pre-signed at registration",
            ),
            TxShape::new(
                "slashing (staking)",
                "the staking output",
                "slashing_rate burned, the rest to the slashing-refund output",
                slashing,
            ),
            TxShape::new(
                "slashing (unbonding)",
                "the unbonding output",
                "slashing_rate burned, the rest to the slashing-refund output",
                slashing,
            ),
            TxShape::new(
                "withdrawal",
                "a timelocked output",
                "anyone the staker names",
                "the staker alone, after the timelock",
            ),
        ]
    }

    fn declared_trust(&self) -> Vec<String> {
        vec![
            "the stake secures Babylon's finality: slashing needs a finality provider's extracted key and the covenant committee's presigned slashing transaction".into(),
        ]
    }

    fn start(&self, peg: &str, cx: &mut Cx<'_>) -> Result<Box<dyn PegRun>, RunError> {
        Ok(Box::new(steps::State::new(peg, self, cx)))
    }
}
