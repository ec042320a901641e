//! [`Chain`] over Bitcoin Core's RPC.

use bitcoin::{
    Amount, BlockHash, OutPoint, Script, ScriptBuf, Transaction, Txid, block::Header, consensus,
    merkle_tree::MerkleBlock,
};
use peglab_sim::{BlockRef, Chain, ExecOutcome, ExecRequest, Funding, NodeId, Rejection, TxStatus};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Lab;
use crate::{
    error::LabError,
    node::hex_arg,
    rpc::{RpcError, code},
};

/// Outputs of one funding transaction.
const FUNDING_OUTPUTS_PER_TX: usize = 500;

/// Blocks mined by [`Chain::advance_time`]: once six of the last eleven blocks carry the new
/// time, median-time-past has reached it.
const BLOCKS_TO_MOVE_MTP: u32 = 6;

#[derive(Deserialize)]
pub(super) struct HeaderInfo {
    pub(super) height: u32,
    pub(super) confirmations: i64,
    pub(super) time: u64,
}

#[derive(Deserialize)]
struct MempoolEntry {
    ancestorcount: u64,
}

impl Lab {
    /// Calls `method`, turning a refusal of the transaction or block into a [`Rejection`].
    /// `strip` is a prefix Core puts before the reason (`TestBlockValidity failed: `).
    fn call_or_reject<T: serde::de::DeserializeOwned>(
        &self,
        node: NodeId,
        method: &str,
        args: &[Value],
        strip: &str,
    ) -> Result<Result<T, Rejection>, LabError> {
        self.rpc(node)?;
        match self.raw_call(node, method, args) {
            Ok(value) => Ok(Ok(value)),
            Err(RpcError::Server {
                code: code::VERIFY_ERROR | code::VERIFY_REJECTED | code::VERIFY_ALREADY_IN_CHAIN,
                message,
            }) => Ok(Err(Rejection::parse(message.strip_prefix(strip).unwrap_or(&message)))),
            Err(source) => Err(self.failure(node, method, source)),
        }
    }

    /// A query that answers "not found" with `RPC_INVALID_ADDRESS_OR_KEY` or
    /// `RPC_INVALID_PARAMETER`: `Ok(None)` then.
    pub(super) fn call_optional<T: serde::de::DeserializeOwned>(
        &self,
        node: NodeId,
        method: &str,
        args: &[Value],
    ) -> Result<Option<T>, LabError> {
        self.rpc(node)?;
        match self.raw_call(node, method, args) {
            Ok(value) => Ok(Some(value)),
            Err(RpcError::Server {
                code: code::INVALID_ADDRESS_OR_KEY | code::INVALID_PARAMETER,
                ..
            }) => Ok(None),
            Err(source) => Err(self.failure(node, method, source)),
        }
    }

    fn decode_hex<T: consensus::Decodable>(
        node: NodeId,
        method: &str,
        hex: &str,
    ) -> Result<T, LabError> {
        consensus::encode::deserialize_hex(hex).map_err(|e| LabError::BadAnswer {
            node,
            method: method.to_owned(),
            detail: e.to_string(),
        })
    }

    /// The height of `node`'s best block.
    pub(super) fn tip_height(&self, node: NodeId) -> Result<u32, LabError> {
        self.call(node, "getblockcount", &[])
    }

    pub(super) fn header_info(
        &self,
        node: NodeId,
        hash: BlockHash,
    ) -> Result<HeaderInfo, LabError> {
        self.call(node, "getblockheader", &[json!(hash), json!(true)])
    }

    /// Submits `tx` to every other node connected to `node`, as P2P relay would (relay
    /// itself waits on timers that a frozen mock clock never fires).
    fn relay(&self, node: NodeId, tx: &Transaction) -> Result<(), LabError> {
        for peer in self.group_of(node).into_iter().filter(|&p| p != node) {
            // A peer that refuses it (already has it, conflict) keeps its own view.
            let _ = self.call_or_reject::<Txid>(peer, "sendrawtransaction", &send_args(tx), "")?;
        }
        Ok(())
    }

