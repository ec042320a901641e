//! The `peglab` command line.

mod bitcoind_cmd;
mod exit;
mod progress;

use clap::{Parser, Subcommand};

pub(crate) use exit::Exit;

/// peglab: a regtest lab for Bitcoin peg mechanisms.
#[derive(Debug, Parser)]
#[command(name = "peglab", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show the bitcoind peglab uses: its path, where it came from and its version.
    ///
    /// Looks in this order: $BITCOIND_EXE, bitcoind on $PATH, peglab's cache
    /// ($PEGLAB_CACHE_DIR or ~/.cache/peglab). With --build, builds it from source into the
    /// cache when none is found (several minutes, once).
    Bitcoind(bitcoind_cmd::Args),
}

/// Parses the command line and runs the command.
pub(crate) fn run() -> Exit {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { Exit::InvalidInput } else { Exit::Success };
        }
    };
    match cli.command {
        Command::Bitcoind(args) => bitcoind_cmd::run(&args),
    }
}
