//! The lab's own failures. A rejected transaction is not one of them: it is an outcome.

use std::path::PathBuf;

use peglab_sim::NodeId;

use crate::{bitcoind::BitcoindError, rpc::RpcError};

/// Something in the lab broke: no bitcoind, a node that would not start or died, an RPC
/// that failed where it must not.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// No usable bitcoind.
    #[error(transparent)]
    Bitcoind(#[from] BitcoindError),
    /// A node failed to start.
    #[error("failed to start bitcoind {}: {reason}\n  datadir kept at {}", exe.display(), datadir.display())]
    Start {
        /// The binary.
        exe: PathBuf,
        /// What went wrong (Core's own words where it said any).
        reason: String,
        /// The node's datadir, kept for inspection.
        datadir: PathBuf,
    },
    /// A node runs a chain other than regtest; peglab refuses to touch it.
    #[error("refusing to drive a {chain} node: peglab only ever talks to regtest")]
    NotRegtest {
        /// The chain the node reported.
        chain: String,
    },
    /// An RPC call failed.
    #[error("node {}: `{method}` failed: {source}", node.0)]
    Rpc {
        /// The node.
        node: NodeId,
        /// The RPC method.
        method: String,
        /// The error.
        source: RpcError,
    },
    /// An RPC answer could not be understood.
    #[error("node {}: `{method}` gave an answer peglab cannot read: {detail}", node.0)]
    BadAnswer {
        /// The node.
        node: NodeId,
        /// The RPC method.
        method: String,
        /// What was wrong.
        detail: String,
    },
    /// Connected nodes did not converge in time.
    #[error("node {} did not reach block {target} within {seconds} s (it is at {actual})", node.0)]
    Sync {
        /// The lagging node.
        node: NodeId,
        /// The block it should have reached.
        target: String,
        /// Where it is.
        actual: String,
        /// How long peglab waited.
        seconds: u64,
    },
    /// A verb named a node the lab does not have.
    #[error("node {} does not exist: the lab runs {count} node(s)", node.0)]
    NoSuchNode {
        /// The node asked for.
        node: NodeId,
        /// How many nodes there are.
        count: usize,
    },
    /// The lab's funding key has no spendable coins left.
    #[error(
        "failed to fund {needed}: the lab has only {available} in mature coins; mine more blocks"
    )]
    OutOfCoins {
        /// What was asked for (plus fee).
        needed: bitcoin::Amount,
        /// What is spendable.
        available: bitcoin::Amount,
    },
    /// A verb was given an impossible argument.
    #[error("{0}")]
    InvalidArgument(String),
    /// The temporary folder cannot hold datadirs (the message names it).
    #[error("{0}")]
    TempDir(String),
    /// A node's process ended under the lab: killed, crashed, or out of disk.
    #[error("node {}: bitcoind died ({status}) during `{method}`{}", node.0, tail.as_deref().map(|t| format!("; its log says: {t}")).unwrap_or_default())]
    NodeDied {
        /// The node.
        node: NodeId,
        /// How it ended (`killed by signal 9 (SIGKILL)`, `exit status 1`).
        status: String,
        /// The RPC that found it gone.
        method: String,
        /// The last lines of its stderr or debug.log, when they say something.
        tail: Option<String>,
    },
    /// The run was interrupted (SIGINT, SIGTERM): nodes were stopped on purpose.
    #[error("interrupted")]
    Interrupted,
}
