//! Finding scenario files, loading them, and running them: each on a lab of its own, several
//! at a time.

use std::{
    fs,
    path::{Path, PathBuf},
    sync::{Mutex, mpsc},
    thread,
    time::Instant,
};

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

/// The environment variable that makes a run panic inside its first scenario, to test that
/// a bug in peglab is reported as one (honoured by debug builds only).
pub const FAULT_ENV: &str = "PEGLAB_FAULT";

/// Runs one scenario on a lab of its own. A failed scenario keeps its datadirs.
pub fn run_one(exe: &Path, scenario: &Scenario, keep: bool) -> Finished {
    let started = Instant::now();
    let options = LabOptions {
        nodes: scenario.nodes,
        premine: crate::premine_for(scenario.total_funds()),
        ..LabOptions::default()
    };
    let mut report;
    let mut kept = Vec::new();
    match Lab::start(exe, &options) {
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
            if keep || !report.passed {
                kept = lab.keep();
            }
        }
        Err(e) => {
            report = Report::new(scenario);
            report.fail(format!("failed to start the lab: {e}"), true);
        }
    }
    report.duration_ms = started.elapsed().as_millis() as u64;
    Finished { report, kept }
}

/// Runs scenarios on `jobs` threads, calling `done` as each finishes; returns them in input
/// order.
pub fn run_all(
    exe: &Path,
    scenarios: &[Scenario],
    jobs: usize,
    keep: bool,
    done: &(dyn Fn(&Finished) + Sync),
) -> Vec<Finished> {
    let next = Mutex::new(0usize);
    let (tx, rx) = mpsc::channel();
    thread::scope(|s| {
        for _ in 0..jobs.clamp(1, scenarios.len().max(1)) {
            let tx = tx.clone();
            let next = &next;
            s.spawn(move || {
                loop {
                    let i = {
                        let mut n = next.lock().unwrap_or_else(|p| p.into_inner());
                        let i = *n;
                        *n += 1;
                        i
                    };
                    let Some(scenario) = scenarios.get(i) else { break };
                    let finished = run_one(exe, scenario, keep);
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
