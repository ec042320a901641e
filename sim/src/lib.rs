//! peglab's pure core: the scenario format, the peg families, the step interpreter.
//!
//! Architecture invariant: nothing in this crate spawns a process, reads an environment
//! variable, sleeps or prints. It reaches a Bitcoin chain only through the [`Chain`] trait,
//! which the `peglab-harness` crate implements over a real regtest `bitcoind`.
#![warn(missing_docs, clippy::unwrap_used)]

pub mod chain;
pub mod derive;
pub mod families;
mod family;
mod federation;
pub mod lock;
pub mod policy;
pub mod reject;
pub mod relay;
pub mod run;
pub mod scenario;
pub mod trust;
mod tx;

#[doc(hidden)]
pub mod bench;

pub use chain::{BlockRef, Chain, ExecOutcome, ExecRequest, Funding, NodeId, TxStatus};
pub use reject::{RejectReason, Rejection};
