//! Optimistic BitVM2 bridges (`kind = "bitvm2"`), Clementine-shaped: an n-of-n committee
//! (MuSig2) presigns a graph of transactions at deposit time; an operator fronts a payout and
//! claims reimbursement with a kickoff; anyone can challenge; the operator then commits the
//! states of a computation with Winternitz one-time signatures, and a wrong state is disproved
//! on Bitcoin by a leaf that checks one step, burning the operator's collateral, after which
//! the reimbursement's inputs no longer exist.
//!
//! Sources (peg-catalog-2.md §4): chainwayxyz/clementine `core/src/builder/**` @ b61efacf (the
//! graph, scripts, regtest timelocks `crates/clementine-config/src/protocol.rs`); BitVM/BitVM
//! `bridge/` and `bitvm/src/signatures/` @ 23c6cdf6 (the reference bridge's connectors,
//! Winternitz). The SNARK verifier is replaced by a toy program (additions mod 2^16) whose
//! steps the disprove leaves check: the real mechanics (one-time signatures carried across
//! transactions, one failing step suffices, a spent connector makes reimbursement impossible)
//! without BN254 (§4.4).

pub(crate) mod graph;
mod locks;
pub(crate) mod musig;
pub(crate) mod presign;
mod script;
mod steps;
mod verbs;
pub(crate) mod watchtower;
pub(crate) mod wots;

use std::sync::Arc;

use bitcoin::{
    Amount, XOnlyPublicKey,
    secp256k1::{Secp256k1, SecretKey},
};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    family::{Code, Family, PegRun, PegSpec, StepSpec, Verb},
    lock::{Lock, TxShape},
    run::{Cx, RunError, keys::KeyBook},
    scenario::{Members, Reader},
};
use musig::Committee;
use script::Program;
use verbs::VERBS;

/// The BitVM2 family.
pub(crate) struct Bitvm2;

/// The holder name of the committee's aggregate key in spend paths.
pub(crate) const NOFN: &str = "committee's n-of-n key";

/// `[[peg]] kind = "bitvm2"`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Params {
    /// "clementine" (default: NUMS internal keys, Clementine's regtest timelocks) or
    /// "bitvm-bridge" (the BitVM reference bridge: real internal keys, every timelock 2 blocks).
    preset: Option<String>,
    /// Clementine's timelocks: "regtest" (default, `REGTEST_PARAMSET`) or "testnet4" (its
    /// testnet4 configuration: a 144-block challenge window, 720 blocks to disprove).
    paramset: Option<String>,
    /// The committee: a count (verifier-1..) or signer names; all of them sign (MuSig2).
    verifiers: Option<Members>,
    /// Watchtowers (Clementine's permissioned challengers of a kickoff): a count
    /// (watchtower-1..) or signer names (default none).
    watchtowers: Option<Members>,
    /// The operator (a signer; default "operator").
    operator: Option<String>,
    /// The security council: `{ members = 2, threshold = 1 }` (default: none, the leaf holds
    /// only the NUMS key, as Clementine's test configurations).
    council: Option<CouncilParams>,
    /// What a deposit locks (default 10 BTC, Clementine's `bridge_amount`).
    bridge_amount: Option<String>,
    /// The operator's collateral, burned by a disprove (default 1 BTC).
    collateral: Option<String>,
    /// What a challenger pays the operator (default 2 BTC, `operator_challenge_amount`).
    challenge_amount: Option<String>,
    /// Timelocks in blocks; each defaults to the preset's.
    timeouts: Option<TimeoutParams>,
    /// Steps of the toy program the operator's claim rests on (2 to 8; default 4).
    steps: Option<usize>,
    /// "standard" (330-sat connectors, 240-sat anchors; default) or "zero" (0-sat connectors
    /// and anchors: Clementine's `bridge_nonstandard`, only a cooperative miner takes them).
    connectors: Option<Connectors>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CouncilParams {
    /// A count (council-1..) or signer names.
    members: Members,
    /// Signatures its leaf needs.
    threshold: u64,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct TimeoutParams {
    /// Blocks before the depositor may take an unmoved deposit back (Clementine: 200).
    user_takes_after: Option<u64>,
    /// Blocks an unchallenged kickoff waits before the operator finalizes it (regtest: 24).
    challenge: Option<u64>,
    /// Blocks the operator has to assert before its collateral can be burned (regtest: 96).
    assert: Option<u64>,
    /// Blocks the disprove window stays open after the kickoff (regtest: 120).
    disprove: Option<u64>,
    /// Blocks between ReadyToReimburse and the next round, when an unfinalized kickoff can
    /// still be punished (regtest: 2).
    operator_reimburse: Option<u64>,
    /// Blocks a watchtower has to challenge a kickoff (regtest: 48).
    watchtower_challenge: Option<u64>,
    /// Blocks the operator has to acknowledge a watchtower's challenge (regtest: 72).
    operator_challenge_nack: Option<u64>,
}

/// How connectors and anchors are valued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Connectors {
    /// 330-sat connectors, 240-sat anchors: every transaction standard.
    Standard,
    /// 0-sat connectors and anchors (`bridge_nonstandard = true`).
    Zero,
}