    /// Mempool transactions of `node` in an order valid for a block (parents first), less
    /// `exclude` and everything that spends it.
    fn mempool_without(&self, node: NodeId, exclude: Option<Txid>) -> Result<Vec<Txid>, LabError> {
        let mut excluded = Vec::new();
        if let Some(txid) = exclude {
            excluded.push(txid);
            let descendants: Option<Vec<Txid>> =
                self.call_optional(node, "getmempooldescendants", &[json!(txid)])?;
            excluded.extend(descendants.unwrap_or_default());
        }
        let pool: std::collections::BTreeMap<Txid, MempoolEntry> =
            self.call(node, "getrawmempool", &[json!(true)])?;
        let mut txs: Vec<(u64, Txid)> = pool
            .into_iter()
            .filter(|(txid, _)| !excluded.contains(txid))
            .map(|(txid, entry)| (entry.ancestorcount, txid))
            .collect();
        txs.sort();
        Ok(txs.into_iter().map(|(_, txid)| txid).collect())
    }
}

/// `sendrawtransaction`'s arguments. The RPC's own guards are for wallets, not for a lab:
/// `maxfeerate` 0 lets it pay any fee, and `maxburnamount` 21 million BTC lets it burn into an
/// OP_RETURN (Babylon's slashing does). Mempool policy still applies in full.
fn send_args(tx: &Transaction) -> [Value; 3] {
    [hex_arg(tx), json!(0), json!(21_000_000)]
}

impl Chain for Lab {
    type Error = LabError;

    fn node_count(&self) -> usize {
        self.nodes.len()
    }

    fn height(&self, node: NodeId) -> Result<u32, LabError> {
        self.tip_height(node)
    }

    fn tip(&self, node: NodeId) -> Result<BlockRef, LabError> {
        let hash: BlockHash = self.call(node, "getbestblockhash", &[])?;
        let info = self.header_info(node, hash)?;
        Ok(BlockRef { height: info.height, hash })
    }

    fn mine(
        &mut self,
        node: NodeId,
        n: u32,
        to: Option<&Script>,
    ) -> Result<Vec<BlockHash>, LabError> {
        match to {
            Some(script) => self.generate(node, n, script),
            None => self.mine_to_funder(node, n),
        }
    }

    fn mine_block_with(
        &mut self,
        node: NodeId,
        txs: &[Transaction],
    ) -> Result<Result<BlockHash, Rejection>, LabError> {
        let desc = format!("raw({})", self.funder.script().to_hex_string());
        let raw: Vec<Value> = txs.iter().map(hex_arg).collect();
        let mined: Result<Value, Rejection> = self.call_or_reject(
            node,
            "generateblock",
            &[json!(desc), json!(raw)],
            "TestBlockValidity failed: ",
        )?;
        match mined {
            Ok(answer) => {
                let hash = serde_json::from_value(answer["hash"].clone()).map_err(|e| {
                    LabError::BadAnswer {
                        node,
                        method: "generateblock".into(),
                        detail: e.to_string(),
                    }
                })?;
                self.locator.borrow_mut().note(hash, txs.iter().map(Transaction::compute_txid));
                self.sync_group(node)?;
                Ok(Ok(hash))
            }
            Err(rejection) => Ok(Err(rejection)),
        }
    }

    fn fund(&mut self, node: NodeId, script: &Script, amount: Amount) -> Result<Funding, LabError> {
        let count = self.nodes.len();
        let rpc = self.nodes.get(node.0).ok_or(LabError::NoSuchNode { node, count })?.rpc();
        let tx = self.funder.pay(rpc, node, script.to_owned(), amount)?;
        let txid = match self.broadcast(node, &tx)? {
            Ok(txid) => txid,
            Err(rejection) => {
                return Err(LabError::BadAnswer {
                    node,
                    method: "sendrawtransaction".into(),
                    detail: format!(
                        "the node refused the lab's own funding transaction: {rejection}"
                    ),
                });
            }
        };
        self.funder.mark_spent(&tx);
        Ok(Funding { outpoint: OutPoint::new(txid, 0), txout: tx.output[0].clone(), tx })
    }

