//! The strict serde mirror of a scenario file: shapes and types only, no meaning yet.
//! Unknown keys are not accepted silently: the loader collects them all (`serde_ignored`)
//! and reports each one with a suggestion.

use std::collections::BTreeMap;

use serde::Deserialize;

/// Every key the format knows, for typo suggestions.
#[rustfmt::skip]
pub(crate) const KNOWN_KEYS: &[&str] = &[
    "schema", "name", "description", "seed", "nodes", "actors", "peg", "step", "role", "funds",
    "pubkey", "secret", "kind", "signers", "threshold", "output", "mine", "advance_time", "reorg",
    "partition", "heal", "offline", "online", "pay", "deposit", "spend", "expect", "node", "note",
    "depth", "without", "from", "to", "amount", "accepted", "rejected", "stalled",
    "confirmations", "balance", "peg_balance", "preset", "members", "emergency", "csv",
    "pegin_depth", "address", "peg_in", "claim", "peg_out", "recover", "sweep", "steal",
    "untweaked", "by", "sidechain_balance", "shortfall", "batch", "rsk_to", "flyover",
    "user_refund", "lp_btc", "lbc", "arguments_hash", "vault", "collateral", "fork_choice", "k",
    "coinbase_proof", "redeem_period", "punishment", "submit_headers", "issue", "execute_issue",
    "redeem", "vault_pays", "execute_redeem", "cancel_redeem", "request", "reimbursed",
    "checkpoint", "period_start", "relay_headers", "headers", "template", "chain_id", "validator",
    "stake", "unstake", "lock", "staker", "providers", "covenant", "quorum", "staking_time",
    "unbonding_time", "unbonding_fee", "slashing_rate", "slashing_fee", "tag", "delegate",
    "withdraw", "unbond", "delegation", "vote", "slash", "provider", "height", "block",
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
    pub(crate) preset: Option<String>,
    pub(crate) members: Option<Members>,
    pub(crate) emergency: Option<RawEmergency>,
    pub(crate) pegin_depth: Option<u32>,
    pub(crate) address: Option<String>,
    pub(crate) flyover: Option<RawFlyover>,
    pub(crate) vault: Option<String>,
    pub(crate) collateral: Option<String>,
    pub(crate) fork_choice: Option<String>,
    pub(crate) k: Option<u32>,
    pub(crate) coinbase_proof: Option<bool>,
    pub(crate) redeem_period: Option<u32>,
    pub(crate) punishment: Option<f64>,
    pub(crate) checkpoint: Option<String>,
    pub(crate) period_start: Option<String>,
    pub(crate) template: Option<String>,
    pub(crate) chain_id: Option<u16>,
    pub(crate) validator: Option<String>,
    pub(crate) staker: Option<String>,
    pub(crate) providers: Option<Vec<String>>,
    pub(crate) covenant: Option<Members>,
    pub(crate) quorum: Option<usize>,
    pub(crate) staking_time: Option<u32>,
    pub(crate) unbonding_time: Option<u32>,
    pub(crate) unbonding_fee: Option<String>,
    pub(crate) slashing_rate: Option<f64>,
    pub(crate) slashing_fee: Option<String>,
    pub(crate) tag: Option<String>,
}

