//! peglab from another crate's code: `cargo run -p peglab-harness --example fixture [FILE] [STEPS]`.
//!
//! Starts the lab a scenario describes (default `scenarios/multisig/two_of_three.toml`), runs
//! its first steps (default 1: the deposit), then does what a test of bridge software would:
//! mines, reads the peg's coins from the node, and prints where the software would connect.
//! The nodes stop when the fixture is dropped.

use peglab_harness::Fixture;
use peglab_sim::{Chain, NodeId};
use serde_json::{Value, json};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let file = args.next().unwrap_or_else(|| "scenarios/multisig/two_of_three.toml".into());
    let steps: usize = args.next().map_or(Ok(1), |s| s.parse())?;
    let toml = std::fs::read_to_string(&file)?;
    let mut fx = Fixture::up(&file, &toml, steps)?;
    println!("{} step(s) of `{}` ran", fx.report().steps.len(), fx.scenario().name);
    println!("{}", serde_json::to_string_pretty(&fx.connection())?);
    fx.lab().mine(NodeId::FIRST, 1, None)?;
    let names: Vec<String> = fx.scenario().pegs.iter().map(|p| p.name.clone()).collect();
    for name in names {
        let Some(address) = fx.peg(&name).and_then(|p| p["address"].as_str().map(str::to_owned))
        else {
            continue;
        };
        let scan: Value = fx
            .lab()
            .rpc(NodeId::FIRST)?
            .call("scantxoutset", &[json!("start"), json!([format!("addr({address})")])])?;
        println!("peg {name} at {address} holds {} BTC", scan["total_amount"]);
    }
    Ok(())
}
