//! Liquid's federated peg (`kind = "liquid"`), as Elements and its functionaries run it: the
//! watchman fedpegscript, peg-in addresses tweaked per claim script, claims judged as
//! Elements' `IsValidPeginWitness` judges them, peg-outs paid by the members, sweeps, and the
//! emergency keys' timelocked branch.

mod fedpeg;
pub(crate) mod script;
mod steps;

use std::sync::Arc;

use bitcoin::{Amount, ScriptBuf};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    family::{Code, Family, PegRun, PegSpec, Per, Quantity, StepSpec, Verb, codes},
    federation::{Fed, Federation, locks::Branch},
    lock::{Lock, TxShape},
    run::{
        Cx, RunError,
        keys::{KeyBook, Purpose},
    },
    scenario::{Destination, Members, Reader},
    tx::{OutputType, script_pubkey},
};
use fedpeg::ScriptFedpeg;
use script::{Watchman, tweak_script};

/// Extra blocks Elements' wallet waits beyond `pegin_min_depth` before it claims ("additional
/// block lee-way to avoid bitcoin block races", `claimpegin` in `wallet/rpc/elements.cpp`).
pub(crate) const CLAIM_LEEWAY: u32 = 2;

/// The Liquid family.
pub(crate) struct Liquid;

/// `[[peg]] kind = "liquid"`.
#[derive(Debug, Deserialize, JsonSchema)]
struct Params {
    /// "liquid-v1": 11-of-15 functionaries, 2-of-3 emergency keys after 4032 blocks, peg-ins at
    /// 100 confirmations, P2SH-P2WSH (Elements' liquidv1 chainparams).
    preset: Option<String>,
    /// Functionaries: a count (member-1..) or signer names, in key order.
    members: Option<Members>,
    /// Member signatures needed.
    threshold: Option<u64>,
    /// The emergency keys' branch: { members, threshold, csv }.
    emergency: Option<Emergency>,
    /// Confirmations a peg-in needs (`pegin_min_depth`); claims wait 2 more, as Elements'
    /// wallet does.
    pegin_depth: Option<u32>,
    /// Peg-in addresses: "p2sh-p2wsh" (Liquid's) or "p2wsh".
    address: Option<Address>,
    /// Users whose keys are on the PAK list (Liquid's permissioned peg-outs, `enforce_pak`):
    /// only they peg out. Default: no PAK list (anyone pegs out), or every user with the
    /// `liquid-v1` preset.
    pak: Option<Vec<String>>,
    /// What a claim costs on the Liquid side, out of the peg-in's value (Elements'
    /// `claimpegin` pays the claim transaction's fee from it); default 1000 sat.
    claim_fee: Option<String>,
    /// The fedpegscript itself (hex), instead of `members`, `threshold` and `emergency`: the
    /// watchman template (its member keys are tweaked for a peg-in), or any other script (every
    /// key tweaked, as Elements' `calculate_contract` does), spent by the federation when it is
    /// miniscript. Keys match actors given the same key; others become watch-only signers.
    fedpegscript: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct Emergency {
    /// Emergency keys: a count (emergency-1..) or signer names.
    members: Members,
    /// Emergency signatures needed.
    threshold: u64,
    /// Blocks an output must age before the emergency keys may spend it (1 to 65535).
    csv: u64,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
enum Address {
    /// P2WSH nested in P2SH (Liquid's).
    P2shP2wsh,
    /// Native P2WSH.
    P2wsh,
}

/// `peg_in = { from, amount, untweaked, name }`.
#[derive(Debug, Deserialize, JsonSchema)]
struct PegInArgs {
    /// The paying user; its claim script tweaks the address.
    from: String,
    /// How much, e.g. "1 BTC".
    amount: String,
    /// Pay the bare federation script instead: an address no claim script commits to.
    untweaked: Option<bool>,
    /// The claim script (hex) the address commits to (default: the P2WPKH of the payer's
    /// sidechain key, as Elements' `getpeginaddress` makes it).
    claim_script: Option<String>,
    /// The transaction's name (default `peg_in:<step number>`).
    name: Option<String>,
}

/// `claim = { deposit, by }`.
#[derive(Debug, Deserialize, JsonSchema)]
struct ClaimArgs {
    /// The peg-in transaction's name.
    deposit: String,
    /// Who claims, signing with its claim key (default: who paid the peg-in).
    by: Option<String>,
}

/// `peg_out = { from, amount, to, name }`.
#[derive(Debug, Deserialize, JsonSchema)]
struct PegOutArgs {
    /// The L-BTC holder who burns.
    from: String,
    /// How much, e.g. "0.4 BTC".
    amount: String,
    /// The Bitcoin destination: an actor or a regtest address.
    to: String,
    /// The payout transaction's name (default `peg_out:<step number>`).
    name: Option<String>,
}

/// `sweep = { name }`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct SweepArgs {
    /// The transaction's name (default `sweep:<step number>`).
    pub(crate) name: Option<String>,
}

/// `recover = { signers, to, name }` and `steal = { signers, to, name }`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct SignedArgs {
    /// Who signs: emergency keys (recover) or members (steal).
    pub(crate) signers: Vec<String>,
    /// An actor or a regtest address.
    pub(crate) to: String,
    /// The transaction's name (default `<step>:<step number>`).
    pub(crate) name: Option<String>,
}

