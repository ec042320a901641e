//! A validated scenario: every name resolved, every parameter possible.

use bitcoin::{Address, Amount, PublicKey, secp256k1::SecretKey};
use serde::Serialize;

use crate::NodeId;

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
    /// Users and signers, in file order.
    pub actors: Vec<Actor>,
    /// The peg instances.
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
    /// A public key given in the file: the actor cannot sign.
    Public(PublicKey),
    /// A secret key given in the file.
    Secret(SecretKey),
}

/// A peg instance.
#[derive(Debug, Clone)]
pub struct Peg {
    /// Its name (`peg` when the file has one unnamed peg).
    pub name: String,
    /// Its kind and parameters.
    pub kind: PegKind,
}

/// The kinds of peg, with their parameters.
#[derive(Debug, Clone)]
pub enum PegKind {
    /// A plain k-of-n multisig custody output (`kind = "multisig"`).
    Multisig(MultisigParams),
}

/// Parameters of a plain multisig peg.
#[derive(Debug, Clone)]
pub struct MultisigParams {
    /// Signer actor names, in key order.
    pub signers: Vec<String>,
    /// Signatures needed.
    pub threshold: usize,
    /// How the script is wrapped.
    pub output: OutputType,
}

/// How a script is put in an output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutputType {
    /// Native segwit v0 script hash.
    P2wsh,
    /// P2WSH nested in P2SH.
    P2shP2wsh,
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

/// What a step does.
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
    /// A user pays into a peg.
    Deposit {
        /// The peg.
        peg: String,
        /// The user.
        from: String,
        /// How much.
        amount: Amount,
        /// The transaction's name.
        name: String,
    },
    /// Signers spend a peg's deposit.
    Spend {
        /// The peg.
        peg: String,
        /// The deposit transaction's name.
        deposit: String,
        /// Who signs.
        signers: Vec<String>,
        /// Where to.
        to: Destination,
        /// The transaction's name.
        name: String,
    },
    /// Nothing: only the expectations are checked.
    Check,
}

impl Action {
    /// The name of the transaction this step makes, if it makes one.
    pub fn tx_name(&self) -> Option<&str> {
        match self {
            Self::Pay { name, .. } | Self::Deposit { name, .. } | Self::Spend { name, .. } => {
                Some(name)
            }
            _ => None,
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
            Self::Deposit { .. } => "deposit",
            Self::Spend { .. } => "spend",
            Self::Check => "expect",
        }
    }
}

/// Something that must hold after a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expectation {
    /// The step's transaction was accepted.
    Accepted,
    /// The step's transaction was rejected with this reason.
    Rejected(String),
    /// The step's transaction could not be made (e.g. `quorum`).
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
    /// A peg holds exactly this in unspent deposits.
    PegBalance {
        /// The peg.
        peg: String,
        /// How much.
        amount: Amount,
    },
}
