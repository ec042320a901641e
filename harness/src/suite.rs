//! Finding scenario files, loading them, and running them: each on a lab of its own, several
//! at a time.

use std::{
    fs,
    path::{Path, PathBuf},
    sync::{Mutex, mpsc},
    thread,
    time::{Duration, Instant},
};

use bitcoin::hashes::Hash;
use peglab_sim::{
    run::{Report, run},
    scenario::{self, Diagnostic, Scenario},
};

use crate::lab::{Lab, LabOptions};

/// Folders with this name hold deliberately broken files; a folder walk skips them.
pub const INVALID_DIR: &str = "invalid";

/// Every `.toml` file named or under a named folder, sorted; folders called `invalid` are
/// skipped unless named directly.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut files)
                .map_err(|e| format!("failed to read {}: {e}", path.display()))?;
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(format!("{}: no such file or folder", path.display()));
        }
    }
    files.sort();
    files.dedup();
    if files.is_empty() {
        let named: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(format!(
            "no scenario files (*.toml) in {} (folders named `{INVALID_DIR}` are skipped)",
            named.join(", ")
        ));
    }
    Ok(files)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != INVALID_DIR) {
                walk(&path, files)?;
            }
        } else if path.extension().is_some_and(|e| e == "toml") {
            files.push(path);
        }
    }
    Ok(())
}

/// One shard of a suite, for spreading it over CI machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shard {
    /// Files `K-1`, `K-1+N`, ... of the sorted list.
    Count {
        /// Which shard, from 1.
        k: u32,
        /// How many shards.
        n: u32,
    },
    /// Files whose path hashes to `K-1` modulo `N`.
    Hash {
        /// Which shard, from 1.
        k: u32,
        /// How many shards.
        n: u32,
    },
}

impl Shard {
    /// Reads `count:K/N` or `hash:K/N`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("`{text}` is not a shard: write count:K/N or hash:K/N, 1 <= K <= N");
        let (how, kn) = text.split_once(':').ok_or_else(bad)?;
        let (k, n) = kn.split_once('/').ok_or_else(bad)?;
        let (k, n): (u32, u32) = (k.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
        if k == 0 || k > n {
            return Err(bad());
        }
        match how {
            "count" => Ok(Self::Count { k, n }),
            "hash" => Ok(Self::Hash { k, n }),
            _ => Err(bad()),
        }
    }

    /// The files of this shard, from the sorted list of all.
    pub fn select(&self, files: Vec<PathBuf>) -> Vec<PathBuf> {
        files
            .into_iter()
            .enumerate()
            .filter(|(i, path)| match *self {
                Self::Count { k, n } => *i as u64 % u64::from(n) == u64::from(k - 1),
                Self::Hash { k, n } => {
                    let digest =
                        bitcoin::hashes::sha256::Hash::hash(path.to_string_lossy().as_bytes());
                    let first = u64::from_be_bytes(
                        digest.to_byte_array()[..8].try_into().unwrap_or_default(),
                    );
                    first % u64::from(n) == u64::from(k - 1)
                }
            })
            .map(|(_, path)| path)
            .collect()
    }
}

/// Loads and validates every file; all problems of all files come back together.
pub fn load_all(files: &[PathBuf], seed: Option<&str>) -> (Vec<Scenario>, Vec<Diagnostic>) {
    let mut scenarios = Vec::new();
    let mut problems = Vec::new();
    for file in files {
        let name = file.display().to_string();
        match fs::read_to_string(file) {
            Ok(text) => match scenario::load(&name, &text, seed) {
                Ok(s) => scenarios.push(s),
                Err(mut p) => problems.append(&mut p),
            },
            Err(e) => problems.push(Diagnostic {
                file: name,
                line: 0,
                column: 0,
                key_path: String::new(),
                message: format!("failed to read: {e}"),
                help: None,
            }),
        }
    }
    (scenarios, problems)
}

/// One scenario's run: its report and, when kept, its nodes' datadirs.
#[derive(Debug)]
pub struct Finished {
    /// The report.
    pub report: Report,
    /// Datadirs kept (failed runs, or `keep`).
    pub kept: Vec<PathBuf>,
}

/// `"90s"`, `"30m"`, `"2h"`, `"3d"` in seconds, as scenario files write durations.
pub fn parse_duration(text: &str) -> Option<u32> {
    peglab_sim::scenario::duration(text)
}

/// The environment variable that makes a run panic inside its first scenario, to test that
/// a bug in peglab is reported as one (honoured by debug builds only).
pub const FAULT_ENV: &str = "PEGLAB_FAULT";

