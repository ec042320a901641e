//! A header relay as a bridge contract keeps one: headers a relayer submits, a best chain
//! chosen by the relay's rule, and inclusion proofs checked against it.
//!
//! - `Longest` (BTC-Relay / Interlay): the main chain is the highest one.
//! - `Heaviest` (BOB's FullRelay): the main chain has the most cumulative work.
//! - `Light` (tBTC's LightRelay): no fork tracking; a header is accepted only when it extends
//!   the current tip, so after a reorg the relay stays on the dead branch.

use std::collections::HashMap;

use bitcoin::{BlockHash, MerkleBlock, Target, Txid, block::Header, pow::Work};
use serde::Serialize;

/// How a relay picks its main chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForkChoice {
    /// The highest chain (Interlay's BTC-Relay).
    Longest,
    /// The chain with most work (BOB's FullRelay).
    Heaviest,
    /// Only headers that extend the tip (tBTC's LightRelay).
    Light,
}

crate::family::codes! {
    /// Why a relay refuses a header or a proof.
    pub(crate) enum Fault {
        UnknownParent = "unknown-parent": "the header builds on one the relay does not hold",
        NotExtendingTip = "not-extending-tip": "a light relay accepts only headers that extend its tip",
        InsufficientWork = "insufficient-work": "the header's hash does not meet its target",
        WrongTarget = "wrong-target": "the header changes nBits without a retarget",
        UnknownHeader = "unknown-header": "the proof's header is not in the relay",
        NotInMainChain = "not-in-main-chain": "the proof's header is not on the relay's main chain",
        BadProof = "bad-proof": "the merkle proof does not tie the transaction to the header",
        BadCoinbaseProof = "bad-coinbase-proof": "the coinbase proof is not the block's coinbase at the same depth",
        InsufficientConfirmations = "insufficient-confirmations": "the proof's header has fewer than k confirmations on the relay",
    }
}

/// Why the relay refused a header or a proof: a code for expectations and words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// One of [`Fault`]'s codes.
    pub code: &'static str,
    /// The reason in words.
    pub why: String,
}

fn refuse(fault: Fault, why: String) -> Refusal {
    Refusal { code: fault.code(), why }
}

#[derive(Debug, Clone)]
struct Entry {
    header: Header,
    height: u32,
    chainwork: Work,
}

/// A relay's headers and main chain.
#[derive(Debug, Clone)]
pub struct Relay {
    rule: ForkChoice,
    entries: HashMap<BlockHash, Entry>,
    tip: BlockHash,
}

impl Relay {
    /// A relay that trusts `checkpoint` (at `height`) as its starting point.
    pub fn new(rule: ForkChoice, height: u32, checkpoint: Header) -> Self {
        let hash = checkpoint.block_hash();
        let entry = Entry { header: checkpoint, height, chainwork: checkpoint.work() };
        Self { rule, entries: HashMap::from([(hash, entry)]), tip: hash }
    }

    /// The relay's best header and its height.
    pub fn tip(&self) -> (BlockHash, u32) {
        (self.tip, self.entries[&self.tip].height)
    }

    /// Whether the relay holds this header.
    pub fn knows(&self, hash: &BlockHash) -> bool {
        self.entries.contains_key(hash)
    }

    /// Accepts a header that links to one it holds (for `Light`: to its tip), states its
    /// parent's target (regtest has no retargets) and meets it. Returns whether the main chain
    /// moved.
    pub fn submit(&mut self, header: Header) -> Result<bool, Refusal> {
        let hash = header.block_hash();
        if self.entries.contains_key(&hash) {
            return Ok(false);
        }
        let Some(parent) = self.entries.get(&header.prev_blockhash).cloned() else {
            return Err(refuse(
                Fault::UnknownParent,
                format!("{hash} builds on a header the relay does not hold"),
            ));
        };
        if self.rule == ForkChoice::Light && header.prev_blockhash != self.tip {
            return Err(refuse(
                Fault::NotExtendingTip,
                format!(
                    "{hash} does not extend the relay's tip {}; a light relay tracks no forks",
                    self.tip
                ),
            ));
        }
        if header.bits != parent.header.bits {
            return Err(refuse(
                Fault::WrongTarget,
                format!("{hash} changes nBits without a retarget"),
            ));
        }
        if header.validate_pow(Target::from_compact(header.bits)).is_err() {
            return Err(refuse(
                Fault::InsufficientWork,
                format!("{hash} does not meet its target"),
            ));
        }
        let entry = Entry {
            header,
            height: parent.height + 1,
            chainwork: parent.chainwork + header.work(),
        };
        let best = &self.entries[&self.tip];
        let moves = match self.rule {
            ForkChoice::Longest => entry.height > best.height,
            ForkChoice::Heaviest => entry.chainwork > best.chainwork,
            ForkChoice::Light => true,
        };
        self.entries.insert(hash, entry);
        if moves {
            self.tip = hash;
        }
        Ok(moves)
    }