    fn fund_many(
        &mut self,
        node: NodeId,
        outputs: &[(ScriptBuf, Amount)],
    ) -> Result<Transaction, LabError> {
        let count = self.nodes.len();
        let mut last = None;
        // A standard transaction stays under 100,000 vbytes: a few hundred outputs each.
        for chunk in outputs.chunks(FUNDING_OUTPUTS_PER_TX) {
            let rpc = self.nodes.get(node.0).ok_or(LabError::NoSuchNode { node, count })?.rpc();
            let tx = self.funder.pay_many(rpc, node, chunk)?;
            if let Err(rejection) = self.broadcast(node, &tx)? {
                return Err(LabError::BadAnswer {
                    node,
                    method: "sendrawtransaction".into(),
                    detail: format!(
                        "the node refused the lab's own funding transaction: {rejection}"
                    ),
                });
            }
            self.funder.mark_spent(&tx);
            last = Some(tx);
        }
        last.ok_or_else(|| LabError::InvalidArgument("nothing to fund".into()))
    }

    fn broadcast(
        &mut self,
        node: NodeId,
        tx: &Transaction,
    ) -> Result<Result<Txid, Rejection>, LabError> {
        let sent = self.call_or_reject(node, "sendrawtransaction", &send_args(tx), "")?;
        if sent.is_ok() {
            self.locator.borrow_mut().pending = true;
            self.relay(node, tx)?;
        }
        Ok(sent)
    }

    fn test_accept_many(
        &self,
        node: NodeId,
        txs: &[Transaction],
    ) -> Result<Vec<Result<(), Rejection>>, LabError> {
        let mut verdicts: Vec<Option<Result<(), Rejection>>> = vec![None; txs.len()];
        let mut pending: Vec<usize> = (0..txs.len()).collect();
        while !pending.is_empty() {
            // Core validates a package in order and stops at the first failure: what came
            // before and after it is left unjudged, and asked again.
            let batch: Vec<usize> = pending.iter().copied().take(PACKAGE_LIMIT).collect();
            let hexes: Vec<Value> = batch.iter().map(|&i| hex_arg(&txs[i])).collect();
            let answer: Vec<Value> =
                self.call(node, "testmempoolaccept", &[json!(hexes), json!(0)])?;
            let mut judged = 0;
            for (&i, verdict) in batch.iter().zip(&answer) {
                if let Some(v) = judge(verdict) {
                    verdicts[i] = Some(v);
                    judged += 1;
                }
            }
            if judged == 0 {
                // A package Core refuses as a whole: ask about the first on its own.
                let first = batch[0];
                let answer: Vec<Value> = self.call(
                    node,
                    "testmempoolaccept",
                    &[json!([hex_arg(&txs[first])]), json!(0)],
                )?;
                let verdict =
                    answer.first().and_then(judge).ok_or_else(|| LabError::BadAnswer {
                        node,
                        method: "testmempoolaccept".into(),
                        detail: "no verdict".into(),
                    })?;
                verdicts[first] = Some(verdict);
            }
            pending.retain(|&i| verdicts[i].is_none());
        }
        Ok(verdicts.into_iter().map(|v| v.unwrap_or(Ok(()))).collect())
    }

    fn tx_status(&self, node: NodeId, txid: Txid) -> Result<TxStatus, LabError> {
        if let Some((hash, height, confirmations)) = self.locate(node, txid)? {
            return Ok(TxStatus::Confirmed { block: BlockRef { height, hash }, confirmations });
        }
        // Without -txindex, only the mempool answers by txid alone.
        let in_mempool =
            self.call_optional::<Value>(node, "getmempoolentry", &[json!(txid)])?.is_some();
        Ok(if in_mempool { TxStatus::InMempool } else { TxStatus::Unknown })
    }

