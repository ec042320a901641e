//! What a run produced, step by step: transactions made, who judged each step and what they
//! said, what the modelled side did, and whether each expectation held. Serialisable, and the
//! same bytes for the same seed (timings live apart, in `duration_ms`).

use serde::{Deserialize, Serialize};

use super::{Event, Outcome, StepResult};
use crate::scenario::{Action, Scenario, Step};

/// The report of one scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The file.
    pub file: String,
    /// The scenario's name.
    pub name: String,
    /// The seed it ran with.
    pub seed: String,
    /// Whether every expectation held and nothing failed.
    pub passed: bool,
    /// Step by step.
    pub steps: Vec<StepReport>,
    /// The lab's own failure (no bitcoind, a node died), if it stopped the run.
    pub error: Option<String>,
    /// A bug in peglab (a panic, a wallet that could not sign), if it stopped the run.
    #[serde(default)]
    pub bug: Option<String>,
    /// What the models say before any step: security arithmetic and the like.
    #[serde(default)]
    pub analysis: Vec<String>,
    /// Wall time in milliseconds (the one field that differs between identical runs).
    pub duration_ms: u64,
}

impl Report {
    /// An empty report of `scenario`, not yet passed.
    pub fn new(scenario: &Scenario) -> Self {
        Self {
            file: scenario.file.clone(),
            name: scenario.name.clone(),
            seed: scenario.seed.clone(),
            passed: false,
            steps: Vec::new(),
            error: None,
            bug: None,
            analysis: Vec::new(),
            duration_ms: 0,
        }
    }

    /// Marks the run failed: by the lab (`lab`) or by a bug in peglab.
    pub fn fail(&mut self, why: String, lab: bool) {
        self.passed = false;
        if lab {
            self.error = Some(why);
        } else {
            self.bug = Some(why);
        }
    }
}

/// Who judged a step, and what they said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "kebab-case")]
pub enum Verdict {
    /// Bitcoin Core judged the step's transaction.
    BitcoinCore {
        /// `accepted`, or Core's reject message verbatim.
        said: String,
    },
    /// The modelled side judged the step (a claim, a proof, a registration).
    Model {
        /// `accepted`, or its refusal code.
        code: String,
        /// Why.
        why: String,
    },
    /// Nobody judged: the step could not be made.
    Stalled {
        /// The stall code.
        code: String,
        /// Why.
        why: String,
    },
}

/// One step's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepReport {
    /// 1-based position.
    pub index: usize,
    /// Line in the file.
    pub line: usize,
    /// The step's keyword.
    pub verb: String,
    /// The peg it acted on, for a family's step.
    pub peg: Option<String>,
    /// What the step did, in words.
    pub action: String,
    /// The author's note.
    pub note: Option<String>,
    /// Transactions the step made.
    pub transactions: Vec<TxReport>,
    /// Who judged it and what they said (none for steps with nothing to judge).
    pub verdict: Option<Verdict>,
    /// What the modelled side did or noticed.
    pub events: Vec<Event>,
    /// Each expectation and whether it held.
    pub expectations: Vec<ExpectationReport>,
    /// Whether every expectation of the step held.
    pub passed: bool,
    /// The height of the step's node after it.
    #[serde(default)]
    pub height: Option<u32>,
}

impl StepReport {
    pub(crate) fn new(
        step: &Step,
        result: &StepResult,
        expectations: Vec<ExpectationReport>,
    ) -> Self {
        let made_tx = !result.txs.is_empty();
        let verdict = match &result.outcome {
            Outcome::Done => None,
            Outcome::Accepted if made_tx => Some(Verdict::BitcoinCore { said: "accepted".into() }),
            Outcome::Accepted => {
                Some(Verdict::Model { code: "accepted".into(), why: String::new() })
            }
            Outcome::Rejected(r) => Some(Verdict::BitcoinCore { said: r.message.clone() }),
            Outcome::Refused(r) => {
                Some(Verdict::Model { code: r.code.to_owned(), why: r.why.clone() })
            }
            Outcome::Stalled(s) => {
                Some(Verdict::Stalled { code: s.code.to_owned(), why: s.why.clone() })
            }
        };
        let transactions = result
            .txs
            .iter()
            .map(|m| TxReport {
                name: m.name.clone(),
                txid: m.tx.compute_txid().to_string(),
                vsize: m.tx.vsize() as u64,
                fee_sat: m.fee.map(bitcoin::Amount::to_sat),
                spends: m.tx.input.iter().map(|i| i.previous_output.to_string()).collect(),
            })
            .collect();
        Self {
            index: step.index,
            line: step.line,
            verb: step.action.keyword().to_owned(),
            peg: match &step.action {
                Action::Peg(p) => Some(p.peg.clone()),
                _ => None,
            },
            action: result.action.clone(),
            note: step.note.clone(),
            transactions,
            verdict,
            events: result.events.clone(),
            passed: expectations.iter().all(|e| e.held),
            expectations,
            height: None,
        }
    }

    /// Bitcoin Core's words about the step's transaction, if it judged one.
    pub fn core_said(&self) -> Option<&str> {
        match &self.verdict {
            Some(Verdict::BitcoinCore { said }) => Some(said),
            _ => None,
        }
    }
}

/// A transaction a step made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxReport {
    /// Its name in the scenario.
    pub name: String,
    /// Its txid.
    pub txid: String,
    /// Virtual size in vbytes.
    pub vsize: u64,
    /// Fee in satoshis, when known.
    pub fee_sat: Option<u64>,
    /// The outputs it spends, as `txid:vout`.
    #[serde(default)]
    pub spends: Vec<String>,
}

/// One expectation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectationReport {
    /// What was expected.
    pub expected: String,
    /// What happened.
    pub actual: String,
    /// Whether it held.
    pub held: bool,
}
