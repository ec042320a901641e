//! peglab's lab: finds or builds `bitcoind`, runs regtest nodes, and implements
//! [`peglab_sim::Chain`] over them. The `peglab` binary lives here too.
//!
//! Architecture invariant: this crate is the only one that spawns processes, reads environment
//! variables or talks to a node. Everything it offers the models goes through
//! [`peglab_sim::Chain`].
#![warn(missing_docs, clippy::unwrap_used)]

pub mod bitcoind;
mod error;
mod fixture;
mod funder;
mod lab;
mod node;
pub mod prove;
mod rpc;
pub mod rundir;
pub mod signals;
mod spawn;
pub mod suite;
mod template;

pub use error::LabError;
pub use fixture::{Fixture, FixtureError};
pub use funder::COINBASE_MATURITY;
pub use lab::{JournalEntry, Lab, LabOptions, premine_for};
pub use node::{LAB_EPOCH, Node, NodeOptions, RPC_PASSWORD, RPC_USER};
pub use rpc::{Rpc, RpcError};
pub use spawn::kill_all;
