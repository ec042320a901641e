//! Verifying a run of Bitcoin headers as a header relay does: each links to the one before,
//! meets the target its `nBits` states, and states the target the difficulty rule requires
//! (unchanged within a 2016-block period; at a period's first block, recomputed from the
//! period before with Bitcoin's rule, via rust-bitcoin).
//!
//! A retarget needs the timestamp of the first block of the ending period: the run carries it
//! when the run spans that block, and otherwise the caller gives it (`period_start`).

use std::fmt;

use bitcoin::{
    BlockHash, CompactTarget, Network, Target, block::Header, params::Params, pow::Work,
};

/// A header at a known height.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AtHeight {
    /// Its height.
    pub height: u32,
    /// The header.
    pub header: Header,
}

/// Why a header fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderFault {
    /// It does not name the previous header's hash.
    Linkage {
        /// What the previous header hashes to.
        expected: BlockHash,
        /// What this header names.
        found: BlockHash,
    },
    /// Its `nBits` is not what the difficulty rule requires here.
    WrongTarget {
        /// What the rule requires.
        expected: CompactTarget,
        /// What the header states.
        found: CompactTarget,
    },
    /// Its hash does not meet the target its `nBits` states.
    InsufficientWork {
        /// The header's hash.
        hash: BlockHash,
    },
    /// Its target is easier than the network's limit.
    AbovePowLimit,
    /// It starts a new period, but the first header of the ending period is unknown.
    MissingPeriodStart {
        /// The height of that first header.
        needed: u32,
    },
}

impl fmt::Display for HeaderFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Linkage { expected, found } => {
                write!(f, "it names previous block {found}, but the previous header is {expected}")
            }
            Self::WrongTarget { expected, found } => write!(
                f,
                "its nBits is {:#010x}; the difficulty rule requires {:#010x}",
                found.to_consensus(),
                expected.to_consensus()
            ),
            Self::InsufficientWork { hash } => {
                write!(f, "its hash {hash} does not meet the target its nBits states")
            }
            Self::AbovePowLimit => {
                write!(f, "its target is easier than the network's proof-of-work limit")
            }
            Self::MissingPeriodStart { needed } => write!(
                f,
                "it starts a new difficulty period; the retarget needs the header at height {needed} (give it as the period start)"
            ),
        }
    }
}

/// The first header of a run that fails, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadHeader {
    /// Its position in the run, from 0.
    pub index: usize,
    /// Its height.
    pub height: u32,
    /// Why it fails.
    pub fault: HeaderFault,
}

/// What a valid run adds up to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedRun {
    /// The last header, at its height.
    pub tip: AtHeight,
    /// The tip's hash.
    pub tip_hash: BlockHash,
    /// Headers verified.
    pub count: usize,
    /// The proof of work they carry.
    pub work: Work,
    /// Difficulty retargets the run crossed.
    pub retargets: usize,
}

