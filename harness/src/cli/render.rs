//! Reports for people (human), for machines (JSON), and for CI (JUnit XML), all rendered from
//! the same typed report.

use std::path::Path;

use peglab_harness::suite::Finished;
use peglab_sim::run::{Report, Verdict};

/// Control characters of a scenario's own text (names, notes) are not sent to a terminal.
fn clean(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}

/// Who judged a step, in words.
fn verdict(v: &Verdict) -> String {
    match v {
        Verdict::BitcoinCore { said } => format!("bitcoin core: {said}"),
        Verdict::Model { code, why } if why.is_empty() => format!("model: {code}"),
        Verdict::Model { code, why } => format!("model refused ({code}): {why}"),
        Verdict::Stalled { code, why } => format!("stalled ({code}): {why}"),
    }
}

/// One scenario's result for a terminal: a line, and for a failure the failing steps with
/// what was expected, what happened, who judged and the command to rerun it.
pub(crate) fn human(finished: &Finished) -> String {
    let r = &finished.report;
    let verdict_word = if r.passed { "PASS" } else { "FAIL" };
    let mut out = format!("{verdict_word} {} ({}, {} ms)\n", clean(&r.name), r.file, r.duration_ms);
    if r.passed {
        return out;
    }
    for step in r.steps.iter().filter(|s| !s.passed) {
        out.push_str(&format!(
            "  step {} (line {}): {}\n",
            step.index,
            step.line,
            clean(&step.action)
        ));
        for e in step.expectations.iter().filter(|e| !e.held) {
            out.push_str(&format!("    expected: {}\n    actual:   {}\n", e.expected, e.actual));
        }
        if let Some(v) = &step.verdict {
            out.push_str(&format!("    {}\n", verdict(v)));
        }
        for event in &step.events {
            out.push_str(&format!("    model: {}\n", event.text()));
        }
    }
    if let Some(error) = &r.error {
        out.push_str(&format!("  lab error: {error}\n"));
    }
    if let Some(bug) = &r.bug {
        out.push_str(&format!("  peglab bug (please report it, with this file): {bug}\n"));
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
            let kind = if r.error.is_some() || r.bug.is_some() {
                NonSuccessKind::Error
            } else {
                NonSuccessKind::Failure
            };
            let mut status = TestCaseStatus::non_success(kind);
            let failed: Vec<String> = r
                .steps
                .iter()
                .filter(|s| !s.passed)
                .map(|s| format!("step {} (line {}): {}", s.index, s.line, s.action))
                .chain(r.error.clone())
                .chain(r.bug.clone())
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