/// The lab a scenario runs on: its nodes, and a premine that covers its users' funds.
pub fn lab_options(scenario: &Scenario) -> LabOptions {
    LabOptions {
        nodes: scenario.nodes,
        premine: crate::premine_for(scenario.total_funds()),
        ..LabOptions::default()
    }
}

/// A lab started for a scenario, and how long the start took.
pub type Started = (Result<Lab, crate::LabError>, Duration);

fn start(exe: &Path, scenario: &Scenario) -> Started {
    let began = Instant::now();
    (Lab::start(exe, &lab_options(scenario)), began.elapsed())
}

/// Runs one scenario on a lab of its own. A failed scenario keeps its datadirs.
pub fn run_one(exe: &Path, scenario: &Scenario, keep: bool) -> Finished {
    run_started(start(exe, scenario), scenario, keep)
}

/// Runs a scenario on the lab started for it.
fn run_started(started: Started, scenario: &Scenario, keep: bool) -> Finished {
    let (lab, start_time) = started;
    let began = Instant::now();
    let mut report;
    let mut kept = Vec::new();
    match lab {
        Ok(mut lab) => {
            // A bug must not take the other scenarios down: it fails this one, as a bug.
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                if cfg!(debug_assertions)
                    && std::env::var_os(FAULT_ENV).is_some_and(|v| v == "panic")
                {
                    panic!("{FAULT_ENV}=panic: a fault injected for testing");
                }
                run(scenario, &mut lab)
            }));
            report = ran.unwrap_or_else(|panic| {
                let what = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                let mut report = Report::new(scenario);
                report.fail(format!("peglab panicked: {what}"), false);
                report
            });
            if crate::signals::interrupted() {
                report.fail(interrupted(), true);
            } else if keep || !report.passed {
                kept = lab.keep();
            }
        }
        Err(e) => {
            report = Report::new(scenario);
            let why = if crate::signals::interrupted() {
                interrupted()
            } else {
                format!("failed to start the lab: {e}")
            };
            report.fail(why, true);
        }
    }
    report.duration_ms = (start_time + began.elapsed()).as_millis() as u64;
    Finished { report, kept }
}

fn interrupted() -> String {
    let name = crate::signals::signal().map_or("a signal", |(_, name)| name);
    format!("interrupted by {name}: the run was stopped")
}

/// Runs scenarios on `jobs` threads, calling `done` as each finishes; returns them in input
/// order. The longest scenarios start first, and while `jobs` scenarios run, the labs of the
/// next `jobs` start beside them (a node spends its first 0.1 s seeding its random number
/// generator, time a running scenario's RPCs leave free). After a SIGINT or SIGTERM no
/// scenario starts: the ones that ran are returned.
pub fn run_all(
    exe: &Path,
    scenarios: &[Scenario],
    jobs: usize,
    keep: bool,
    done: &(dyn Fn(&Finished) + Sync),
) -> Vec<Finished> {
    let jobs = jobs.clamp(1, scenarios.len().max(1));
    let mut order: Vec<usize> = (0..scenarios.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(cost(&scenarios[i])));
    let next = Mutex::new(order.into_iter());
    let (ready_tx, ready_rx) = mpsc::sync_channel::<(usize, Started)>(jobs);
    let ready_rx = Mutex::new(ready_rx);
    let (tx, rx) = mpsc::channel();
    thread::scope(|s| {
        for _ in 0..jobs {
            let ready_tx = ready_tx.clone();
            let next = &next;
            s.spawn(move || {
                loop {
                    let i = next.lock().unwrap_or_else(|p| p.into_inner()).next();
                    let Some(i) = i.filter(|_| !crate::signals::interrupted()) else { break };
                    if ready_tx.send((i, start(exe, &scenarios[i]))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(ready_tx);
        for _ in 0..jobs {
            let tx = tx.clone();
            let ready_rx = &ready_rx;
            s.spawn(move || {
                loop {
                    let got = ready_rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    let Ok((i, started)) = got else { break };
                    if crate::signals::interrupted() {
                        continue; // dropping the lab stops its nodes
                    }
                    let finished = run_started(started, &scenarios[i], keep);
                    done(&finished);
                    let _ = tx.send((i, finished));
                }
            });
        }
    });
    drop(tx);
    let mut all: Vec<(usize, Finished)> = rx.into_iter().collect();
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, f)| f).collect()
}

/// A rough cost of a scenario, for running the longest first: node starts and blocks mined.
fn cost(scenario: &Scenario) -> u64 {
    use peglab_sim::scenario::Action;
    let blocks: u64 = scenario
        .steps
        .iter()
        .map(|s| match s.action {
            Action::Mine(n) => u64::from(n),
            Action::AdvanceTime(_) => 6,
            _ => 1,
        })
        .sum();
    scenario.nodes as u64 * 750 + blocks
}
