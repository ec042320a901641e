//! `peglab derive`: every script, descriptor, address and spend path a scenario defines.

use bitcoin::secp256k1::Secp256k1;
use serde_json::{Value, json};

use crate::{
    pegs::multisig::Multisig,
    run::keys_for_derive,
    scenario::{PegKind, Role, Scenario},
};

/// The scenario's keys and pegs as JSON, for keys given explicitly or derived from the seed.
pub fn derive(scenario: &Scenario) -> Value {
    let secp = Secp256k1::new();
    let (signers, users) = keys_for_derive(&secp, scenario);
    let pegs: Vec<Value> = scenario
        .pegs
        .iter()
        .map(|peg| match &peg.kind {
            PegKind::Multisig(params) => {
                let keys = params.signers.iter().map(|s| signers[s]).collect();
                let view = Multisig::new(params, keys).view(&params.signers);
                json!({ "name": peg.name, "kind": "multisig", "threshold": params.threshold, "multisig": view })
            }
        })
        .collect();
    let actors: Vec<Value> = scenario
        .actors
        .iter()
        .map(|a| match &a.role {
            Role::Signer => {
                json!({ "name": a.name, "role": "signer", "pubkey": signers[&a.name].to_string() })
            }
            Role::User { funds } => json!({
                "name": a.name, "role": "user", "funds": funds.to_string(),
                "descriptor": users[&a.name],
            }),
        })
        .collect();
    json!({ "scenario": scenario.name, "seed": scenario.seed, "actors": actors, "pegs": pegs })
}
