//! A [`Chain`] whose error type is erased, so that family code is not generic over the lab.

use bitcoin::{
    Amount, BlockHash, OutPoint, Script, Transaction, Txid, block::Header, merkle_tree::MerkleBlock,
};

use crate::{
    BlockRef, Chain, Funding, NodeId, Rejection, TxStatus,
    chain::{ExecOutcome, ExecRequest},
};

/// The lab failed (a node died, an RPC broke): the lab's own error, boxed.
#[derive(Debug)]
pub struct LabFailure(pub Box<dyn std::error::Error + Send + Sync>);

impl std::fmt::Display for LabFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for LabFailure {}

/// The chain as the interpreter and the families see it.
pub(crate) type DynChain<'c> = dyn Chain<Error = LabFailure> + 'c;

/// Wraps any chain.
pub(crate) struct Erased<'c, C: Chain>(pub(crate) &'c mut C);

fn erase<E: std::error::Error + Send + Sync + 'static>(e: E) -> LabFailure {
    LabFailure(Box::new(e))
}

impl<C: Chain> Chain for Erased<'_, C> {
    type Error = LabFailure;

    fn node_count(&self) -> usize {
        self.0.node_count()
    }
    fn tip(&self, node: NodeId) -> Result<BlockRef, LabFailure> {
        self.0.tip(node).map_err(erase)
    }
    fn height(&self, node: NodeId) -> Result<u32, LabFailure> {
        self.0.height(node).map_err(erase)
    }
    fn mine(
        &mut self,
        node: NodeId,
        n: u32,
        to: Option<&Script>,
    ) -> Result<Vec<BlockHash>, LabFailure> {
        self.0.mine(node, n, to).map_err(erase)
    }
    fn mine_block_with(
        &mut self,
        node: NodeId,
        txs: &[Transaction],
    ) -> Result<Result<BlockHash, Rejection>, LabFailure> {
        self.0.mine_block_with(node, txs).map_err(erase)
    }
    fn fund(
        &mut self,
        node: NodeId,
        script: &Script,
        amount: Amount,
    ) -> Result<Funding, LabFailure> {
        self.0.fund(node, script, amount).map_err(erase)
    }
    fn fund_many(
        &mut self,
        node: NodeId,
        outputs: &[(bitcoin::ScriptBuf, Amount)],
    ) -> Result<Transaction, LabFailure> {
        self.0.fund_many(node, outputs).map_err(erase)
    }
    fn broadcast(
        &mut self,
        node: NodeId,
        tx: &Transaction,
    ) -> Result<Result<Txid, Rejection>, LabFailure> {
        self.0.broadcast(node, tx).map_err(erase)
    }
    fn test_accept_many(
        &self,
        node: NodeId,
        txs: &[Transaction],
    ) -> Result<Vec<Result<(), Rejection>>, LabFailure> {
        self.0.test_accept_many(node, txs).map_err(erase)
    }
    fn tx_status(&self, node: NodeId, txid: Txid) -> Result<TxStatus, LabFailure> {
        self.0.tx_status(node, txid).map_err(erase)
    }
    fn transaction(&self, node: NodeId, txid: Txid) -> Result<Option<Transaction>, LabFailure> {
        self.0.transaction(node, txid).map_err(erase)
    }
    fn inclusion_proof(&self, node: NodeId, txid: Txid) -> Result<Option<MerkleBlock>, LabFailure> {
        self.0.inclusion_proof(node, txid).map_err(erase)
    }
    fn block(&self, node: NodeId, hash: BlockHash) -> Result<bitcoin::Block, LabFailure> {
        self.0.block(node, hash).map_err(erase)
    }
    fn header(&self, node: NodeId, hash: BlockHash) -> Result<Header, LabFailure> {
        self.0.header(node, hash).map_err(erase)
    }
    fn block_at(&self, node: NodeId, height: u32) -> Result<Option<BlockHash>, LabFailure> {
        self.0.block_at(node, height).map_err(erase)
    }
    fn median_time_past(&self, node: NodeId) -> Result<u32, LabFailure> {
        self.0.median_time_past(node).map_err(erase)
    }
    fn advance_time(&mut self, node: NodeId, seconds: u32) -> Result<Vec<BlockHash>, LabFailure> {
        self.0.advance_time(node, seconds).map_err(erase)
    }
    fn invalidate(&mut self, node: NodeId, hash: BlockHash) -> Result<(), LabFailure> {
        self.0.invalidate(node, hash).map_err(erase)
    }
    fn reconsider(&mut self, node: NodeId, hash: BlockHash) -> Result<(), LabFailure> {
        self.0.reconsider(node, hash).map_err(erase)
    }
    fn reorg(
        &mut self,
        node: NodeId,
        depth: u32,
        exclude: Option<Txid>,
    ) -> Result<Vec<BlockHash>, LabFailure> {
        self.0.reorg(node, depth, exclude).map_err(erase)
    }
    fn partition(&mut self, groups: &[Vec<NodeId>]) -> Result<(), LabFailure> {
        self.0.partition(groups).map_err(erase)
    }
    fn heal(&mut self) -> Result<(), LabFailure> {
        self.0.heal().map_err(erase)
    }
    fn scan_balance(&self, node: NodeId, descriptor: &str) -> Result<Amount, LabFailure> {
        self.0.scan_balance(node, descriptor).map_err(erase)
    }
    fn unspent(&self, node: NodeId, outpoint: OutPoint) -> Result<Option<Amount>, LabFailure> {
        self.0.unspent(node, outpoint).map_err(erase)
    }
    fn exec(&mut self, request: &ExecRequest) -> Result<ExecOutcome, LabFailure> {
        self.0.exec(request).map_err(erase)
    }
    fn submit_package(
        &mut self,
        node: NodeId,
        txs: &[Transaction],
    ) -> Result<Result<(), Rejection>, LabFailure> {
        self.0.submit_package(node, txs).map_err(erase)
    }
}