    /// Confirmations of a header on the relay's main chain (1 for the tip), `None` when it is
    /// not on it.
    pub fn confirmations(&self, hash: &BlockHash) -> Option<u32> {
        let target = self.entries.get(hash)?;
        let mut cursor = self.tip;
        loop {
            let entry = &self.entries[&cursor];
            if entry.height == target.height {
                return (cursor == *hash)
                    .then(|| self.entries[&self.tip].height - target.height + 1);
            }
            if entry.height < target.height
                || !self.entries.contains_key(&entry.header.prev_blockhash)
            {
                return None;
            }
            cursor = entry.header.prev_blockhash;
        }
    }

    /// Checks that `proof` includes `txid` under a header on the main chain with at least `k`
    /// confirmations. With `coinbase`, also that it proves the block's coinbase (index 0) under
    /// the same header with a branch of the same length, as tBTC and BOB require. Returns the
    /// confirmations.
    pub fn verify_inclusion(
        &self,
        proof: &MerkleBlock,
        txid: Txid,
        coinbase: Option<&MerkleBlock>,
        k: u32,
    ) -> Result<u32, Refusal> {
        let hash = proof.header.block_hash();
        if !self.knows(&hash) {
            return Err(refuse(Fault::UnknownHeader, format!("the relay holds no header {hash}")));
        }
        let Some(confirmations) = self.confirmations(&hash) else {
            return Err(refuse(
                Fault::NotInMainChain,
                format!("header {hash} is not on the relay's main chain"),
            ));
        };
        let (mut matches, mut indexes) = (Vec::new(), Vec::new());
        let root = proof.txn.extract_matches(&mut matches, &mut indexes).ok();
        if root != Some(proof.header.merkle_root) || matches != [txid] {
            return Err(refuse(
                Fault::BadProof,
                format!("the merkle proof does not tie {txid} to header {hash}"),
            ));
        }
        if let Some(cb) = coinbase {
            let (mut cb_matches, mut cb_indexes) = (Vec::new(), Vec::new());
            let cb_root = cb.txn.extract_matches(&mut cb_matches, &mut cb_indexes).ok();
            let same_block = cb.header == proof.header && cb_root == Some(proof.header.merkle_root);
            let same_length = cb.txn.num_transactions() == proof.txn.num_transactions();
            if !same_block || cb_indexes != [0] || !same_length {
                return Err(refuse(
                    Fault::BadCoinbaseProof,
                    "the coinbase proof is not the block's coinbase at the same depth".into(),
                ));
            }
        }
        if confirmations < k {
            return Err(refuse(
                Fault::InsufficientConfirmations,
                format!(
                    "header {hash} has {confirmations} confirmation(s) on the relay; it needs {k}"
                ),
            ));
        }
        Ok(confirmations)
    }
}

/// The probability that an attacker with hashrate share `q` catches up from `z` blocks behind
/// (Nakamoto, "Bitcoin: A Peer-to-Peer Electronic Cash System", section 11).
pub fn attacker_success(q: f64, z: u32) -> f64 {
    let p = 1.0 - q;
    if q >= p {
        return 1.0;
    }
    let lambda = f64::from(z) * q / p;
    let mut sum = 1.0;
    let mut poisson = (-lambda).exp();
    for k in 0..=z {
        if k > 0 {
            poisson *= lambda / f64::from(k);
        }
        sum -= poisson * (1.0 - (q / p).powi((z - k) as i32));
    }
    sum.max(0.0)
}

#[cfg(test)]
mod tests {
    use bitcoin::{CompactTarget, TxMerkleNode, block::Version, hashes::Hash};

    use super::*;

    #[test]
    fn attacker_success_matches_the_whitepaper() {
        // Values printed in the whitepaper, section 11.
        let cases = [
            (0.1, 0, 1.0),
            (0.1, 5, 0.0009137),
            (0.1, 10, 0.0000012),
            (0.3, 5, 0.1773523),
            (0.3, 10, 0.0416605),
        ];
        for (q, z, expected) in cases {
            let p = attacker_success(q, z);
            assert!((p - expected).abs() < 5e-8, "q={q} z={z}: {p} vs {expected}");
        }
        assert_eq!(attacker_success(0.5, 100), 1.0);
    }

    /// A regtest-difficulty header on `prev`, mined by trying nonces.
    fn mine(prev: &Header, salt: u8) -> Header {
        let mut header = Header {
            version: Version::TWO,
            prev_blockhash: prev.block_hash(),
            merkle_root: TxMerkleNode::from_byte_array([salt; 32]),
            time: prev.time + 600,
            bits: prev.bits,
            nonce: 0,
        };
        while header.validate_pow(header.target()).is_err() {
            header.nonce += 1;
        }
        header
    }

