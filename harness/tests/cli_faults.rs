//! Faults, as they happen to users: a node killed mid-scenario, Ctrl-C and SIGTERM, a killed
//! peglab's leftovers, a wrapper that does not `exec` bitcoind, a `bitcoind` that hangs, an
//! unusable temporary folder, concurrent runs. Each run gets a temporary folder of its own
//! (`TMPDIR`), so what it leaves behind is its own. Needs a bitcoind.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    thread,
    time::{Duration, Instant},
};

const PEGLAB: &str = env!("CARGO_BIN_EXE_peglab");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn bitcoind() -> PathBuf {
    let found = Command::new(PEGLAB).arg("bitcoind").output().unwrap();
    let text = String::from_utf8_lossy(&found.stdout).into_owned();
    let line = text.lines().find_map(|l| l.strip_prefix("bitcoind:")).expect("a bitcoind");
    PathBuf::from(line.trim())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `peglab ARGS` with its own temporary folder.
fn peglab(tmp: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(PEGLAB);
    cmd.args(args).current_dir(repo()).env("TMPDIR", tmp);
    cmd
}

fn spawn(mut cmd: Command) -> Child {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

/// Processes whose command line mentions `needle`, oldest first.
fn processes_with(needle: &str) -> Vec<i32> {
    let mut found: Vec<(u64, i32)> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_string_lossy().parse::<i32>().ok())
        .filter_map(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            if !String::from_utf8_lossy(&cmdline).contains(needle) {
                return None;
            }
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let start = stat.rsplit(") ").next()?.split(' ').nth(19)?.parse().ok()?;
            Some((start, pid))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, pid)| pid).collect()
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(60), "waited too long for {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

fn signal(pid: i32, sig: &str) {
    Command::new("kill").args([sig, &pid.to_string()]).status().unwrap();
}

/// A scenario that mines for a long time (about 20 s), to be interrupted.
fn long_scenario(dir: &Path) -> PathBuf {
    let file = dir.join("long.toml");
    std::fs::write(
        &file,
        "schema = 1\nname = \"long\"\nseed = \"long\"\n[[step]]\nmine = 100000\n[[step]]\nmine = 100000\n",
    )
    .unwrap();
    file
}

fn nothing_left(tmp: &Path) {
    let runs: Vec<_> = std::fs::read_dir(tmp.join("peglab"))
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        runs.iter().all(|n| !n.to_string_lossy().starts_with("run-")),
        "run folders left: {runs:?}"
    );
    // A process killed with SIGKILL is gone once the kernel has reaped it: give it a moment
    // on a loaded machine, but not a minute.
    let started = Instant::now();
    while !processes_with(&tmp.join("peglab").to_string_lossy()).is_empty() {
        assert!(started.elapsed() < Duration::from_secs(5), "processes left");
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_node_killed_mid_scenario_fails_that_scenario_and_the_suite_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let long = long_scenario(tmp.path());
    let short = "scenarios/multisig/two_of_three.toml";
    let child = spawn(peglab(tmp.path(), &["run", long.to_str().unwrap(), short, "--jobs", "1"]));
    wait_for("the long scenario's node", || !nodes_in(tmp.path()).is_empty());
    thread::sleep(Duration::from_millis(800));
    let node = nodes_in(tmp.path())[0];
    signal(node, "-KILL");
    let out = child.wait_with_output().unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("bitcoind died (killed by signal 9 (SIGKILL))"), "{stdout}");
    assert!(stdout.contains("PASS multisig"), "the next scenario ran: {stdout}");
    let kept = stdout.lines().find_map(|l| l.trim().strip_prefix("datadir kept: ")).unwrap();
    let kept = Path::new(kept.split(" (").next().unwrap());
    assert!(kept.join("regtest").is_dir(), "{}", kept.display());
    assert!(kept.starts_with(tmp.path().join("peglab/kept")));
    nothing_left(tmp.path());
}

fn interrupt_with(sig: &str, code: i32) {
    let tmp = tempfile::tempdir().unwrap();
    let long = long_scenario(tmp.path());
    let junit = tmp.path().join("junit.xml");
    let child = spawn(peglab(
        tmp.path(),
        &["run", long.to_str().unwrap(), "scenarios/multisig", "--junit", junit.to_str().unwrap()],
    ));
    wait_for("a node", || !nodes_in(tmp.path()).is_empty());
    thread::sleep(Duration::from_millis(500));
    signal(child.id() as i32, sig);
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(code), "{stdout}{stderr}");
    assert!(stderr.contains("interrupted by"), "{stderr}");
    assert!(stdout.contains("passed,"), "the summary is printed: {stdout}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("interrupted by"), "the JUnit report of what ran is written: {xml}");
    let kept: Vec<_> =
        std::fs::read_dir(tmp.path().join("peglab/kept")).map(|d| d.collect()).unwrap_or_default();
    assert!(kept.is_empty(), "an interrupted run keeps no datadir");
    nothing_left(tmp.path());
}

