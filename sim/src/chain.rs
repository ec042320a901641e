//! The one boundary between peglab's models and a Bitcoin chain.
//!
//! The step interpreter and the peg models see a chain only through [`Chain`]. The harness
//! implements it over one or more real regtest `bitcoind` nodes; nothing in `sim` knows how.
//!
//! Outcomes are data: a refused transaction is `Ok(Err(Rejection))`, a value to report.
//! `Err(Self::Error)` means the lab itself failed (a node died, an RPC broke).

use bitcoin::{
    Amount, BlockHash, OutPoint, Script, Transaction, TxOut, Txid, block::Header,
    merkle_tree::MerkleBlock,
};
use serde::{Deserialize, Serialize};

use crate::Rejection;

/// The clock every lab node starts at (2025-01-01T00:00:00Z), so that block times, block
/// hashes and txids are the same on every run.
pub const LAB_EPOCH: u64 = 1_735_689_600;

/// Blocks a lab mines at start to its funding key: enough that 100 coinbase outputs are
/// mature. A lab that must pay more than those hold premines more.
pub const PREMINE: u32 = 200;

/// The least height a lab's nodes have when a scenario's first step runs.
pub const START_HEIGHT: u32 = PREMINE;

/// Which node of the lab a call addresses. Node 0 always exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NodeId(pub usize);

impl NodeId {
    /// The first node, the one a single-node lab has.
    pub const FIRST: NodeId = NodeId(0);
}

/// A block on some node's chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BlockRef {
    /// Its height.
    pub height: u32,
    /// Its hash.
    pub hash: BlockHash,
}

/// Where a transaction stands, as one node sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxStatus {
    /// The node knows nothing of it, or only of a stale block holding it.
    Unknown,
    /// In the node's mempool.
    InMempool,
    /// In a block of the node's best chain.
    Confirmed {
        /// The block holding it.
        block: BlockRef,
        /// 1 when that block is the tip.
        confirmations: u32,
    },
}

impl TxStatus {
    /// Number of confirmations: 0 unless confirmed on the best chain.
    pub fn confirmations(&self) -> u32 {
        match self {
            Self::Confirmed { confirmations, .. } => *confirmations,
            Self::Unknown | Self::InMempool => 0,
        }
    }
}

/// An output the lab paid from its own coins, with the transaction that pays it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Funding {
    /// The funded output.
    pub outpoint: OutPoint,
    /// Its value and script.
    pub txout: TxOut,
    /// The (broadcast, unconfirmed) funding transaction.
    pub tx: Transaction,
}

/// A regtest chain of one or more nodes that peglab can drive.
///
/// Every verb that touches one node takes its [`NodeId`]; verbs that move time or change
/// connectivity act on the whole lab. Nodes that are connected see each other's blocks and
/// transactions before a verb returns.
pub trait Chain {
    /// The lab's own failure: not a rejection, but a broken node or RPC.
    type Error: std::error::Error + Send + Sync + 'static;

    /// How many nodes the lab runs.
    fn node_count(&self) -> usize;

    /// The node's best block.
    fn tip(&self, node: NodeId) -> Result<BlockRef, Self::Error>;

    /// The node's height (one call where the lab has a cheaper one than [`Chain::tip`]).
    fn height(&self, node: NodeId) -> Result<u32, Self::Error> {
        self.tip(node).map(|t| t.height)
    }

    /// Mines `n` blocks on `node`, paying the coinbase to `to` or, when `None`, to the lab's
    /// own funding key. The blocks hold whatever the node's mempool offers.
    fn mine(
        &mut self,
        node: NodeId,
        n: u32,
        to: Option<&Script>,
    ) -> Result<Vec<BlockHash>, Self::Error>;

    /// Mines one block on `node` holding exactly `txs` (none: an empty block), even
    /// non-standard ones; consensus still applies. A block Bitcoin Core refuses is a
    /// [`Rejection`].
    fn mine_block_with(
        &mut self,
        node: NodeId,
        txs: &[Transaction],
    ) -> Result<Result<BlockHash, Rejection>, Self::Error>;

    /// Pays `amount` to `script` from the lab's coinbase coins and broadcasts it on `node`
    /// (unconfirmed).
    fn fund(
        &mut self,
        node: NodeId,
        script: &Script,
        amount: Amount,
    ) -> Result<Funding, Self::Error>;

    /// Pays every `(script, amount)` from the lab's coinbase coins in one transaction (or a
    /// few, when there are very many outputs) and broadcasts it on `node` (unconfirmed).
    /// Returns the last transaction.
    fn fund_many(
        &mut self,
        node: NodeId,
        outputs: &[(bitcoin::ScriptBuf, Amount)],
    ) -> Result<Transaction, Self::Error>;

    /// Broadcasts `tx` on `node` (and every node connected to it).
    fn broadcast(
        &mut self,
        node: NodeId,
        tx: &Transaction,
    ) -> Result<Result<Txid, Rejection>, Self::Error>;

    /// Whether `node`'s mempool would accept `tx`, without broadcasting it.
    fn test_accept(
        &self,
        node: NodeId,
        tx: &Transaction,
    ) -> Result<Result<(), Rejection>, Self::Error> {
        let mut verdicts = self.test_accept_many(node, std::slice::from_ref(tx))?;
        Ok(verdicts.pop().unwrap_or(Ok(())))
    }

