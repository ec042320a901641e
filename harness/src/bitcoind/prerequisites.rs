//! The system packages a from-source `bitcoind` build needs, checked before it starts.

use std::{fmt, path::Path, process::Command};

use super::find_on_path;

/// One missing prerequisite: what is missing and the Debian package that provides it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// What the build looked for (`cmake`, `boost headers`, ...).
    pub what: &'static str,
    /// The Debian/Ubuntu package that provides it.
    pub package: &'static str,
}

/// Every missing prerequisite at once, with the command that installs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingPackages(pub Vec<Missing>);

impl fmt::Display for MissingPackages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what: Vec<_> = self.0.iter().map(|m| m.what).collect();
        let packages: Vec<_> = self.0.iter().map(|m| m.package).collect();
        write!(
            f,
            "building bitcoind from source needs {}, which this machine lacks.\n\
             Install them with:\n    sudo apt-get install -y {}\n\
             or point BITCOIND_EXE at an existing bitcoind",
            what.join(", "),
            packages.join(" ")
        )
    }
}

const BOOST_HEADER: &str = "boost/multi_index_container.hpp";
const INCLUDE_DIRS: [&str; 2] = ["/usr/include", "/usr/local/include"];

/// Checks for the tools and headers the build needs; `Err` lists every one missing.
pub(super) fn check() -> Result<(), MissingPackages> {
    let mut missing = Vec::new();
    for (tool, package) in
        [("cmake", "cmake"), ("make", "make"), ("g++", "g++"), ("pkg-config", "pkg-config")]
    {
        if find_on_path(tool).is_none() {
            missing.push(Missing { what: tool, package });
        }
    }
    if !INCLUDE_DIRS.iter().any(|dir| Path::new(dir).join(BOOST_HEADER).is_file()) {
        missing.push(Missing { what: "boost headers", package: "libboost-dev" });
    }
    let libevent = Command::new("pkg-config")
        .args(["--exists", "libevent"])
        .status()
        .is_ok_and(|s| s.success());
    if !libevent {
        missing.push(Missing { what: "libevent", package: "libevent-dev" });
    }
    if missing.is_empty() { Ok(()) } else { Err(MissingPackages(missing)) }
}
