//! `peglab bitcoind`: what it prints, and its clear errors when there is no usable bitcoind.

use std::process::{Command, Output};

const PEGLAB: &str = env!("CARGO_BIN_EXE_peglab");

/// Runs `peglab args` with a clean environment: an empty cache, no bitcoind on `PATH` unless
/// `path` says otherwise, and `BITCOIND_EXE` only when given.
fn peglab(args: &[&str], bitcoind_exe: Option<&str>, path: &str) -> (Output, tempfile::TempDir) {
    let cache = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(PEGLAB);
    cmd.args(args)
        .env("PEGLAB_CACHE_DIR", cache.path())
        .env("PATH", path)
        .env_remove("BITCOIND_EXE");
    if let Some(exe) = bitcoind_exe {
        cmd.env("BITCOIND_EXE", exe);
    }
    (cmd.output().unwrap(), cache)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_bogus_bitcoind_exe_is_one_clear_error() {
    let (out, _cache) = peglab(&["bitcoind"], Some("/nonexistent/bitcoind"), "/usr/bin:/bin");
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        stderr(&out),
        "peglab: BITCOIND_EXE=/nonexistent/bitcoind does not name an executable file; point it at a bitcoind binary or unset it\n"
    );

    let (out, _cache) = peglab(&["bitcoind"], Some("/bin/true"), "/usr/bin:/bin");
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).starts_with("peglab: /bin/true (BITCOIND_EXE) is not a working bitcoind"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn no_bitcoind_anywhere_says_how_to_get_one() {
    let empty = tempfile::tempdir().unwrap();
    let (out, cache) = peglab(&["bitcoind"], None, empty.path().to_str().unwrap());
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert!(err.contains("no bitcoind found"), "{err}");
    assert!(err.contains(&cache.path().display().to_string()), "{err}");
    assert!(err.contains("peglab bitcoind --build"), "{err}");
}

#[test]
fn a_build_without_system_packages_names_them_and_the_install_command() {
    // An empty PATH: no cmake, make, g++ or pkg-config (so no libevent either).
    let empty = tempfile::tempdir().unwrap();
    let (out, _cache) = peglab(&["bitcoind", "--build"], None, empty.path().to_str().unwrap());
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert!(
        err.contains("building bitcoind from source needs cmake, make, g++, pkg-config"),
        "{err}"
    );
    assert!(err.contains("sudo apt-get install -y cmake make g++ pkg-config"), "{err}");
    assert!(err.contains("libevent-dev"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn shows_the_bitcoind_in_use() {
    // The bitcoind the product finds here (the tests need one), named explicitly.
    struct Quiet;
    impl peglab_harness::bitcoind::BuildProgress for Quiet {
        fn stage(&self, _: &str) {}
        fn percent(&self, _: u8) {}
    }
    let found = peglab_harness::bitcoind::find_or_build(&Quiet).expect("a bitcoind for the tests");
    let exe = found.exe.display().to_string();
    let (out, _cache) = peglab(&["bitcoind"], Some(&exe), "/usr/bin:/bin");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(&format!("bitcoind: {exe}\n")), "{text}");
    assert!(text.contains("from:     BITCOIND_EXE\n"), "{text}");
    assert!(text.contains("version:  Bitcoin Core daemon version v"), "{text}");
}
