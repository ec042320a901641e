//! Spend paths as policy trees: who must sign, and when, for coins to move. Every family
//! states its paths this way (`peglab derive` prints them); the trust analysis reads them.

use std::collections::BTreeSet;

use miniscript::policy::Semantic;
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
    /// The coins are at least this old in time (`OP_CHECKSEQUENCEVERIFY`, in units of 512
    /// seconds).
    OlderTime {
        /// Seconds (a multiple of 512).
        seconds: u32,
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
    /// Whoever knows a preimage of this HASH256 (double SHA256).
    Hash256 {
        /// The hash, hex.
        hash: String,
    },
    /// Whoever knows a preimage of this RIPEMD160.
    Ripemd160 {
        /// The hash, hex.
        hash: String,
    },
    /// Anyone, with no condition.
    Anyone,
    /// No one: the path cannot be taken (an unspendable internal key).
    Nobody,
}

/// What a spender brings: signatures of some key holders, and how far the timelocks have come.
#[derive(Debug, Clone, Default)]
pub struct Have {
    /// Whose signatures.
    pub signers: BTreeSet<String>,
    /// How many blocks old the coins are (what `OP_CHECKSEQUENCEVERIFY` in blocks sees).
    pub blocks_old: u32,
    /// How old the coins are in seconds.
    pub seconds_old: u32,
    /// The height an absolute lock is past, if the spend sets one.
    pub height: Option<u32>,
    /// The time an absolute lock is past, if the spend sets one. `AfterTime { time: None }`
    /// (each output its own time) counts as met whenever this is set.
    pub time: Option<u32>,
}

/// The largest timelock of each kind a policy (or a path of it) needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timelocks {
    /// Blocks (relative).
    pub blocks_old: u32,
    /// Seconds (relative).
    pub seconds_old: u32,
    /// Height (absolute).
    pub height: Option<u32>,
    /// UNIX time (absolute); `Some(0)` for a time each output chooses.
    pub time: Option<u32>,
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

    /// Whether `have` satisfies the policy.
    pub fn satisfied(&self, have: &Have) -> bool {
        match self {
            Self::Pk { key } => have.signers.contains(key),
            Self::Thresh { k, of } => of.iter().filter(|p| p.satisfied(have)).count() >= *k,
            Self::And { of } => of.iter().all(|p| p.satisfied(have)),
            Self::Or { of } => of.iter().any(|p| p.satisfied(have)),
            Self::Older { blocks } => u32::from(*blocks) <= have.blocks_old,
            Self::OlderTime { seconds } => *seconds <= have.seconds_old,
            Self::AfterHeight { height } => have.height.is_some_and(|h| *height <= h),
            Self::AfterTime { time } => match (time, have.time) {
                (_, None) => false,
                (None, Some(_)) => true,
                (Some(t), Some(now)) => *t <= now,
            },
            Self::Sha256 { .. } | Self::Hash160 { .. } | Self::Hash256 { .. } => false,
            Self::Ripemd160 { .. } | Self::Nobody => false,
            Self::Anyone => true,
        }
    }

    /// Every key holder the policy names.
    pub fn holders(&self) -> BTreeSet<String> {
        let mut all = BTreeSet::new();
        self.visit(&mut |p| {
            if let Self::Pk { key } = p {
                all.insert(key.clone());
            }
        });
        all
    }

    /// The largest timelock of each kind anywhere in the policy: what a spend that sets them
    /// all would meet.
    pub fn timelocks(&self) -> Timelocks {
        let mut t = Timelocks::default();
        self.visit(&mut |p| match p {
            Self::Older { blocks } => t.blocks_old = t.blocks_old.max(u32::from(*blocks)),
            Self::OlderTime { seconds } => t.seconds_old = t.seconds_old.max(*seconds),
            Self::AfterHeight { height } => t.height = t.height.max(Some(*height)),
            Self::AfterTime { time } => t.time = t.time.max(Some(time.unwrap_or(0))),
            _ => {}
        });
        t
    }

    fn visit(&self, f: &mut impl FnMut(&Policy)) {
        f(self);
        if let Self::Thresh { of, .. } | Self::And { of } | Self::Or { of } = self {
            for p in of {
                p.visit(f);
            }
        }
    }

    /// A policy from miniscript's semantic policy (lifted from a script), with each key named
    /// by `name`.
    pub(crate) fn from_semantic<K: miniscript::MiniscriptKey>(
        semantic: &Semantic<K>,
        name: &dyn Fn(&K) -> String,
    ) -> Self {
        match semantic {
            Semantic::Unsatisfiable => Self::Nobody,
            Semantic::Trivial => Self::Anyone,
            Semantic::Key(pk) => Self::pk(name(pk)),
            Semantic::After(t) => {
                let lock = bitcoin::absolute::LockTime::from(*t);
                match lock {
                    bitcoin::absolute::LockTime::Blocks(h) => {
                        Self::AfterHeight { height: h.to_consensus_u32() }
                    }
                    bitcoin::absolute::LockTime::Seconds(s) => {
                        Self::AfterTime { time: Some(s.to_consensus_u32()) }
                    }
                }
            }
            Semantic::Older(t) => match bitcoin::relative::LockTime::from(*t) {
                bitcoin::relative::LockTime::Blocks(b) => Self::Older { blocks: b.value() },
                bitcoin::relative::LockTime::Time(t) => {
                    Self::OlderTime { seconds: u32::from(t.value()) * 512 }
                }
            },
            Semantic::Sha256(h) => Self::Sha256 { hash: h.to_string() },
            Semantic::Hash256(h) => Self::Hash256 { hash: h.to_string() },
            Semantic::Ripemd160(h) => Self::Ripemd160 { hash: h.to_string() },
            Semantic::Hash160(h) => Self::Hash160 { hash: h.to_string() },
            Semantic::Thresh(t) => {
                let of: Vec<Self> = t.iter().map(|p| Self::from_semantic(p, name)).collect();
                match t.k() {
                    k if k == of.len() => Self::and(of),
                    1 => Self::Or { of },
                    k => Self::Thresh { k, of },
                }
            }
        }
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