    fn transaction(&self, node: NodeId, txid: Txid) -> Result<Option<Transaction>, LabError> {
        let args = match self.locate(node, txid)? {
            Some((hash, _, _)) => vec![json!(txid), json!(0), json!(hash)],
            None => vec![json!(txid), json!(0)],
        };
        let hex: Option<String> = self.call_optional(node, "getrawtransaction", &args)?;
        hex.map(|hex| Self::decode_hex(node, "getrawtransaction", &hex)).transpose()
    }

    fn inclusion_proof(&self, node: NodeId, txid: Txid) -> Result<Option<MerkleBlock>, LabError> {
        let TxStatus::Confirmed { block, .. } = self.tx_status(node, txid)? else {
            return Ok(None);
        };
        let hex: String = self.call(node, "gettxoutproof", &[json!([txid]), json!(block.hash)])?;
        Self::decode_hex(node, "gettxoutproof", &hex).map(Some)
    }

    fn block(&self, node: NodeId, hash: BlockHash) -> Result<bitcoin::Block, LabError> {
        let hex: String = self.call(node, "getblock", &[json!(hash), json!(0)])?;
        Self::decode_hex(node, "getblock", &hex)
    }

    fn header(&self, node: NodeId, hash: BlockHash) -> Result<Header, LabError> {
        let hex: String = self.call(node, "getblockheader", &[json!(hash), json!(false)])?;
        Self::decode_hex(node, "getblockheader", &hex)
    }

    fn block_at(&self, node: NodeId, height: u32) -> Result<Option<BlockHash>, LabError> {
        self.call_optional(node, "getblockhash", &[json!(height)])
    }

    fn median_time_past(&self, node: NodeId) -> Result<u32, LabError> {
        let info: Value = self.call(node, "getblockchaininfo", &[])?;
        info["mediantime"].as_u64().and_then(|t| u32::try_from(t).ok()).ok_or_else(|| {
            LabError::BadAnswer {
                node,
                method: "getblockchaininfo".into(),
                detail: "no mediantime".into(),
            }
        })
    }

    fn advance_time(&mut self, node: NodeId, seconds: u32) -> Result<Vec<BlockHash>, LabError> {
        self.node(node)?;
        let tip_time = self.header_info(node, self.tip(node)?.hash)?.time;
        // Block times never go back, so the clock starts from the tip's time if that is later.
        self.set_clock(self.clock.max(tip_time) + u64::from(seconds))?;
        self.mine_to_funder(node, BLOCKS_TO_MOVE_MTP)
    }

    fn invalidate(&mut self, node: NodeId, hash: BlockHash) -> Result<(), LabError> {
        self.call::<Value>(node, "invalidateblock", &[json!(hash)]).map(drop)
    }

    fn reconsider(&mut self, node: NodeId, hash: BlockHash) -> Result<(), LabError> {
        self.call::<Value>(node, "reconsiderblock", &[json!(hash)]).map(drop)
    }

    fn reorg(
        &mut self,
        node: NodeId,
        depth: u32,
        exclude: Option<Txid>,
    ) -> Result<Vec<BlockHash>, LabError> {
        let tip = self.tip(node)?;
        if depth == 0 || depth > tip.height {
            return Err(LabError::InvalidArgument(format!(
                "cannot reorg {depth} blocks of a chain {} blocks high",
                tip.height
            )));
        }
        let first_replaced = self.block_at(node, tip.height - depth + 1)?.ok_or_else(|| {
            LabError::InvalidArgument(format!("no block at height {}", tip.height - depth + 1))
        })?;
        // A later clock makes the new blocks differ from the replaced ones even when they
        // carry the same transactions.
        let tip_time = self.header_info(node, tip.hash)?.time;
        self.set_clock(self.clock.max(tip_time) + 1)?;
        self.invalidate(node, first_replaced)?;
        let desc = format!("raw({})", self.funder.script().to_hex_string());
        let mut branch = Vec::with_capacity(depth as usize + 1);
        for _ in 0..=depth {
            let txs = self.mempool_without(node, exclude)?;
            let mined: Value = self.call(node, "generateblock", &[json!(desc), json!(txs)])?;
            let hash = serde_json::from_value(mined["hash"].clone()).map_err(|e| {
                LabError::BadAnswer { node, method: "generateblock".into(), detail: e.to_string() }
            })?;
            self.locator.borrow_mut().note(hash, txs);
            branch.push(hash);
        }
        // The old branch is valid again, just shorter: the node stays on the new one.
        self.reconsider(node, first_replaced)?;
        self.sync_group(node)?;
        Ok(branch)
    }