/// A Liquid step, as read.
#[derive(Debug)]
enum Step {
    PegIn {
        from: String,
        amount: Amount,
        untweaked: bool,
        claim_script: Option<ScriptBuf>,
        name: String,
    },
    Claim {
        deposit: String,
        by: String,
    },
    PegOut {
        from: String,
        amount: Amount,
        to: Destination,
        name: String,
    },
    Sweep {
        name: String,
    },
    Take {
        signers: Vec<String>,
        to: Destination,
        name: String,
        emergency: bool,
    },
}

codes! {
    /// Why Elements refuses a claim (the sidechain judges it; Bitcoin Core has no say).
    pub(crate) enum Refused {
        MerkleProofInvalid = "pegin-merkle-proof-invalid": "Elements: bad-pegin-witness, \"Could not extract block and tx from merkleblock.\" / \"Merkle proof and txid mismatch.\"",
        ParentPowInvalid = "pegin-parent-pow-invalid": "Elements: bad-pegin-witness, \"Parent proof of work is invalid or insufficient.\"",
        TxInvalid = "pegin-tx-invalid": "Elements: bad-pegin-witness, \"Peg-in tx is invalid.\": no output pays the federation script tweaked with the claim script",
        InvalidPegoutProof = "invalid-pegout-proof": "Elements with enforce_pak (Liquid v1): the peg-out carries no PAK proof matching an entry of the PAK list: the mempool refuses it (invalid-pegout-proof), a block holding it is bad-pak-tx (test/functional/feature_pak.py)",
        PegoutBelowMinimum = "pegout-below-minimum": "Elements sendtomainchain: \"Invalid amount for send, must send more than 0.00100000 BTC\" (wallet/rpc/elements.cpp:611-612); the functionary pays no smaller peg-out",
        NeedsMoreConfirmations = "pegin-needs-more-confirmations": "Elements: bad-pegin-witness, \"Needs more confirmations.\": the block is not on the Bitcoin node's best chain pegin_depth deep (claimpegin waits 2 blocks more)",
        DoublePegin = "double-pegin": "Elements: bad-txns-double-pegin: this peg-in output was claimed before",
        ClaimScriptUnsatisfied = "claim-script-unsatisfied": "Elements verifies the claim input against the claim script: a signature by a key that is not the claim key fails",
    }
}

const STALLS: &[Code] = &[
    Code {
        code: "quorum",
        meaning: "fewer members than the threshold are online and hold their keys",
    },
    Code {
        code: "insufficient-sidechain-funds",
        meaning: "the holder has less L-BTC than the peg-out burns (Elements' wallet: \"Insufficient funds\")",
    },
    Code {
        code: "insufficient-federation-funds",
        meaning: "the federation holds less than the peg-out pays",
    },
    Code { code: "nothing-to-sweep", meaning: "the federation holds no output" },
    Code { code: "nothing-to-take", meaning: "the federation holds no output to recover or steal" },
];