#[test]
fn sigint_stops_a_run_cleanly_with_its_report() {
    interrupt_with("-INT", 130);
}

#[test]
fn sigterm_stops_a_run_cleanly_with_its_report() {
    interrupt_with("-TERM", 143);
}

#[test]
fn a_killed_peglabs_leftovers_are_cleaned_by_the_next_run() {
    let tmp = tempfile::tempdir().unwrap();
    let long = long_scenario(tmp.path());
    // A wrapper that does not `exec`: its bitcoind is a grandchild, out of reach of the
    // parent-death signal.
    let wrapper = tmp.path().join("wrapper.sh");
    std::fs::write(&wrapper, format!("#!/bin/sh\n{} \"$@\"\n", bitcoind().display())).unwrap();
    Command::new("chmod").arg("755").arg(&wrapper).status().unwrap();
    let mut cmd = peglab(tmp.path(), &["run", long.to_str().unwrap()]);
    cmd.env("BITCOIND_EXE", &wrapper);
    let mut child = spawn(cmd);
    wait_for("a node", || !nodes_in(tmp.path()).is_empty());
    thread::sleep(Duration::from_millis(300));
    signal(child.id() as i32, "-KILL");
    let _ = child.wait();
    // The run folder is left behind, and the wrapped bitcoind may still run.
    let out: Output =
        peglab(tmp.path(), &["run", "scenarios/multisig/two_of_three.toml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    wait_for("the escaped node to die", || nodes_in(tmp.path()).is_empty());
    nothing_left(tmp.path());
}

/// The bitcoind processes of runs with this temporary folder, oldest first.
fn nodes_in(tmp: &Path) -> Vec<i32> {
    let needle = tmp.join("peglab").to_string_lossy().into_owned();
    processes_with(&needle).into_iter().filter(|p| is_bitcoind(*p)).collect()
}

fn is_bitcoind(pid: i32) -> bool {
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .is_ok_and(|exe| exe.file_name().is_some_and(|n| n == "bitcoind"))
}

#[test]
fn a_wrapper_that_does_not_exec_leaves_no_node_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let wrapper = tmp.path().join("wrapper.sh");
    std::fs::write(&wrapper, format!("#!/bin/sh\n{} \"$@\"\n", bitcoind().display())).unwrap();
    Command::new("chmod").arg("755").arg(&wrapper).status().unwrap();
    let mut cmd = peglab(tmp.path(), &["run", "scenarios/multisig/two_of_three.toml"]);
    cmd.env("BITCOIND_EXE", &wrapper);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    nothing_left(tmp.path());
}

#[test]
fn a_bitcoind_that_hangs_is_given_up_on_and_killed() {
    let tmp = tempfile::tempdir().unwrap();
    let hang = tmp.path().join("hang.sh");
    std::fs::write(&hang, "#!/bin/sh\nsleep 300\n").unwrap();
    Command::new("chmod").arg("755").arg(&hang).status().unwrap();
    let started = Instant::now();
    let mut cmd = peglab(tmp.path(), &["run", "scenarios/multisig/two_of_three.toml"]);
    cmd.env("BITCOIND_EXE", &hang);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(text(&out.stderr).contains("did not answer within"), "{}", text(&out.stderr));
    thread::sleep(Duration::from_millis(100));
    assert!(processes_with(&hang.to_string_lossy()).is_empty(), "the hanging binary was killed");
}

#[test]
fn an_unusable_temporary_folder_names_itself() {
    for tmp in ["/proc", "/nonexistent/peglab-test"] {
        let out = Command::new(PEGLAB)
            .args(["run", "scenarios/multisig/two_of_three.toml"])
            .current_dir(repo())
            .env("TMPDIR", tmp)
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{stderr}");
        assert!(stderr.contains(&format!("the temporary folder {tmp}")), "{stderr}");
        assert!(!stderr.contains("not a working bitcoind"), "{stderr}");
    }
}

#[test]
fn concurrent_runs_never_collide() {
    let tmp = tempfile::tempdir().unwrap();
    let runs: Vec<Child> = (0..3)
        .map(|_| spawn(peglab(tmp.path(), &["run", "scenarios/multisig", "--jobs", "2"])))
        .collect();
    for run in runs {
        let out = run.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    }
    nothing_left(tmp.path());
}
