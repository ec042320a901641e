//! What a run produced, step by step: transactions made, what Bitcoin Core said, what the
//! modelled side did, and whether each expectation held. Serialisable, and the same bytes
//! for the same seed (timings live apart, in `duration_ms`).

use serde::{Deserialize, Serialize};

/// The report of one scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The file.
    pub file: String,
    /// The scenario's name.
    pub name: String,
    /// The seed it ran with.
    pub seed: String,
    /// Whether every expectation held and the lab did not fail.
    pub passed: bool,
    /// Step by step.
    pub steps: Vec<StepReport>,
    /// The lab's own failure, if it stopped the run.
    pub error: Option<String>,
    /// What the models say before any step: security arithmetic and the like.
    #[serde(default)]
    pub analysis: Vec<String>,
    /// Wall time in milliseconds (the one field that differs between identical runs).
    pub duration_ms: u64,
}

impl Report {
    /// The report of a scenario the lab failed to run.
    pub fn failed(scenario: &crate::scenario::Scenario, error: String) -> Self {
        Self {
            file: scenario.file.clone(),
            name: scenario.name.clone(),
            seed: scenario.seed.clone(),
            passed: false,
            steps: Vec::new(),
            error: Some(error),
            analysis: Vec::new(),
            duration_ms: 0,
        }
    }
}

/// One step's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepReport {
    /// 1-based position.
    pub index: usize,
    /// Line in the file.
    pub line: usize,
    /// What the step did, in words.
    pub action: String,
    /// The author's note.
    pub note: Option<String>,
    /// Transactions the step made.
    pub transactions: Vec<TxReport>,
    /// What Bitcoin Core said: `accepted`, or its reject message.
    pub core: Option<String>,
    /// What the modelled side did.
    pub model: Vec<String>,
    /// Each expectation and whether it held.
    pub expectations: Vec<ExpectationReport>,
    /// Whether every expectation of the step held.
    pub passed: bool,
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
