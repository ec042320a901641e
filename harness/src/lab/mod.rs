//! A lab: one or more regtest nodes, the harness's funding coins, and the verbs a peg scenario
//! needs. [`Lab`] implements [`peglab_sim::Chain`].

mod chain_impl;
mod network;

use std::{
    path::{Path, PathBuf},
    thread,
    time::Duration,
};

use bitcoin::BlockHash;
use peglab_sim::NodeId;
use serde_json::{Value, json};

use crate::{
    error::LabError,
    funder::{COINBASE_MATURITY, Funder},
    node::{LAB_EPOCH, Node, NodeOptions},
    rpc::Rpc,
};

/// Blocks mined at start to the funding key: enough that 100 coinbase outputs are mature.
const PREMINE: u32 = peglab_sim::chain::PREMINE;
const _: () = assert!(PREMINE == COINBASE_MATURITY + 100);

/// Blocks to premine so that mature coinbase outputs pay `funds` (and their fees): the
/// default premine, or more for large funds (regtest's subsidy halves every 150 blocks).
pub fn premine_for(funds: bitcoin::Amount) -> u32 {
    let wanted = funds.to_sat().saturating_add(100_000_000);
    let mut mature = 0u64;
    let mut height = 0u32;
    while mature < wanted && height < 10_000 {
        height += 1;
        mature += 5_000_000_000u64 >> (height / 150).min(63);
    }
    PREMINE.max(height + COINBASE_MATURITY)
}
/// How long a node may take to follow a block its peer has.
const SYNC_TIMEOUT: Duration = Duration::from_secs(30);

/// How to set up a lab.
#[derive(Debug, Clone)]
pub struct LabOptions {
    /// How many nodes (at least one). With more than one they are connected in a full mesh.
    pub nodes: usize,
    /// Blocks mined at start to the lab's funding key.
    pub premine: u32,
    /// Extra `bitcoind` arguments for every node.
    pub extra_args: Vec<String>,
}

impl Default for LabOptions {
    fn default() -> Self {
        Self { nodes: 1, premine: PREMINE, extra_args: Vec::new() }
    }
}

/// A running lab. Its nodes die with it.
#[derive(Debug)]
pub struct Lab {
    nodes: Vec<Node>,
    /// The partition group of each node; nodes in one group are connected.
    groups: Vec<usize>,
    funder: Funder,
    /// The lab's clock (`setmocktime` on every node).
    clock: u64,
    /// Chain-changing RPCs, when recording.
    journal: Option<std::cell::RefCell<Vec<JournalEntry>>>,
}

/// One recorded RPC: the node, the method, its arguments.
pub type JournalEntry = (NodeId, String, Vec<Value>);

/// The RPCs that change a node's chain, mempool or clock.
const JOURNALED: &[&str] = &[
    "generatetodescriptor",
    "generateblock",
    "sendrawtransaction",
    "setmocktime",
    "invalidateblock",
    "reconsiderblock",
];

impl Lab {
    /// Starts `options.nodes` nodes from `exe`, connects them, and mines the premine.
    pub fn start(exe: &Path, options: &LabOptions) -> Result<Self, LabError> {
        if options.nodes == 0 {
            return Err(LabError::InvalidArgument("a lab needs at least one node".into()));
        }
        let node_options = NodeOptions {
            p2p: options.nodes > 1,
            mocktime: LAB_EPOCH,
            extra_args: options.extra_args.clone(),
        };
        let nodes = thread::scope(|s| {
            let starting: Vec<_> =
                (0..options.nodes).map(|_| s.spawn(|| Node::start(exe, &node_options))).collect();
            starting
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
                .collect::<Result<Vec<_>, _>>()
        })?;
        let mut lab = Self {
            groups: vec![0; nodes.len()],
            nodes,
            funder: Funder::new(),
            clock: LAB_EPOCH,
            journal: None,
        };
        lab.connect_all()?;
        if options.premine > 0 {
            lab.mine_to_funder(NodeId::FIRST, options.premine)?;
        }
        Ok(lab)
    }

    /// Starts a single-node lab with defaults.
    pub fn single(exe: &Path) -> Result<Self, LabError> {
        Self::start(exe, &LabOptions::default())
    }

    /// The node `id`.
    pub fn node(&self, id: NodeId) -> Result<&Node, LabError> {
        self.nodes.get(id.0).ok_or(LabError::NoSuchNode { node: id, count: self.nodes.len() })
    }

    /// The RPC connection of node `id`, for what the verbs do not cover.
    pub fn rpc(&self, id: NodeId) -> Result<&Rpc, LabError> {
        self.node(id).map(Node::rpc)
    }

    /// Keeps every node's datadir after the lab stops; returns their paths.
    pub fn keep(&mut self) -> Vec<PathBuf> {
        self.nodes.iter_mut().map(Node::keep).collect()
    }

    /// The lab's clock (seconds since 1970), the `mocktime` of every node.
    pub fn clock(&self) -> u64 {
        self.clock
    }

    /// Calls an RPC on node `id`, mapping failures to [`LabError`].
    pub(crate) fn call<T: serde::de::DeserializeOwned>(
        &self,
        id: NodeId,
        method: &str,
        args: &[Value],
    ) -> Result<T, LabError> {
        self.raw_call(id, method, args).map_err(|source| LabError::Rpc {
            node: id,
            method: method.to_owned(),
            source,
        })
    }

    /// Every RPC of the lab goes through here (and into the journal, when it is on).
    pub(crate) fn raw_call<T: serde::de::DeserializeOwned>(
        &self,
        id: NodeId,
        method: &str,
        args: &[Value],
    ) -> Result<T, crate::rpc::RpcError> {
        let rpc = self.rpc(id).map_err(|e| crate::rpc::RpcError::Transport(e.to_string()))?;
        if let Some(journal) = &self.journal
            && JOURNALED.contains(&method)
        {
            journal.borrow_mut().push((id, method.to_owned(), args.to_vec()));
        }
        rpc.call(method, args)
    }

    /// Starts recording every RPC that changes a node's chain, mempool or clock, for
    /// replaying the same work without the lab (see `benches/liquid.rs`).
    pub fn record_journal(&mut self) {
        self.journal = Some(Default::default());
    }

    /// The RPCs recorded since [`Lab::record_journal`]: node, method, arguments.
    pub fn journal(&self) -> Vec<JournalEntry> {
        self.journal.as_ref().map(|j| j.borrow().clone()).unwrap_or_default()
    }

    fn mine_to_funder(&mut self, id: NodeId, n: u32) -> Result<Vec<BlockHash>, LabError> {
        let script = self.funder.script().clone();
        self.generate(id, n, &script)
    }

    /// `generatetodescriptor` to a raw script, then waits for connected peers to follow.
    fn generate(
        &mut self,
        id: NodeId,
        n: u32,
        script: &bitcoin::Script,
    ) -> Result<Vec<BlockHash>, LabError> {
        let desc = format!("raw({})", script.to_hex_string());
        let hashes: Vec<BlockHash> =
            self.call(id, "generatetodescriptor", &[json!(n), json!(desc)])?;
        self.sync_group(id)?;
        Ok(hashes)
    }

    /// Sets every node's clock to `time`.
    fn set_clock(&mut self, time: u64) -> Result<(), LabError> {
        self.clock = time;
        for id in self.ids() {
            self.call::<Value>(id, "setmocktime", &[json!(time)])?;
        }
        Ok(())
    }

    fn ids(&self) -> impl Iterator<Item = NodeId> + use<> {
        (0..self.nodes.len()).map(NodeId)
    }
}
