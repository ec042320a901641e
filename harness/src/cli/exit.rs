//! peglab's exit codes, documented in the README.

use std::process::ExitCode;

/// How a `peglab` run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// 0: everything ran and every expectation held.
    Success,
    /// 1: the run completed, but some scenario failed an expectation.
    Failed,
    /// 2: invalid input: a bad command line or scenario file; nothing ran.
    InvalidInput,
    /// 3: the lab itself failed: no bitcoind, a node died, an RPC broke.
    LabFailed,
    /// 4: a bug in peglab (a panic): please report it, with the report and the file.
    Bug,
    /// 128 + the signal's number: a SIGINT (130) or SIGTERM (143) stopped the run; the report
    /// of what ran was written.
    Interrupted(u8),
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(match exit {
            Exit::Success => 0,
            Exit::Failed => 1,
            Exit::InvalidInput => 2,
            Exit::LabFailed => 3,
            Exit::Bug => 4,
            Exit::Interrupted(signal) => 128u8.saturating_add(signal),
        })
    }
}