pub(crate) const QUANTITIES: &[Quantity] = &[
    Quantity {
        key: "peg_balance",
        per: Per::Peg,
        about: "what the federation holds on Bitcoin (a claimed peg-in counts while it is confirmed on the best chain)",
    },
    Quantity {
        key: "shortfall",
        per: Per::Peg,
        about: "what the other side owes less what the federation holds and the fees it paid, when positive",
    },
    Quantity {
        key: "sidechain_balance",
        per: Per::Holder,
        about: "what the holder has on the peg's other side (L-BTC, RBTC, tokens)",
    },
];

const VERBS: &[Verb] = &[
    Verb {
        name: "peg_in",
        about: "a user pays its peg-in address: `peg_in = { from = \"alice\", amount = \"1 BTC\", name = \"pi\" }`",
        schema: |g| g.subschema_for::<PegInArgs>(),
    },
    Verb {
        name: "claim",
        about: "claim a peg-in on the other side with an SPV proof from the node: `claim = { deposit = \"pi\" }`",
        schema: |g| g.subschema_for::<ClaimArgs>(),
    },
    Verb {
        name: "peg_out",
        about: "burn on the other side; the members pay it out on Bitcoin: `peg_out = { from = \"alice\", amount = \"0.4 BTC\", to = \"alice\" }`",
        schema: |g| g.subschema_for::<PegOutArgs>(),
    },
    Verb {
        name: "sweep",
        about: "the online members consolidate every federation output (restarting the emergency timelock)",
        schema: |g| g.subschema_for::<SweepArgs>(),
    },
    Verb {
        name: "recover",
        about: "emergency keys spend the oldest output through the timelocked branch: `recover = { signers = [\"emergency-1\", \"emergency-2\"], to = \"rescue\" }`",
        schema: |g| g.subschema_for::<SignedArgs>(),
    },
    Verb {
        name: "steal",
        about: "colluding members move every output with no burn behind it: `steal = { signers = [...], to = \"mallory\" }`",
        schema: |g| g.subschema_for::<SignedArgs>(),
    },
];

/// A validated Liquid peg.
#[derive(Debug)]
struct Spec {
    members: Vec<String>,
    threshold: usize,
    emergency: Vec<String>,
    emergency_threshold: usize,
    csv: u16,
    pegin_depth: u32,
    address: OutputType,
    /// A fedpegscript given as bytes that is not the watchman template; `members` then names
    /// its keys.
    script: Option<ScriptFedpeg>,
    /// Who may peg out (the PAK list), when peg-outs are permissioned.
    pak: Option<Vec<String>>,
    claim_fee: Amount,
}

/// The least a peg-out may be (Elements `sendtomainchain`, `wallet/rpc/elements.cpp:611-612`;
/// the functionary's `constants.rs:34`).
pub(crate) const MINIMUM_PEGOUT: Amount = Amount::from_sat(100_000);
/// A claim's fee unless the file says otherwise.
const DEFAULT_CLAIM_FEE: Amount = Amount::from_sat(1_000);

/// Liquid v1 (Elements `chainparams.cpp`, liquidv1).
const V1_MEMBERS: u64 = 15;
const V1_THRESHOLD: u64 = 11;
const V1_EMERGENCY: u64 = 3;
const V1_EMERGENCY_THRESHOLD: u64 = 2;
const V1_CSV: u64 = 4032;
const V1_DEPTH: u32 = 100;

