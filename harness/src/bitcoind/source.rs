//! Bitcoin Core's source, as shipped inside a crates.io package.
//!
//! `libbitcoinkernel-sys` carries a complete Bitcoin Core tree (CMake build) in its `bitcoin/`
//! folder, less the wallet sources and the embedded ASMap, neither of which a lab node needs.
//! Fetching it through cargo works on machines that reach only the package registries; the
//! exact version is pinned, and cargo checks the package's checksum.

use std::{
    env, fs,
    path::{Path, PathBuf},
    process::Command,
};

use super::BuildError;

/// The crates.io package that carries the source.
const SOURCE_CRATE: &str = "libbitcoinkernel-sys";
/// Its pinned version.
const SOURCE_VERSION: &str = "0.4.1";
/// Names the build in the cache, so a new source version builds afresh.
pub(super) const SOURCE_ID: &str = "libbitcoinkernel-sys-0.4.1";

/// Fetches the source package through cargo (a no-op when cargo already has it) and returns
/// the Bitcoin Core source tree inside it.
pub(super) fn fetch(work: &Path) -> Result<PathBuf, BuildError> {
    let manifest_dir = work.join("fetch");
    fs::create_dir_all(manifest_dir.join("src")).map_err(|e| BuildError::io(&manifest_dir, e))?;
    let manifest = manifest_dir.join("Cargo.toml");
    let text = format!(
        "[package]\nname = \"peglab-bitcoin-core-source\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
         [dependencies]\n{SOURCE_CRATE} = \"={SOURCE_VERSION}\"\n[workspace]\n"
    );
    fs::write(&manifest, text).map_err(|e| BuildError::io(&manifest, e))?;
    let lib = manifest_dir.join("src").join("lib.rs");
    fs::write(&lib, "").map_err(|e| BuildError::io(&lib, e))?;

    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let run = |args: &[&str]| {
        let out = Command::new(&cargo)
            .args(args)
            .arg("--manifest-path")
            .arg(&manifest)
            .output()
            .map_err(|e| BuildError::Fetch(format!("failed to run cargo: {e}")))?;
        if !out.status.success() {
            return Err(BuildError::Fetch(format!(
                "`cargo {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(out.stdout)
    };
    run(&["fetch", "--quiet"])?;
    let metadata = run(&["metadata", "--format-version", "1", "--offline"])?;
    let metadata: serde_json::Value = serde_json::from_slice(&metadata)
        .map_err(|e| BuildError::Fetch(format!("failed to read cargo metadata: {e}")))?;
    let package_manifest = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == SOURCE_CRATE && p["version"] == SOURCE_VERSION)
        .and_then(|p| p["manifest_path"].as_str())
        .ok_or_else(|| {
            BuildError::Fetch(format!(
                "cargo metadata does not list {SOURCE_CRATE} {SOURCE_VERSION}"
            ))
        })?;
    let tree = Path::new(package_manifest).with_file_name("bitcoin");
    if !tree.join("CMakeLists.txt").is_file() {
        return Err(BuildError::Fetch(format!(
            "{} holds no Bitcoin Core source tree",
            tree.display()
        )));
    }
    Ok(tree)
}
