//! What both benchmarks need: the bitcoind to measure and a median.

use std::{path::PathBuf, time::Duration};

use peglab_harness::bitcoind as locate;

/// The middle sample.
pub(crate) fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

struct NoProgress;
impl locate::BuildProgress for NoProgress {
    fn stage(&self, what: &str) {
        eprintln!("bench: {what}");
    }
    fn percent(&self, _: u8) {}
}

/// The bitcoind peglab would use (found or built); exits 3 with the reason when there is none.
pub(crate) fn bitcoind() -> PathBuf {
    match locate::find_or_build(&NoProgress) {
        Ok(found) => found.exe,
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::exit(3);
        }
    }
}
