//! The guided tour (`scenarios/tour/`): each lesson's `explain` output pinned as a snapshot,
//! and every claim of every lesson proven on regtest (`explain --prove`).

use std::path::{Path, PathBuf};

use peglab_harness::suite;
use peglab_sim::trust;

fn tour() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/tour");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn each_lesson_explains_as_pinned() {
    let files = tour();
    assert_eq!(files.len(), 6, "six lessons");
    for file in files {
        let (mut scenarios, problems) = suite::load_all(std::slice::from_ref(&file), None);
        assert!(problems.is_empty(), "{problems:?}");
        let text = trust::render(&trust::explain(&scenarios.remove(0)));
        let name = format!("tour_{}", file.file_stem().unwrap().to_string_lossy());
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots"));
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| insta::assert_snapshot!(name, text));
    }
}

/// Needs a bitcoind.
#[test]
fn every_claim_of_the_tour_is_proven_by_core() {
    let exe = peglab_tests::bitcoind_exe();
    let mut proven = 0;
    for file in tour() {
        let (mut scenarios, _) = suite::load_all(std::slice::from_ref(&file), None);
        let proofs = peglab_harness::prove::prove(&exe, &scenarios.remove(0)).unwrap();
        for p in &proofs {
            assert!(p.held, "{}: {} — {:?}", file.display(), p.claim, p.shown);
        }
        proven += proofs.len();
    }
    assert!(proven >= 10, "{proven} claims");
}
