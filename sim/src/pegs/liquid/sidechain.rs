//! The modelled sidechain (Liquid): L-BTC balances, claimed peg-ins, and the peg-in claim
//! rules of Elements (`IsValidPeginWitness`, `claimpegin`).

use std::collections::BTreeMap;

use bitcoin::{
    Amount, BlockHash, MerkleBlock, OutPoint, ScriptBuf, Transaction, Txid, block::Header,
};

/// Extra blocks Elements' wallet waits beyond `pegin_min_depth` ("additional block lee-way to
/// avoid bitcoin block races").
pub(crate) const CLAIM_LEEWAY: u32 = 2;

/// A peg-in as the user made it.
#[derive(Debug, Clone)]
pub(crate) struct PegIn {
    pub(crate) name: String,
    pub(crate) from: String,
    pub(crate) txid: Txid,
    /// The claim script the address was tweaked with (the payer's sidechain P2WPKH).
    pub(crate) claim_script: ScriptBuf,
}

/// The sidechain's books.
#[derive(Debug, Default)]
pub(crate) struct Sidechain {
    pub(crate) balances: BTreeMap<String, Amount>,
    /// Claimed peg-ins: name, Bitcoin outpoint, value.
    pub(crate) claimed: Vec<(String, OutPoint, Amount)>,
    /// Burned on the sidechain but not yet paid out on Bitcoin.
    pub(crate) pending_pegouts: Amount,
    /// Fees the federation paid from its coins (its operating cost, not a shortfall).
    pub(crate) fees_paid: Amount,
}

impl Sidechain {
    /// What the sidechain owes: L-BTC in circulation plus burns not yet paid out.
    pub(crate) fn liabilities(&self) -> Amount {
        self.balances.values().copied().sum::<Amount>() + self.pending_pegouts
    }

    pub(crate) fn balance(&self, who: &str) -> Amount {
        self.balances.get(who).copied().unwrap_or(Amount::ZERO)
    }
}

/// Why a claim is refused: a code for expectations and the reason in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClaimRefused {
    pub(crate) code: &'static str,
    pub(crate) why: String,
}

fn refuse(code: &'static str, why: String) -> ClaimRefused {
    ClaimRefused { code, why }
}

/// What the claim checks see of the Bitcoin chain.
#[derive(Debug)]
pub(crate) struct Evidence<'a> {
    pub(crate) tx: &'a Transaction,
    pub(crate) proof: &'a MerkleBlock,
    /// The hash of the block at the proof's height on the node's best chain, if any.
    pub(crate) best_at_height: Option<BlockHash>,
    /// Confirmations of the proof's block on the best chain.
    pub(crate) confirmations: u32,
}

/// Elements' peg-in checks, in its order: the proof names the transaction under a header
/// with valid proof of work; the header is on the best chain deep enough; an output pays the
/// tweaked script. Returns the output claimed.
pub(crate) fn check_claim(
    evidence: &Evidence<'_>,
    expected_script: &ScriptBuf,
    required_depth: u32,
) -> Result<(u32, Amount), ClaimRefused> {
    let txid = evidence.tx.compute_txid();
    let header: &Header = &evidence.proof.header;
    let (mut matches, mut indexes) = (Vec::new(), Vec::new());
    let root = evidence
        .proof
        .txn
        .extract_matches(&mut matches, &mut indexes)
        .map_err(|e| refuse("bad-proof", format!("the merkle proof does not parse: {e}")))?;
    if root != header.merkle_root || matches != [txid] {
        return Err(refuse(
            "bad-proof",
            "the merkle proof does not tie the transaction to the header".into(),
        ));
    }
    header
        .validate_pow(header.target())
        .map_err(|e| refuse("bad-proof", format!("the header's proof of work fails: {e}")))?;
    if evidence.best_at_height != Some(header.block_hash()) {
        return Err(refuse(
            "not-in-best-chain",
            format!("block {} is not on the best chain", header.block_hash()),
        ));
    }
    if evidence.confirmations < required_depth {
        return Err(refuse(
            "insufficient-depth",
            format!("{} confirmation(s); a claim needs {required_depth}", evidence.confirmations),
        ));
    }
    evidence
        .tx
        .output
        .iter()
        .enumerate()
        .find(|(_, o)| &o.script_pubkey == expected_script)
        .map(|(vout, o)| (vout as u32, o.value))
        .ok_or_else(|| {
            refuse(
                "wrong-script",
                "no output pays the peg-in address tweaked for this claim script".into(),
            )
        })
}