/// A PowPeg flyover deposit to derive (`peglab derive`).
#[derive(Debug, Deserialize)]
pub(crate) struct RawFlyover {
    pub(crate) user_refund: String,
    pub(crate) lp_btc: String,
    pub(crate) lbc: String,
    pub(crate) arguments_hash: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawEmergency {
    pub(crate) members: Members,
    /// Liquid only: PowPeg's is always a majority.
    pub(crate) threshold: Option<usize>,
    pub(crate) csv: u32,
}

/// Signers of a federation: a count (named `member-1`, `member-2`, ...) or a list of signer
/// actors.
#[derive(Debug, Clone)]
pub(crate) enum Members {
    Count(usize),
    Names(Vec<String>),
}

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number of members or a list of signer names")
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Members, E> {
                usize::try_from(n)
                    .map(Members::Count)
                    .map_err(|_| E::custom("a count cannot be negative"))
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Members, E> {
                usize::try_from(n).map(Members::Count).map_err(E::custom)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Members, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = seq.next_element()? {
                    names.push(name);
                }
                Ok(Members::Names(names))
            }
        }
        d.deserialize_any(Visitor)
    }
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
    pub(crate) peg_in: Option<RawPegIn>,
    pub(crate) claim: Option<RawClaim>,
    pub(crate) peg_out: Option<RawPegOut>,
    pub(crate) recover: Option<RawSigned>,
    pub(crate) sweep: Option<RawSweep>,
    pub(crate) batch: Option<RawSweep>,
    pub(crate) submit_headers: Option<RawSweep>,
    pub(crate) relay_headers: Option<RawRelayHeaders>,
    pub(crate) stake: Option<RawStake>,
    pub(crate) delegate: Option<RawDelegate>,
    pub(crate) withdraw: Option<RawWithdraw>,
    pub(crate) unbond: Option<RawUnbond>,
    pub(crate) vote: Option<RawVote>,
    pub(crate) slash: Option<RawSlash>,
    pub(crate) unstake: Option<RawUnstake>,
    pub(crate) issue: Option<RawDeposit>,
    pub(crate) execute_issue: Option<RawExecute>,
    pub(crate) redeem: Option<RawDeposit>,
    pub(crate) vault_pays: Option<RawRequest>,
    pub(crate) execute_redeem: Option<RawRequest>,
    pub(crate) cancel_redeem: Option<RawRequest>,
    pub(crate) steal: Option<RawSigned>,
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

#[derive(Debug, Deserialize)]
pub(crate) struct RawPegIn {
    pub(crate) peg: Option<String>,
    pub(crate) from: String,
    pub(crate) amount: String,
    pub(crate) untweaked: Option<bool>,
    pub(crate) rsk_to: Option<String>,
    pub(crate) name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawClaim {
    pub(crate) peg: Option<String>,
    pub(crate) deposit: String,
    pub(crate) by: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawPegOut {
    pub(crate) peg: Option<String>,
    pub(crate) from: String,
    pub(crate) amount: String,
    pub(crate) to: String,
    pub(crate) name: Option<String>,
}

/// `recover` (emergency signers) and `steal` (colluding members).
#[derive(Debug, Deserialize)]
pub(crate) struct RawSigned {
    pub(crate) peg: Option<String>,
    pub(crate) signers: Vec<String>,
    pub(crate) to: String,
    pub(crate) name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawDelegate {
    pub(crate) peg: Option<String>,
    pub(crate) amount: String,
    pub(crate) name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawWithdraw {
    pub(crate) peg: Option<String>,
    pub(crate) delegation: String,
    pub(crate) to: String,
    pub(crate) name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawVote {
    pub(crate) peg: Option<String>,
    pub(crate) provider: String,
    pub(crate) height: u64,
    pub(crate) block: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawSlash {
    pub(crate) peg: Option<String>,
    pub(crate) delegation: String,
    pub(crate) name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawUnbond {
    pub(crate) peg: Option<String>,
    pub(crate) delegation: String,
    pub(crate) covenant: Vec<String>,
    pub(crate) name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawStake {
    pub(crate) peg: Option<String>,
    pub(crate) from: String,
    pub(crate) amount: String,
    pub(crate) lock: String,
    pub(crate) name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawUnstake {
    pub(crate) peg: Option<String>,
    pub(crate) stake: String,
    pub(crate) to: String,
    pub(crate) name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawRelayHeaders {
    pub(crate) peg: Option<String>,
    pub(crate) headers: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawExecute {
    pub(crate) peg: Option<String>,
    pub(crate) deposit: String,
}

/// `vault_pays`, `execute_redeem`, `cancel_redeem`: a redeem request by name.
#[derive(Debug, Deserialize)]
pub(crate) struct RawRequest {
    pub(crate) peg: Option<String>,
    pub(crate) request: String,
    pub(crate) name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawSweep {
    pub(crate) peg: Option<String>,
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
    pub(crate) sidechain_balance: Option<BTreeMap<String, String>>,
    pub(crate) shortfall: Option<BTreeMap<String, String>>,
    pub(crate) collateral: Option<BTreeMap<String, String>>,
    pub(crate) reimbursed: Option<BTreeMap<String, String>>,
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
