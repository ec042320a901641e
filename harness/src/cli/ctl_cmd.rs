//! `peglab ctl`: drives a lab `peglab up` started, through its nodes' RPC (the JSON file it
//! wrote says where they answer). Mines, moves time, reorgs, partitions and heals.

use std::path::PathBuf;

use peglab_harness::{Rpc, RpcError};
use serde_json::{Value, json};

use super::Exit;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The file `peglab up` wrote.
    #[arg(long, value_name = "FILE", default_value = "peglab-lab.json")]
    lab: PathBuf,
    /// The node to act on (default 0).
    #[arg(long, default_value_t = 0)]
    node: usize,
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Mine blocks (to an anyone-can-spend output).
    Mine {
        /// How many (1 to 10,000).
        blocks: u32,
    },
    /// Move every node's clock forward (e.g. "2h") and mine 11 blocks so median-time-past follows.
    AdvanceTime {
        /// A duration: "90s", "30m", "2h", "3d".
        by: String,
    },
    /// Replace the node's last blocks with a branch one block longer.
    Reorg {
        /// How many blocks.
        depth: u32,
    },
    /// Disconnect every node from every other.
    Partition,
    /// Reconnect every node.
    Heal,
    /// Print each node's height and best block.
    Tip,
}

/// Mined outputs go to `OP_TRUE`: nobody's keys, anyone's coins, regtest only.
const ANYONE: &str = "raw(51)";

fn rpcs(lab: &Value) -> Result<Vec<Rpc>, String> {
    let nodes = lab["lab"]["nodes"].as_array().ok_or("the file names no nodes")?;
    nodes
        .iter()
        .map(|n| {
            let url = n["rpc_url"].as_str().ok_or("a node without rpc_url")?;
            let user = n["rpc_user"].as_str().unwrap_or_default();
            let password = n["rpc_password"].as_str().unwrap_or_default();
            Rpc::connect(url, user, password).map_err(|e| e.to_string())
        })
        .collect()
}

fn act(
    rpcs: &[Rpc],
    p2p: &[Option<String>],
    node: usize,
    action: &Action,
) -> Result<Value, RpcError> {
    let rpc = &rpcs[node];
    let mine = |n: u32| rpc.call::<Value>("generatetodescriptor", &[json!(n), json!(ANYONE)]);
    Ok(match action {
        Action::Mine { blocks } => mine(*blocks)?,
        Action::AdvanceTime { by } => {
            let secs = peglab_harness::suite::parse_duration(by).unwrap_or(0);
            let tip: Value = rpc.call("getblockchaininfo", &[])?;
            let now = tip["time"]
                .as_u64()
                .unwrap_or_default()
                .max(tip["mediantime"].as_u64().unwrap_or_default());
            for r in rpcs {
                r.call::<Value>("setmocktime", &[json!(now + u64::from(secs))])?;
            }
            mine(11)?
        }
        Action::Reorg { depth } => {
            let height: u64 = rpc.call("getblockcount", &[])?;
            let first = height.saturating_sub(u64::from(*depth)) + 1;
            let hash: Value = rpc.call("getblockhash", &[json!(first)])?;
            // A clock one second on, so that the new branch's blocks differ from the old.
            let best: Value = rpc.call("getbestblockhash", &[])?;
            let header: Value = rpc.call("getblockheader", &[best])?;
            let time = header["time"].as_u64().unwrap_or_default() + 1;
            for r in rpcs {
                r.call::<Value>("setmocktime", &[json!(time)])?;
            }
            rpc.call::<Value>("invalidateblock", &[hash])?;
            mine(depth + 1)?
        }
        Action::Partition => {
            for r in rpcs {
                r.call::<Value>("setnetworkactive", &[json!(false)])?;
            }
            json!("partitioned")
        }
        Action::Heal => {
            for r in rpcs {
                r.call::<Value>("setnetworkactive", &[json!(true)])?;
            }
            for (i, r) in rpcs.iter().enumerate() {
                for (j, addr) in p2p.iter().enumerate() {
                    if let (true, Some(addr)) = (i != j, addr) {
                        // Already connected: Core says so, and that is fine.
                        let _ = r.call::<Value>("addnode", &[json!(addr), json!("onetry")]);
                    }
                }
            }
            json!("healed")
        }
        Action::Tip => {
            let tips: Result<Vec<Value>, RpcError> = rpcs
                .iter()
                .map(|r| {
                    let info: Value = r.call("getblockchaininfo", &[])?;
                    Ok(json!({ "height": info["blocks"], "hash": info["bestblockhash"] }))
                })
                .collect();
            json!(tips?)
        }
    })
}

pub(crate) fn run(args: &Args) -> Exit {
    let lab: Value = match std::fs::read_to_string(&args.lab).map(|t| serde_json::from_str(&t)) {
        Ok(Ok(lab)) => lab,
        Ok(Err(e)) => {
            eprintln!("peglab: {} is not a lab file: {e}", args.lab.display());
            return Exit::InvalidInput;
        }
        Err(e) => {
            eprintln!("peglab: no lab at {}: {e} (start one with `peglab up`)", args.lab.display());
            return Exit::InvalidInput;
        }
    };
    if lab["lab"]["chain"] != "regtest" {
        eprintln!(
            "peglab: {} is not a regtest lab: peglab only talks to regtest",
            args.lab.display()
        );
        return Exit::InvalidInput;
    }
    let rpcs = match rpcs(&lab) {
        Ok(rpcs) if args.node < rpcs.len() => rpcs,
        Ok(rpcs) => {
            eprintln!("peglab: node {} does not exist: the lab runs {}", args.node, rpcs.len());
            return Exit::InvalidInput;
        }
        Err(e) => {
            eprintln!("peglab: {e}");
            return Exit::InvalidInput;
        }
    };
    if let Action::AdvanceTime { by } = &args.action
        && peglab_harness::suite::parse_duration(by).is_none()
    {
        eprintln!("peglab: `{by}` is not a duration: write e.g. \"90s\", \"30m\", \"2h\"");
        return Exit::InvalidInput;
    }
    if let Action::Mine { blocks: 0 | 10_001.. } = args.action {
        eprintln!("peglab: mine 1 to 10,000 blocks");
        return Exit::InvalidInput;
    }
    let p2p: Vec<Option<String>> = lab["lab"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| n["p2p"].as_str().map(str::to_owned))
        .collect();
    match act(&rpcs, &p2p, args.node, &args.action) {
        Ok(answer) => {
            println!("{}", serde_json::to_string_pretty(&answer).unwrap_or_default());
            Exit::Success
        }
        Err(e) => {
            eprintln!("peglab: the lab did not answer: {e}");
            Exit::LabFailed
        }
    }
}
