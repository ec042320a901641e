//! Bitcoin Core's relay rules that optimistic (BitVM2) bridges build on, as a lab of their own
//! (`kind = "truc"`): TRUC (version 3) packages with a P2A anchor and a CPFP child through
//! `submitpackage`, ephemeral dust, the 65-byte floor; each rule with an invalid twin Core
//! refuses, and the cooperative-miner path (`via = "mine_direct"`: `generateblock`, consensus
//! only) for what policy refuses. Sources (peg-catalog-2.md §1): bitcoin/bitcoin
//! `src/policy/truc_policy.h` (TRUC_CHILD_MAX_VSIZE 1,000 vB), `src/policy/ephemeral_policy.cpp`
//! and `policy.h` (MAX_DUST_OUTPUTS_PER_TX 1), `src/rpc/mining.cpp` @ 000690b0 (generateblock
//! checks consensus only); the verdicts themselves are the bitcoind these tests run.
//!
//! The first part of the BitVM2 bridge issue: its graph (kind `bitvm2`) will use these paths.

pub(crate) mod steps;

use std::sync::Arc;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    family::{Code, Family, PegRun, PegSpec, StepSpec, Verb},
    lock::Lock,
    run::{Cx, RunError, keys::KeyBook},
    scenario::Reader,
};

/// The TRUC family.
pub(crate) struct Truc;

/// `[[peg]] kind = "truc"`: no parameters.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Params {}

/// What a `package` step builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Shape {
    /// A 0-fee version-3 parent with a 0-sat P2A anchor, and a version-3 child spending the
    /// anchor and paying for both (Clementine's and BitVM's shape).
    TrucAnchor,
    /// The same 0-fee parent alone: it pays nothing.
    ParentAlone,
    /// A parent with two 0-sat anchors (`MAX_DUST_OUTPUTS_PER_TX` is 1).
    TwoDust,
    /// A parent that pays a fee and has a 0-sat anchor (dust must come with 0 fee).
    FeePayingDust,
    /// A version-3 child over 1,000 vB (`TRUC_CHILD_MAX_VSIZE`).
    OversizeChild,
    /// One input, one P2A output: 64 bytes without witness (Core wants 65).
    Tiny,
    /// A 0-sat output that is no anchor, the transaction paying a fee (a BitVM2 connector).
    ZeroValueConnector,
}

/// How a step reaches the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Via {
    /// Mempool policy: `sendrawtransaction`, or `submitpackage` for a parent and child.
    Broadcast,
    /// A cooperative miner: `generateblock` with the raw transactions, consensus only.
    MineDirect,
}

/// `package = { shape, via, name }`.
#[derive(Debug, Deserialize, JsonSchema)]
struct PackageArgs {
    /// What to build.
    shape: Shape,
    /// "broadcast" (default) or "mine_direct".
    via: Option<Via>,
    /// The parent's name (the child is `<name>:child`; default `package:<step number>`).
    name: Option<String>,
}

/// A TRUC step.
#[derive(Debug)]
pub(crate) struct Package {
    pub(crate) shape: Shape,
    pub(crate) via: Via,
    pub(crate) name: String,
}

const VERBS: &[Verb] = &[Verb {
    name: "package",
    about: "a parent (and child) of a given shape, through mempool policy or a cooperative miner: `package = { shape = \"truc-anchor\", via = \"broadcast\" }`",
    schema: |g| g.subschema_for::<PackageArgs>(),
}];

const STALLS: &[Code] = &[Code {
    code: "no-coins",
    meaning: "the lab's anyone-can-spend coins for packages are used up (16 per peg)",
}];

/// A validated TRUC lab.
#[derive(Debug)]
pub(crate) struct Spec;

impl Family for Truc {
    fn kind(&self) -> &'static str {
        "truc"
    }
    fn about(&self) -> &'static str {
        "Core's relay rules optimistic bridges use: TRUC packages, P2A anchors, ephemeral dust, and the cooperative-miner path"
    }
    fn starter(&self) -> &'static str {
        include_str!("../../../../scenarios/truc/packages.toml")
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
        let _: Params = r.parse()?;
        Some(Arc::new(Spec))
    }
}

impl PegSpec for Spec {
    fn family(&self) -> &'static dyn Family {
        &Truc
    }

    fn read_step(&self, verb: &'static str, r: &mut Reader<'_, '_>) -> Option<StepSpec> {
        if verb != "package" {
            return None;
        }
        let a: PackageArgs = r.parse()?;
        let name = r.name_tx("name", verb, a.name.as_deref());
        r.may_make_tx(&format!("{name}:child"));
        let step =
            Package { shape: a.shape, via: a.via.unwrap_or(Via::Broadcast), name: name.clone() };
        Some(StepSpec { args: Arc::new(step), tx: Some(name), judged: true })
    }

    fn derive(&self, _: &KeyBook, _: &[&StepSpec]) -> Value {
        json!({
            "anchor": "P2A: OP_1 <4e73> (51024e73), spent with an empty witness",
            "truc": "version 3: one unconfirmed parent and one child; child at most 1,000 vB; package feerate may pay for a 0-fee parent",
            "ephemeral_dust": "at most one dust output, only in a 0-fee transaction, spent by the child in the same package",
            "min_size": "65 bytes without witness",
            "coins": "16 outputs of 0.01 BTC to P2WSH(OP_TRUE), funded when the peg starts",
        })
    }

    fn locks(&self, _: &KeyBook) -> Vec<Lock> {
        Vec::new()
    }

    fn start(&self, _: &str, cx: &mut Cx<'_>) -> Result<Box<dyn PegRun>, RunError> {
        Ok(Box::new(steps::State::start(cx)?))
    }
}
