//! A header relay as a bridge contract keeps one, with the rule of the system it is named
//! after:
//!
//! - `btc-relay` (Interlay's BTC-Relay, interlay/interbtc @ `6105b102`,
//!   `crates/btc-relay/src/lib.rs`): headers are stored in chains; a fork becomes the main chain
//!   only when it is `k` blocks higher (`reorganize_chains`, line 1184), and while the next best
//!   fork is within `k` of the main chain every inclusion proof is refused
//!   (`ensure_no_ongoing_fork`, lines 1315-1330, `OngoingFork`).
//! - `bob-full-relay` (BOB's FullRelay, bob-collective/bob @ `103146bd`,
//!   `contracts/src/relay/FullRelay.sol`): `addHeaders` stores headers but never moves the best
//!   digest; only `markNewHeaviest` (lines 340-372), called by anyone, moves it to a heavier
//!   header: the relay's liveness depends on a keeper.
//! - `tbtc-light-relay` (tBTC's LightRelay, keep-network/tbtc-v2 @ `4a253098`,
//!   `solidity/contracts/relay/LightRelay.sol:223-330`): no headers, no tip, only epoch
//!   difficulties. A proof brings its own chain of headers, which must link, start at the
//!   relay's epoch difficulty and carry `txProofDifficultyFactor` blocks' worth of work
//!   (`bridge/BitcoinTx.sol:269`): a private chain serves as well as the public one.
//!
//! Work is compared in chainwork. On regtest the EVM relays' `DIFF1 / target` difficulty is 0
//! for every header and would accept any chain (peg-catalog-2 §1.6); chainwork keeps the rules
//! meaningful.

use std::collections::HashMap;

use bitcoin::{BlockHash, MerkleBlock, Target, Txid, block::Header, pow::Work};
use serde::Serialize;

/// Whose relay rule a relay follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForkChoice {
    /// Interlay's BTC-Relay: forks switch at `k` ahead; a fork within `k` freezes proofs.
    BtcRelay,
    /// BOB's FullRelay: the tip moves only on `markNewHeaviest`.
    BobFullRelay,
    /// tBTC's LightRelay: no tip; proofs bring their headers.
    TbtcLightRelay,
}

