//! Core's (Satoshi Plus) non-custodial BTC staking (`kind = "core"`): BTC locked in a CLTV
//! redeem script over one of three owner templates, with a `SAT+` OP_RETURN naming the
//! delegator and the validator; unlocked once median-time-past passes the lock.

mod script;
mod steps;

use script::{Owner, redeem_script};

use std::sync::Arc;

use bitcoin::{
    Amount,
    hashes::{Hash, sha256},
};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    family::{Code, Family, PegRun, PegSpec, Per, Quantity, StepSpec, Verb, codes},
    lock::{self, Holders, Lock, Slot, Spender, TxShape, Wrap},
    policy::{Policy, SpendPath, Timelocks},
    run::{Cx, RunError, keys::KeyBook},
    scenario::{Destination, Members, Reader, parse_duration},
    tx::OutputType,
};

/// The Core staking family.
pub(crate) struct CoreStaking;

/// Core mainnet's chain id (`SatoshiPlusHelper.sol`).
const MAINNET_CHAIN_ID: u16 = 1116;

/// `[[peg]] kind = "core"`.
#[derive(Debug, Deserialize, JsonSchema)]
struct Params {
    /// What the script locks to: "pubkey" (default), "pubkey-hash", or "multisig".
    template: Option<TemplateName>,
    /// The multisig template's signers.
    signers: Option<Vec<String>>,
    /// The multisig template's threshold (default: all).
    threshold: Option<u64>,
    /// "p2wsh" (default) or "p2sh".
    output: Option<Output>,
    /// Core's chain id in the payload (default 1116, mainnet).
    chain_id: Option<u16>,
    /// The validator the stake delegates to (40 hex; default: derived from the peg's name).
    validator: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
enum TemplateName {
    /// `<pubkey> OP_CHECKSIG`.
    Pubkey,
    /// `OP_DUP OP_HASH160 <pkh> OP_EQUALVERIFY OP_CHECKSIG`.
    PubkeyHash,
    /// `<m> <pubkeys> <n> OP_CHECKMULTISIG`.
    Multisig,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
enum Output {
    /// Native segwit.
    P2wsh,
    /// Legacy P2SH.
    P2sh,
}

/// `stake = { from, amount, lock, name }`.
#[derive(Debug, Deserialize, JsonSchema)]
struct StakeArgs {
    /// The staking user.
    from: String,
    /// How much.
    amount: String,
    /// How long past the current median-time-past the coins stay locked, e.g. "2h".
    lock: String,
    /// The transaction's name (default `stake:<step number>`).
    name: Option<String>,
}

/// `unstake = { stake, to, name }`.
#[derive(Debug, Deserialize, JsonSchema)]
struct UnstakeArgs {
    /// The stake transaction's name.
    stake: String,
    /// An actor or a regtest address.
    to: String,
    /// The transaction's name (default `unstake:<step number>`).
    name: Option<String>,
}

/// `delegate = { stake }`.
#[derive(Debug, Deserialize, JsonSchema)]
struct DelegateArgs {
    /// The stake transaction's name.
    stake: String,
}

/// The owner template, resolved.
#[derive(Debug, Clone)]
pub(crate) enum Template {
    PubKey,
    PubKeyHash,
    Multisig { signers: Vec<String>, threshold: usize },
}

/// A Core staking step, as read.
#[derive(Debug)]
enum Step {
    Stake { from: String, amount: Amount, lock: u32, name: String },
    Unstake { stake: String, to: Destination, name: String },
    Delegate { stake: String },
}

const VERBS: &[Verb] = &[
    Verb {
        name: "stake",
        about: "a user locks BTC until a time past median-time-past: `stake = { from = \"alice\", amount = \"0.5 BTC\", lock = \"2h\" }`",
        schema: |g| g.subschema_for::<StakeArgs>(),
    },
    Verb {
        name: "delegate",
        about: "a relayer submits a stake to Core's BitcoinStake.delegate with its proof: `delegate = { stake = \"s1\" }`",
        schema: |g| g.subschema_for::<DelegateArgs>(),
    },
    Verb {
        name: "unstake",
        about: "the owner spends a stake back through the CLTV path: `unstake = { stake = \"s1\", to = \"alice\" }`",
        schema: |g| g.subschema_for::<UnstakeArgs>(),
    },
];

const STALLS: &[Code] = &[Code {
    code: "no-stake",
    meaning: "the named stake was never accepted by Bitcoin Core: there is nothing to unlock",
}];

codes! {
    /// Why Core's `BitcoinStake.delegate` reverts (core-genesis-contract @ 6046c87c,
    /// `contracts/BitcoinStake.sol:158-170`).
    pub(crate) enum Refused {
        NotConfirmed = "btc-tx-not-confirmed": "Core: \"btc tx isn't confirmed\": the light client needs the stake btcConfirmBlock (6) blocks deep (INIT_BTC_CONFIRM_BLOCK, SatoshiPlusHelper.sol:14)",
        InsufficientLockingRounds = "insufficient-locking-rounds": "Core: \"insufficient locking rounds\": the lock must end after the next round: lockTime / 86400 > roundTag + 1 (about two days out)",
        AlreadyDelegated = "btc-tx-already-delegated": "Core: \"btc tx is already delegated.\"",
    }
}

/// A validated Core staking peg.
#[derive(Debug)]
pub(crate) struct Spec {
    pub(crate) template: Template,
    pub(crate) output: OutputType,
    pub(crate) chain_id: u16,
    pub(crate) validator: [u8; 20],
}

impl Family for CoreStaking {
    fn kind(&self) -> &'static str {
        "core"
    }
    fn about(&self) -> &'static str {
        "Core's (Satoshi Plus) CLTV staking: a lock to one of three owner templates and a SAT+ OP_RETURN"
    }
    fn starter(&self) -> &'static str {
        include_str!("../../../../scenarios/core/lock_unlock.toml")
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
            key: "delegated",
            per: Per::Peg,
            about: "BTC Core's BitcoinStake contract counts as delegated to the peg's validator",
        }]
    }
    fn peg_schema(&self, g: &mut SchemaGenerator) -> Schema {
        g.subschema_for::<Params>()
    }

    fn read_peg(&self, r: &mut Reader<'_, '_>) -> Option<Arc<dyn PegSpec>> {
        let p: Params = r.parse()?;
        let template = match p.template.unwrap_or(TemplateName::Pubkey) {
            TemplateName::Pubkey | TemplateName::PubkeyHash if p.signers.is_some() => {
                r.report("signers", "`signers` belong to the multisig template", None);
                Template::PubKey
            }
            TemplateName::Pubkey => Template::PubKey,
            TemplateName::PubkeyHash => Template::PubKeyHash,
            TemplateName::Multisig => {
                let Some(names) = p.signers else {
                    r.report("template", "a multisig template needs `signers`", None);
                    return None;
                };
                let signers = r.members("signers", &Members::Names(names), "signer");
                let threshold = r.threshold(
                    "threshold",
                    p.threshold.unwrap_or(signers.len() as u64),
                    signers.len(),
                    "signers",
                );
                Template::Multisig { signers, threshold }
            }
        };
        let output = match p.output.unwrap_or(Output::P2wsh) {
            Output::P2wsh => OutputType::P2wsh,
            Output::P2sh => OutputType::P2sh,
        };
        let validator = match p.validator.as_deref() {
            Some(text) => r.hex::<20>("validator", text).unwrap_or([0; 20]),
            None => {
                let digest = sha256::Hash::hash(format!("peglab validator {}", r.peg()).as_bytes());
                digest.to_byte_array()[..20].try_into().expect("20 bytes")
            }
        };
        let chain_id = p.chain_id.unwrap_or(MAINNET_CHAIN_ID);
        Some(Arc::new(Spec { template, output, chain_id, validator }))
    }
}

