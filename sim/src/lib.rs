//! peglab's pure core.
//!
//! Architecture invariant: nothing in this crate spawns a process, reads an environment
//! variable, sleeps or prints. It reaches a Bitcoin chain only through the [`Chain`] trait,
//! which the `peglab-harness` crate implements over a real regtest `bitcoind`.
#![warn(missing_docs, clippy::unwrap_used)]

pub mod chain;
pub mod derive;
mod pegs;
pub mod reject;
pub mod relay;
pub mod run;
pub mod scenario;

pub use chain::{BlockRef, Chain, Funding, NodeId, TxStatus};
pub use reject::{RejectReason, Rejection};