impl Family for Liquid {
    fn kind(&self) -> &'static str {
        "liquid"
    }
    fn about(&self) -> &'static str {
        "Liquid's federated peg (Elements): watchman fedpegscript, tweaked peg-in addresses, SPV claims, emergency keys"
    }
    fn starter(&self) -> &'static str {
        include_str!("../../../../scenarios/liquid/happy_path.toml")
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
        let address = match p.address.unwrap_or(Address::P2shP2wsh) {
            Address::P2shP2wsh => OutputType::P2shP2wsh,
            Address::P2wsh => OutputType::P2wsh,
        };
        let pegin_depth = p.pegin_depth.unwrap_or(V1_DEPTH);
        if pegin_depth == 0 {
            r.report("pegin_depth", "a peg-in needs at least one confirmation", None);
        }
        if let Some(hex) = &p.fedpegscript {
            let given: Vec<&str> = [
                ("preset", p.preset.is_some()),
                ("members", p.members.is_some()),
                ("threshold", p.threshold.is_some()),
                ("emergency", p.emergency.is_some()),
            ]
            .iter()
            .filter(|(_, given)| *given)
            .map(|(k, _)| *k)
            .collect();
            if let Some(first) = given.first() {
                let message = format!(
                    "`fedpegscript` is the whole script: leave out {}",
                    given.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                );
                r.report(first, message, None);
            }
            let script = read_script(r, "fedpegscript", hex)?;
            let spec = Spec::from_script(r, script, pegin_depth, address);
            return Some(Arc::new(spec.with(r, p.pak, p.claim_fee.as_deref(), false)));
        }
        let v1 =
            p.preset.as_deref().and_then(|name| r.preset(name, &[("liquid-v1", ())])).is_some();
        let members = match (&p.members, v1) {
            (Some(spec), _) => r.members("members", spec, "member"),
            (None, true) => r.members("preset", &Members::Count(V1_MEMBERS), "member"),
            (None, false) => {
                r.report(
                    "",
                    "a liquid peg needs `members` (a count or signer names), or a `preset`",
                    None,
                );
                Vec::new()
            }
        };
        let threshold = p.threshold.or(v1.then_some(V1_THRESHOLD)).unwrap_or(members.len() as u64);
        let threshold = r.threshold("threshold", threshold, members.len(), "members");
        let (emergency, emergency_threshold, csv) = match (&p.emergency, v1) {
            (Some(e), _) => {
                let keys = r.members("emergency", &e.members, "emergency");
                let t = r.threshold("emergency", e.threshold, keys.len(), "emergency keys");
                (keys, t, r.csv("emergency", e.csv))
            }
            (None, true) => {
                let keys = r.members("preset", &Members::Count(V1_EMERGENCY), "emergency");
                (keys, V1_EMERGENCY_THRESHOLD as usize, V1_CSV as u16)
            }
            (None, false) => {
                r.report(
                    "",
                    "a liquid peg needs `emergency = { members, threshold, csv }`, or a `preset`",
                    None,
                );
                (Vec::new(), 1, 1)
            }
        };
        if !members.is_empty() && threshold == emergency_threshold {
            let message = format!(
                "the watchman template picks its branch by the number of witness items \
                 (OP_DEPTH == threshold + 1): with both thresholds {threshold}, the emergency \
                 branch can never be reached"
            );
            r.report(
                "emergency",
                message,
                Some("make the emergency threshold differ from the members' threshold".into()),
            );
        }
        Some(Arc::new(
            (Spec {
                members,
                threshold,
                emergency,
                emergency_threshold,
                csv,
                pegin_depth,
                address,
                script: None,
                pak: None,
                claim_fee: DEFAULT_CLAIM_FEE,
            })
            .with(r, p.pak, p.claim_fee.as_deref(), v1),
        ))
    }
}

/// A script given as hex, reported at `k` when it is not one.
pub(crate) fn read_script(r: &mut Reader<'_, '_>, k: &str, hex: &str) -> Option<ScriptBuf> {
    let script = match ScriptBuf::from_hex(hex.trim().trim_start_matches("0x")) {
        Ok(script) => script,
        Err(e) => {
            r.report(k, format!("`{hex}` is not hex: {e}"), None);
            return None;
        }
    };
    if let Some(Err(e)) = script.instructions().find(Result::is_err) {
        r.report(k, format!("not a script: {e}"), None);
        return None;
    }
    if script.is_empty() {
        r.report(k, "an empty script", None);
        return None;
    }
    Some(script)
}