/// Verifies `headers`, which continue from `from`, under `network`'s rules. `period_start` is
/// the first header of `from`'s difficulty period, needed when the run crosses a retarget
/// before reaching a period start of its own.
pub fn verify_run(
    network: Network,
    from: AtHeight,
    period_start: Option<AtHeight>,
    headers: &[Header],
) -> Result<VerifiedRun, BadHeader> {
    let params = Params::new(network);
    let interval = params.difficulty_adjustment_interval() as u32;
    let mut prev = from;
    let mut start =
        period_start.filter(|s| s.height.is_multiple_of(interval) && s.height <= from.height);
    if from.height.is_multiple_of(interval) {
        start = Some(from);
    }
    let mut work = Work::from_be_bytes([0; 32]);
    let mut retargets = 0;
    for (index, header) in headers.iter().enumerate() {
        let height = prev.height + 1;
        let bad = |fault| BadHeader { index, height, fault };
        let expected_prev = prev.header.block_hash();
        if header.prev_blockhash != expected_prev {
            return Err(bad(HeaderFault::Linkage {
                expected: expected_prev,
                found: header.prev_blockhash,
            }));
        }
        let expected = if !height.is_multiple_of(interval) || params.no_pow_retargeting {
            prev.header.bits
        } else {
            let first = start.filter(|s| s.height + interval == height).ok_or_else(|| {
                bad(HeaderFault::MissingPeriodStart { needed: height - interval })
            })?;
            retargets += 1;
            let timespan = u64::from(prev.header.time.saturating_sub(first.header.time));
            CompactTarget::from_next_work_required(prev.header.bits, timespan, &params)
        };
        if header.bits != expected {
            return Err(bad(HeaderFault::WrongTarget { expected, found: header.bits }));
        }
        let target = Target::from_compact(header.bits);
        if target > params.max_attainable_target {
            return Err(bad(HeaderFault::AbovePowLimit));
        }
        if header.validate_pow(target).is_err() {
            return Err(bad(HeaderFault::InsufficientWork { hash: header.block_hash() }));
        }
        work = work + header.work();
        prev = AtHeight { height, header: *header };
        if height.is_multiple_of(interval) {
            start = Some(prev);
        }
    }
    Ok(VerifiedRun {
        tip: prev,
        tip_hash: prev.header.block_hash(),
        count: headers.len(),
        work,
        retargets,
    })
}

#[cfg(test)]
mod tests {
    use bitcoin::consensus::encode::deserialize_hex;
    use serde_json::Value;

    use super::*;

    /// (start, end, next) of each period in the test data.
    fn periods() -> Vec<[AtHeight; 3]> {
        let data: Value =
            serde_json::from_str(include_str!("../../testdata/mainnet_retargets.json")).unwrap();
        let at = |v: &Value| AtHeight {
            height: v[0].as_u64().unwrap() as u32,
            header: deserialize_hex(v[1].as_str().unwrap()).unwrap(),
        };
        data["periods"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| [at(&p["start"]), at(&p["end"]), at(&p["next"])])
            .collect()
    }

    #[test]
    fn real_mainnet_headers_verify_across_retargets() {
        for [start, end, next] in periods() {
            let run = verify_run(Network::Bitcoin, end, Some(start), &[next.header]).unwrap();
            assert_eq!(run.tip.height, next.height);
            assert_eq!(run.retargets, 1);
            assert_eq!(run.work, next.header.work());
            assert_ne!(next.header.bits, end.header.bits, "the target really changed");
        }
    }

    #[test]
    fn a_retarget_without_the_period_start_is_refused() {
        let [_, end, next] = periods()[0];
        let err = verify_run(Network::Bitcoin, end, None, &[next.header]).unwrap_err();
        assert_eq!(err.fault, HeaderFault::MissingPeriodStart { needed: next.height - 2016 });
    }

    #[test]
    fn tampered_headers_are_named() {
        let [start, end, next] = periods()[0];
        let verify = |h: Header| verify_run(Network::Bitcoin, end, Some(start), &[h]).unwrap_err();

        // The previous period's target carried over: the retarget rule says otherwise.
        let mut stale = next.header;
        stale.bits = end.header.bits;
        assert!(matches!(verify(stale).fault, HeaderFault::WrongTarget { .. }));

        // A changed merkle root: the hash no longer meets the target.
        let mut forged = next.header;
        forged.merkle_root = end.header.merkle_root;
        assert!(matches!(verify(forged).fault, HeaderFault::InsufficientWork { .. }));

        // A header from elsewhere in the chain does not link.
        let err = verify(start.header);
        assert_eq!(err.index, 0);
        assert!(matches!(err.fault, HeaderFault::Linkage { .. }));

        // A wrong period start changes the computed target.
        let [other_start, ..] = periods()[3];
        let shifted = AtHeight { height: start.height, header: other_start.header };
        let err = verify_run(Network::Bitcoin, end, Some(shifted), &[next.header]).unwrap_err();
        assert!(matches!(err.fault, HeaderFault::WrongTarget { .. }));
    }
}
