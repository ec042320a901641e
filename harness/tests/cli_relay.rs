//! `peglab relay verify` on real mainnet headers around a retarget, and on tampered ones.

use std::{path::Path, process::Command};

use serde_json::Value;

const PEGLAB: &str = env!("CARGO_BIN_EXE_peglab");

/// (start, end, next) of the first period in the test data, as (height, hex).
fn period() -> [(u64, String); 3] {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sim/testdata/mainnet_retargets.json");
    let data: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let p = &data["periods"][0];
    let at = |k: &str| (p[k][0].as_u64().unwrap(), p[k][1].as_str().unwrap().to_owned());
    [at("start"), at("end"), at("next")]
}

fn verify(file_text: &str, with_period_start: bool) -> (Option<i32>, String, String) {
    let [start, end, _] = period();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("headers.txt");
    std::fs::write(&file, file_text).unwrap();
    let mut cmd = Command::new(PEGLAB);
    cmd.args([
        "relay",
        "verify",
        "--network",
        "mainnet",
        "--from",
        &format!("{}:{}", end.0, end.1),
    ]);
    if with_period_start {
        cmd.args(["--period-start", &format!("{}:{}", start.0, start.1)]);
    }
    let out = cmd.arg(&file).output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn a_true_run_across_a_retarget_is_accepted() {
    let [_, _, next] = period();
    let (code, stdout, stderr) =
        verify(&format!("# the first block of a new period\n{}\n", next.1), true);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert_eq!(
        stdout,
        "ok: 1 header(s), heights 556416..=556416, 1 retarget(s), tip 0000000000000000002a531985d49cdb5adcd1db0578845a233a3a2cfdefdf8f\n"
    );
}

#[test]
fn a_tampered_run_names_its_first_bad_header() {
    let [_, _, next] = period();
    // Change one byte of the merkle root (bytes 36..68 of the header).
    let mut forged = next.1.clone();
    forged.replace_range(80..82, if &next.1[80..82] == "00" { "01" } else { "00" });
    let (code, stdout, _) = verify(&format!("\n{forged}\n"), true);
    assert_eq!(code, Some(1));
    assert!(
        stdout.contains("headers.txt:2: the header at height 556416 fails: its hash"),
        "{stdout}"
    );
    assert!(stdout.contains("does not meet the target its nBits states"), "{stdout}");

    let (code, stdout, _) = verify(&next.1, false);
    assert_eq!(code, Some(1));
    assert!(stdout.contains("the retarget needs the header at height 554400"), "{stdout}");
}

#[test]
fn unreadable_input_is_invalid_input() {
    let (code, _, stderr) = verify("not a header\n", true);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("headers.txt:1: not an 80-byte header in hex"), "{stderr}");
}
