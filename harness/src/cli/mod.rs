//! The `peglab` command line.

mod bitcoind_cmd;
mod check_cmd;
mod ctl_cmd;
mod exit;
mod html;
mod new_cmd;
mod progress;
mod relay_cmd;
mod render;
mod run_cmd;
mod schema_cmd;
mod up_cmd;

use clap::{Parser, Subcommand};

pub(crate) use exit::Exit;

/// peglab: a regtest lab for Bitcoin peg mechanisms.
///
/// Runs scenario files against real regtest bitcoind nodes: federated pegs (Liquid, Rootstock),
/// threshold-signer custody (sBTC, tBTC), SPV bridges, staking scripts (Babylon, Core),
/// optimistic BitVM2 bridges (Clementine) and any custody as a descriptor. Every Bitcoin-side
/// step is a real transaction Bitcoin Core judges; the pegs' other sides follow their upstream
/// rules. `peglab explain` reads what each peg trusts from its scripts. Start with
/// `peglab new --list`.
///
/// Exit codes: 0 all passed, 1 some scenario failed, 2 invalid input, 3 the lab failed,
/// 4 a bug in peglab.
#[derive(Debug, Parser)]
#[command(name = "peglab", version)]
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
    /// Run scenario files (or folders of them), each on its own regtest node.
    Run(run_cmd::Args),
    /// Validate scenario files without starting a node.
    Check(check_cmd::Args),
    /// Show scenarios and their steps.
    List(check_cmd::Args),
    /// Print, as JSON, every script, descriptor, address and spend path a file defines.
    Derive(check_cmd::Args),
    /// What each peg trusts, read from its spend paths: who can steal, who can freeze, how a
    /// user exits alone, what recovers; BitcoinLayers- and L2BEAT-style grades with the rule
    /// applied. Groups behind one key and off-chain trust are shown as declared.
    Explain(check_cmd::ExplainArgs),
    /// Print a kind's commented starter scenario.
    New(new_cmd::Args),
    /// Print the scenario format as a JSON Schema (for editors: see scenarios/schema.json).
    Schema,
    /// Header relay tools.
    #[command(subcommand)]
    Relay(relay_cmd::Command),
    /// Start the lab a scenario describes and keep it running for your own software: prints
    /// (and writes as JSON) each node's RPC URL and credentials, every actor's keys, every
    /// peg's scripts and addresses. Ctrl-C or SIGTERM stops it; no node survives.
    Up(up_cmd::Args),
    /// Drive a lab `peglab up` started: mine, advance-time, reorg, partition, heal, tip.
    Ctl(ctl_cmd::Args),
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
        Command::Run(args) => run_cmd::run(&args),
        Command::Check(args) => check_cmd::check(&args),
        Command::List(args) => check_cmd::list(&args),
        Command::Derive(args) => check_cmd::derive(&args),
        Command::Explain(args) => check_cmd::explain(&args),
        Command::New(args) => new_cmd::run(&args),
        Command::Schema => schema_cmd::run(),
        Command::Relay(command) => relay_cmd::run(&command),
        Command::Up(args) => up_cmd::run(&args),
        Command::Ctl(args) => ctl_cmd::run(&args),
    }
}
