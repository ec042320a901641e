//! `peglab derive`: every script, descriptor, address and spend path a scenario defines.

use std::collections::BTreeMap;

use bitcoin::{
    Address, Network, PublicKey, ScriptBuf,
    secp256k1::{All, Secp256k1},
};
use serde_json::{Value, json};

use crate::{
    pegs::{
        SpendPath,
        liquid::{
            script::{Watchman, tweak_script},
            sidechain::CLAIM_LEEWAY,
        },
        multisig::Multisig,
        powpeg::{
            flyover,
            script::{Erp, majority},
        },
        sign::script_pubkey,
    },
    run::{claim_script_for_derive, keys_for_derive},
    scenario::{LiquidParams, PegKind, PowpegParams, Role, Scenario},
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
            PegKind::Liquid(params) => liquid(&secp, scenario, &peg.name, params, &signers),
            PegKind::Powpeg(params) => powpeg(&peg.name, params, &signers),
            PegKind::Babylon(params) => babylon(&secp, scenario, &peg.name, params, &signers),
            PegKind::Core(params) => json!({
                "name": peg.name,
                "kind": "core",
                "chain_id": params.chain_id,
                "validator": bitcoin::hex::DisplayHex::to_lower_hex_string(&params.validator[..]),
                "script_template": "<locktime: 4 bytes LE> OP_CHECKLOCKTIMEVERIFY OP_DROP <owner>",
                "spend_paths": [SpendPath { name: "owner after the locktime".into(), keys: match &params.template {
                    crate::scenario::CoreTemplate::Multisig { signers, .. } => signers.clone(),
                    _ => vec!["the staker".into()],
                }, threshold: match &params.template {
                    crate::scenario::CoreTemplate::Multisig { threshold, .. } => *threshold,
                    _ => 1,
                }, timelock: Some("cltv: the stake's UNIX time".into()) }],
            }),
            PegKind::HeaderRelay(params) => json!({
                "name": peg.name,
                "kind": "header-relay",
                "checkpoint_height": params.checkpoint.height,
                "checkpoint_hash": params.checkpoint.header.block_hash().to_string(),
            }),
            PegKind::SpvVault(params) => json!({
                "name": peg.name,
                "kind": "spv-vault",
                "vault": params.vault,
                "fork_choice": params.fork_choice,
                "k": params.k,
                "coinbase_proof": params.coinbase_proof,
                "redeem_period": params.redeem_period,
                "spend_paths": [SpendPath { name: "vault".into(), keys: vec![params.vault.clone()], threshold: 1, timelock: None }],
            }),
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

fn address(script: &ScriptBuf) -> String {
    Address::from_script(script, Network::Regtest).map(|a| a.to_string()).unwrap_or_default()
}

fn liquid(
    secp: &Secp256k1<All>,
    scenario: &Scenario,
    name: &str,
    params: &LiquidParams,
    signers: &BTreeMap<String, PublicKey>,
) -> Value {
    let watchman = Watchman::of(params, |n| signers[n]);
    let fedpegscript = watchman.script();
    let pegin_addresses: BTreeMap<&str, Value> = scenario
        .actors
        .iter()
        .filter(|a| matches!(a.role, Role::User { .. }))
        .map(|a| {
            let claim = claim_script_for_derive(secp, &scenario.seed, &a.name);
            let tweaked = tweak_script(secp, &fedpegscript, &claim);
            let spk = script_pubkey(&tweaked, params.address);
            let view = json!({
                "claim_script": claim.to_hex_string(),
                "tweaked_fedpegscript": tweaked.to_hex_string(),
                "address": address(&spk),
            });
            (a.name.as_str(), view)
        })
        .collect();
    let paths = [
        SpendPath {
            name: "federation".into(),
            keys: params.members.clone(),
            threshold: params.threshold,
            timelock: None,
        },
        SpendPath {
            name: "emergency".into(),
            keys: params.emergency.clone(),
            threshold: params.emergency_threshold,
            timelock: Some(format!("csv {} blocks", params.csv)),
        },
    ];
    json!({
        "name": name,
        "kind": "liquid",
        "fedpegscript": fedpegscript.to_hex_string(),
        "federation_address": address(&script_pubkey(&fedpegscript, params.address)),
        "pegin_depth": params.pegin_depth,
        "claim_depth": params.pegin_depth + CLAIM_LEEWAY,
        "pegin_addresses": pegin_addresses,
        "spend_paths": paths,
    })
}

fn powpeg(name: &str, params: &PowpegParams, signers: &BTreeMap<String, PublicKey>) -> Value {
    let keys = |names: &[String]| names.iter().map(|n| signers[n]).collect::<Vec<_>>();
    let erp =
        Erp { members: keys(&params.members), emergency: keys(&params.emergency), csv: params.csv };
    let script = erp.script();
    let paths = [
        SpendPath {
            name: "federation".into(),
            keys: params.members.clone(),
            threshold: majority(params.members.len()),
            timelock: None,
        },
        SpendPath {
            name: "emergency (ERP)".into(),
            keys: params.emergency.clone(),
            threshold: majority(params.emergency.len()),
            timelock: Some(format!("csv {} blocks", params.csv)),
        },
    ];
    let flyover = params.flyover.as_ref().and_then(|f| {
        let hash = flyover::derivation_hash(&f.arguments_hash, &f.user_refund, &f.lbc, &f.lp_btc)?;
        let redeem = flyover::redeem_script(&hash, &script);
        let spk = flyover::deposit_script_pubkey(&hash, &script, params.address);
        Some(json!({
            "derivation_hash": bitcoin::hex::DisplayHex::to_lower_hex_string(&hash[..]),
            "redeem_script": redeem.to_hex_string(),
            "address": address(&spk),
        }))
    });
    json!({
        "name": name,
        "kind": "powpeg",
        "redeem_script": script.to_hex_string(),
        "flyover": flyover,
        "federation_address": address(&script_pubkey(&script, params.address)),
        "pegin_depth": params.pegin_depth,
        "spend_paths": paths,
    })
}

fn babylon(
    secp: &Secp256k1<All>,
    scenario: &Scenario,
    name: &str,
    params: &crate::scenario::BabylonParams,
    signers: &BTreeMap<String, PublicKey>,
) -> Value {
    let x = |n: &String| signers[n].inner.x_only_public_key().0;
    let staker = crate::run::staking_key_for_derive(secp, &scenario.seed, &params.staker);
    let d = crate::pegs::babylon::script::Delegation {
        staker,
        providers: params.providers.iter().map(x).collect(),
        covenant: params.covenant.iter().map(x).collect(),
        quorum: params.quorum,
        staking_time: params.staking_time,
        unbonding_time: params.unbonding_time,
    };
    let staking = ScriptBuf::new_p2tr_tweaked(d.staking_info(secp).output_key());
    let unbonding = ScriptBuf::new_p2tr_tweaked(d.unbonding_info(secp).output_key());
    let paths = [
        SpendPath {
            name: "timelock".into(),
            keys: vec![params.staker.clone()],
            threshold: 1,
            timelock: Some(format!("csv {} blocks", params.staking_time)),
        },
        SpendPath {
            name: "unbonding (staker and covenant)".into(),
            keys: std::iter::once(params.staker.clone()).chain(params.covenant.clone()).collect(),
            threshold: 1 + params.quorum,
            timelock: None,
        },
        SpendPath {
            name: "slashing (staker, provider, covenant)".into(),
            keys: std::iter::once(params.staker.clone())
                .chain(params.providers.clone())
                .chain(params.covenant.clone())
                .collect(),
            threshold: 2 + params.quorum,
            timelock: None,
        },
    ];
    json!({
        "name": name,
        "kind": "babylon",
        "timelock_script": d.timelock_script(d.staking_time).to_hex_string(),
        "unbonding_script": d.unbonding_script().to_hex_string(),
        "slashing_script": d.slashing_script().to_hex_string(),
        "staking_address": address(&staking),
        "unbonding_address": address(&unbonding),
        "spend_paths": paths,
    })
}
