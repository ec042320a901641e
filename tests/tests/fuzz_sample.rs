//! A sample of the fuzz run, in CI: parser inputs never panic, and accepted mutants of the
//! suite's files run without a peglab bug. `just fuzz` runs the full count.

use std::path::Path;

use peglab_tests::fuzz::{Fuzzer, Verdict, feed};

fn scenarios() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

#[test]
fn the_parser_never_panics_on_a_sample() {
    let mut fuzzer = Fuzzer::new(7, &scenarios());
    let (mut accepted, mut refused) = (0, 0);
    for _ in 0..5_000 {
        let input = fuzzer.next_input();
        match feed(&input) {
            Verdict::Accepted(_) => accepted += 1,
            Verdict::Refused => refused += 1,
            Verdict::Panicked(why) => panic!("{why}\n{}:\n{}", input.label, input.text),
        }
    }
    assert!(accepted > 100 && refused > 100, "both kinds of input: {accepted} / {refused}");
}

/// Needs a bitcoind.
#[test]
fn accepted_mutants_run_without_a_bug() {
    let exe = peglab_tests::bitcoind_exe();
    let mut fuzzer = Fuzzer::new(11, &scenarios());
    let mut ran = 0;
    while ran < 8 {
        let input = fuzzer.next_mutant();
        let Verdict::Accepted(scenario) = feed(&input) else { continue };
        if !peglab_tests::fuzz::safe_to_run(&scenario) {
            continue;
        }
        let finished = peglab_harness::suite::run_one(&exe, &scenario, false);
        for dir in &finished.kept {
            let _ = std::fs::remove_dir_all(dir);
        }
        assert!(
            finished.report.bug.is_none(),
            "{:?}\n{}:\n{}",
            finished.report.bug,
            input.label,
            input.text
        );
        ran += 1;
    }
}