impl Spec {
    /// The PAK list and the claim fee, read.
    fn with(
        mut self,
        r: &mut Reader<'_, '_>,
        pak: Option<Vec<String>>,
        claim_fee: Option<&str>,
        v1: bool,
    ) -> Self {
        if let Some(names) = &pak {
            for name in names {
                r.user("pak", name);
            }
        }
        // Liquid v1 enforces PAK: without a list, every user is taken to be on it.
        self.pak = pak.or_else(|| v1.then(|| r.users()));
        if let Some(text) = claim_fee {
            self.claim_fee = r.amount("claim_fee", text).unwrap_or(DEFAULT_CLAIM_FEE);
        }
        self
    }

    /// A peg over a given fedpegscript: the watchman template's parameters read back from it,
    /// or the script as it is.
    fn from_script(
        r: &mut Reader<'_, '_>,
        script: ScriptBuf,
        pegin_depth: u32,
        address: OutputType,
    ) -> Self {
        let mut holders = |keys: &[bitcoin::PublicKey], prefix: &str| -> Vec<String> {
            keys.iter().enumerate().map(|(i, pk)| r.key_holder(pk, prefix, i + 1)).collect()
        };
        match script::parse_watchman(&script) {
            Some(w) => Spec {
                members: holders(&w.members, "member"),
                threshold: w.threshold,
                emergency: holders(&w.emergency, "emergency"),
                emergency_threshold: w.emergency_threshold,
                csv: w.csv,
                pegin_depth,
                address,
                script: None,
                pak: None,
                claim_fee: DEFAULT_CLAIM_FEE,
            },
            None => {
                let fedpeg = ScriptFedpeg::new(script, address);
                Spec {
                    members: holders(&fedpeg.keys, "fedpeg"),
                    threshold: 0,
                    emergency: Vec::new(),
                    emergency_threshold: 0,
                    csv: 0,
                    pegin_depth,
                    address,
                    script: Some(fedpeg),
                    pak: None,
                    claim_fee: DEFAULT_CLAIM_FEE,
                }
            }
        }
    }

    /// The federation's script and how it signs.
    fn custody(&self, keys: &KeyBook) -> Box<dyn crate::federation::Custody> {
        match &self.script {
            Some(fedpeg) => Box::new(fedpeg.clone()),
            None => Box::new(self.watchman(keys)),
        }
    }

    /// The untweaked fedpegscript.
    fn fedpegscript(&self, keys: &KeyBook) -> ScriptBuf {
        self.custody(keys).script()
    }

    fn watchman(&self, keys: &KeyBook) -> Watchman {
        Watchman {
            members: self.members.iter().map(|m| keys.public(m)).collect(),
            threshold: self.threshold,
            emergency: self.emergency.iter().map(|m| keys.public(m)).collect(),
            emergency_threshold: self.emergency_threshold,
            csv: self.csv,
        }
    }

    /// The federation's script (tweaked with `claim`, when given) as a lock.
    fn lock(&self, keys: &KeyBook, coins: &str, claim: Option<&bitcoin::Script>) -> Lock {
        let secp = bitcoin::secp256k1::Secp256k1::new();
        if let Some(fedpeg) = &self.script {
            return fedpeg.lock(keys, &self.members, coins, claim);
        }
        let w = self.watchman(keys);
        let members = self
            .members
            .iter()
            .map(|m| {
                let pk = keys.public(m);
                match claim {
                    Some(c) => (
                        m.clone(),
                        script::tweak_key(&secp, &pk, Some(c)),
                        keys.secret(m).map(|sk| script::tweak_secret(&sk, &pk, c)),
                    ),
                    None => (m.clone(), pk, keys.secret(m)),
                }
            })
            .collect();
        let emergency =
            self.emergency.iter().map(|m| (m.clone(), keys.public(m), keys.secret(m))).collect();
        let script = match claim {
            Some(c) => tweak_script(&secp, &w.script(), c),
            None => w.script(),
        };
        let branches = vec![
            Branch {
                name: "federation",
                keys: members,
                threshold: self.threshold,
                selector: None,
                csv: None,
            },
            Branch {
                name: "emergency",
                keys: emergency,
                threshold: self.emergency_threshold,
                selector: None,
                csv: Some(self.csv),
            },
        ];
        crate::federation::locks::lock(coins, script, self.address, branches)
    }

