//! `exec` steps: a program beside the lab (the user's bridge daemon, relayer, signer), given
//! the lab's connection details, supervised with a timeout. tokio reads both pipes while it
//! waits, so a program that fills its output does not block, and its process group is killed
//! at the timeout and after it exits (nothing it started outlives the step).

use std::{
    path::Path,
    process::{Command, Stdio},
    time::Instant,
};

use peglab_sim::{ExecOutcome, ExecRequest};
use tokio::io::AsyncReadExt;

use crate::spawn;

/// The most output of each pipe kept for the report (its end).
const KEEP: usize = 16 * 1024;

/// The lab's variables for a program: where node `request.node` answers, and how.
pub(crate) fn lab_env(lab: &super::Lab, request: &ExecRequest) -> Vec<(String, String)> {
    let mut env = vec![
        ("PEGLAB_CHAIN".to_owned(), "regtest".to_owned()),
        ("PEGLAB_NODES".to_owned(), lab.nodes.len().to_string()),
        ("PEGLAB_RPC_USER".to_owned(), crate::node::RPC_USER.to_owned()),
        ("PEGLAB_RPC_PASSWORD".to_owned(), crate::node::RPC_PASSWORD.to_owned()),
    ];
    if let Some(node) = lab.nodes.get(request.node.0) {
        let url = node.rpc().url().to_owned();
        let port = url.rsplit(':').next().unwrap_or_default().to_owned();
        env.push(("PEGLAB_RPC_URL".into(), url));
        env.push(("PEGLAB_RPC_PORT".into(), port));
        if let Some(p2p) = node.p2p_addr() {
            env.push(("PEGLAB_P2P_ADDR".into(), p2p));
        }
        env.push(("PEGLAB_DATADIR".into(), node.datadir().display().to_string()));
    }
    for (i, node) in lab.nodes.iter().enumerate() {
        env.push((format!("PEGLAB_NODE{i}_RPC_URL"), node.rpc().url().to_owned()));
    }
    env.push(("PEGLAB_BITCOIN_CLI".into(), bitcoin_cli(&lab.exe)));
    env
}

/// `bitcoin-cli` beside the lab's `bitcoind`, else the one on `PATH`.
fn bitcoin_cli(exe: &Path) -> String {
    let beside = exe.with_file_name("bitcoin-cli");
    if beside.is_file() { beside.display().to_string() } else { "bitcoin-cli".into() }
}

/// Runs the program to its end or its timeout.
pub(crate) fn run(request: &ExecRequest, lab_env: Vec<(String, String)>) -> ExecOutcome {
    let began = Instant::now();
    let ended =
        |status, timed_out, not_started: Option<String>, out: (String, String)| ExecOutcome {
            status,
            timed_out,
            not_started,
            stdout: out.0,
            stderr: out.1,
            millis: began.elapsed().as_millis() as u64,
        };
    let Some((program, args)) = request.cmd.split_first() else {
        return ended(None, false, Some("an empty command".into()), Default::default());
    };
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(&request.dir)
        .envs(lab_env)
        .envs(request.env.iter().cloned())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match spawn::spawn_tied(cmd) {
        Ok(child) => child,
        Err(e) => {
            let why = format!("`{program}` did not start (in {}): {e}", request.dir.display());
            return ended(None, false, Some(why), Default::default());
        }
    };
    let pgid = child.id();
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            spawn::kill_and_forget(pgid);
            let _ = child.wait();
            return ended(None, false, Some(format!("no runtime: {e}")), Default::default());
        }
    };
    let timeout = request.timeout;
    runtime.block_on(async move {
        let out = tokio::spawn(read_end(
            stdout.and_then(|s| tokio::process::ChildStdout::from_std(s).ok()),
        ));
        let err = tokio::spawn(read_end(
            stderr.and_then(|s| tokio::process::ChildStderr::from_std(s).ok()),
        ));
        let waiting = tokio::task::spawn_blocking(move || child.wait());
        let (status, timed_out) = match tokio::time::timeout(timeout, waiting).await {
            Ok(Ok(Ok(status))) => (status.code(), false),
            Ok(_) => (None, false),
            Err(_) => (None, true),
        };
        // At the timeout the program dies; after its exit, whatever it left running does.
        spawn::kill_and_forget(pgid);
        let out = out.await.unwrap_or_default();
        let err = err.await.unwrap_or_default();
        ended(status, timed_out, None, (out, err))
    })
}

/// The end of what a pipe carries, as text.
async fn read_end<R: tokio::io::AsyncRead + Unpin>(pipe: Option<R>) -> String {
    let Some(mut pipe) = pipe else { return String::new() };
    let mut kept: Vec<u8> = Vec::new();
    let mut buf = [0u8; 8192];
    while let Ok(n) = pipe.read(&mut buf).await {
        if n == 0 {
            break;
        }
        kept.extend_from_slice(&buf[..n]);
        if kept.len() > 2 * KEEP {
            kept.drain(..kept.len() - KEEP);
        }
    }
    if kept.len() > KEEP {
        kept.drain(..kept.len() - KEEP);
    }
    String::from_utf8_lossy(&kept).into_owned()
}