/// The graph's relative timelocks, in blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timeouts {
    pub(crate) user_takes_after: u16,
    pub(crate) challenge: u16,
    pub(crate) assert: u16,
    pub(crate) disprove: u16,
    pub(crate) operator_reimburse: u16,
    pub(crate) watchtower_challenge: u16,
    pub(crate) operator_challenge_nack: u16,
}

/// Clementine's `REGTEST_PARAMSET` (`crates/clementine-config/src/protocol.rs`).
const CLEMENTINE_REGTEST: Timeouts = Timeouts {
    user_takes_after: 200,
    challenge: 24,
    assert: 96,
    disprove: 120,
    operator_reimburse: 2,
    watchtower_challenge: 48,
    operator_challenge_nack: 72,
};
/// Clementine's testnet4 configuration (peg-catalog-2.md §4.1: the testnet4 toml, equal to
/// `core/src/test/data/protocol_paramset.toml`'s timelocks).
const CLEMENTINE_TESTNET4: Timeouts = Timeouts {
    user_takes_after: 200,
    challenge: 144,
    assert: 576,
    disprove: 720,
    operator_reimburse: 12,
    watchtower_challenge: 288,
    operator_challenge_nack: 432,
};
/// The reference bridge on regtest: every timelock 2 blocks (`bridge/src/utils.rs`
/// `num_blocks_per_network`).
const BITVM_BRIDGE_REGTEST: Timeouts = Timeouts {
    user_takes_after: 2,
    challenge: 2,
    assert: 2,
    disprove: 2,
    operator_reimburse: 2,
    watchtower_challenge: 2,
    operator_challenge_nack: 2,
};

/// Which bridge the graph follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Preset {
    /// Clementine: NUMS internal keys everywhere.
    Clementine,
    /// The BitVM reference bridge: the deposit's internal key is the depositor's
    /// (connector_z), the disprove connector's the operator's (connector_c).
    BitvmBridge,
}

const STALLS: &[Code] = &[
    Code { code: "no-deposit", meaning: "the step needs a deposit the peg has not made" },
    Code {
        code: "not-yet",
        meaning: "the transaction it spends was not made yet (or was refused)",
    },
    Code { code: "operator-offline", meaning: "the operator must sign now and is offline" },
    Code {
        code: "watchtower-offline",
        meaning: "the watchtower must sign its challenge and is offline",
    },
    Code {
        code: "council-cannot-sign",
        meaning: "fewer council members than its threshold can sign (offline, or the council is the NUMS key)",
    },
    Code { code: "no-coins", meaning: "the peg's fee and crowdfunding coins are used up" },
    Code { code: "one-deposit", meaning: "a bitvm2 peg runs one deposit's graph" },
    Code {
        code: "verifier-offline",
        meaning: "a live committee signature (the optimistic payout) needs every verifier online",
    },
    Code {
        code: "not-presigned",
        meaning: "the committee never presigned the graph: a verifier was offline at deposit (MuSig2 n-of-n needs all)",
    },
    Code {
        code: "nums-key-path",
        meaning: "the output's internal key is the NUMS point (Clementine's UNSPENDABLE_XONLY_PUBKEY): nobody can sign its key path",
    },
];

/// A validated BitVM2 peg.
#[derive(Debug)]
pub(crate) struct Spec {
    peg: String,
    preset: Preset,
    verifiers: Vec<String>,
    operator: String,
    council: Vec<String>,
    council_threshold: usize,
    watchtowers: Vec<String>,
    bridge_amount: Amount,
    collateral: Amount,
    challenge_amount: Amount,
    timeouts: Timeouts,
    program: Program,
    connectors: Connectors,
}

