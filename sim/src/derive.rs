//! `peglab derive`: every key, script, descriptor, address and spend path a scenario defines,
//! as JSON, for keys given explicitly or derived from the seed.

use bitcoin::{Address, Network, Script, secp256k1::Secp256k1};
use serde_json::{Value, json};

use crate::{
    run::keys::KeyBook,
    scenario::{Role, Scenario},
};

/// A script's regtest address (empty when it has none).
pub(crate) fn address(script: &Script) -> String {
    Address::from_script(script, Network::Regtest).map(|a| a.to_string()).unwrap_or_default()
}

/// The scenario's keys and pegs as JSON.
pub fn derive(scenario: &Scenario) -> Value {
    let secp = Secp256k1::new();
    let keys = KeyBook::new(&secp, scenario);
    let actors: Vec<Value> = scenario
        .actors
        .iter()
        .map(|a| match &a.role {
            Role::Signer => json!({ "name": a.name, "role": "signer", "pubkey": keys.public(&a.name).to_string() }),
            Role::User { funds } => json!({
                "name": a.name,
                "role": "user",
                "funds": funds.to_string(),
                "descriptor": keys.public_descriptor(&secp, &a.name),
            }),
        })
        .collect();
    let pegs: Vec<Value> = scenario
        .pegs
        .iter()
        .map(|peg| {
            let steps: Vec<&crate::family::StepSpec> = scenario
                .steps
                .iter()
                .filter_map(|s| match &s.action {
                    crate::scenario::Action::Peg(a) if a.peg == peg.name => Some(&a.spec),
                    _ => None,
                })
                .collect();
            let mut view = peg.spec.derive(&keys, &steps);
            if let Value::Object(map) = &mut view {
                map.insert("name".into(), json!(peg.name));
                map.insert("kind".into(), json!(peg.kind()));
                let paths: Vec<_> =
                    peg.spec.locks(&keys).into_iter().flat_map(|lock| lock.paths).collect();
                map.insert("spend_paths".into(), json!(paths));
                map.insert("transactions".into(), json!(peg.spec.transactions()));
            }
            view
        })
        .collect();
    json!({ "scenario": scenario.name, "seed": scenario.seed, "actors": actors, "pegs": pegs })
}