crate::family::codes! {
    /// Why a relay refuses a header or a proof.
    pub(crate) enum Fault {
        UnknownParent = "unknown-parent": "the header builds on one the relay does not hold",
        InsufficientWork = "insufficient-work": "the header's hash does not meet its target",
        WrongTarget = "wrong-target": "the header changes nBits without a retarget",
        UnknownHeader = "unknown-header": "the proof's header is not in the relay",
        NotInMainChain = "not-in-main-chain": "the proof's header is not on the relay's main chain (for bob-full-relay: not below the best digest a keeper marked)",
        BadProof = "bad-proof": "the merkle proof does not tie the transaction to the header",
        BadCoinbaseProof = "bad-coinbase-proof": "the coinbase proof is not the block's coinbase (btc-relay: same transaction count; tBTC and BOB: a branch of the same length)",
        InsufficientConfirmations = "insufficient-confirmations": "the proof's header has fewer than k confirmations on the relay",
        OngoingFork = "ongoing-fork": "btc-relay: a fork is within k blocks of the main chain, and BTC-Relay refuses every proof until the main chain is k ahead (Interlay OngoingFork)",
        NewBestNotHeavier = "new-best-not-heavier": "bob-full-relay markNewHeaviest: \"New best hash does not have more work than previous\"",
        NewBestUnknown = "new-best-unknown": "bob-full-relay markNewHeaviest: \"New best is unknown\": the relay holds no such header",
        InvalidHeaderChain = "invalid-header-chain": "tbtc-light-relay validateChain: the proof's headers do not link, miss their target, or do not start at the relay's epoch difficulty",
        InsufficientAccumulatedDifficulty = "insufficient-accumulated-difficulty": "tbtc-light-relay: the proof's headers carry less work than k blocks at the epoch difficulty (tBTC: \"Insufficient accumulated difficulty in header chain\"; measured in chainwork)",
        NoHeaderStore = "no-header-store": "tbtc-light-relay stores no headers: a relayer has nothing to submit",
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
    /// Confirmations a proof needs; BTC-Relay also switches forks and freezes proofs by it.
    k: u32,
    entries: HashMap<BlockHash, Entry>,
    tip: BlockHash,
    /// The epoch target the relay knows (a light relay's only state).
    epoch: Target,
}

impl Relay {
    /// A relay that trusts `checkpoint` (at `height`) as its starting point.
    pub fn new(rule: ForkChoice, k: u32, height: u32, checkpoint: Header) -> Self {
        let hash = checkpoint.block_hash();
        let entry = Entry { header: checkpoint, height, chainwork: checkpoint.work() };
        Self {
            rule,
            k,
            entries: HashMap::from([(hash, entry)]),
            tip: hash,
            epoch: checkpoint.target(),
        }
    }

    /// The relay's rule.
    pub fn rule(&self) -> ForkChoice {
        self.rule
    }

    /// The confirmations (for a light relay: blocks of work) a proof needs.
    pub fn k(&self) -> u32 {
        self.k
    }

    /// The relay's best header and its height (a light relay: its checkpoint).
    pub fn tip(&self) -> (BlockHash, u32) {
        (self.tip, self.entries[&self.tip].height)
    }

    /// Whether the relay holds this header.
    pub fn knows(&self, hash: &BlockHash) -> bool {
        self.entries.contains_key(hash)
    }

    /// Stores a header that links to one the relay holds, states its parent's target (regtest
    /// has no retargets) and meets it. Returns whether the main chain moved.
    pub fn submit(&mut self, header: Header) -> Result<bool, Refusal> {
        let hash = header.block_hash();
        if self.rule == ForkChoice::TbtcLightRelay {
            return Err(refuse(
                Fault::NoHeaderStore,
                format!("a light relay stores no header such as {hash}"),
            ));
        }
        if self.entries.contains_key(&hash) {
            return Ok(false);
        }
        let Some(parent) = self.entries.get(&header.prev_blockhash).cloned() else {
            return Err(refuse(
                Fault::UnknownParent,
                format!("{hash} builds on a header the relay does not hold"),
            ));
        };
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
        let best = self.entries[&self.tip].height;
        let moves = match self.rule {
            // The main chain grows; a fork takes over only k blocks ahead.
            ForkChoice::BtcRelay => {
                header.prev_blockhash == self.tip || entry.height >= best + self.k
            }
            ForkChoice::BobFullRelay | ForkChoice::TbtcLightRelay => false,
        };
        self.entries.insert(hash, entry);
        if moves {
            self.tip = hash;
        }
        Ok(moves)
    }

    /// BOB's `markNewHeaviest`: the best digest moves to `new` if the relay holds it and it has
    /// more work than the current best.
    pub fn mark_new_heaviest(&mut self, new: BlockHash) -> Result<bool, Refusal> {
        let Some(entry) = self.entries.get(&new) else {
            return Err(refuse(Fault::NewBestUnknown, format!("the relay holds no header {new}")));
        };
        if new == self.tip {
            return Ok(false);
        }
        if entry.chainwork <= self.entries[&self.tip].chainwork {
            return Err(refuse(
                Fault::NewBestNotHeavier,
                format!("{new} has no more work than the best known {}", self.tip),
            ));
        }
        self.tip = new;
        Ok(true)
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

    /// The height of the highest stored header off the main chain (BTC-Relay's next best
    /// fork).
    fn next_best_fork(&self) -> Option<u32> {
        self.entries
            .iter()
            .filter(|(hash, _)| self.confirmations(hash).is_none())
            .map(|(_, e)| e.height)
            .max()
    }

    /// Checks the proof's own parts: the merkle branch, and the coinbase proof by the
    /// relay's rule.
    fn check_proof(
        &self,
        proof: &MerkleBlock,
        txid: Txid,
        coinbase: Option<&MerkleBlock>,
    ) -> Result<(), Refusal> {
        let hash = proof.header.block_hash();
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
            let same_shape = match self.rule {
                // Interlay compares transaction counts (btc-relay lib.rs:587-640).
                ForkChoice::BtcRelay => cb.txn.num_transactions() == proof.txn.num_transactions(),
                // tBTC and BOB: `merkleProof.length == coinbaseProof.length` (BitcoinTx.sol:194).
                _ => cb.txn.hashes().len() == proof.txn.hashes().len(),
            };
            if !same_block || cb_indexes != [0] || !same_shape {
                return Err(refuse(
                    Fault::BadCoinbaseProof,
                    "the coinbase proof is not the block's coinbase at the same depth".into(),
                ));
            }
        }
        Ok(())
    }

    /// Checks that `proof` includes `txid` under a header on the main chain with at least `k`
    /// confirmations (a relay that stores headers). Returns the confirmations.
    pub fn verify_inclusion(
        &self,
        proof: &MerkleBlock,
        txid: Txid,
        coinbase: Option<&MerkleBlock>,
    ) -> Result<u32, Refusal> {
        let hash = proof.header.block_hash();
        if !self.knows(&hash) {
            return Err(refuse(Fault::UnknownHeader, format!("the relay holds no header {hash}")));
        }
        if self.rule == ForkChoice::BtcRelay
            && let Some(fork) = self.next_best_fork()
        {
            let best = self.tip().1;
            if best < fork + self.k {
                return Err(refuse(
                    Fault::OngoingFork,
                    format!(
                        "a fork reaches height {fork}, within {} of the main chain at {best}",
                        self.k
                    ),
                ));
            }
        }
        let Some(confirmations) = self.confirmations(&hash) else {
            return Err(refuse(
                Fault::NotInMainChain,
                format!("header {hash} is not on the relay's main chain"),
            ));
        };
        self.check_proof(proof, txid, coinbase)?;
        if confirmations < self.k {
            return Err(refuse(
                Fault::InsufficientConfirmations,
                format!(
                    "header {hash} has {confirmations} confirmation(s) on the relay; it needs {}",
                    self.k
                ),
            ));
        }
        Ok(confirmations)
    }

    /// A light relay's check: `headers` start with the proof's block, link, meet their
    /// targets, start at the relay's epoch target, and carry at least `k` blocks' worth of work
    /// at that target. Returns the number of headers.
    pub fn verify_with_headers(
        &self,
        proof: &MerkleBlock,
        txid: Txid,
        coinbase: Option<&MerkleBlock>,
        headers: &[Header],
    ) -> Result<u32, Refusal> {
        let invalid = |why: String| Err(refuse(Fault::InvalidHeaderChain, why));
        if headers.first() != Some(&proof.header) {
            return invalid("the headers do not start with the proof's block".into());
        }
        for pair in headers.windows(2) {
            if pair[1].prev_blockhash != pair[0].block_hash() {
                return invalid(format!(
                    "{} does not follow {}",
                    pair[1].block_hash(),
                    pair[0].block_hash()
                ));
            }
        }
        if let Some(bad) = headers.iter().find(|h| h.validate_pow(h.target()).is_err()) {
            return invalid(format!("{} does not meet its target", bad.block_hash()));
        }
        if headers[0].target() != self.epoch {
            return invalid("the first header is not at the relay's epoch difficulty".into());
        }
        self.check_proof(proof, txid, coinbase)?;
        let work = headers.iter().fold(Work::from_be_bytes([0; 32]), |w, h| w + h.work());
        let one = self.epoch.to_work();
        let mut needed = Work::from_be_bytes([0; 32]);
        for _ in 0..self.k {
            needed = needed + one;
        }
        if work < needed {
            return Err(refuse(
                Fault::InsufficientAccumulatedDifficulty,
                format!("{} header(s) of work where {} are needed", headers.len(), self.k),
            ));
        }
        Ok(headers.len() as u32)
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
    fn btc_relay_switches_only_k_ahead_and_freezes_proofs_meanwhile() {
        let base = genesis();
        let a1 = mine(&base, 1);
        let b1 = mine(&base, 2);
        let b2 = mine(&b1, 3);
        let b3 = mine(&b2, 4);
        let mut relay = Relay::new(ForkChoice::BtcRelay, 2, 100, base);
        assert!(relay.submit(a1).unwrap(), "the main chain grows");
        assert_eq!(relay.submit(b1), Ok(false));
        assert_eq!(relay.submit(b2), Ok(false), "one ahead is not k = 2 ahead");
        assert_eq!(relay.tip(), (a1.block_hash(), 101));
        assert!(relay.submit(b3).unwrap(), "two ahead: the fork takes over");
        assert_eq!(relay.tip(), (b3.block_hash(), 103));
        assert_eq!(relay.confirmations(&a1.block_hash()), None);
    }

    #[test]
    fn bob_full_relay_moves_only_when_marked() {
        let base = genesis();
        let a1 = mine(&base, 1);
        let a2 = mine(&a1, 2);
        let mut relay = Relay::new(ForkChoice::BobFullRelay, 1, 100, base);
        assert_eq!(relay.submit(a1), Ok(false));
        assert_eq!(relay.submit(a2), Ok(false));
        assert_eq!(relay.tip().0, base.block_hash(), "addHeaders never moves the best digest");
        assert_eq!(relay.mark_new_heaviest(a2.block_hash()), Ok(true));
        assert_eq!(
            relay.mark_new_heaviest(a1.block_hash()).unwrap_err().code,
            "new-best-not-heavier"
        );
        assert_eq!(
            relay.mark_new_heaviest(mine(&a2, 3).block_hash()).unwrap_err().code,
            "new-best-unknown"
        );
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
        let mut relay = Relay::new(ForkChoice::BtcRelay, 1, 0, base);
        relay.submit(a1).unwrap();
        assert_eq!(relay.verify_inclusion(&proof, txids[2], None), Ok(1));
        let deep = Relay { k: 2, ..relay.clone() };
        assert_eq!(
            deep.verify_inclusion(&proof, txids[2], None).unwrap_err().code,
            "insufficient-confirmations"
        );
        assert_eq!(relay.verify_inclusion(&proof, txids[1], None).unwrap_err().code, "bad-proof");
        assert_eq!(relay.verify_inclusion(&proof, txids[2], Some(&coinbase)), Ok(1));
        let err = relay.verify_inclusion(&proof, txids[2], Some(&not_coinbase)).unwrap_err();
        assert_eq!(err.code, "bad-coinbase-proof");

        // A longer branch without a1 (k = 1: one ahead switches): the proof is now against a
        // header off the main chain.
        let b1 = mine(&base, 9);
        relay.submit(b1).unwrap();
        relay.submit(mine(&b1, 10)).unwrap();
        assert_eq!(
            relay.verify_inclusion(&proof, txids[2], None).unwrap_err().code,
            "not-in-main-chain"
        );
        let stranger =
            MerkleBlock::from_header_txids_with_predicate(&mine(&a1, 11), &txids, |_| true);
        assert_eq!(
            relay.verify_inclusion(&stranger, txids[0], None).unwrap_err().code,
            "unknown-header"
        );
    }

    #[test]
    fn headers_without_work_or_parent_are_refused() {
        let base = genesis();
        let mut relay = Relay::new(ForkChoice::BobFullRelay, 1, 0, base);
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

    #[test]
    fn tbtc_light_relay_takes_any_linked_chain_with_k_blocks_of_work() {
        let base = genesis();
        let txids: Vec<Txid> = (1..=2u8).map(|i| Txid::from_byte_array([i; 32])).collect();
        let (a1, proof) = block_with(&base, &txids, 1, 1);
        let a2 = mine(&a1, 2);
        let relay = Relay::new(ForkChoice::TbtcLightRelay, 2, 0, base);
        assert_eq!(relay.verify_with_headers(&proof, txids[1], None, &[a1, a2]), Ok(2));
        let err = relay.verify_with_headers(&proof, txids[1], None, &[a1]).unwrap_err();
        assert_eq!(err.code, "insufficient-accumulated-difficulty");
        let err =
            relay.verify_with_headers(&proof, txids[1], None, &[a1, mine(&base, 3)]).unwrap_err();
        assert_eq!(err.code, "invalid-header-chain");
        let mut light = relay.clone();
        assert_eq!(light.submit(a1).unwrap_err().code, "no-header-store");
    }
}
