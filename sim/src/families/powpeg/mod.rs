//! Rootstock's PowPeg (`kind = "powpeg"`), as rskj's Bridge runs it: the ERP federation
//! redeem script, peg-ins (with or without an `RSKT` OP_RETURN) registered with an SPV proof,
//! peg-outs queued and released in a batch by a majority, and the ERP keys' timelocked branch.
//! Flyover deposit addresses are derived as rskj derives them.

pub(crate) mod flyover;
mod pegin;
pub(crate) mod rsk;
pub(crate) mod script;
mod steps;
#[cfg(test)]
mod vectors;

use std::{str::FromStr, sync::Arc};

use bitcoin::Amount;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    families::liquid::{QUANTITIES, SignedArgs, SweepArgs},
    family::{Code, Family, PegRun, PegSpec, Quantity, StepSpec, Verb, codes},
    federation::locks::{Branch, BranchKey},
    federation::{Fed, Federation},
    lock::{Lock, TxShape},
    run::{Cx, RunError, keys::KeyBook},
    scenario::{Destination, Members, Reader},
    tx::{OutputType, script_pubkey},
};
use script::{Erp, majority};

/// The PowPeg family.
pub(crate) struct Powpeg;

/// `[[peg]] kind = "powpeg"`.
#[derive(Debug, Deserialize, JsonSchema)]
struct Params {
    /// "rootstock-mainnet": 3-of-4 ERP keys after 52,560 blocks, peg-ins registered at 100
    /// confirmations, P2SH-P2WSH (rskj's mainnet constants; 9 pegnatories stand in for the
    /// live set, which is not a constant of the code).
    preset: Option<String>,
    /// Pegnatories: a count (member-1..) or signer names; a majority, N/2 + 1, signs.
    members: Option<Members>,
    /// Must be the majority if given (rskj's `getNumberOfSignaturesRequired`).
    threshold: Option<u64>,
    /// The ERP keys: { members, csv } (a majority of them signs after csv blocks).
    emergency: Option<Emergency>,
    /// Confirmations before a peg-in can be registered (`btc2RskMinimumAcceptableConfirmations`).
    pegin_depth: Option<u32>,
    /// "p2sh-p2wsh" (format 4000) or "p2sh" (format 3000).
    address: Option<Address>,
    /// A flyover quote whose deposit address `peglab derive` shows.
    flyover: Option<FlyoverArgs>,
    /// The least a peg-in output to the federation may carry (`minimumPeginTxValue`, 500,000
    /// sat on every network); below it the coins are kept, neither minted nor refunded.
    minimum_pegin: Option<String>,
    /// The least a release request may ask (`minimumPegoutTxValue`: 400,000 sat on mainnet,
    /// 250,000 on regtest and testnet).
    minimum_pegout: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct Emergency {
    /// ERP keys: a count (erp-1..) or signer names.
    members: Members,
    /// Must be the majority if given.
    threshold: Option<u64>,
    /// Blocks before the ERP keys may spend (1 to 65535).
    csv: u64,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
enum Address {
    /// Format 4000.
    P2shP2wsh,
    /// Format 3000.
    P2sh,
}

/// A flyover quote's derivation arguments.
#[derive(Debug, Deserialize, JsonSchema)]
struct FlyoverArgs {
    /// The user's refund address (legacy P2PKH or P2SH).
    user_refund: String,
    /// The liquidity provider's Bitcoin address (legacy P2PKH or P2SH).
    lp_btc: String,
    /// The Liquidity Bridge Contract's address (40 hex).
    lbc: String,
    /// The hash of the quote's derivation arguments (64 hex).
    arguments_hash: String,
}

/// `peg_in = { from, amount, rsk_to, name }`.
#[derive(Debug, Deserialize, JsonSchema)]
struct PegInArgs {
    /// The paying user.
    from: String,
    /// How much, e.g. "1 BTC".
    amount: String,
    /// Name this user's Rootstock address in an RSKT OP_RETURN.
    rsk_to: Option<String>,
    /// The transaction's name (default `peg_in:<step number>`).
    name: Option<String>,
}

/// `claim = { deposit }`: the bridge's `registerBtcTransaction`.
#[derive(Debug, Deserialize, JsonSchema)]
struct ClaimArgs {
    /// The peg-in transaction's name.
    deposit: String,
}

/// `peg_out = { from, amount, to }`: queues a release request.
#[derive(Debug, Deserialize, JsonSchema)]
struct PegOutArgs {
    /// The RBTC holder who burns.
    from: String,
    /// How much.
    amount: String,
    /// The Bitcoin destination: an actor or a regtest address.
    to: String,
}

/// A PowPeg step, as read.
#[derive(Debug)]
enum Step {
    PegIn { from: String, amount: Amount, rsk_to: Option<String>, name: String },
    Register { deposit: String },
    PegOut { from: String, amount: Amount, to: Destination },
    Batch { name: String },
    Sweep { name: String },
    Take { signers: Vec<String>, to: Destination, name: String, emergency: bool },
}

codes! {
    /// Why the Bridge does not register a peg-in (rskj `BridgeSupport.registerBtcTransaction`).
    pub(crate) enum Refused {
        AlreadyProcessed = "transaction-already-processed": "rskj: RegisterBtcTransactionException \"Transaction already processed\"",
        CouldNotValidate = "could-not-validate-transaction": "rskj: RegisterBtcTransactionException \"Could not validate transaction\": the merkle proof fails, or the block is not btc2RskMinimumAcceptableConfirmations deep on the Bitcoin node's best chain",
        NotAPegin = "not-a-pegin": "rskj: the transaction pays no active federation (\"This is not a lock, a release nor a migration tx\"): nothing happens",
        NoRefundUndeterminedSender = "no-refund-undetermined-sender": "rskj PegUtils.evaluatePegin: NO_REFUND, LEGACY_PEGIN_UNDETERMINED_SENDER: a peg-in without RSKT whose first input is neither P2PKH, P2SH-P2WPKH nor P2SH multisig (a native segwit or taproot wallet): no RBTC is minted and nothing is returned; the coins stay with the federation",
        NoRefundInvalidAmount = "no-refund-invalid-amount": "rskj PegUtils.evaluatePegin: NO_REFUND, INVALID_AMOUNT: an output to the federation below minimumPeginTxValue (500,000 sat): the coins stay with the federation",
        NoRefundInvalidPayload = "no-refund-invalid-payload": "rskj PegUtils.evaluatePegin: NO_REFUND, PEGIN_V1_INVALID_PAYLOAD: RSKT outputs rskj cannot parse (several, or malformed) and no refund address",
        RefundMultisigSender = "refund-multisig-sender": "rskj PegUtils.evaluatePegin: REFUND, LEGACY_PEGIN_MULTISIG_SENDER: a peg-in without RSKT from a P2SH multisig (or P2SH-P2WSH) sender: the federation returns the coins to the sender's address (BridgeSupport.generateRejectionRelease)",
        LowAmount = "low-amount": "rskj RejectedPegoutReason.LOW_AMOUNT: a release request below minimumPegoutTxValue: refused, the RBTC stays with the requester",
    }
}

const STALLS: &[Code] = &[
    Code {
        code: "quorum",
        meaning: "fewer pegnatories than the majority are online and hold their keys",
    },
    Code {
        code: "insufficient-sidechain-funds",
        meaning: "the holder has less RBTC than the peg-out burns",
    },
    Code {
        code: "insufficient-federation-funds",
        meaning: "the federation holds less than the release pays",
    },
    Code { code: "nothing-queued", meaning: "no peg-out request is waiting for a batch" },
    Code { code: "nothing-to-sweep", meaning: "the federation holds no output" },
    Code { code: "nothing-to-take", meaning: "the federation holds no output to recover or steal" },
];

const VERBS: &[Verb] = &[
    Verb {
        name: "peg_in",
        about: "a user pays the federation address, optionally with an RSKT OP_RETURN: `peg_in = { from = \"alice\", amount = \"1 BTC\", rsk_to = \"bob\" }`",
        schema: |g| g.subschema_for::<PegInArgs>(),
    },
    Verb {
        name: "claim",
        about: "register a peg-in with the bridge (an SPV proof from the node): `claim = { deposit = \"pi\" }`",
        schema: |g| g.subschema_for::<ClaimArgs>(),
    },
    Verb {
        name: "peg_out",
        about: "burn RBTC and queue a release request: `peg_out = { from = \"bob\", amount = \"0.3 BTC\", to = \"bob\" }`",
        schema: |g| g.subschema_for::<PegOutArgs>(),
    },
    Verb {
        name: "batch",
        about: "the online majority pays every queued request in one transaction: `batch = { name = \"release\" }`",
        schema: |g| g.subschema_for::<SweepArgs>(),
    },
    Verb {
        name: "sweep",
        about: "the online majority consolidates every federation output",
        schema: |g| g.subschema_for::<SweepArgs>(),
    },
    Verb {
        name: "recover",
        about: "ERP keys spend the oldest output through the timelocked branch",
        schema: |g| g.subschema_for::<SignedArgs>(),
    },
    Verb {
        name: "steal",
        about: "colluding pegnatories move every output with no burn behind it",
        schema: |g| g.subschema_for::<SignedArgs>(),
    },
];

/// rskj mainnet (`FederationMainNetConstants`, `BridgeMainNetConstants`).
const MAINNET_MEMBERS: u64 = 9;
const MAINNET_ERP_KEYS: u64 = 4;
const MAINNET_DELAY: u64 = 52_560;
const MAINNET_CONFIRMATIONS: u32 = 100;

/// A flyover quote, validated.
#[derive(Debug)]
struct Flyover {
    user_refund: bitcoin::Address,
    lp_btc: bitcoin::Address,
    lbc: [u8; 20],
    arguments_hash: [u8; 32],
}

/// A validated PowPeg.
#[derive(Debug)]
struct Spec {
    members: Vec<String>,
    emergency: Vec<String>,
    csv: u16,
    pegin_depth: u32,
    address: OutputType,
    flyover: Option<Flyover>,
    minimum_pegin: Amount,
    minimum_pegout: Amount,
}

/// `minimumPeginTxValue` (`BridgeMainNetConstants.java:31`, `BridgeRegTestConstants.java:63`).
const MINIMUM_PEGIN: Amount = Amount::from_sat(500_000);
/// `minimumPegoutTxValue`: mainnet (`BridgeMainNetConstants.java:32`) and regtest
/// (`BridgeRegTestConstants.java:65`).
const MINIMUM_PEGOUT_MAINNET: Amount = Amount::from_sat(400_000);
const MINIMUM_PEGOUT_REGTEST: Amount = Amount::from_sat(250_000);

fn legacy_address(r: &mut Reader<'_, '_>, k: &str, text: &str) -> Option<bitcoin::Address> {
    let parsed =
        bitcoin::Address::from_str(text).map(|a| a.require_network(bitcoin::Network::Regtest));
    let message = match parsed {
        Ok(Ok(a))
            if matches!(
                a.address_type(),
                Some(bitcoin::AddressType::P2pkh | bitcoin::AddressType::P2sh)
            ) =>
        {
            return Some(a);
        }
        Ok(Ok(_)) => {
            format!("`{text}` is not a legacy P2PKH or P2SH address, which rskj requires here")
        }
        Ok(Err(_)) => format!("`{text}` is not a regtest address"),
        Err(e) => format!("`{text}` is not an address: {e}"),
    };
    r.report(k, message, None);
    None
}

impl Family for Powpeg {
    fn kind(&self) -> &'static str {
        "powpeg"
    }
    fn about(&self) -> &'static str {
        "Rootstock's PowPeg (rskj): ERP federation, RSKT peg-ins registered by SPV proof, batched releases, ERP recovery"
    }
    fn starter(&self) -> &'static str {
        include_str!("../../../../scenarios/powpeg/happy_path.toml")
    }
    fn verbs(&self) -> &'static [Verb] {
        VERBS
    }
    fn quantities(&self) -> &'static [Quantity] {
        QUANTITIES
    }
    fn refusals(&self) -> &'static [Code] {
        Refused::ALL
    }
    fn stalls(&self) -> &'static [Code] {
        STALLS
    }
    fn peg_schema(&self, g: &mut SchemaGenerator) -> Schema {
        g.subschema_for::<Params>()
    }

    fn read_peg(&self, r: &mut Reader<'_, '_>) -> Option<Arc<dyn PegSpec>> {
        let p: Params = r.parse()?;
        let mainnet = match p.preset.as_deref() {
            Some(name) => r.preset(name, &[("rootstock-mainnet", ())]).is_some(),
            None => false,
        };
        let members = match (&p.members, mainnet) {
            (Some(spec), _) => r.members("members", spec, "member"),
            (None, true) => r.members("preset", &Members::Count(MAINNET_MEMBERS), "member"),
            (None, false) => {
                r.report(
                    "",
                    "a powpeg needs `members` (a count or signer names), or a `preset`",
                    None,
                );
                Vec::new()
            }
        };
        let need = majority(members.len()) as u64;
        if let Some(t) = p.threshold.filter(|t| *t != need) {
            let message = format!(
                "a PowPeg signs with a majority: {need} of {} members, not {t}",
                members.len()
            );
            r.report("threshold", message, Some("leave `threshold` out".into()));
        }
        let (emergency, csv) = match (&p.emergency, mainnet) {
            (Some(e), _) => {
                let keys = r.members("emergency", &e.members, "erp");
                let need = majority(keys.len()) as u64;
                if let Some(t) = e.threshold.filter(|t| *t != need) {
                    let message = format!(
                        "the ERP keys sign with a majority: {need} of {}, not {t}",
                        keys.len()
                    );
                    r.report("emergency", message, Some("leave `threshold` out".into()));
                }
                let csv = r.csv("emergency", e.csv);
                if csv <= 16 {
                    let message = format!(
                        "rskj cannot build an ERP script with a CSV of {csv}: bitcoinj-thin's \
                         ScriptBuilder turns 1..16 into OP_N carrying data, which it then refuses \
                         to serialize (ScriptBuilder.java:91-113); use 17 or more"
                    );
                    r.report("emergency", message, None);
                }
                (keys, csv)
            }
            (None, true) => (
                r.members("preset", &Members::Count(MAINNET_ERP_KEYS), "erp"),
                MAINNET_DELAY as u16,
            ),
            (None, false) => {
                r.report(
                    "",
                    "a powpeg needs `emergency = { members, csv }` (the ERP keys), or a `preset`",
                    None,
                );
                (Vec::new(), 1)
            }
        };
        let pegin_depth = p.pegin_depth.unwrap_or(MAINNET_CONFIRMATIONS);
        if pegin_depth == 0 {
            r.report("pegin_depth", "a peg-in needs at least one confirmation", None);
        }
        let address = match p.address.unwrap_or(Address::P2shP2wsh) {
            Address::P2shP2wsh => OutputType::P2shP2wsh,
            Address::P2sh => OutputType::P2sh,
        };
        let flyover = p.flyover.and_then(|f| {
            let user_refund = legacy_address(r, "flyover", &f.user_refund);
            let lp_btc = legacy_address(r, "flyover", &f.lp_btc);
            let lbc = r.hex::<20>("flyover", &f.lbc);
            let arguments_hash = r.hex::<32>("flyover", &f.arguments_hash);
            Some(Flyover {
                user_refund: user_refund?,
                lp_btc: lp_btc?,
                lbc: lbc?,
                arguments_hash: arguments_hash?,
            })
        });
        let mut amount = |k: &str, given: &Option<String>, default: Amount| match given {
            Some(text) => r.amount(k, text).unwrap_or(default),
            None => default,
        };
        let minimum_pegin = amount("minimum_pegin", &p.minimum_pegin, MINIMUM_PEGIN);
        let default_pegout = if mainnet { MINIMUM_PEGOUT_MAINNET } else { MINIMUM_PEGOUT_REGTEST };
        let minimum_pegout = amount("minimum_pegout", &p.minimum_pegout, default_pegout);
        Some(Arc::new(Spec {
            members,
            emergency,
            csv,
            pegin_depth,
            address,
            flyover,
            minimum_pegin,
            minimum_pegout,
        }))
    }
}