    /// Whether `node`'s mempool would accept each of `txs` on its own (they must not spend
    /// each other's outputs nor the same ones), asking Bitcoin Core about many per call.
    fn test_accept_many(
        &self,
        node: NodeId,
        txs: &[Transaction],
    ) -> Result<Vec<Result<(), Rejection>>, Self::Error>;

    /// Where `txid` stands on `node`.
    fn tx_status(&self, node: NodeId, txid: Txid) -> Result<TxStatus, Self::Error>;

    /// A confirmed transaction itself.
    fn transaction(&self, node: NodeId, txid: Txid) -> Result<Option<Transaction>, Self::Error>;

    /// The inclusion proof of a confirmed transaction (`gettxoutproof`), or `None` when the
    /// node has it in no block of its best chain.
    fn inclusion_proof(&self, node: NodeId, txid: Txid)
    -> Result<Option<MerkleBlock>, Self::Error>;

    /// A block the node knows.
    fn block(&self, node: NodeId, hash: BlockHash) -> Result<bitcoin::Block, Self::Error>;

    /// The header of a block the node knows.
    fn header(&self, node: NodeId, hash: BlockHash) -> Result<Header, Self::Error>;

    /// The hash of the block at `height` on the node's best chain.
    fn block_at(&self, node: NodeId, height: u32) -> Result<Option<BlockHash>, Self::Error>;

    /// Median time past of the node's tip (what timestamp locks compare against).
    fn median_time_past(&self, node: NodeId) -> Result<u32, Self::Error>;

    /// Moves every node's clock forward by `seconds` and mines enough blocks on `node` (six)
    /// that median-time-past reaches the new time. Never sleeps.
    fn advance_time(&mut self, node: NodeId, seconds: u32) -> Result<Vec<BlockHash>, Self::Error>;

    /// Marks a block invalid on `node`, disconnecting it and its descendants.
    fn invalidate(&mut self, node: NodeId, hash: BlockHash) -> Result<(), Self::Error>;

    /// Undoes [`Chain::invalidate`].
    fn reconsider(&mut self, node: NodeId, hash: BlockHash) -> Result<(), Self::Error>;

    /// Replaces the last `depth` blocks of `node` with a competing branch one block longer,
    /// leaving `exclude` (and what spends it) out of the new branch: it returns to the
    /// mempool, as a reorged transaction does. Returns the new branch.
    fn reorg(
        &mut self,
        node: NodeId,
        depth: u32,
        exclude: Option<Txid>,
    ) -> Result<Vec<BlockHash>, Self::Error>;

    /// Splits the lab into groups that cannot see each other; nodes within a group stay
    /// connected. Nodes in no group are isolated.
    fn partition(&mut self, groups: &[Vec<NodeId>]) -> Result<(), Self::Error>;

    /// Reconnects every node and waits until they agree on the chain with most work (when
    /// one exists; a tie in work leaves each node on its own tip).
    fn heal(&mut self) -> Result<(), Self::Error>;

    /// Submits a package, parents first and one child last (`submitpackage`: mempool policy
    /// for the package as a whole, TRUC and ephemeral-dust rules included). Core's first
    /// complaint, for the package or one of its transactions, is the rejection.
    fn submit_package(
        &mut self,
        node: NodeId,
        txs: &[Transaction],
    ) -> Result<Result<(), Rejection>, Self::Error>;

    /// What the node's UTXO set (confirmed outputs) holds for an output descriptor
    /// (`addr(...)`, `raw(...)`, `wsh(...)`, ...), by `scantxoutset`.
    fn scan_balance(&self, node: NodeId, descriptor: &str) -> Result<Amount, Self::Error>;

    /// The value of `outpoint` if it is unspent on the node's best chain (mempool spends
    /// count as spent).
    fn unspent(&self, node: NodeId, outpoint: OutPoint) -> Result<Option<Amount>, Self::Error>;

    /// Runs a program beside the lab (an `exec` step): the lab adds its connection details to
    /// the environment, kills the program (and what it started) at the timeout, and returns
    /// how it ended. A program that cannot start is an outcome too, not a lab failure.
    fn exec(&mut self, request: &ExecRequest) -> Result<ExecOutcome, Self::Error>;
}

/// A program an `exec` step runs.
#[derive(Debug, Clone)]
pub struct ExecRequest {
    /// The node whose connection details the program gets first.
    pub node: NodeId,
    /// The program and its arguments.
    pub cmd: Vec<String>,
    /// Its environment, beside the lab's own variables.
    pub env: Vec<(String, String)>,
    /// Where it runs.
    pub dir: std::path::PathBuf,
    /// When it is killed.
    pub timeout: std::time::Duration,
}

/// How a program ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutcome {
    /// Its exit code; `None` when it was killed or did not start.
    pub status: Option<i32>,
    /// It was killed at its timeout.
    pub timed_out: bool,
    /// Why it did not start, if it did not.
    pub not_started: Option<String>,
    /// The end of its standard output.
    pub stdout: String,
    /// The end of its standard error.
    pub stderr: String,
    /// How long it ran, in milliseconds.
    pub millis: u64,
}