    fn partition(&mut self, groups: &[Vec<NodeId>]) -> Result<(), LabError> {
        self.regroup(groups)
    }

    fn heal(&mut self) -> Result<(), LabError> {
        self.connect_all()
    }

    fn submit_package(
        &mut self,
        node: NodeId,
        txs: &[Transaction],
    ) -> Result<Result<(), Rejection>, LabError> {
        let raw: Vec<Value> = txs.iter().map(hex_arg).collect();
        let answer: Result<Value, Rejection> =
            self.call_or_reject(node, "submitpackage", &[json!(raw)], "")?;
        let answer = match answer {
            Ok(answer) => answer,
            Err(rejection) => return Ok(Err(rejection)),
        };
        if answer["package_msg"] == "success" {
            self.locator.borrow_mut().pending = true;
            for tx in txs {
                self.relay(node, tx)?;
            }
            return Ok(Ok(()));
        }
        // The transaction that broke a rule: an error other than the fee or missing inputs a
        // failed package leaves on the others; else the first error, else the package's.
        let results = &answer["tx-results"];
        let errors: Vec<String> = txs
            .iter()
            .filter_map(|tx| {
                results[tx.compute_wtxid().to_string()]["error"].as_str().map(str::to_owned)
            })
            .collect();
        let cascade = |e: &String| {
            e.starts_with("min relay fee not met")
                || e.contains("missing-inputs")
                || e.contains("missingorspent")
        };
        let package = answer["package_msg"].as_str().unwrap_or_default().to_owned();
        let message = errors
            .iter()
            .find(|e| !cascade(e))
            .cloned()
            .or_else(|| {
                (package != "transaction failed" && !package.is_empty()).then(|| package.clone())
            })
            .or_else(|| errors.first().cloned())
            .unwrap_or(package);
        Ok(Err(Rejection::parse(&message)))
    }

    fn scan_balance(&self, node: NodeId, descriptor: &str) -> Result<Amount, LabError> {
        let answer: Value =
            self.call(node, "scantxoutset", &[json!("start"), json!([descriptor])])?;
        let btc = answer["total_amount"].as_f64().unwrap_or_default();
        Amount::from_btc(btc).map_err(|e| LabError::BadAnswer {
            node,
            method: "scantxoutset".into(),
            detail: format!("total_amount {btc}: {e}"),
        })
    }

    fn unspent(&self, node: NodeId, outpoint: OutPoint) -> Result<Option<Amount>, LabError> {
        let answer: Value = self.call(
            node,
            "gettxout",
            &[json!(outpoint.txid), json!(outpoint.vout), json!(true)],
        )?;
        if answer.is_null() {
            return Ok(None);
        }
        let btc = answer["value"].as_f64().unwrap_or_default();
        Ok(Amount::from_btc(btc).ok())
    }

    fn exec(&mut self, request: &ExecRequest) -> Result<ExecOutcome, LabError> {
        self.node(request.node)?;
        let env = super::exec::lab_env(self, request);
        Ok(super::exec::run(request, env))
    }
}

/// Most transactions Core takes in one `testmempoolaccept` call.
const PACKAGE_LIMIT: usize = 25;

/// One `testmempoolaccept` result: accepted, refused (Core's message), or not judged.
fn judge(verdict: &Value) -> Option<Result<(), Rejection>> {
    match verdict["allowed"].as_bool()? {
        true => Some(Ok(())),
        false => {
            let reason = verdict["reject-reason"].as_str().unwrap_or_default();
            let message = match verdict["reject-details"].as_str() {
                Some(details) if !details.is_empty() => details.to_owned(),
                _ => reason.to_owned(),
            };
            Some(Err(Rejection::parse(&message)))
        }
    }
}