impl Spec {
    fn erp(&self, keys: &KeyBook) -> Erp {
        Erp {
            members: self.members.iter().map(|m| keys.public(m)).collect(),
            emergency: self.emergency.iter().map(|m| keys.public(m)).collect(),
            csv: self.csv,
        }
    }
}

impl PegSpec for Spec {
    fn family(&self) -> &'static dyn Family {
        &Powpeg
    }

    fn read_step(&self, verb: &'static str, r: &mut Reader<'_, '_>) -> Option<StepSpec> {
        let step = match verb {
            "peg_in" => {
                let a: PegInArgs = r.parse()?;
                r.payer("from", &a.from);
                if let Some(to) = &a.rsk_to {
                    r.user("rsk_to", to);
                }
                let amount = r.amount("amount", &a.amount).unwrap_or_default();
                let name = r.name_tx("name", verb, a.name.as_deref());
                r.define_with("peg-in", "name", &name, &a.from);
                Step::PegIn { from: a.from, amount, rsk_to: a.rsk_to, name }
            }
            "claim" => {
                let a: ClaimArgs = r.parse()?;
                // A legacy peg-in from a multisig sender is refunded by this transaction.
                r.may_make_tx(&format!("{}:refund", a.deposit));
                r.require_tx("deposit", &a.deposit);
                Step::Register { deposit: a.deposit }
            }
            "peg_out" => {
                let a: PegOutArgs = r.parse()?;
                r.user("from", &a.from);
                let amount = r.amount("amount", &a.amount).unwrap_or_default();
                let to = r.destination("to", &a.to);
                Step::PegOut { from: a.from, amount, to }
            }
            "batch" | "sweep" => {
                let a: SweepArgs = r.parse()?;
                let name = r.name_tx("name", verb, a.name.as_deref());
                if verb == "batch" { Step::Batch { name } } else { Step::Sweep { name } }
            }
            "recover" | "steal" => {
                let a: SignedArgs = r.parse()?;
                let emergency = verb == "recover";
                let (allowed, role) = if emergency {
                    (&self.emergency, "an ERP key")
                } else {
                    (&self.members, "a pegnatory")
                };
                for s in &a.signers {
                    if r.signer("signers", s) && !allowed.contains(s) {
                        let message = format!("`{s}` is not {role} of `{}`", r.peg());
                        r.report("signers", message, None);
                    }
                }
                let to = r.destination("to", &a.to);
                let name = r.name_tx("name", verb, a.name.as_deref());
                Step::Take { signers: a.signers, to, name, emergency }
            }
            _ => return None,
        };
        let tx = match &step {
            Step::PegIn { name, .. }
            | Step::Batch { name }
            | Step::Sweep { name }
            | Step::Take { name, .. } => Some(name.clone()),
            Step::Register { .. } | Step::PegOut { .. } => None,
        };
        Some(StepSpec { args: Arc::new(step), tx, judged: true })
    }

    fn derive(&self, keys: &KeyBook, _: &[&StepSpec]) -> Value {
        let script = self.erp(keys).script();
        let flyover = self.flyover.as_ref().and_then(|f| {
            let hash =
                flyover::derivation_hash(&f.arguments_hash, &f.user_refund, &f.lbc, &f.lp_btc)?;
            let redeem = flyover::redeem_script(&hash, &script);
            let spk = flyover::deposit_script_pubkey(&hash, &script, self.address);
            Some(json!({
                "derivation_hash": bitcoin::hex::DisplayHex::to_lower_hex_string(&hash[..]),
                "redeem_script": redeem.to_hex_string(),
                "address": crate::derive::address(&spk),
            }))
        });
        json!({
            "redeem_script": script.to_hex_string(),
            "federation_address": crate::derive::address(&script_pubkey(&script, self.address)),
            "address_type": self.address,
            "pegin_depth": self.pegin_depth,
            "flyover": flyover,
        })
    }

    fn locks(&self, keys: &KeyBook) -> Vec<Lock> {
        let erp = self.erp(keys);
        let sorted = |names: &[String]| {
            let mut all: Vec<BranchKey> =
                names.iter().map(|n| (n.clone(), keys.public(n), keys.secret(n))).collect();
            all.sort_by_key(|(_, pk, _)| pk.inner.serialize());
            all
        };
        let branches = vec![
            Branch {
                name: "federation",
                keys: sorted(&self.members),
                threshold: majority(self.members.len()),
                selector: Some(Vec::new()),
                csv: None,
            },
            Branch {
                name: "emergency (ERP)",
                keys: sorted(&self.emergency),
                threshold: majority(self.emergency.len()),
                selector: Some(vec![1]),
                csv: Some(self.csv),
            },
        ];
        vec![crate::federation::locks::lock("custody", erp.script(), self.address, branches)]
    }

    fn transactions(&self) -> Vec<TxShape> {
        vec![
            TxShape::new(
                "peg-in",
                "a user's wallet",
                "the federation (with an RSKT OP_RETURN naming the RSK account, or a flyover address)",
                "the user's wallet",
            ),
            TxShape::new(
                "release (batch)",
                "the federation's outputs",
                "every pending peg-out, change to the federation",
                "a majority of the pegnatories",
            ),
            TxShape::new(
                "sweep",
                "every federation output",
                "the federation (restarting the CSV)",
                "a majority of the pegnatories",
            ),
            TxShape::new(
                "recover",
                "a federation output",
                "anyone the ERP keys name",
                "a majority of the ERP keys, after the CSV",
            ),
        ]
    }

    fn declared_trust(&self) -> Vec<String> {
        vec![
            "RBTC is released by the Rootstock Bridge contract on SPV proofs of the peg-in, judged by Rootstock's merge-mined consensus".into(),
            "the PowPeg members' keys live in HSMs that follow Rootstock's chain (declared, not provable)".into(),
        ]
    }

    fn start(&self, peg: &str, cx: &mut Cx<'_>) -> Result<Box<dyn PegRun>, RunError> {
        let federation = Federation {
            custody: Box::new(self.erp(cx.keys)),
            address: self.address,
            utxos: Vec::new(),
        };
        let fed = Fed::new(peg, federation, self.members.clone());
        let rules = steps::Rules {
            depth: self.pegin_depth,
            minimum_pegin: self.minimum_pegin,
            minimum_pegout: self.minimum_pegout,
        };
        Ok(Box::new(steps::State::new(fed, rules)))
    }
}
