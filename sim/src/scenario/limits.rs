//! What a scenario may ask for. Each limit is checked by `peglab check`, so that what `check`
//! accepts, `run` runs.

use bitcoin::{Amount, FeeRate};

/// Most nodes a scenario may ask for.
pub(crate) const MAX_NODES: usize = 8;
/// Most actors in one file.
pub(crate) const MAX_ACTORS: usize = 1_000;
/// `OP_CHECKMULTISIG` (and peglab's federations) take at most 20 keys.
pub(crate) const MAX_MULTISIG_KEYS: usize = 20;
/// The users' funds together: the lab premines what they need, and regtest's whole supply
/// is about 15,000 BTC.
pub(crate) const MAX_TOTAL_FUNDS: Amount = Amount::from_int_btc(10_000);
/// Below this a payment to a P2WPKH wallet is dust (Bitcoin Core's `GetDustThreshold`).
pub(crate) const MIN_FUNDS: Amount = Amount::from_sat(294);
/// Most blocks one `mine` step mines (about 40 s of bitcoind's own work).
pub(crate) const MAX_MINE: u32 = 200_000;
/// Most blocks a scenario mines in all.
pub(crate) const MAX_TOTAL_BLOCKS: u64 = 1_000_000;
/// Most seconds a scenario moves the clock in all: the lab's clock stays far below the end
/// of 32-bit block times (2106).
pub(crate) const MAX_TOTAL_ADVANCE: u64 = 50 * 365 * 86_400;
/// Deepest reorg a step may ask for (each replaced block is mined one by one).
pub(crate) const MAX_REORG: u32 = 10_000;
/// The fee rate of actors' transactions when the file names none.
pub(crate) const DEFAULT_FEE_RATE: FeeRate = FeeRate::from_sat_per_kwu(500);
/// The highest fee rate a file may set (Core's default `maxfeerate` is 0.1 BTC/kvB).
pub(crate) const MAX_FEE_RATE_SAT_VB: u64 = 10_000;
