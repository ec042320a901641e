//! Where a transaction is, without `-txindex` (which costs bitcoind about as much again per
//! mined block, and 20 ms at every start). The lab notes which blocks hold the transactions it
//! sends when it mines them; for anything else it looks through the blocks mined since the
//! premine, newest first, and remembers what it saw.

use std::collections::HashMap;

use bitcoin::{BlockHash, Txid};
use peglab_sim::NodeId;
use serde::Deserialize;
use serde_json::json;

use super::Lab;
use crate::error::LabError;

/// Transactions by the blocks that hold them, as far as the lab has seen.
#[derive(Debug, Default)]
pub(crate) struct Locator {
    /// Blocks known to hold each transaction (more than one after a reorg).
    blocks: HashMap<Txid, Vec<BlockHash>>,
    /// Blocks already looked through.
    seen: std::collections::HashSet<BlockHash>,
    /// The lab broadcast something since it last mined: the next block is worth reading.
    pub(crate) pending: bool,
}

#[derive(Deserialize)]
struct BlockTxids {
    tx: Vec<Txid>,
}

impl Locator {
    /// Notes the transactions of a block the lab read or made.
    pub(crate) fn note(&mut self, block: BlockHash, txids: impl IntoIterator<Item = Txid>) {
        if self.seen.insert(block) {
            for txid in txids {
                self.blocks.entry(txid).or_default().push(block);
            }
        }
    }

    fn candidates(&self, txid: &Txid) -> Vec<BlockHash> {
        self.blocks.get(txid).cloned().unwrap_or_default()
    }
}

impl Lab {
    /// Reads a block's transaction ids into the locator.
    pub(super) fn read_block(&self, node: NodeId, hash: BlockHash) -> Result<(), LabError> {
        if self.locator.borrow().seen.contains(&hash) {
            return Ok(());
        }
        let block: BlockTxids = self.call(node, "getblock", &[json!(hash), json!(1)])?;
        self.locator.borrow_mut().note(hash, block.tx);
        Ok(())
    }

    /// The block on `node`'s best chain that holds `txid`, with its height and confirmations.
    pub(super) fn locate(
        &self,
        node: NodeId,
        txid: Txid,
    ) -> Result<Option<(BlockHash, u32, u32)>, LabError> {
        for hash in self.locator.borrow().candidates(&txid) {
            if let Some(found) = self.on_best_chain(node, hash)? {
                return Ok(Some(found));
            }
        }
        // Look through the blocks mined since the premine, newest first.
        let tip = self.tip_height(node)?;
        let floor = peglab_sim::chain::PREMINE.min(tip);
        for height in (floor + 1..=tip).rev() {
            let Some(hash) =
                self.call_optional::<BlockHash>(node, "getblockhash", &[json!(height)])?
            else {
                break;
            };
            if self.locator.borrow().seen.contains(&hash) {
                continue;
            }
            self.read_block(node, hash)?;
            if self.locator.borrow().candidates(&txid).contains(&hash) {
                return self.on_best_chain(node, hash);
            }
        }
        Ok(None)
    }

    fn on_best_chain(
        &self,
        node: NodeId,
        hash: BlockHash,
    ) -> Result<Option<(BlockHash, u32, u32)>, LabError> {
        // A block another node mined may be unknown here (a partition).
        let Some(info) = self.call_optional::<super::chain_impl::HeaderInfo>(
            node,
            "getblockheader",
            &[json!(hash), json!(true)],
        )?
        else {
            return Ok(None);
        };
        Ok(u32::try_from(info.confirmations)
            .ok()
            .filter(|c| *c > 0)
            .map(|confirmations| (hash, info.height, confirmations)))
    }
}
