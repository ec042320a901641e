//! `peglab new KIND`: a commented starter scenario.

use super::Exit;

const MULTISIG: &str = include_str!("../../../scenarios/multisig/two_of_three.toml");
const LIQUID: &str = include_str!("../../../scenarios/federated/liquid_happy_path.toml");
const POWPEG: &str = include_str!("../../../scenarios/federated/powpeg_happy_path.toml");

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum Kind {
    /// A k-of-n multisig custody peg: deposit, spend with a quorum, one signature short.
    Multisig,
    /// Liquid: peg-in to a tweaked address, claim with an SPV proof, peg-out.
    Liquid,
    /// Rootstock PowPeg: RSKT peg-in, registration, peg-outs released in a batch.
    Powpeg,
}

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The kind of peg to start from.
    #[arg(value_enum)]
    kind: Kind,
}

pub(crate) fn run(args: &Args) -> Exit {
    print!(
        "{}",
        match args.kind {
            Kind::Multisig => MULTISIG,
            Kind::Liquid => LIQUID,
            Kind::Powpeg => POWPEG,
        }
    );
    Exit::Success
}
