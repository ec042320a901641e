//! A validated scenario: every name resolved, every parameter possible, every step runnable.

use std::sync::Arc;

use bitcoin::{Address, Amount, FeeRate, PublicKey, secp256k1::SecretKey};

use crate::{
    NodeId,
    family::{PegSpec, Per, StepSpec},
};

/// A scenario ready to run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file it came from, as the user named it.
    pub file: String,
    /// Its name.
    pub name: String,
    /// What it shows.
    pub description: Option<String>,
    /// Keys and wallets derive from this and each actor's name.
    pub seed: String,
    /// How many connected nodes the lab runs.
    pub nodes: usize,
    /// The fee rate of every transaction the scenario's actors make.
    pub fee_rate: FeeRate,
    /// Users and signers, in name order.
    pub actors: Vec<Actor>,
    /// The peg instances, in file order.
    pub pegs: Vec<Peg>,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

impl Scenario {
    /// The actor called `name`.
    pub fn actor(&self, name: &str) -> Option<&Actor> {
        self.actors.iter().find(|a| a.name == name)
    }

    /// The peg called `name`.
    pub fn peg(&self, name: &str) -> Option<&Peg> {
        self.pegs.iter().find(|p| p.name == name)
    }

    /// What the users' wallets are paid at start, together.
    pub fn total_funds(&self) -> Amount {
        self.actors
            .iter()
            .map(|a| match a.role {
                Role::User { funds } => funds,
                Role::Signer => Amount::ZERO,
            })
            .sum()
    }
}

/// Someone in a scenario.
#[derive(Debug, Clone)]
pub struct Actor {
    /// Its name, unique in the file.
    pub name: String,
    /// User (with a wallet) or signer.
    pub role: Role,
    /// Where its key comes from.
    pub key: ActorKey,
    /// A user's wallet descriptor, when the file gives one (else it derives from the seed).
    pub wallet: Option<WalletSpec>,
}

/// A wallet descriptor given in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletSpec {
    /// The descriptor, as written.
    pub descriptor: String,
    /// Whether it holds private keys: a watch-only wallet receives but cannot pay.
    pub can_sign: bool,
}

/// What an actor is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// A user with a descriptor wallet, funded by the lab at start.
    User {
        /// What the lab pays the wallet at start.
        funds: Amount,
    },
    /// A signer: a key that signs for pegs.
    Signer,
}

/// Where an actor's key comes from.
#[derive(Debug, Clone)]
pub enum ActorKey {
    /// Derived from the seed and the actor's name.
    Derived,
    /// A public key given in the file (hex or an extended key): the actor cannot sign.
    Public(PublicKey),
    /// A secret key given in the file (hex, WIF or an extended key).
    Secret(SecretKey),
}

/// A peg instance.
#[derive(Debug, Clone)]
pub struct Peg {
    /// Its name (`peg` when the file has one unnamed peg).
    pub name: String,
    /// Its validated parameters, and what its family does with them.
    pub(crate) spec: Arc<dyn PegSpec>,
}

impl Peg {
    /// Its kind (`liquid`).
    pub fn kind(&self) -> &'static str {
        self.spec.family().kind()
    }
}

/// One step.
#[derive(Debug, Clone)]
pub struct Step {
    /// 1-based position in the file.
    pub index: usize,
    /// Line of its `[[step]]`.
    pub line: usize,
    /// The node it acts on.
    pub node: NodeId,
    /// What it does.
    pub action: Action,
    /// What must hold after it. Empty: the step must simply succeed.
    pub expect: Vec<Expectation>,
    /// A note for the reader, carried into the report.
    pub note: Option<String>,
}

/// Where a payment goes.
#[derive(Debug, Clone)]
pub enum Destination {
    /// A user's wallet (its next address) or a signer's P2WPKH.
    Actor(String),
    /// A regtest address.
    Address(Address),
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Actor(name) => f.write_str(name),
            Self::Address(address) => write!(f, "{address}"),
        }
    }
}

