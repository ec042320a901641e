//! `peglab new KIND`: a commented starter scenario.

use super::Exit;

const MULTISIG: &str = include_str!("../../../scenarios/multisig/two_of_three.toml");

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum Kind {
    /// A k-of-n multisig custody peg: deposit, spend with a quorum, one signature short.
    Multisig,
}

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The kind of peg to start from.
    #[arg(value_enum)]
    kind: Kind,
}

pub(crate) fn run(args: &Args) -> Exit {
    match args.kind {
        Kind::Multisig => print!("{MULTISIG}"),
    }
    Exit::Success
}
