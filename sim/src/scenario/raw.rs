//! The strict serde mirror of a scenario file: shapes and types only, no meaning yet.
//! Unknown keys are not accepted silently: the loader collects them all (`serde_ignored`)
//! and reports each one with a suggestion.

use std::collections::BTreeMap;

use serde::Deserialize;

/// Every key the format knows, for typo suggestions.
pub(crate) const KNOWN_KEYS: &[&str] = &[
    "schema",
    "name",
    "description",
    "seed",
    "nodes",
    "actors",
    "peg",
    "step",
    "role",
    "funds",
    "pubkey",
    "secret",
    "kind",
    "signers",
    "threshold",
    "output",
    "mine",
    "advance_time",
    "reorg",
    "partition",
    "heal",
    "offline",
    "online",
    "pay",
    "deposit",
    "spend",
    "expect",
    "node",
    "note",
    "depth",
    "without",
    "from",
    "to",
    "amount",
    "accepted",
    "rejected",
    "stalled",
    "confirmations",
    "balance",
    "peg_balance",
];

/// A scenario file, read item by item (see `read_raw`).
#[derive(Debug)]
pub(crate) struct RawScenario {
    pub(crate) top: RawTop,
    pub(crate) actors: BTreeMap<String, RawActor>,
    pub(crate) peg: Vec<RawPeg>,
    pub(crate) step: Vec<RawStep>,
}

/// The top-level keys other than `actors`, `peg` and `step`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawTop {
    #[expect(dead_code, reason = "read and checked before the rest, in `load`")]
    pub(crate) schema: u32,
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) seed: String,
    pub(crate) nodes: Option<usize>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawActor {
    pub(crate) role: String,
    pub(crate) funds: Option<String>,
    pub(crate) pubkey: Option<String>,
    pub(crate) secret: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawPeg {
    pub(crate) name: Option<String>,
    pub(crate) kind: String,
    pub(crate) signers: Option<Vec<String>>,
    pub(crate) threshold: Option<usize>,
    pub(crate) output: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawStep {
    pub(crate) mine: Option<u32>,
    pub(crate) advance_time: Option<String>,
    pub(crate) reorg: Option<RawReorg>,
    pub(crate) partition: Option<Vec<Vec<usize>>>,
    pub(crate) heal: Option<bool>,
    pub(crate) offline: Option<Vec<String>>,
    pub(crate) online: Option<Vec<String>>,
    pub(crate) pay: Option<RawPay>,
    pub(crate) deposit: Option<RawDeposit>,
    pub(crate) spend: Option<RawSpend>,
    pub(crate) expect: Option<RawExpect>,
    pub(crate) node: Option<usize>,
    pub(crate) note: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawReorg {
    pub(crate) depth: u32,
    pub(crate) without: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawPay {
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) amount: String,
    pub(crate) name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawDeposit {
    pub(crate) peg: Option<String>,
    pub(crate) from: String,
    pub(crate) amount: String,
    pub(crate) name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawSpend {
    pub(crate) peg: Option<String>,
    pub(crate) deposit: String,
    pub(crate) signers: Vec<String>,
    pub(crate) to: String,
    pub(crate) name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawExpect {
    pub(crate) accepted: Option<bool>,
    pub(crate) rejected: Option<String>,
    pub(crate) stalled: Option<String>,
    pub(crate) confirmations: Option<BTreeMap<String, u32>>,
    pub(crate) balance: Option<BTreeMap<String, String>>,
    pub(crate) peg_balance: Option<BTreeMap<String, String>>,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// Every property name in a JSON Schema, at any depth.
    fn properties(value: &serde_json::Value, out: &mut BTreeSet<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::Object(props)) = map.get("properties") {
                    out.extend(props.keys().cloned());
                }
                map.values().for_each(|v| properties(v, out));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| properties(v, out)),
            _ => {}
        }
    }

    #[test]
    fn the_published_json_schema_knows_exactly_the_parsers_keys() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../../scenarios/schema.json")).unwrap();
        let mut in_schema = BTreeSet::new();
        properties(&schema, &mut in_schema);
        let in_parser: BTreeSet<String> = super::KNOWN_KEYS.iter().map(|k| k.to_string()).collect();
        assert_eq!(in_schema, in_parser);
    }
}
