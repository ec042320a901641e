//! `peglab up`: the lab a scenario describes, kept running for the user's own software. It
//! prints (and writes as JSON) where every node answers, every actor's keys and every peg's
//! scripts and addresses, then waits; Ctrl-C or SIGTERM stops every node and removes the
//! datadirs and the JSON file. `peglab ctl` drives the running lab.

use std::{path::PathBuf, time::Duration};

use bitcoin::{Network, PrivateKey, secp256k1::Secp256k1};
use peglab_harness::{Lab, LabOptions, bitcoind, signals, suite};
use peglab_sim::{run::keys::KeyBook, scenario::Scenario};
use serde_json::{Value, json};

use super::{Exit, progress::StderrProgress};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The scenario whose lab to start (nodes, funded users, pegs set up); none: one bare node.
    file: Option<PathBuf>,
    /// Also run the scenario's steps up to this one (a step number, or the name of the
    /// transaction a step makes), inclusive. Default: no step.
    #[arg(long, value_name = "STEP")]
    until: Option<String>,
    /// Where to write the lab's description as JSON (removed when the lab stops).
    #[arg(long, value_name = "FILE", default_value = "peglab-lab.json")]
    json: PathBuf,
}

/// How many steps `--until` asks for.
fn steps_until(scenario: &Scenario, until: Option<&str>) -> Result<usize, String> {
    let Some(until) = until else { return Ok(0) };
    if let Ok(n) = until.parse::<usize>() {
        return match n <= scenario.steps.len() {
            true => Ok(n),
            false => Err(format!("--until {n}: the scenario has {} steps", scenario.steps.len())),
        };
    }
    scenario
        .steps
        .iter()
        .position(|s| s.action.tx_name() == Some(until))
        .map(|i| i + 1)
        .ok_or_else(|| format!("--until `{until}`: no step makes a transaction of that name"))
}

/// Every actor's keys (secrets as regtest WIF, for the user's software).
fn keys(scenario: &Scenario) -> Value {
    let book = KeyBook::new(&Secp256k1::new(), scenario);
    let secp = Secp256k1::new();
    let actors: serde_json::Map<String, Value> = book
        .names()
        .map(|name| {
            let mut entry = json!({ "pubkey": book.public(name).to_string() });
            if let Some(sk) = book.secret(name) {
                entry["wif"] = json!(PrivateKey::new(sk, Network::Regtest).to_wif());
            }
            if book.is_user(name) {
                entry["descriptor"] = json!(book.public_descriptor(&secp, name));
            }
            (name.to_owned(), entry)
        })
        .collect();
    Value::Object(actors)
}

pub(crate) fn run(args: &Args) -> Exit {
    let scenario = match &args.file {
        None => None,
        Some(file) => {
            let (mut scenarios, problems) = suite::load_all(std::slice::from_ref(file), None);
            if !problems.is_empty() {
                for p in &problems {
                    eprintln!("{p}");
                }
                return Exit::InvalidInput;
            }
            scenarios.pop()
        }
    };
    let steps = match scenario.as_ref().map(|s| steps_until(s, args.until.as_deref())) {
        Some(Err(e)) => {
            eprintln!("peglab: {e}");
            return Exit::InvalidInput;
        }
        Some(Ok(n)) => n,
        None if args.until.is_some() => {
            eprintln!("peglab: --until needs a scenario file");
            return Exit::InvalidInput;
        }
        None => 0,
    };
    let exe = match bitcoind::find_or_build(&StderrProgress::new()) {
        Ok(b) => b.exe,
        Err(e) => {
            eprintln!("peglab: {e}");
            return Exit::LabFailed;
        }
    };
    if let Err(e) = signals::install() {
        eprintln!("peglab: cannot handle signals: {e}");
        return Exit::LabFailed;
    }
    let options = scenario.as_ref().map_or_else(LabOptions::default, suite::lab_options);
    let mut lab = match Lab::start(&exe, &options) {
        Ok(lab) => lab,
        Err(e) => {
            eprintln!("peglab: the lab did not start: {e}");
            return Exit::LabFailed;
        }
    };
    let mut description = json!({ "lab": lab.connection() });
    if let Some(scenario) = &scenario {
        let report = peglab_sim::run::run_steps(scenario, &mut lab, steps);
        if let Some(error) = &report.error {
            eprintln!("peglab: {error}");
            return Exit::LabFailed;
        }
        let failed: Vec<String> = report
            .steps
            .iter()
            .filter(|s| !s.passed)
            .map(|s| format!("step {}: {}", s.index, s.action))
            .collect();
        for f in &failed {
            eprintln!("peglab: warning: {f} did not go as the file expects");
        }
        description["keys"] = keys(scenario);
        description["scenario"] = peglab_sim::derive::derive(scenario);
        description["steps_run"] = json!(steps);
    }
    description["ctl"] = json!(format!(
        "peglab ctl --lab {} <mine N | advance-time 1h | reorg N | partition | heal | tip>",
        args.json.display()
    ));
    let text = serde_json::to_string_pretty(&description).unwrap_or_default();
    if let Err(e) = std::fs::write(&args.json, &text) {
        eprintln!("peglab: cannot write {}: {e}", args.json.display());
        return Exit::LabFailed;
    }
    println!("{text}");
    eprintln!("peglab: the lab is up ({}); Ctrl-C or SIGTERM stops it", args.json.display());
    while !signals::interrupted() {
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(lab);
    let _ = std::fs::remove_file(&args.json);
    eprintln!("peglab: the lab is down");
    Exit::Success
}