impl Spec {
    /// The committee's MuSig2 aggregate of the verifiers' keys.
    fn committee(&self, keys: &KeyBook) -> Committee {
        let secrets: Vec<SecretKey> = self
            .verifiers
            .iter()
            .map(|v| keys.secret(v).expect("validation keeps verifiers able to sign"))
            .collect();
        Committee::new(&secrets, &format!("{}/{}", keys.seed(), self.peg))
    }

    /// The council's keys, or the NUMS key alone when there is no council.
    fn council_keys(&self, keys: &KeyBook) -> Vec<XOnlyPublicKey> {
        if self.council.is_empty() {
            return vec![script::nums()];
        }
        self.council.iter().map(|c| keys.x_only(c)).collect()
    }

    /// The toy program, with `steps` constants from the peg's name.
    fn program(peg: &str, steps: usize) -> Program {
        let input = u16::from_le_bytes([peg.len() as u8, 0x2a]);
        let constants = (0..steps).map(|i| 4_099u16.wrapping_mul(i as u16 + 7)).collect();
        Program { input, constants }
    }
}

impl Family for Bitvm2 {
    fn kind(&self) -> &'static str {
        "bitvm2"
    }
    fn about(&self) -> &'static str {
        "optimistic BitVM2 bridges (Clementine, the BitVM reference bridge): a MuSig2 n-of-n presigned graph, WOTS-committed claims and disprove leaves"
    }
    fn starter(&self) -> &'static str {
        include_str!("../../../../scenarios/bitvm2/honest.toml")
    }
    fn verbs(&self) -> &'static [Verb] {
        VERBS
    }
    fn stalls(&self) -> &'static [Code] {
        STALLS
    }
    fn peg_schema(&self, g: &mut SchemaGenerator) -> Schema {
        g.subschema_for::<Params>()
    }

    fn read_peg(&self, r: &mut Reader<'_, '_>) -> Option<Arc<dyn PegSpec>> {
        let p: Params = r.parse()?;
        let preset = match p.preset.as_deref() {
            None => Preset::Clementine,
            // An unknown preset is reported; the rest is still checked, as Clementine.
            Some(name) => r
                .preset(
                    name,
                    &[("clementine", Preset::Clementine), ("bitvm-bridge", Preset::BitvmBridge)],
                )
                .unwrap_or(Preset::Clementine),
        };
        let verifiers = match &p.verifiers {
            Some(spec) => r.members("verifiers", spec, "verifier"),
            None => {
                r.report("", "a bitvm2 peg needs `verifiers` (a count or signer names)", None);
                return None;
            }
        };
        for v in &verifiers {
            r.key_signer("verifiers", v, "its share of the committee's MuSig2 signatures");
        }
        let operator = p.operator.clone().unwrap_or_else(|| "operator".to_owned());
        if p.operator.is_none() {
            r.ensure_signer(&operator);
        }
        if r.signer("operator", &operator) && verifiers.contains(&operator) {
            r.report("operator", format!("`{operator}` is also a verifier"), None);
        }
        let watchtowers = match &p.watchtowers {
            Some(spec) => r.members("watchtowers", spec, "watchtower"),
            None => Vec::new(),
        };
        for w in &watchtowers {
            r.key_signer("watchtowers", w, "its challenges");
        }
        let (council, council_threshold) = match &p.council {
            Some(c) => {
                let members = r.members("council.members", &c.members, "council");
                let k = r.threshold("council.threshold", c.threshold, members.len(), "members");
                (members, k)
            }
            None => (Vec::new(), 1),
        };
        let mut amount = |key: &str, given: &Option<String>, default: u64| match given {
            Some(text) => r.amount(key, text).unwrap_or(Amount::from_sat(default)),
            None => Amount::from_sat(default),
        };
        let bridge_amount = amount("bridge_amount", &p.bridge_amount, 1_000_000_000);
        let collateral = amount("collateral", &p.collateral, 100_000_000);
        let challenge_amount = amount("challenge_amount", &p.challenge_amount, 200_000_000);
        let base = match (preset, p.paramset.as_deref()) {
            (Preset::Clementine, None | Some("regtest")) => CLEMENTINE_REGTEST,
            (Preset::Clementine, Some("testnet4")) => CLEMENTINE_TESTNET4,
            (Preset::Clementine, Some(other)) => {
                let message = format!("unknown paramset `{other}`; known: regtest, testnet4");
                r.report("paramset", message, None);
                CLEMENTINE_REGTEST
            }
            (Preset::BitvmBridge, None) => BITVM_BRIDGE_REGTEST,
            (Preset::BitvmBridge, Some(_)) => {
                let message = "`paramset` is Clementine's; the reference bridge's regtest timelocks are all 2 blocks (set `timeouts` to change them)";
                r.report("paramset", message, None);
                BITVM_BRIDGE_REGTEST
            }
        };
        let t = p.timeouts.as_ref();
        let mut lock = |key: &str, given: Option<u64>, default: u16| match given {
            Some(v) => r.csv(&format!("timeouts.{key}"), v),
            None => default,
        };
        let timeouts = Timeouts {
            user_takes_after: lock(
                "user_takes_after",
                t.and_then(|t| t.user_takes_after),
                base.user_takes_after,
            ),
            challenge: lock("challenge", t.and_then(|t| t.challenge), base.challenge),
            assert: lock("assert", t.and_then(|t| t.assert), base.assert),
            disprove: lock("disprove", t.and_then(|t| t.disprove), base.disprove),
            operator_reimburse: lock(
                "operator_reimburse",
                t.and_then(|t| t.operator_reimburse),
                base.operator_reimburse,
            ),
            watchtower_challenge: lock(
                "watchtower_challenge",
                t.and_then(|t| t.watchtower_challenge),
                base.watchtower_challenge,
            ),
            operator_challenge_nack: lock(
                "operator_challenge_nack",
                t.and_then(|t| t.operator_challenge_nack),
                base.operator_challenge_nack,
            ),
        };
        if timeouts.assert > timeouts.disprove {
            let message = format!(
                "the assert timeout ({}) ends after the disprove window ({}): the operator could assert after nobody can disprove",
                timeouts.assert, timeouts.disprove
            );
            r.report("timeouts.assert", message, None);
        }
        let steps = p.steps.unwrap_or(4);
        if !(2..=8).contains(&steps) {
            r.report("steps", format!("the toy program has 2 to 8 steps, not {steps}"), None);
        }
        Some(Arc::new(Spec {
            peg: r.peg().to_owned(),
            preset,
            verifiers,
            operator,
            council,
            council_threshold,
            watchtowers,
            bridge_amount,
            collateral,
            challenge_amount,
            timeouts,
            program: Spec::program(r.peg(), steps.clamp(2, 8)),
            connectors: p.connectors.unwrap_or(Connectors::Standard),
        }))
    }
}

