//! The HTML report in a real headless browser (Debian's `chromium`, which `.ci/run`
//! installs): the page loads with no console error, its own check against the numbers
//! embedded in it passes, those numbers match the JSON report of the same run, and a
//! screenshot is written for CI's artifacts (`target/tmp/report.png`).

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::Value;

const PEGLAB: &str = env!("CARGO_BIN_EXE_peglab");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn chromium(args: &[&str]) -> std::process::Output {
    Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0"])
        .args(args)
        .output()
        .expect("chromium (Debian's package; .ci/run installs it)")
}

#[test]
fn the_html_report_loads_clean_and_matches_the_json_report() {
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let html = out_dir.join("report.html");
    let files = [
        "scenarios/multisig/two_of_three.toml",
        "scenarios/sbtc/threshold.toml",
        "scenarios/spv-vault/issue_and_redeem.toml",
    ];
    let run = Command::new(PEGLAB)
        .arg("run")
        .args(files)
        .args(["--format", "json", "--report"])
        .arg(&html)
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let reports: Vec<Value> = serde_json::from_slice(&run.stdout).unwrap();
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(!page.contains("http://") && !page.contains("https://"), "self-contained");

    let url = format!("file://{}", html.display());
    let dom = chromium(&["--dump-dom", &url]);
    let dom_text = String::from_utf8_lossy(&dom.stdout);
    let log = String::from_utf8_lossy(&dom.stderr);
    assert!(dom_text.contains("data-checked=\"ok\""), "the page's own check: {log}");
    assert!(!log.contains("Uncaught") && !log.contains(":CONSOLE"), "console messages: {log}");

    // The numbers the page shows are the JSON report's.
    let embedded = page.split("<script id=\"data\" type=\"application/json\">").nth(1).unwrap();
    let embedded: Vec<Value> =
        serde_json::from_str(embedded.split("</script>").next().unwrap()).unwrap();
    assert_eq!(embedded.len(), reports.len());
    for report in &reports {
        let file = report["file"].as_str().unwrap();
        let shown = embedded.iter().find(|e| e["file"] == file).unwrap();
        let steps = report["steps"].as_array().unwrap();
        let txs: usize = steps.iter().map(|s| s["transactions"].as_array().unwrap().len()).sum();
        assert_eq!(shown["steps"], steps.len(), "{file}");
        assert_eq!(shown["txs"], txs, "{file}");
        assert_eq!(shown["passed"], report["passed"], "{file}");
    }
    // Core's words for a refused attempt are on the page, dashed.
    assert!(page.contains("stroke-dasharray"));
    assert!(page.contains("Invalid Schnorr signature"));
    assert!(page.contains("Attacker odds"));

    let shot = out_dir.join("report.png");
    let _ = std::fs::remove_file(&shot);
    chromium(&[&format!("--screenshot={}", shot.display()), "--window-size=1280,2400", &url]);
    assert!(std::fs::metadata(&shot).is_ok_and(|m| m.len() > 10_000), "a screenshot");
}

#[test]
fn explain_html_is_one_page() {
    let html = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("explain.html");
    let out = Command::new(PEGLAB)
        .args(["explain", "scenarios/tour", "--html"])
        .arg(&html)
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let page = std::fs::read_to_string(&html).unwrap();
    assert_eq!(page.matches("<section class=\"explained\"").count(), 6);
    assert!(page.contains("declared: signers' aggregate key is 3 of 5"));
    assert!(page.contains("yellow (Medium)"), "lesson 6: the optimistic bridge's grade");
    let dom = chromium(&["--dump-dom", &format!("file://{}", html.display())]);
    assert!(String::from_utf8_lossy(&dom.stdout).contains("data-checked=\"ok\""));
}

#[test]
fn systems_that_need_a_consensus_change_are_explained_not_graded() {
    let out = Command::new(PEGLAB).args(["explain", "--unsupported"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.contains("Drivechain (BIP300/301): not graded") && text.contains("soft fork"),
        "{text}"
    );
}
