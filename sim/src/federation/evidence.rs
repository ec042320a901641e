//! The SPV evidence a federated peg's other side judges a peg-in on (Elements'
//! `IsValidPeginWitness`, rskj's `registerBtcTransaction`): a merkle proof from the node, tying
//! the transaction to a header with valid proof of work, on the best chain, deep enough.
//! The checks are the same for both; each family names the failures as its upstream does.

use bitcoin::{Transaction, Txid};

use crate::{
    TxStatus,
    run::{Cx, RunError},
};

/// A proven transaction.
#[derive(Debug, Clone)]
pub(crate) struct Evidence {
    pub(crate) tx: Transaction,
    pub(crate) confirmations: u32,
}

/// Why the evidence does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EvidenceFault {
    /// The transaction is in no block of the node's best chain: no proof can be had.
    NotConfirmed,
    /// The merkle proof does not tie the transaction to the header.
    BadProof(String),
    /// The header's proof of work fails.
    BadPow(String),
}

impl std::fmt::Display for EvidenceFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotConfirmed => f.write_str("the transaction is not confirmed on the best chain"),
            Self::BadProof(why) => write!(f, "the merkle proof fails: {why}"),
            Self::BadPow(why) => write!(f, "the header's proof of work fails: {why}"),
        }
    }
}

/// Gathers and checks the evidence for `txid` on the step's node; the family checks the
/// depth, in its own order.
pub(crate) fn gather(
    cx: &mut Cx<'_>,
    txid: Txid,
) -> Result<Result<Evidence, EvidenceFault>, RunError> {
    let node = cx.node;
    let Some(proof) = cx.chain.inclusion_proof(node, txid)? else {
        return Ok(Err(EvidenceFault::NotConfirmed));
    };
    let TxStatus::Confirmed { block, confirmations } = cx.chain.tx_status(node, txid)? else {
        return Ok(Err(EvidenceFault::NotConfirmed));
    };
    let Some(tx) = cx.chain.transaction(node, txid)? else {
        return Ok(Err(EvidenceFault::NotConfirmed));
    };
    let header = proof.header;
    let (mut matches, mut indexes) = (Vec::new(), Vec::new());
    match proof.txn.extract_matches(&mut matches, &mut indexes) {
        Ok(root) if root == header.merkle_root && matches == [txid] => {}
        Ok(_) => {
            let why = "it does not tie the transaction to the header".to_owned();
            return Ok(Err(EvidenceFault::BadProof(why)));
        }
        Err(e) => return Ok(Err(EvidenceFault::BadProof(e.to_string()))),
    }
    if let Err(e) = header.validate_pow(header.target()) {
        return Ok(Err(EvidenceFault::BadPow(e.to_string())));
    }
    // Confirmations come from the node's best chain: a block off it has none.
    if cx.chain.block_at(node, block.height)? != Some(header.block_hash()) {
        return Ok(Err(EvidenceFault::NotConfirmed));
    }
    Ok(Ok(Evidence { tx, confirmations }))
}
