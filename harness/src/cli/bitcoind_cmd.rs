//! `peglab bitcoind`: which bitcoind, from where, which version; `--build` builds it.

use peglab_harness::bitcoind::{self, Bitcoind, BitcoindError};

use super::{Exit, progress::StderrProgress};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// When no bitcoind is found, build it from source into peglab's cache (several
    /// minutes, once; safe to run from several processes at a time).
    #[arg(long)]
    build: bool,
}

pub(crate) fn run(args: &Args) -> Exit {
    let progress = StderrProgress::new();
    let found: Result<Option<Bitcoind>, BitcoindError> =
        if args.build { bitcoind::find_or_build(&progress).map(Some) } else { bitcoind::locate() };
    drop(progress);
    match found {
        Ok(Some(b)) => {
            println!(
                "bitcoind: {}\nfrom:     {}\nversion:  {}",
                b.exe.display(),
                b.origin,
                b.version
            );
            Exit::Success
        }
        Ok(None) => {
            eprintln!(
                "peglab: no bitcoind found: $BITCOIND_EXE is unset, none is on $PATH, and the cache \
                 ({}) holds none.\nBuild one with `peglab bitcoind --build` (several minutes, once), \
                 or set BITCOIND_EXE.",
                bitcoind::cache_dir().map(|d| d.display().to_string()).unwrap_or_default()
            );
            Exit::LabFailed
        }
        Err(e) => {
            eprintln!("peglab: {e}");
            Exit::LabFailed
        }
    }
}
