//! What a step returns: its outcome (and who judged it), the transactions it made, and typed
//! events of the modelled side. Text, JSON and JUnit are all rendered from these.

use bitcoin::{Amount, Transaction};
use serde::{Deserialize, Serialize};

use crate::{Rejection, family::Code};

/// How a step ended, and who said so.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Nothing to judge (mine, partition, ...).
    Done,
    /// Accepted: by Bitcoin Core when the step made a transaction, else by the model.
    Accepted,
    /// Bitcoin Core refused the step's transaction.
    Rejected(Rejection),
    /// The modelled side refused the step.
    Refused(Refusal),
    /// Nobody judged: the step could not be made (a quorum offline, funds missing).
    Stalled(Stall),
}

/// A refusal by the modelled side: one of its family's codes, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The code (`pegin-needs-more-confirmations`).
    pub code: &'static str,
    /// Why, in words.
    pub why: String,
}

/// Why a step could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stall {
    /// The code (`quorum`, `insufficient-funds`).
    pub code: &'static str,
    /// Why, in words.
    pub why: String,
}

/// The stall codes every step that pays from a wallet may end with.
pub const GENERIC_STALLS: &[Code] = &[Code {
    code: "insufficient-funds",
    meaning: "the paying wallet cannot cover the amount and the fee",
}];

/// How an `exec` step's program can fail: the program judged the step (`refused = "..."`).
pub const EXEC_REFUSALS: &[Code] = &[
    Code { code: "program-failed", meaning: "the program exited with a status other than 0" },
    Code { code: "program-timed-out", meaning: "the program ran past its timeout and was killed" },
    Code {
        code: "program-not-started",
        meaning: "the program could not be started (not found, not executable)",
    },
];

/// How an `await` step stalls.
pub const AWAIT_STALLS: &[Code] = &[Code {
    code: "condition-not-met",
    meaning: "the condition did not hold within the blocks the step allows",
}];

/// Builds a refusal outcome.
pub(crate) fn refused(code: &'static str, why: impl Into<String>) -> Outcome {
    Outcome::Refused(Refusal { code, why: why.into() })
}

/// Builds a stall outcome.
pub(crate) fn stalled(code: &'static str, why: impl Into<String>) -> Outcome {
    Outcome::Stalled(Stall { code, why: why.into() })
}

/// A transaction a step made: its name, itself, and its fee when known.
#[derive(Debug, Clone)]
pub struct MadeTx {
    /// Its name in the scenario.
    pub name: String,
    /// The transaction.
    pub tx: Transaction,
    /// Its fee, when the step knows what its inputs are worth.
    pub fee: Option<Amount>,
}

/// Something the modelled side did or noticed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The peg holds a new deposit on Bitcoin.
    Deposited {
        /// The peg.
        peg: String,
        /// The deposit's name.
        name: String,
        /// Its value.
        #[serde(with = "bitcoin::amount::serde::as_sat")]
        amount: Amount,
    },
    /// Value credited on the peg's other side (L-BTC, RBTC, tokens).
    Minted {
        /// The peg.
        peg: String,
        /// Who is credited.
        to: String,
        /// How much.
        #[serde(with = "bitcoin::amount::serde::as_sat")]
        amount: Amount,
    },
    /// Value burned on the peg's other side (a peg-out or redeem request).
    Burned {
        /// The peg.
        peg: String,
        /// Whose.
        from: String,
        /// How much.
        #[serde(with = "bitcoin::amount::serde::as_sat")]
        amount: Amount,
    },
    /// The peg paid out on Bitcoin.
    PaidOut {
        /// The peg.
        peg: String,
        /// To whom.
        to: String,
        /// How much.
        #[serde(with = "bitcoin::amount::serde::as_sat")]
        amount: Amount,
    },
    /// The modelled side checked a proof of a Bitcoin transaction.
    ProofChecked {
        /// The peg.
        peg: String,
        /// The transaction proven.
        tx: String,
        /// Its confirmations as the checker saw them.
        confirmations: u32,
        /// What the checker requires.
        required: u32,
    },
    /// What the peg owes exceeds what backs it.
    Shortfall {
        /// The peg.
        peg: String,
        /// By how much.
        #[serde(with = "bitcoin::amount::serde::as_sat")]
        amount: Amount,
    },
    /// A secret key became public (an EOTS double vote).
    KeyExtracted {
        /// The peg.
        peg: String,
        /// Whose key.
        who: String,
    },
    /// What the model explains in words.
    Note {
        /// The peg it concerns.
        peg: String,
        /// The words.
        text: String,
    },
}

impl Event {
    /// A note about `peg`.
    pub(crate) fn note(peg: &str, text: impl Into<String>) -> Self {
        Self::Note { peg: peg.to_owned(), text: text.into() }
    }

    /// The event in words, for people.
    pub fn text(&self) -> String {
        match self {
            Self::Deposited { peg, name, amount } => {
                format!("{peg} holds deposit {name} ({amount})")
            }
            Self::Minted { peg, to, amount } => format!("{peg} credited {to} {amount}"),
            Self::Burned { peg, from, amount } => format!("{from} burned {amount} on {peg}"),
            Self::PaidOut { peg, to, amount } => format!("{peg} paid {amount} to {to} on Bitcoin"),
            Self::ProofChecked { peg, tx, confirmations, required } => format!(
                "{peg} checked the proof of {tx}: {confirmations} confirmation(s), {required} required"
            ),
            Self::Shortfall { peg, amount } => format!("{peg} is short by {amount}"),
            Self::KeyExtracted { peg, who } => {
                format!("{who}'s secret key is extracted ({peg}): anyone can sign with it now")
            }
            Self::Note { text, .. } => text.clone(),
        }
    }
}

/// What one step did.
#[derive(Debug, Clone)]
pub struct StepResult {
    /// What the step did, in words.
    pub action: String,
    /// How it ended.
    pub outcome: Outcome,
    /// The transactions it made (broadcast or not).
    pub txs: Vec<MadeTx>,
    /// What the modelled side did or noticed.
    pub events: Vec<Event>,
}

impl StepResult {
    /// A step that did `action`, with nothing judged yet.
    pub(crate) fn new(action: impl Into<String>) -> Self {
        Self { action: action.into(), outcome: Outcome::Done, txs: Vec::new(), events: Vec::new() }
    }

    /// The same, ending with `outcome`.
    pub(crate) fn ended(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }
}
