//! Spend paths as policy trees: who must sign, and when, for coins to move. Every family
//! states its paths this way (`peglab derive` prints them); the trust analysis reads them.

use serde::Serialize;

/// A condition for spending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Policy {
    /// A signature by this key: an actor's name, or a key in hex that no actor holds.
    Pk {
        /// The key's holder.
        key: String,
    },
    /// At least `k` of these.
    Thresh {
        /// How many.
        k: usize,
        /// Of what.
        of: Vec<Policy>,
    },
    /// All of these.
    And {
        /// The conditions.
        of: Vec<Policy>,
    },
    /// Any one of these.
    Or {
        /// The conditions.
        of: Vec<Policy>,
    },
    /// The coins are at least this many blocks old (`OP_CHECKSEQUENCEVERIFY`).
    Older {
        /// Blocks.
        blocks: u16,
    },
    /// The chain's median-time-past is past this UNIX time (`OP_CHECKLOCKTIMEVERIFY`).
    AfterTime {
        /// UNIX time; `None` when each output chooses its own (a stake's lock).
        time: Option<u32>,
    },
    /// The chain is past this height (`OP_CHECKLOCKTIMEVERIFY`).
    AfterHeight {
        /// Height.
        height: u32,
    },
    /// Whoever knows a preimage of this SHA256.
    Sha256 {
        /// The hash, hex.
        hash: String,
    },
    /// Whoever knows a preimage of this HASH160.
    Hash160 {
        /// The hash, hex.
        hash: String,
    },
    /// Anyone, with no condition.
    Anyone,
}

impl Policy {
    /// A signature of `key`.
    pub(crate) fn pk(key: impl Into<String>) -> Self {
        Self::Pk { key: key.into() }
    }

    /// `k` of `keys`' signatures (a single key when `k` = 1 of 1).
    pub(crate) fn multi(k: usize, keys: &[String]) -> Self {
        if keys.len() == 1 && k == 1 {
            return Self::pk(keys[0].clone());
        }
        Self::Thresh { k, of: keys.iter().cloned().map(Self::pk).collect() }
    }

    /// All of `of` (flattened when it is one).
    pub(crate) fn and(mut of: Vec<Policy>) -> Self {
        if of.len() == 1 { of.remove(0) } else { Self::And { of } }
    }

    /// The conditions after `blocks` blocks.
    pub(crate) fn after_blocks(self, blocks: u16) -> Self {
        Self::and(vec![self, Self::Older { blocks }])
    }
}

/// One way to spend a peg's coins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpendPath {
    /// Its name (`federation`, `emergency`, `unbonding`).
    pub name: String,
    /// Which coins it spends (`deposit`, `custody`, `staking output`).
    pub coins: String,
    /// Who must sign, and when.
    pub policy: Policy,
}

impl SpendPath {
    pub(crate) fn new(name: &str, coins: &str, policy: Policy) -> Self {
        Self { name: name.to_owned(), coins: coins.to_owned(), policy }
    }
}