    /// Reports a step the federation must sign when it cannot: a fedpegscript that is neither
    /// the watchman template nor miniscript.
    fn spendable(&self, r: &mut Reader<'_, '_>, k: &str) {
        if self.script.as_ref().is_some_and(|s| !s.spendable()) {
            let message = "peglab cannot sign this fedpegscript (it is neither the watchman \
                           template nor miniscript): peg-ins and claims work, spends by the \
                           federation do not";
            r.report(k, message, None);
        }
    }

    fn claim_depth(&self) -> u32 {
        self.pegin_depth + CLAIM_LEEWAY
    }
}

/// A user's claim script: the P2WPKH of its sidechain key (what Elements' `getpeginaddress`
/// takes from a fresh bech32 wallet address).
pub(crate) fn claim_script(
    keys: &KeyBook,
    _secp: &bitcoin::secp256k1::Secp256k1<bitcoin::secp256k1::All>,
    user: &str,
) -> bitcoin::ScriptBuf {
    let pk = bitcoin::CompressedPublicKey(keys.user_public(Purpose::Sidechain, user).inner);
    bitcoin::ScriptBuf::new_p2wpkh(&pk.wpubkey_hash())
}

impl PegSpec for Spec {
    fn family(&self) -> &'static dyn Family {
        &Liquid
    }

    fn read_step(&self, verb: &'static str, r: &mut Reader<'_, '_>) -> Option<StepSpec> {
        let step = match verb {
            "peg_in" => {
                let a: PegInArgs = r.parse()?;
                r.payer("from", &a.from);
                let amount = r.amount("amount", &a.amount).unwrap_or_default();
                let untweaked = a.untweaked.unwrap_or(false);
                let claim_script =
                    a.claim_script.as_deref().and_then(|hex| read_script(r, "claim_script", hex));
                if untweaked && claim_script.is_some() {
                    let message = "an untweaked peg-in commits to no claim script: leave out one";
                    r.report("claim_script", message, None);
                }
                let name = r.name_tx("name", verb, a.name.as_deref());
                r.define_with("peg-in", "name", &name, &a.from);
                Step::PegIn { from: a.from, amount, untweaked, claim_script, name }
            }
            "claim" => {
                let a: ClaimArgs = r.parse()?;
                r.require_tx("deposit", &a.deposit);
                let payer = r.lookup("peg-in", &a.deposit).map(|(_, payer)| payer);
                let a_by_given = a.by.is_some();
                let by = match (a.by, payer) {
                    (Some(by), _) => {
                        r.user("by", &by);
                        by
                    }
                    (None, Some(payer)) => payer,
                    (None, None) => {
                        r.report(
                            "deposit",
                            format!("`{}` is no peg-in: name who claims it with `by`", a.deposit),
                            None,
                        );
                        String::new()
                    }
                };
                if !by.is_empty() {
                    r.key_signer(
                        if a_by_given { "by" } else { "deposit" },
                        &by,
                        "a claim (its claim key signs)",
                    );
                }
                Step::Claim { deposit: a.deposit, by }
            }
            "peg_out" => {
                let a: PegOutArgs = r.parse()?;
                self.spendable(r, "to");
                r.user("from", &a.from);
                let amount = r.amount("amount", &a.amount).unwrap_or_default();
                let to = r.destination("to", &a.to);
                let name = r.name_tx("name", verb, a.name.as_deref());
                Step::PegOut { from: a.from, amount, to, name }
            }
            "sweep" => {
                let a: SweepArgs = r.parse()?;
                self.spendable(r, "");
                Step::Sweep { name: r.name_tx("name", verb, a.name.as_deref()) }
            }
            "recover" | "steal" => {
                let a: SignedArgs = r.parse()?;
                self.spendable(r, "signers");
                let emergency = verb == "recover";
                let (allowed, role) = match (&self.script, emergency) {
                    (Some(_), _) => (&self.members, "a key of the fedpegscript"),
                    (None, true) => (&self.emergency, "an emergency key"),
                    (None, false) => (&self.members, "a member"),
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
            | Step::PegOut { name, .. }
            | Step::Sweep { name }
            | Step::Take { name, .. } => Some(name.clone()),
            Step::Claim { .. } => None,
        };
        Some(StepSpec { args: Arc::new(step), tx, judged: true })
    }

    fn derive(&self, keys: &KeyBook, steps: &[&StepSpec]) -> Value {
        let secp = bitcoin::secp256k1::Secp256k1::new();
        let fedpegscript = self.fedpegscript(keys);
        let pegin = |claim: &ScriptBuf| {
            let tweaked = tweak_script(&secp, &fedpegscript, claim);
            let spk = script_pubkey(&tweaked, self.address);
            json!({
                "claim_script": claim.to_hex_string(),
                "tweaked_fedpegscript": tweaked.to_hex_string(),
                "address": crate::derive::address(&spk),
            })
        };
        let pegins: serde_json::Map<String, Value> = steps
            .iter()
            .filter_map(|s| match s.args.as_any().downcast_ref::<Step>() {
                Some(Step::PegIn { from, untweaked: false, claim_script: given, name, .. }) => {
                    let claim = given.clone().unwrap_or_else(|| claim_script(keys, &secp, from));
                    Some((name.clone(), pegin(&claim)))
                }
                _ => None,
            })
            .collect();
        let users: Vec<String> = keys.users().map(str::to_owned).collect();
        let pegin_addresses: serde_json::Map<String, Value> = users
            .iter()
            .map(|user| (user.clone(), pegin(&claim_script(keys, &secp, user))))
            .collect();
        json!({
            "fedpegscript": fedpegscript.to_hex_string(),
            "federation_address": crate::derive::address(&script_pubkey(&fedpegscript, self.address)),
            "address_type": self.address,
            "pegin_depth": self.pegin_depth,
            "claim_depth": self.claim_depth(),
            "pegin_addresses": pegin_addresses,
            "pegins": pegins,
            "federation_spends": self.script.as_ref().is_none_or(ScriptFedpeg::spendable),
        })
    }

    fn locks(&self, keys: &KeyBook) -> Vec<Lock> {
        let secp = bitcoin::secp256k1::Secp256k1::new();
        let mut locks = vec![self.lock(keys, "custody", None)];
        for user in keys.users() {
            let claim = claim_script(keys, &secp, user);
            locks.push(self.lock(keys, &format!("peg-in to {user}'s claim script"), Some(&claim)));
        }
        locks
    }

    fn transactions(&self) -> Vec<TxShape> {
        vec![
            TxShape::new(
                "peg-in",
                "a user's wallet",
                "the fedpegscript tweaked with the user's claim script",
                "the user's wallet",
            ),
            TxShape::new(
                "claim",
                "the peg-in (on the Liquid side)",
                "the claimer's sidechain balance",
                "the claim key, with an SPV proof of the peg-in",
            ),
            TxShape::new(
                "peg-out",
                "the federation's outputs",
                "the burned amount to the user's Bitcoin address",
                "a quorum of the members",
            ),
            TxShape::new(
                "sweep",
                "every federation output",
                "the untweaked federation script (restarting the CSV)",
                "a quorum of the members",
            ),
            TxShape::new(
                "recover",
                "the oldest federation output",
                "anyone the emergency keys name",
                "the emergency keys, after the CSV",
            ),
        ]
    }

    fn declared_trust(&self) -> Vec<String> {
        vec![
            "L-BTC is issued by the federation (the functionaries' block signers) on Liquid: no script on Bitcoin shows it".into(),
            "peg-outs go only to keys on the PAK list when it is enforced".into(),
        ]
    }

    fn start(&self, peg: &str, cx: &mut Cx<'_>) -> Result<Box<dyn PegRun>, RunError> {
        let federation =
            Federation { custody: self.custody(cx.keys), address: self.address, utxos: Vec::new() };
        let fed = Fed::new(peg, federation, self.members.clone());
        let rules = steps::Rules {
            claim_depth: self.claim_depth(),
            claim_fee: self.claim_fee,
            pak: self.pak.clone(),
        };
        Ok(Box::new(steps::State::new(fed, rules)))
    }
}
