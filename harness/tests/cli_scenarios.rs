//! `peglab check`, `run`, `derive` and `new` as a user runs them: exit codes, every problem
//! reported, JUnit and JSON output, determinism.

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

const SCENARIO: &str = "scenarios/multisig/two_of_three.toml";

#[test]
fn check_reports_every_broken_file_with_line_and_column() {
    let out = peglab(&["check", "scenarios/invalid"]);
    assert_eq!(out.status.code(), Some(2), "invalid input");
    let err = text(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    let files: Vec<_> = std::fs::read_dir(repo().join("scenarios/invalid"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    for file in &files {
        let name = format!("scenarios/invalid/{}:", file.file_name().unwrap().to_string_lossy());
        let line = err
            .lines()
            .find(|l| l.starts_with(&name))
            .unwrap_or_else(|| panic!("{name} missing in\n{err}"));
        let mut parts = line[name.len()..].splitn(3, ':');
        let (row, col) = (parts.next().unwrap(), parts.next().unwrap());
        assert!(row.parse::<usize>().unwrap() >= 1 && col.parse::<usize>().unwrap() >= 1, "{line}");
    }
    assert!(err.contains(&format!("in {} file(s)", files.len())), "{err}");
}

#[test]
fn check_accepts_the_suite_and_every_kinds_starter() {
    let out = peglab(&["check", "scenarios"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let dir = tempfile::tempdir().unwrap();
    let list = text(&peglab(&["new", "--list"]).stdout);
    let kinds: Vec<&str> = list.lines().filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(kinds.len(), peglab_sim::families::list().len(), "{list}");
    for kind in kinds {
        let starter = peglab(&["new", kind]);
        assert_eq!(starter.status.code(), Some(0));
        let file = dir.path().join(format!("{kind}.toml"));
        std::fs::write(&file, &starter.stdout).unwrap();
        let out = peglab(&["check", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{kind}: {}", text(&out.stderr));
    }
}

#[test]
fn derive_prints_scripts_addresses_and_spend_paths() {
    let out = peglab(&["derive", SCENARIO]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let peg = &json["pegs"][0];
    assert_eq!(peg["kind"], "multisig");
    let witness_script = peg["witness_script"].as_str().unwrap();
    // OP_2 <33-byte key> x3 OP_3 OP_CHECKMULTISIG
    assert!(
        witness_script.starts_with("5221") && witness_script.ends_with("53ae"),
        "{witness_script}"
    );
    assert!(peg["address"].as_str().unwrap().starts_with("bcrt1q"));
    let policy = &peg["spend_paths"][0]["policy"];
    assert_eq!(policy["type"], "thresh");
    assert_eq!(policy["k"], 2);
    assert_eq!(policy["of"][2], serde_json::json!({ "type": "pk", "key": "erin" }));
    // Keys derive from the seed: the same file derives the same keys.
    assert_eq!(peglab(&["derive", SCENARIO]).stdout, out.stdout);
}

#[test]
fn derive_shows_federation_scripts_and_the_flyover_address() {
    let out = peglab(&["derive", "scenarios/powpeg/mainnet_preset.toml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let peg = &json["pegs"][0];
    let script = peg["redeem_script"].as_str().unwrap();
    // OP_NOTIF OP_5 ... OP_ELSE <50cd00> OP_CSV OP_DROP OP_3 ... OP_4 OP_CHECKMULTISIG OP_ENDIF
    assert!(
        script.starts_with("6455")
            && script.contains("670350cd00b275")
            && script.ends_with("54ae68"),
        "{script}"
    );
    let flyover = &peg["flyover"];
    let hash = flyover["derivation_hash"].as_str().unwrap();
    assert_eq!(flyover["redeem_script"].as_str().unwrap(), format!("20{hash}75{script}"));
    assert!(flyover["address"].as_str().unwrap().starts_with('2'), "P2SH-P2WSH on regtest");
    // The ERP path: 3 of the 4 ERP keys, and 52,560 blocks.
    let erp = &peg["spend_paths"][1]["policy"];
    assert_eq!(erp["type"], "and");
    assert_eq!(erp["of"][0]["k"], 3);
    assert_eq!(erp["of"][0]["of"].as_array().unwrap().len(), 4);
    assert_eq!(erp["of"][1], serde_json::json!({ "type": "older", "blocks": 52560 }));

    let out = peglab(&["derive", "scenarios/liquid/v1_preset.toml"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let fedpeg = json["pegs"][0]["fedpegscript"].as_str().unwrap();
    assert!(fedpeg.starts_with("745c87635b21") && fedpeg.contains("5f6702c00fb27552"), "{fedpeg}");
    assert_eq!(json["pegs"][0]["claim_depth"], 102);
}

/// Needs a bitcoind; the product finds (or builds) it as usual.
#[test]
fn run_writes_junit_and_json_and_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let out = peglab(&["run", SCENARIO, "--format", "json", "--junit", junit.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let cases: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("testcase")).collect();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].attribute("classname"), Some(SCENARIO));

    let reports: Vec<Report> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        serde_json::from_str::<Vec<Report>>(&serde_json::to_string(&reports).unwrap()).unwrap(),
        reports
    );
    assert!(reports[0].passed);

    let again: Vec<Report> =
        serde_json::from_slice(&peglab(&["run", SCENARIO, "--format", "json"]).stdout).unwrap();
    let strip = |mut r: Vec<Report>| {
        r.iter_mut().for_each(|r| r.duration_ms = 0);
        serde_json::to_string(&r).unwrap()
    };
    assert_eq!(strip(again), strip(reports.clone()), "same seed, same report");

    let other: Vec<Report> = serde_json::from_slice(
        &peglab(&["run", SCENARIO, "--format", "json", "--seed", "other"]).stdout,
    )
    .unwrap();
    assert_ne!(other[0].steps[0].transactions[0].txid, reports[0].steps[0].transactions[0].txid);
}

#[test]
fn a_failing_expectation_exits_1_and_says_how_to_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wrong.toml");
    let text_in = std::fs::read_to_string(repo().join(SCENARIO)).unwrap().replace(
        "signers = [\"carol\", \"erin\"], to = \"alice\", name = \"two-sigs\" }\nexpect = { accepted = true }",
        "signers = [\"carol\", \"erin\"], to = \"alice\", name = \"two-sigs\" }\nexpect = { rejected = \"non-final\" }",
    );
    std::fs::write(&file, text_in).unwrap();
    let out = peglab(&["run", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}{}", text(&out.stdout), text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("FAIL multisig"), "{stdout}");
    assert!(stdout.contains("expected: rejected by Bitcoin Core: non-final"), "{stdout}");
    assert!(stdout.contains("actual:   accepted"), "{stdout}");
    assert!(stdout.contains(&format!("rerun: peglab run {}", file.display())), "{stdout}");
    let kept = stdout.lines().find_map(|l| l.trim().strip_prefix("datadir kept: ")).unwrap();
    let kept = Path::new(kept.split(" (").next().unwrap());
    assert!(kept.join("regtest/debug.log").is_file(), "{}", kept.display());
    std::fs::remove_dir_all(kept).unwrap();
}