    /// A header at regtest difficulty (nBits 0x207fffff, as regtest's genesis).
    fn genesis() -> Header {
        mine(&bitcoin::constants::genesis_block(bitcoin::Network::Regtest).header, 0)
    }

    #[test]
    fn fork_choice_rules_differ_on_a_reorg() {
        let base = genesis();
        let a1 = mine(&base, 1);
        let b1 = mine(&base, 2);
        let b2 = mine(&b1, 3);
        for (rule, follows) in
            [(ForkChoice::Longest, true), (ForkChoice::Heaviest, true), (ForkChoice::Light, false)]
        {
            let mut relay = Relay::new(rule, 100, base);
            assert!(relay.submit(a1).unwrap());
            let b1_result = relay.submit(b1);
            if follows {
                assert_eq!(b1_result, Ok(false), "a tie does not move the tip");
                assert!(relay.submit(b2).unwrap(), "the longer branch wins");
                assert_eq!(relay.tip(), (b2.block_hash(), 102));
                assert_eq!(relay.confirmations(&a1.block_hash()), None);
                assert_eq!(relay.confirmations(&b1.block_hash()), Some(2));
            } else {
                assert_eq!(b1_result.unwrap_err().code, "not-extending-tip");
                assert_eq!(relay.tip(), (a1.block_hash(), 101), "stuck on the dead branch");
            }
        }
    }

    /// A header on `prev` committing to `txids`, with a proof of `txids[index]`.
    fn block_with(prev: &Header, txids: &[Txid], index: usize, salt: u8) -> (Header, MerkleBlock) {
        let root = bitcoin::merkle_tree::calculate_root(txids.iter().map(|t| t.to_raw_hash()))
            .map(TxMerkleNode::from_raw_hash)
            .unwrap();
        let mut header = mine(prev, salt);
        header.merkle_root = root;
        header.nonce = 0;
        while header.validate_pow(header.target()).is_err() {
            header.nonce += 1;
        }
        let wanted = txids[index];
        (header, MerkleBlock::from_header_txids_with_predicate(&header, txids, |t| *t == wanted))
    }

    #[test]
    fn proofs_need_the_main_chain_k_confirmations_and_a_true_coinbase_proof() {
        let base = genesis();
        let txids: Vec<Txid> = (1..=3u8).map(|i| Txid::from_byte_array([i; 32])).collect();
        let (a1, proof) = block_with(&base, &txids, 2, 1);
        let (_, coinbase) = block_with(&base, &txids, 0, 1);
        let (_, not_coinbase) = block_with(&base, &txids, 1, 1);
        let mut relay = Relay::new(ForkChoice::Longest, 0, base);
        relay.submit(a1).unwrap();
        assert_eq!(relay.verify_inclusion(&proof, txids[2], None, 1), Ok(1));
        assert_eq!(
            relay.verify_inclusion(&proof, txids[2], None, 2).unwrap_err().code,
            "insufficient-confirmations"
        );
        assert_eq!(
            relay.verify_inclusion(&proof, txids[1], None, 1).unwrap_err().code,
            "bad-proof"
        );
        assert_eq!(relay.verify_inclusion(&proof, txids[2], Some(&coinbase), 1), Ok(1));
        let err = relay.verify_inclusion(&proof, txids[2], Some(&not_coinbase), 1).unwrap_err();
        assert_eq!(err.code, "bad-coinbase-proof");

        // A longer branch without a1: the proof is now against a header off the main chain.
        let b1 = mine(&base, 9);
        relay.submit(b1).unwrap();
        relay.submit(mine(&b1, 10)).unwrap();
        assert_eq!(
            relay.verify_inclusion(&proof, txids[2], None, 1).unwrap_err().code,
            "not-in-main-chain"
        );
        let stranger =
            MerkleBlock::from_header_txids_with_predicate(&mine(&a1, 11), &txids, |_| true);
        assert_eq!(
            relay.verify_inclusion(&stranger, txids[0], None, 1).unwrap_err().code,
            "unknown-header"
        );
    }

    #[test]
    fn headers_without_work_or_parent_are_refused() {
        let base = genesis();
        let mut relay = Relay::new(ForkChoice::Heaviest, 0, base);
        let mut lazy = mine(&base, 1);
        // Find a nonce whose hash misses the target.
        while lazy.validate_pow(lazy.target()).is_ok() {
            lazy.nonce += 1;
        }
        assert_eq!(relay.submit(lazy).unwrap_err().code, "insufficient-work");
        let orphan = mine(&mine(&base, 2), 3);
        assert_eq!(relay.submit(orphan).unwrap_err().code, "unknown-parent");
        let mut easier = mine(&base, 4);
        easier.bits = CompactTarget::from_consensus(0x2100ffff);
        assert_eq!(relay.submit(easier).unwrap_err().code, "wrong-target");
    }
}
