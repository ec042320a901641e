//! Every scenario file is a test of its own (so `cargo nextest run --partition count:K/N`
//! splits the suite across machines): files under `scenarios/` run against a real node and
//! must pass; files under `scenarios/invalid/` must be refused, and their diagnostics are
//! pinned by snapshots.

use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};
use peglab_harness::suite;
use peglab_sim::scenario;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The path as the user would write it from the repository root.
fn relative(path: &Path) -> String {
    path.strip_prefix(root()).unwrap_or(path).display().to_string()
}

fn run_scenario(path: &Path) -> Result<(), Failed> {
    let text = std::fs::read_to_string(path)?;
    let scenario = scenario::load(&relative(path), &text, None).map_err(|problems| {
        problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
    })?;
    let finished = suite::run_one(&peglab_tests::bitcoind_exe(), &scenario, false);
    if finished.report.passed {
        Ok(())
    } else {
        Err(serde_json::to_string_pretty(&finished.report)?.into())
    }
}

fn check_invalid(path: &Path) -> Result<(), Failed> {
    let text = std::fs::read_to_string(path)?;
    let problems = match scenario::load(&relative(path), &text, None) {
        Ok(_) => return Err("an invalid scenario was accepted".into()),
        Err(problems) => problems,
    };
    let rendered: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let name = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(root().join("tests/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(name, rendered.join("\n")));
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    // Scenario files are named from the repository root, as a user runs them; `exec` steps
    // run in their file's folder, found from there.
    std::env::set_current_dir(root()).expect("the repository root");
    let scenarios = root().join("scenarios");
    let mut trials = Vec::new();
    for file in suite::discover(std::slice::from_ref(&scenarios)).expect("scenarios/ is readable") {
        let name = relative(&file);
        trials.push(Trial::test(name, move || run_scenario(&file)));
    }
    let invalid = scenarios.join(suite::INVALID_DIR);
    let mut broken: Vec<PathBuf> = std::fs::read_dir(&invalid)
        .expect("scenarios/invalid/ is readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    broken.sort();
    for file in broken {
        let name = relative(&file);
        trials.push(Trial::test(name, move || check_invalid(&file)));
    }
    libtest_mimic::run(&args, trials).exit();
}
