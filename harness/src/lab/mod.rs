//! A lab: one or more regtest nodes, the harness's funding coins, and the verbs a peg scenario
//! needs. [`Lab`] implements [`peglab_sim::Chain`].

mod chain_impl;
mod exec;
mod locate;
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
/// Most blocks one `generatetodescriptor` call mines.
const MINE_CHUNK: u32 = 10_000;
/// Blocks that may be mined without moving the clock: well within the two hours of block
/// times Core allows ahead of it (about 43,000 blocks).
const CLOCK_SLACK: u64 = 25_000;

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
    /// Start nodes from a premined datadir kept in peglab's cache (same blocks, no mining)
    /// rather than mining the premine.
    pub template: bool,
}

impl Default for LabOptions {
    fn default() -> Self {
        Self { nodes: 1, premine: PREMINE, extra_args: Vec::new(), template: true }
    }
}

/// A running lab. Its nodes die with it.
#[derive(Debug)]
pub struct Lab {
    nodes: Vec<Node>,
    /// The `bitcoind` the nodes run.
    exe: std::path::PathBuf,
    /// The partition group of each node; nodes in one group are connected.
    groups: Vec<usize>,
    funder: Funder,
    /// The lab's clock (`setmocktime` on every node).
    clock: u64,
    /// Chain-changing RPCs, when recording.
    journal: Option<std::cell::RefCell<Vec<JournalEntry>>>,
    /// Which blocks hold which transactions (nodes run without `-txindex`).
    locator: std::cell::RefCell<locate::Locator>,
    /// Blocks mined since the clock last moved (see [`Lab::keep_clock_ahead`]).
    blocks_since_clock: u64,
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
        let mut funder = Funder::new();
        let template =
            match options.premine > 0 && options.template && options.extra_args.is_empty() {
                true => crate::template::premined(exe, options.premine, funder.script())?,
                false => None,
            };
        if let Some(coins) = template
            .as_ref()
            .and_then(|t| std::fs::read_to_string(t.join(crate::template::COINS)).ok())
        {
            funder.use_premined(&coins);
        }
        let node_options = NodeOptions {
            p2p: options.nodes > 1,
            mocktime: LAB_EPOCH,
            extra_args: options.extra_args.clone(),
            template: template.clone(),
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
            exe: exe.to_path_buf(),
            groups: vec![0; nodes.len()],
            nodes,
            funder,
            clock: LAB_EPOCH,
            journal: None,
            locator: Default::default(),
            blocks_since_clock: 0,
        };
        lab.connect_all()?;
        if options.premine > 0 && template.is_none() {
            lab.mine_to_funder(NodeId::FIRST, options.premine)?;
        }
        Ok(lab)
    }

    /// Where each node answers and how (`peglab up` prints it; `peglab ctl` reads it back):
    /// RPC URL and credentials, P2P address, datadir, process id; and the `bitcoin-cli`
    /// beside the lab's `bitcoind`.
    pub fn connection(&self) -> Value {
        let nodes: Vec<Value> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, node)| {
                let url = node.rpc().url().to_owned();
                let port: u16 = url.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or(0);
                json!({
                    "node": i,
                    "rpc_url": url,
                    "rpc_port": port,
                    "rpc_user": crate::node::RPC_USER,
                    "rpc_password": crate::node::RPC_PASSWORD,
                    "p2p": node.p2p_addr(),
                    "datadir": node.datadir(),
                    "pid": node.pid(),
                })
            })
            .collect();
        let cli = self.exe.with_file_name("bitcoin-cli");
        json!({
            "chain": "regtest",
            "nodes": nodes,
            "bitcoin_cli": if cli.is_file() { cli.display().to_string() } else { "bitcoin-cli".into() },
            "clock": self.clock,
        })
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
        self.raw_call(id, method, args).map_err(|source| self.failure(id, method, source))
    }

    /// What an RPC failure means: the node died (and how), the run was interrupted, or the
    /// call itself failed.
    pub(crate) fn failure(
        &self,
        id: NodeId,
        method: &str,
        source: crate::rpc::RpcError,
    ) -> LabError {
        if crate::signals::interrupted() {
            return LabError::Interrupted;
        }
        if let crate::rpc::RpcError::Transport(_) = source
            && let Ok(node) = self.node(id)
        {
            // A dying process may still hold its socket for a moment.
            for _ in 0..50 {
                if let Some(status) = node.exit_status() {
                    return LabError::NodeDied {
                        node: id,
                        status,
                        method: method.to_owned(),
                        tail: node.last_words(),
                    };
                }
                thread::sleep(Duration::from_millis(2));
            }
        }
        LabError::Rpc { node: id, method: method.to_owned(), source }
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

    /// Mines to the lab's funding key on node 0. Other nodes mine to a script of their own
    /// (`OP_<n+1>`): two partitioned nodes mining empty blocks on the same parent at the same
    /// clock would otherwise make the very same blocks, and never fork.
    fn mine_to_funder(&mut self, id: NodeId, n: u32) -> Result<Vec<BlockHash>, LabError> {
        let script = match id.0 {
            0 => self.funder.script().clone(),
            i => bitcoin::script::Builder::new().push_int(i as i64 + 1).into_script(),
        };
        self.generate(id, n, &script)
    }

    /// `generatetodescriptor` to a raw script, in chunks that keep block times valid, then
    /// waits for connected peers to follow.
    fn generate(
        &mut self,
        id: NodeId,
        n: u32,
        script: &bitcoin::Script,
    ) -> Result<Vec<BlockHash>, LabError> {
        let desc = format!("raw({})", script.to_hex_string());
        let mut hashes: Vec<BlockHash> = Vec::with_capacity(n as usize);
        let mut left = n;
        while left > 0 {
            let chunk = left.min(MINE_CHUNK);
            self.keep_clock_ahead(id, chunk)?;
            let mined: Vec<BlockHash> =
                self.call(id, "generatetodescriptor", &[json!(chunk), json!(desc)])?;
            hashes.extend(mined);
            left -= chunk;
        }
        // What the lab broadcast went into the first block: note where.
        if std::mem::take(&mut self.locator.borrow_mut().pending)
            && let Some(first) = hashes.first()
        {
            self.read_block(id, *first)?;
        }
        self.sync_group(id)?;
        Ok(hashes)
    }

    /// Each block's time must be later than the median of the 11 before it, so with the clock
    /// frozen, block times run ahead of it (about a second every six blocks), and Core refuses
    /// a block more than two hours ahead of its clock (`time-too-new`), some 43,000 blocks in.
    /// So before mining past [`CLOCK_SLACK`] blocks since the clock last moved, the clock moves
    /// up to the tip's time: deterministic (it depends only on the blocks), and never for the
    /// short runs of blocks most scenarios mine.
    fn keep_clock_ahead(&mut self, id: NodeId, blocks: u32) -> Result<(), LabError> {
        self.blocks_since_clock += u64::from(blocks);
        if self.blocks_since_clock <= CLOCK_SLACK {
            return Ok(());
        }
        let tip: BlockHash = self.call(id, "getbestblockhash", &[])?;
        let header: Value = self.call(id, "getblockheader", &[json!(tip), json!(true)])?;
        let tip_time = header["time"].as_u64().unwrap_or(self.clock);
        if tip_time > self.clock {
            self.set_clock(tip_time)?;
        }
        self.blocks_since_clock = u64::from(blocks);
        Ok(())
    }

    /// Sets every node's clock to `time`.
    fn set_clock(&mut self, time: u64) -> Result<(), LabError> {
        self.clock = time;
        self.blocks_since_clock = 0;
        for id in self.ids() {
            self.call::<Value>(id, "setmocktime", &[json!(time)])?;
        }
        Ok(())
    }

    fn ids(&self) -> impl Iterator<Item = NodeId> + use<> {
        (0..self.nodes.len()).map(NodeId)
    }
}
