//! `just fuzz`: feeds the scenario parser a million inputs (mutants of the suite's files and
//! generated scenarios) on every core, and runs a sample of the accepted mutants against real
//! nodes. Prints inputs, time, crashes; writes every crashing input to `fuzz-crashes/`.
//!
//! Usage: `peglab-fuzz [--inputs N] [--seed S] [--run N]`

use std::{
    path::{Path, PathBuf},
    sync::atomic::{AtomicUsize, Ordering},
    time::Instant,
};

use peglab_tests::fuzz::{Fuzzer, Verdict, feed};

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> std::process::ExitCode {
    let inputs = arg("--inputs", 1_000_000) as usize;
    let seed = arg("--seed", 1);
    let runs = arg("--run", 200) as usize;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let scenarios = root.join("scenarios");
    let crashes_dir = root.join("fuzz-crashes");
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // Panics inside `feed` are the findings, counted and saved; any other is a bug here.
        if !peglab_tests::fuzz::feeding() {
            default_hook(info);
        }
    }));
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let started = Instant::now();
    let (accepted, crashes) = (AtomicUsize::new(0), AtomicUsize::new(0));
    std::thread::scope(|s| {
        for t in 0..threads {
            let (scenarios, crashes_dir) = (&scenarios, &crashes_dir);
            let (accepted, crashes) = (&accepted, &crashes);
            s.spawn(move || {
                let mut fuzzer =
                    Fuzzer::new(seed.wrapping_mul(1000).wrapping_add(t as u64), scenarios);
                for i in (t..inputs).step_by(threads) {
                    let input = fuzzer.next_input();
                    match feed(&input) {
                        Verdict::Accepted(_) => {
                            accepted.fetch_add(1, Ordering::Relaxed);
                        }
                        Verdict::Refused => {}
                        Verdict::Panicked(why) => {
                            crashes.fetch_add(1, Ordering::Relaxed);
                            let _ = std::fs::create_dir_all(crashes_dir);
                            let file: PathBuf = crashes_dir.join(format!("crash-{i}.toml"));
                            let _ = std::fs::write(&file, &input.text);
                            eprintln!(
                                "crash: {why} ({}), saved as {}",
                                input.label,
                                file.display()
                            );
                        }
                    }
                }
            });
        }
    });
    let parsed = started.elapsed();
    println!(
        "parser: {inputs} inputs in {:.1} s on {threads} thread(s), {} accepted, {} crashes",
        parsed.as_secs_f64(),
        accepted.load(Ordering::Relaxed),
        crashes.load(Ordering::Relaxed)
    );
    let _ = std::panic::take_hook();
    let (ran, bugs) = run_accepted(&scenarios, seed, runs);
    println!("run: {ran} accepted mutants run against real nodes, {bugs} bug(s)");
    if crashes.load(Ordering::Relaxed) + bugs > 0 {
        std::process::ExitCode::FAILURE
    } else {
        std::process::ExitCode::SUCCESS
    }
}

/// Runs `count` mutants that `check` accepts; returns how many ran and how many ended in a
/// peglab bug.
fn run_accepted(scenarios: &Path, seed: u64, count: usize) -> (usize, usize) {
    if count == 0 {
        return (0, 0);
    }
    let exe = peglab_tests::bitcoind_exe();
    let mut fuzzer = Fuzzer::new(seed ^ 0x5eed, scenarios);
    let (mut ran, mut bugs) = (0, 0);
    while ran < count {
        let input = fuzzer.next_mutant();
        let Verdict::Accepted(scenario) = feed(&input) else { continue };
        if !peglab_tests::fuzz::safe_to_run(&scenario) {
            continue;
        }
        let finished = peglab_harness::suite::run_one(&exe, &scenario, false);
        for dir in &finished.kept {
            let _ = std::fs::remove_dir_all(dir);
        }
        ran += 1;
        if let Some(bug) = finished.report.bug {
            bugs += 1;
            eprintln!("bug: {bug} ({})\n{}", input.label, input.text);
        }
    }
    (ran, bugs)
}