impl PegSpec for Spec {
    fn family(&self) -> &'static dyn Family {
        &Bitvm2
    }

    fn read_step(&self, verb: &'static str, r: &mut Reader<'_, '_>) -> Option<StepSpec> {
        self.read(verb, r)
    }

    fn derive(&self, keys: &KeyBook, _: &[&StepSpec]) -> Value {
        let secp = Secp256k1::verification_only();
        let committee = self.committee(keys);
        let nofn = committee.key();
        let vault = graph::vault_info(
            &secp,
            self.vault_internal(nofn),
            nofn,
            self.council_threshold,
            &self.council_keys(keys),
        );
        json!({
            "preset": match self.preset { Preset::Clementine => "clementine", Preset::BitvmBridge => "bitvm-bridge" },
            "nofn": nofn.to_string(),
            "committee": {
                "members": self.verifiers,
                "scheme": "MuSig2 (BIP-327), n-of-n: every verifier signs every presigned transaction",
                "declared": "the leaf holds one key: that it aggregates these verifiers is declared here, not provable from the script",
            },
            "operator": self.operator,
            "council": if self.council.is_empty() { json!("none: the leaf holds the NUMS key (Clementine's test configurations)") } else { json!({ "members": self.council, "threshold": self.council_threshold }) },
            "vault_script_pubkey": bitcoin::ScriptBuf::new_p2tr_tweaked(vault.output_key()).to_hex_string(),
            "bridge_amount_sat": self.bridge_amount.to_sat(),
            "collateral_sat": self.collateral.to_sat(),
            "challenge_amount_sat": self.challenge_amount.to_sat(),
            "timeouts_blocks": {
                "user_takes_after": self.timeouts.user_takes_after,
                "challenge": self.timeouts.challenge,
                "assert": self.timeouts.assert,
                "disprove": self.timeouts.disprove,
                "operator_reimburse": self.timeouts.operator_reimburse,
                "watchtower_challenge": self.timeouts.watchtower_challenge,
                "operator_challenge_nack": self.timeouts.operator_challenge_nack,
            },
            "program": {
                "input": self.program.input,
                "constants": self.program.constants,
                "trace": self.program.trace(),
                "step": "s_{i+1} = (s_i + c_i) mod 65536",
            },
            "connectors": match self.connectors { Connectors::Standard => "330-sat connectors, 240-sat anchors", Connectors::Zero => "0-sat connectors and anchors (a cooperative miner only)" },
            "deposit_leaf": "<nofn> OP_CHECKSIG OP_FALSE OP_IF 'citrea' <evm20> OP_ENDIF",
            "take_back_leaf": "<user_takes_after> OP_CSV OP_DROP <depositor> OP_CHECKSIG",
            "vault_leaves": ["<nofn> OP_CHECKSIG", "council: <pk1> OP_CHECKSIG <pk2> OP_CHECKSIGADD ... <k> OP_NUMEQUAL"],
            "disprove_leaf": "WOTS-verify s_i (or the input), WOTS-verify s_{i+1}, s_i + c_i mod 2^16, OP_NUMNOTEQUAL",
            "wots": "BitVM Winternitz: log2 base 4, hash160 chains; a 16-bit state is 4 digits and 2 checksum digits",
        })
    }

    fn locks(&self, keys: &KeyBook) -> Vec<Lock> {
        locks::of(self, keys)
    }

    fn transactions(&self) -> Vec<TxShape> {
        graph::shapes()
    }

    fn analysis(&self, peg: &str) -> Vec<String> {
        let council = if self.council.is_empty() {
            "no council (its leaf is the NUMS key)".to_owned()
        } else {
            format!(
                "{} of {} council members move it alone, with no delay",
                self.council_threshold,
                self.council.len()
            )
        };
        vec![format!(
            "{peg}: all {} verifiers together (MuSig2 n-of-n) move the vault; {council}; one honest verifier at setup keeps the graph: any challenger with one failing step burns a lying operator's collateral",
            self.verifiers.len()
        )]
    }

    fn key_groups(&self) -> Vec<crate::trust::KeyGroup> {
        let n = self.verifiers.len() as u32;
        vec![crate::trust::KeyGroup {
            holder: NOFN.to_owned(),
            members: n,
            threshold: n,
            scheme: "MuSig2 n-of-n (BIP-327)".into(),
        }]
    }

    fn presigners(&self) -> Option<&'static str> {
        Some(NOFN)
    }

    fn declared_trust(&self) -> Vec<String> {
        let mut trust = vec![
            "the committee's presigned graph: every verifier deletes its key after presigning (Clementine's model); a verifier that keeps it can sign anything with the others".into(),
            "the toy program stands in for the SNARK verifier: a real bridge disproves a Groth16 proof in up to ~4 MWU chunks".into(),
            "freezing: once the graph is presigned no verifier is needed again (the reimbursement is presigned); verifiers refusing to presign block only new deposits, and payouts need one live operator".into(),
            "challenges are open to anyone (SINGLE|ANYONECANPAY), but a disprove spends the collateral with the operator's presignature, which only the verifiers hold: disprovers are permissioned".into(),
        ];
        if self.preset == Preset::BitvmBridge {
            trust.push("Bitlayer runs this graph's lineage (bitlayer-org/BitVM), but its live peg is MPC custody (BitcoinLayers, content/layers/bitlayer.ts)".into());
        }
        trust
    }

    fn start(&self, peg: &str, cx: &mut Cx<'_>) -> Result<Box<dyn PegRun>, RunError> {
        Ok(Box::new(steps::State::start(self, peg, cx)?))
    }
}

impl Spec {
    /// The vault's internal key: NUMS (Clementine) or the committee's (the reference bridge's
    /// connector_0).
    fn vault_internal(&self, nofn: XOnlyPublicKey) -> XOnlyPublicKey {
        match self.preset {
            Preset::Clementine => script::nums(),
            Preset::BitvmBridge => nofn,
        }
    }

    /// The deposit's internal key: NUMS (Clementine) or the depositor's (the reference
    /// bridge's connector_z).
    fn deposit_internal(&self, depositor: XOnlyPublicKey) -> XOnlyPublicKey {
        match self.preset {
            Preset::Clementine => script::nums(),
            Preset::BitvmBridge => depositor,
        }
    }
}
