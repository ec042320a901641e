//! The `peglab` command. Everything happens in [`cli::run`]; this maps its outcome to the
//! documented exit codes once.
#![warn(clippy::unwrap_used)]

mod cli;

fn main() -> std::process::ExitCode {
    let exit = cli::run();
    peglab_harness::rundir::finish();
    exit.into()
}
