//! Nodes die with the process that started them, even on SIGKILL, and survive the end of the
//! thread that started them.

use std::{
    io::{BufRead, BufReader, Read},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use peglab_sim::{Chain, NodeId};
use peglab_tests::{bitcoind_exe, lab};

const HOLDER_ENV: &str = "PEGLAB_TEST_HOLD_NODE";

/// Not a test of its own: the process the SIGKILL test starts and kills. It starts a lab,
/// prints its node's pid and datadir, and waits for its stdin to close.
#[test]
#[ignore = "helper process for a_node_dies_with_the_process_that_started_it"]
fn hold_a_node() {
    if std::env::var_os(HOLDER_ENV).is_none() {
        return;
    }
    let lab = lab();
    let node = lab.node(NodeId::FIRST).unwrap();
    println!("bitcoind-pid {} datadir {}", node.pid(), node.datadir().display());
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}

/// Whether `pid` is a live process (a zombie waiting to be reaped counts as dead).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z'))
    })
}

#[test]
fn a_node_dies_with_the_process_that_started_it() {
    let mut holder = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "hold_a_node", "--ignored", "--nocapture"])
        .env(HOLDER_ENV, "1")
        .env("BITCOIND_EXE", bitcoind_exe())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(holder.stdout.take().unwrap());
    let (pid, datadir) = stdout
        .lines()
        .map_while(Result::ok)
        .find_map(|line| {
            let (pid, datadir) = line.strip_prefix("bitcoind-pid ")?.split_once(" datadir ")?;
            Some((pid.parse::<u32>().unwrap(), PathBuf::from(datadir)))
        })
        .expect("the holder prints its node's pid and datadir");
    assert!(alive(pid), "the node runs while its holder does");
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    assert_eq!(exe.file_name(), Path::new("bitcoind").file_name());

    holder.kill().unwrap(); // SIGKILL: no destructor runs in the holder
    holder.wait().unwrap();
    let started = Instant::now();
    while alive(pid) {
        assert!(started.elapsed() < Duration::from_secs(10), "bitcoind {pid} outlived its parent");
        thread::sleep(Duration::from_millis(5));
    }
    // The killed holder could not delete its temporary datadir; the test does.
    std::fs::remove_dir_all(&datadir).unwrap();
}

#[test]
fn a_node_outlives_the_thread_that_started_it() {
    let mut lab = thread::spawn(lab).join().unwrap();
    lab.mine(NodeId::FIRST, 1, None).unwrap();
    let pid = lab.node(NodeId::FIRST).unwrap().pid();
    assert!(alive(pid));
    drop(lab);
    assert!(!alive(pid), "dropping the lab stops its node");
}