impl PegSpec for Spec {
    fn family(&self) -> &'static dyn Family {
        &CoreStaking
    }

    fn read_step(&self, verb: &'static str, r: &mut Reader<'_, '_>) -> Option<StepSpec> {
        let step = match verb {
            "stake" => {
                let a: StakeArgs = r.parse()?;
                r.payer("from", &a.from);
                let amount = r.amount("amount", &a.amount).unwrap_or_default();
                let lock = parse_duration(&a.lock).unwrap_or_else(|| {
                    r.report(
                        "lock",
                        format!("lock `{}` is not a duration", a.lock),
                        Some("write e.g. \"2h\" or \"3d\"".into()),
                    );
                    0
                });
                let name = r.name_tx("name", verb, a.name.as_deref());
                r.define_with("stake", "name", &name, &a.from);
                Step::Stake { from: a.from, amount, lock, name }
            }
            "delegate" => {
                let a: DelegateArgs = r.parse()?;
                r.find("stake", "stake", &a.stake);
                Step::Delegate { stake: a.stake }
            }
            "unstake" => {
                let a: UnstakeArgs = r.parse()?;
                r.find("stake", "stake", &a.stake);
                match &self.template {
                    Template::Multisig { signers, .. } => {
                        for s in signers {
                            r.signer("stake", s);
                        }
                    }
                    _ => {
                        if let Some((_, owner)) = r.lookup("stake", &a.stake) {
                            r.key_signer("stake", &owner, "the unstake (its staking key signs)");
                        }
                    }
                }
                let to = r.destination("to", &a.to);
                let name = r.name_tx("name", verb, a.name.as_deref());
                Step::Unstake { stake: a.stake, to, name }
            }
            _ => return None,
        };
        let tx = match &step {
            Step::Stake { name, .. } | Step::Unstake { name, .. } => Some(name.clone()),
            Step::Delegate { .. } => None,
        };
        Some(StepSpec { args: Arc::new(step), tx, judged: true })
    }

    fn derive(&self, _: &KeyBook, _: &[&StepSpec]) -> Value {
        json!({
            "chain_id": self.chain_id,
            "validator": bitcoin::hex::DisplayHex::to_lower_hex_string(&self.validator[..]),
            "output": self.output,
            "script_template": "<locktime: 4 bytes LE> OP_CHECKLOCKTIMEVERIFY OP_DROP <owner>",
        })
    }

    fn locks(&self, keys: &KeyBook) -> Vec<Lock> {
        let _secp = bitcoin::secp256k1::Secp256k1::new();
        // Each stake picks its own time; a lock at the lab's epoch stands for them all.
        let locktime = crate::chain::LAB_EPOCH as u32;
        let timelocks = Timelocks { time: Some(locktime), ..Timelocks::default() };
        let after = Policy::AfterTime { time: None };
        let make = |coins: String, owner: Owner, policy: Policy, holders: Holders| {
            let script = redeem_script(locktime, &owner);
            let stack = match &owner {
                Owner::PubKey(pk) => vec![Slot::Sig(*pk)],
                Owner::PubKeyHash(pk) => vec![Slot::Sig(*pk), Slot::Push(pk.to_bytes())],
                Owner::Multisig { threshold, keys } => {
                    vec![Slot::Push(Vec::new()), Slot::Multi { k: *threshold, keys: keys.clone() }]
                }
            };
            let template =
                lock::Template::new(Wrap::Script(script.clone(), self.output), stack, timelocks);
            let paths = vec![SpendPath::new("owner after the locktime", &coins, policy)];
            let spk = crate::tx::script_pubkey(&script, self.output);
            Lock::new(&coins, spk, paths, Spender::Templates(vec![template]), holders)
        };
        match &self.template {
            Template::Multisig { signers, threshold } => {
                let owner = Owner::Multisig {
                    threshold: *threshold,
                    keys: signers.iter().map(|s| keys.public(s)).collect(),
                };
                let policy = Policy::and(vec![Policy::multi(*threshold, signers), after]);
                vec![make("stake".into(), owner, policy, lock::actor_holders(keys))]
            }
            single => keys
                .users()
                .map(|user| {
                    let sk = keys.user_secret(crate::run::keys::Purpose::Staking, user);
                    let pk = keys.user_public(crate::run::keys::Purpose::Staking, user);
                    let owner = match single {
                        Template::PubKeyHash => Owner::PubKeyHash(pk),
                        _ => Owner::PubKey(pk),
                    };
                    let holders = Holders::from([(pk, (user.to_owned(), sk))]);
                    let policy = Policy::and(vec![Policy::pk(user), after.clone()]);
                    make(format!("{user}'s stake"), owner, policy, holders)
                })
                .collect(),
        }
    }

    fn transactions(&self) -> Vec<TxShape> {
        vec![
            TxShape::new(
                "stake",
                "the staker's wallet",
                "the CLTV script, and the SAT+ OP_RETURN naming delegator and validator",
                "the staker's wallet",
            ),
            TxShape::new(
                "unstake",
                "a stake",
                "anyone the owner names",
                "the owner, once median-time-past passes the lock",
            ),
        ]
    }

    fn declared_trust(&self) -> Vec<String> {
        vec![
            "Core counts the stake through its BitcoinStake contract on a light client: Core has no say over the BTC".into(),
        ]
    }

    fn start(&self, peg: &str, _: &mut Cx<'_>) -> Result<Box<dyn PegRun>, RunError> {
        Ok(Box::new(steps::State::new(peg, self)))
    }
}