/// What a step does: a generic verb, or one of a peg family's.
#[derive(Debug, Clone)]
pub enum Action {
    /// Mine blocks.
    Mine(u32),
    /// Move the clock forward by seconds (and mine so median-time-past follows).
    AdvanceTime(u32),
    /// Replace the last `depth` blocks, leaving the named transaction out.
    Reorg {
        /// How many blocks.
        depth: u32,
        /// A transaction the new branch leaves out.
        without: Option<String>,
    },
    /// Split the nodes into groups.
    Partition(Vec<Vec<NodeId>>),
    /// Reconnect every node.
    Heal,
    /// Signers stop signing.
    Offline(Vec<String>),
    /// Signers sign again.
    Online(Vec<String>),
    /// A user pays from its wallet.
    Pay {
        /// The user.
        from: String,
        /// Where to.
        to: Destination,
        /// How much.
        amount: Amount,
        /// The transaction's name.
        name: String,
    },
    /// Runs a program beside the lab (the user's own bridge software).
    Exec {
        /// The program and its arguments.
        cmd: Vec<String>,
        /// Its environment (values may name `{address:<actor>}`).
        env: Vec<(String, String)>,
        /// Seconds before it is killed.
        timeout: u32,
    },
    /// Mines one block at a time until a condition holds, at most `blocks` blocks.
    Await {
        /// What must hold.
        until: Condition,
        /// The most blocks to mine.
        blocks: u32,
    },
    /// A step of a peg's family.
    Peg(PegAction),
    /// Nothing: only the expectations are checked.
    Check,
}

/// A family's step on one peg.
#[derive(Debug, Clone)]
pub struct PegAction {
    /// The peg.
    pub peg: String,
    /// The step's keyword.
    pub verb: &'static str,
    pub(crate) spec: StepSpec,
}

impl Action {
    /// The name of the transaction this step makes, if it makes one.
    pub fn tx_name(&self) -> Option<&str> {
        match self {
            Self::Pay { name, .. } => Some(name),
            Self::Peg(p) => p.spec.tx.as_deref(),
            _ => None,
        }
    }

    /// Whether the step has an outcome (accepted, rejected, refused, stalled) to expect.
    pub fn judged(&self) -> bool {
        match self {
            Self::Pay { .. } | Self::Exec { .. } | Self::Await { .. } => true,
            Self::Peg(p) => p.spec.judged,
            _ => false,
        }
    }

    /// The step's keyword in the file.
    pub fn keyword(&self) -> &'static str {
        match self {
            Self::Mine(_) => "mine",
            Self::AdvanceTime(_) => "advance_time",
            Self::Reorg { .. } => "reorg",
            Self::Partition(_) => "partition",
            Self::Heal => "heal",
            Self::Offline(_) => "offline",
            Self::Online(_) => "online",
            Self::Pay { .. } => "pay",
            Self::Exec { .. } => "exec",
            Self::Await { .. } => "await",
            Self::Peg(p) => p.verb,
            Self::Check => "expect",
        }
    }
}

/// What an `await` step waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// An output descriptor's confirmed UTXOs hold at least this.
    Balance {
        /// The descriptor (`addr(...)` for an address).
        of: String,
        /// How much.
        amount: Amount,
    },
    /// A named transaction's output is spent (in a block or the mempool).
    Spent {
        /// The transaction's name.
        tx: String,
        /// The output.
        vout: u32,
    },
}

/// Something that must hold after a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expectation {
    /// Bitcoin Core accepted the step's transaction (or the model its claim).
    Accepted,
    /// Bitcoin Core refused the step's transaction for this reason (as written: Core's token,
    /// a script failure with its script error).
    Rejected(String),
    /// The modelled side refused the step with this code (one of its family's).
    Refused(String),
    /// The step could not be made (a quorum offline, funds missing), with this code.
    Stalled(String),
    /// A named transaction has exactly this many confirmations.
    Confirmations {
        /// The transaction's name.
        tx: String,
        /// How many.
        count: u32,
    },
    /// A user's wallet holds exactly this (confirmed plus unconfirmed).
    Balance {
        /// The user.
        actor: String,
        /// How much.
        amount: Amount,
    },
    /// What the node's UTXO set holds for an output descriptor (an address: `addr(...)`).
    ScanBalance {
        /// The descriptor, as `scantxoutset` takes it.
        of: String,
        /// How much.
        amount: Amount,
    },
    /// A named transaction's output is unspent (`true`) or spent (`false`).
    Unspent {
        /// The transaction's name.
        tx: String,
        /// The output.
        vout: u32,
        /// Unspent or not.
        unspent: bool,
    },
    /// A quantity a peg family measures (`peg_balance`, `shortfall`, `sidechain_balance`, ...).
    Quantity {
        /// Its key.
        key: &'static str,
        /// Keyed by peg or by holder.
        per: Per,
        /// The peg or the holder.
        of: String,
        /// How much.
        amount: Amount,
    },
}
