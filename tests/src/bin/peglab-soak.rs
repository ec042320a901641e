//! `just soak`: runs the scenario suite again and again in one process (as `peglab run` runs
//! it, `--jobs 2`) and checks that nothing piles up between rounds: open file descriptors,
//! threads, resident memory, node datadirs in the run folder, bitcoind processes. Prints one
//! row per round; exits 1 if a scenario fails or anything but memory grows after the first
//! round, or memory more than doubles.
//!
//! Usage: `peglab-soak [--rounds N] [--jobs N] [--max-blocks N]` (scenarios mining more than
//! `--max-blocks`, 10,000 by default, are left out: they measure mining, not leaks).

use std::{fs, path::Path, process::ExitCode, time::Instant};

use peglab_harness::{rundir, suite};
use peglab_sim::scenario::{Action, Scenario};

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What one round leaves behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Residue {
    fds: usize,
    threads: usize,
    datadirs: usize,
    nodes: usize,
    rss_kib: u64,
}

fn status_field(name: &str) -> u64 {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn count(dir: &Path, keep: impl Fn(&fs::DirEntry) -> bool) -> usize {
    fs::read_dir(dir).map_or(0, |d| d.filter_map(Result::ok).filter(|e| keep(e)).count())
}

/// Processes whose command line names this process's run folder: its nodes.
fn nodes_running(run: &Path) -> usize {
    let needle = run.to_string_lossy().into_owned();
    count(Path::new("/proc"), |e| {
        fs::read(e.path().join("cmdline"))
            .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&needle))
    })
}

fn residue() -> Residue {
    let run = rundir::current().unwrap_or_default();
    Residue {
        fds: count(Path::new("/proc/self/fd"), |_| true),
        threads: status_field("Threads:") as usize,
        datadirs: count(&run, |e| e.file_name().to_string_lossy().starts_with("node-")),
        nodes: nodes_running(&run),
        rss_kib: status_field("VmRSS:"),
    }
}

fn blocks(scenario: &Scenario) -> u64 {
    scenario
        .steps
        .iter()
        .map(|s| match s.action {
            Action::Mine(n) => u64::from(n),
            _ => 0,
        })
        .sum()
}

fn main() -> ExitCode {
    let rounds = arg("--rounds", 50);
    let jobs = arg("--jobs", 2) as usize;
    let max_blocks = arg("--max-blocks", 10_000);
    if let Err(e) = peglab_harness::signals::install() {
        eprintln!("peglab-soak: cannot handle signals: {e}");
    }
    let exe = peglab_tests::bitcoind_exe();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let files = match suite::discover(&[root.join("scenarios")]) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("peglab-soak: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (mut scenarios, problems) = suite::load_all(&files, None);
    if let Some(p) = problems.first() {
        eprintln!("peglab-soak: the suite does not load: {p}");
        return ExitCode::FAILURE;
    }
    scenarios.retain(|s| blocks(s) <= max_blocks);
    println!(
        "peglab-soak: {rounds} rounds of {} scenarios at --jobs {jobs} ({} fds, {} threads at start)",
        scenarios.len(),
        residue().fds,
        residue().threads
    );
    println!("round    time  failed   fds  threads  datadirs  nodes   RSS (MiB)");
    let began = Instant::now();
    let mut first = None;
    let mut failed_total = 0;
    let mut grew = Vec::new();
    for round in 1..=rounds {
        let started = Instant::now();
        let finished = suite::run_all(&exe, &scenarios, jobs, false, &|_| {});
        let failed = finished.iter().filter(|f| !f.report.passed).count();
        for f in finished.iter().filter(|f| !f.report.passed) {
            eprintln!("  {} failed: {:?}", f.report.file, f.report.error);
        }
        failed_total += failed;
        let now = residue();
        println!(
            "{round:>5} {:>6.1}s {failed:>7} {:>5} {:>8} {:>9} {:>6} {:>11.1}",
            started.elapsed().as_secs_f64(),
            now.fds,
            now.threads,
            now.datadirs,
            now.nodes,
            now.rss_kib as f64 / 1024.0
        );
        let base = *first.get_or_insert(now);
        if now.fds > base.fds || now.threads > base.threads {
            grew.push(format!(
                "round {round}: fds {} -> {}, threads {} -> {}",
                base.fds, now.fds, base.threads, now.threads
            ));
        }
        if now.datadirs > 0 || now.nodes > 0 {
            grew.push(format!(
                "round {round}: {} datadirs and {} nodes left",
                now.datadirs, now.nodes
            ));
        }
        if now.rss_kib > base.rss_kib * 2 {
            grew.push(format!("round {round}: RSS {} KiB -> {} KiB", base.rss_kib, now.rss_kib));
        }
        if peglab_harness::signals::interrupted() {
            break;
        }
    }
    println!(
        "peglab-soak: {:.1}s in all, {failed_total} scenario runs failed, {}",
        began.elapsed().as_secs_f64(),
        if grew.is_empty() { "nothing piled up".to_owned() } else { grew.join("; ") }
    );
    rundir::finish();
    if failed_total == 0 && grew.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
