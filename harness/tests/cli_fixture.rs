//! peglab as the fixture for software it did not write: `peglab up` serves a running lab to
//! `bitcoin-cli` and stops cleanly on SIGTERM; `exec` steps run the user's programs, kill the
//! ones that hang, and a program that does not do its job fails its scenario with its output
//! in the report.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

const PEGLAB: &str = env!("CARGO_BIN_EXE_peglab");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn alive(pid: u64) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

fn cli(lab: &Value, args: &[&str]) -> String {
    let node = &lab["lab"]["nodes"][0];
    let out = Command::new(lab["lab"]["bitcoin_cli"].as_str().unwrap())
        .arg("-regtest")
        .arg(format!("-rpcport={}", node["rpc_port"]))
        .arg(format!("-rpcuser={}", node["rpc_user"].as_str().unwrap()))
        .arg(format!("-rpcpassword={}", node["rpc_password"].as_str().unwrap()))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn up_serves_bitcoin_cli_ctl_drives_it_and_sigterm_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("lab.json");
    let mut up = Command::new(PEGLAB)
        .args(["up", "scenarios/multisig/two_of_three.toml", "--until", "dep1", "--json"])
        .arg(&json)
        .current_dir(repo())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let began = Instant::now();
    while !json.exists() {
        assert!(began.elapsed() < Duration::from_secs(120), "peglab up wrote no lab file");
        assert!(up.try_wait().unwrap().is_none(), "peglab up ended early");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(100));
    let lab: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    // The funding block is mined and the deposit (the first step) waits in the mempool.
    assert_eq!(cli(&lab, &["getblockcount"]), "201");
    assert!(cli(&lab, &["getmempoolinfo"]).contains("\"size\": 1"));
    assert!(lab["keys"]["carol"]["wif"].as_str().is_some_and(|w| w.starts_with('c')));
    assert!(lab["scenario"]["pegs"][0]["address"].as_str().unwrap().starts_with("bcrt1"));
    let ctl = Command::new(PEGLAB)
        .args(["ctl", "--lab"])
        .arg(&json)
        .args(["mine", "2"])
        .output()
        .unwrap();
    assert!(ctl.status.success(), "{}", String::from_utf8_lossy(&ctl.stderr));
    assert_eq!(cli(&lab, &["getblockcount"]), "203");
    assert!(cli(&lab, &["getmempoolinfo"]).contains("\"size\": 0"));

    let node_pid = lab["lab"]["nodes"][0]["pid"].as_u64().unwrap();
    let datadir = PathBuf::from(lab["lab"]["nodes"][0]["datadir"].as_str().unwrap());
    assert!(alive(node_pid) && datadir.exists());
    let up_pid = i32::try_from(up.id()).unwrap();
    // SAFETY: a plain kill(2) of the child this test started.
    #[expect(unsafe_code, reason = "kill(2) is the way to send SIGTERM")]
    unsafe {
        libc::kill(up_pid, libc::SIGTERM);
    }
    let began = Instant::now();
    let status = loop {
        if let Some(status) = up.try_wait().unwrap() {
            break status;
        }
        assert!(began.elapsed() < Duration::from_secs(30), "peglab up did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    assert!(!alive(node_pid), "bitcoind survived peglab up");
    assert!(!datadir.exists(), "the datadir was left behind");
    assert!(!json.exists(), "the lab file was left behind");
}

#[test]
fn a_bridge_that_does_not_pay_fails_its_scenario_with_its_output_in_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let script = std::fs::read_to_string(repo().join("examples/pegout-bridge/bridge.sh")).unwrap();
    assert!(script.contains("payout=$(cli sendrawtransaction"));
    // The payment removed: the program says it paid, but broadcasts nothing.
    let broken = script.replace(
        "payout=$(cli sendrawtransaction \"$(jq -r .hex <<<\"$signed\")\")",
        "payout=$(jq -r .hex <<<\"$signed\" | sha256sum | cut -c1-64)",
    );
    assert_ne!(broken, script);
    std::fs::write(dir.path().join("bridge.sh"), broken).unwrap();
    let scenario = std::fs::read_to_string(repo().join("scenarios/external/pegout_bridge.toml"))
        .unwrap()
        .replace("../../examples/pegout-bridge/bridge.sh", "bridge.sh");
    let file = dir.path().join("pegout_bridge.toml");
    std::fs::write(&file, scenario).unwrap();
    let out =
        Command::new(PEGLAB).arg("run").arg(&file).args(["--format", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let reports: Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = reports.to_string();
    assert!(
        text.contains("stdout: request r1: paid 0.40000000 BTC"),
        "the program's output is in the report"
    );
    let steps = reports[0]["steps"].as_array().unwrap();
    let failed: Vec<&Value> = steps.iter().filter(|s| s["passed"] == false).collect();
    assert!(!failed.is_empty());
    assert!(
        failed[0]["action"].as_str().unwrap().starts_with("await") || failed[0]["verb"] == "await"
    );
}

#[test]
fn a_hanging_program_is_killed_with_what_it_started_and_the_run_goes_on() {
    let out = Command::new(PEGLAB)
        .args(["run", "scenarios/external/exec_timeout.toml", "--format", "json"])
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let reports: Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = &reports[0]["steps"][0];
    assert!(first.to_string().contains("stdout: waiting"), "{first}");
    let left = Command::new("pgrep").args(["-f", "sleep 31.2"]).output().unwrap();
    assert!(left.stdout.is_empty(), "a process the program started survived");
}

#[test]
fn explain_prove_shows_each_claim_judged_by_core() {
    let out = Command::new(PEGLAB)
        .args([
            "explain",
            "--prove",
            "scenarios/sbtc/mainnet_signers.toml",
            "scenarios/liquid/collusion.toml",
        ])
        .current_dir(repo())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(!text.contains("NOT PROVEN"), "{text}");
    // The reclaim: one block early Core refuses, on time it accepts.
    assert!(
        text.contains(
            "11 block(s) after funding (one early): Bitcoin Core refuses: non-BIP68-final"
        ),
        "{text}"
    );
    // A plain threshold one signer short: Core's script error.
    assert!(text.contains("Bitcoin Core refuses: mempool-script-verify-flag-failed"), "{text}");
    // The aggregate key: only the on-chain half is shown, and said so.
    assert!(text.contains("the group's threshold is off-chain"), "{text}");
}
