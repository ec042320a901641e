//! Reports for people (human), for machines (JSON), and for CI (JUnit XML).

use std::path::Path;

use peglab_harness::suite::Finished;
use peglab_sim::run::Report;

/// One scenario's result for a terminal: a line, and for a failure the failing steps with
/// what was expected, what happened, Bitcoin Core's words and the command to rerun it.
pub(crate) fn human(finished: &Finished) -> String {
    let r = &finished.report;
    let verdict = if r.passed { "PASS" } else { "FAIL" };
    let mut out = format!("{verdict} {} ({}, {} ms)\n", r.name, r.file, r.duration_ms);
    if r.passed {
        return out;
    }
    for step in r.steps.iter().filter(|s| !s.passed) {
        out.push_str(&format!("  step {} (line {}): {}\n", step.index, step.line, step.action));
        for e in step.expectations.iter().filter(|e| !e.held) {
            out.push_str(&format!("    expected: {}\n    actual:   {}\n", e.expected, e.actual));
        }
        if let Some(core) = &step.core {
            out.push_str(&format!("    bitcoin core: {core}\n"));
        }
        for m in &step.model {
            out.push_str(&format!("    model: {m}\n"));
        }
    }
    if let Some(error) = &r.error {
        out.push_str(&format!("  lab error: {error}\n"));
    }
    for dir in &finished.kept {
        out.push_str(&format!("  datadir kept: {} (debug.log in regtest/)\n", dir.display()));
    }
    out.push_str(&format!("  rerun: peglab run {} --seed {:?}\n", r.file, r.seed));
    out
}

/// Every report as a JSON array.
pub(crate) fn json(reports: &[&Report]) -> String {
    serde_json::to_string_pretty(reports).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// A JUnit XML file with one test case per scenario.
pub(crate) fn junit(reports: &[&Report], path: &Path) -> std::io::Result<()> {
    use quick_junit::{NonSuccessKind, Report as Junit, TestCase, TestCaseStatus, TestSuite};
    let mut suite = TestSuite::new("peglab");
    for r in reports {
        let status = if r.passed {
            TestCaseStatus::success()
        } else {
            let mut status = TestCaseStatus::non_success(if r.error.is_some() {
                NonSuccessKind::Error
            } else {
                NonSuccessKind::Failure
            });
            let failed: Vec<String> = r
                .steps
                .iter()
                .filter(|s| !s.passed)
                .map(|s| format!("step {} (line {}): {}", s.index, s.line, s.action))
                .chain(r.error.clone())
                .collect();
            status.set_message(failed.join("; "));
            status
        };
        let mut case = TestCase::new(r.name.clone(), status);
        case.set_classname(r.file.clone());
        case.set_time(std::time::Duration::from_millis(r.duration_ms));
        suite.add_test_case(case);
    }
    let mut report = Junit::new("peglab");
    report.add_test_suite(suite);
    let xml = report.to_string().map_err(std::io::Error::other)?;
    std::fs::write(path, xml)
}
