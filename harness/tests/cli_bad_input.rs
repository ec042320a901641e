//! Bad input, as users make it: every file of `scenarios/invalid/` (the reliability probe's
//! reproducers among them) is refused by `check`, `derive` and `run` alike with exit 2 and
//! file:line:column, never a panic; a folder without scenarios is an error; and a panic
//! that still happens is reported as a peglab bug (exit 4), with the report kept.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use peglab_sim::run::Report;

const PEGLAB: &str = env!("CARGO_BIN_EXE_peglab");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn peglab(args: &[&str]) -> Output {
    Command::new(PEGLAB).args(args).current_dir(repo()).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn every_invalid_file_is_refused_by_check_derive_and_run() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("scenarios/invalid"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 15, "the probe's reproducers are there");
    for file in files {
        let name = format!("scenarios/invalid/{}", file.file_name().unwrap().to_string_lossy());
        for command in ["check", "derive", "run"] {
            let out = peglab(&[command, &name]);
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{command} {name}: {err}");
            assert!(!err.contains("panicked"), "{command} {name}: {err}");
            assert!(out.stdout.is_empty(), "{command} {name} printed nothing but problems");
            let problems: Vec<&str> = err.lines().filter(|l| !l.starts_with("peglab:")).collect();
            assert!(!problems.is_empty(), "{command} {name}: {err}");
            for line in problems {
                let rest =
                    line.strip_prefix(&format!("{name}:")).unwrap_or_else(|| panic!("{line}"));
                let mut parts = rest.splitn(3, ':');
                let (row, col) = (parts.next().unwrap(), parts.next().unwrap());
                assert!(row.parse::<usize>().unwrap() >= 1, "{line}");
                assert!(col.parse::<usize>().unwrap() >= 1, "{line}");
            }
        }
    }
}

#[test]
fn a_path_without_scenario_files_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("x.toml")).unwrap();
    for command in ["check", "run", "list"] {
        let out = peglab(&[command, dir.path().to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{command}");
        assert!(text(&out.stderr).contains("no scenario files"), "{}", text(&out.stderr));
    }
}

#[test]
fn the_schema_command_prints_the_committed_schema() {
    let out = peglab(&["schema"]);
    assert_eq!(out.status.code(), Some(0));
    let committed = std::fs::read_to_string(repo().join("scenarios/schema.json")).unwrap();
    assert_eq!(
        text(&out.stdout),
        committed,
        "regenerate it: peglab schema > scenarios/schema.json"
    );
}

/// Needs a bitcoind. `PEGLAB_FAULT=panic` makes a debug build panic inside the scenario.
#[test]
fn a_panic_is_reported_as_a_peglab_bug_with_exit_4() {
    let scenario = "scenarios/multisig/two_of_three.toml";
    let out = Command::new(PEGLAB)
        .args(["run", scenario, "--format", "json"])
        .env("PEGLAB_FAULT", "panic")
        .current_dir(repo())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    let reports: Vec<Report> = serde_json::from_slice(&out.stdout).unwrap();
    let bug = reports[0].bug.as_deref().unwrap();
    assert!(bug.contains("a fault injected for testing"), "{bug}");
    assert!(reports[0].error.is_none() && !reports[0].passed);

    let out = Command::new(PEGLAB)
        .args(["run", scenario])
        .env("PEGLAB_FAULT", "panic")
        .current_dir(repo())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("peglab bug (please report it"), "{stdout}");
    let kept = stdout.lines().find_map(|l| l.trim().strip_prefix("datadir kept: ")).unwrap();
    let kept = Path::new(kept.split(" (").next().unwrap());
    assert!(kept.is_dir(), "the failed run's datadir is kept");
    std::fs::remove_dir_all(kept).unwrap();
}
