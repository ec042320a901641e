//! The step interpreter: runs a [`Scenario`] against a [`Chain`] and reports.
//!
//! The generic core keeps actors' keys and wallets, the named transactions, the offline
//! signers and each peg's running state, and executes the generic steps; a peg's own steps go
//! to its family. An unmet expectation is a result in the [`Report`]; `Err` is for the lab
//! itself failing, or for a bug in peglab.

mod cx;
mod erased;
mod exec;
mod expect;
mod generic;
pub mod keys;
mod outcome;
mod report;
mod wallet;

use std::collections::{BTreeMap, BTreeSet};

use bitcoin::{
    Amount, Transaction,
    hashes::{Hash, sha256},
    secp256k1::{All, Secp256k1},
};

pub(crate) use cx::Cx;
pub use erased::LabFailure;
pub use outcome::{
    AWAIT_STALLS, EXEC_REFUSALS, Event, GENERIC_STALLS, MadeTx, Outcome, Refusal, Stall, StepResult,
};
pub(crate) use outcome::{refused, stalled};
pub use report::{ExpectationReport, Report, StepReport, TxReport, Verdict};
pub use wallet::WalletError;

use crate::{
    Chain, NodeId,
    family::PegRun,
    scenario::{Action, Role, Scenario, Step},
};
use erased::{DynChain, Erased};
use keys::KeyBook;
use wallet::UserWallet;

/// Why a run could not go on.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The lab failed (a node died, an RPC broke).
    #[error(transparent)]
    Lab(#[from] LabFailure),
    /// A wallet failed in a way that is not the scenario's doing.
    #[error("wallet: {0}")]
    Wallet(WalletError),
    /// A step named a user that has no wallet (validation should have refused it).
    #[error("no wallet for `{0}`")]
    NoWallet(String),
    /// The modelled side could not set itself up (a key generation failed).
    #[error("{0}")]
    Model(String),
}

impl From<WalletError> for RunError {
    fn from(e: WalletError) -> Self {
        match e {
            WalletError::Lab(lab) => Self::Lab(lab),
            other => Self::Wallet(other),
        }
    }
}

impl RunError {
    /// Whether this is the lab failing (rather than a bug in peglab).
    pub fn is_lab_failure(&self) -> bool {
        matches!(self, Self::Lab(_))
    }
}

/// The step context on a node, borrowing the run's parts one by one (so that a peg's state
/// can be borrowed beside it).
macro_rules! step_cx {
    ($run:expr, $node:expr) => {
        $crate::run::Cx {
            node: $node,
            chain: &mut *$run.chain,
            keys: &$run.keys,
            wallets: &mut $run.wallets,
            txs: &mut $run.txs,
            offline: &$run.offline,
            fee_rate: $run.scenario.fee_rate,
            secp: &$run.secp,
            seen: &mut $run.seen,
        }
    };
}
pub(crate) use step_cx;

/// Everything a run keeps between steps.
struct Run<'a, 'c> {
    scenario: &'a Scenario,
    chain: &'a mut DynChain<'c>,
    secp: Secp256k1<All>,
    keys: KeyBook,
    wallets: BTreeMap<String, UserWallet>,
    offline: BTreeSet<String>,
    txs: BTreeMap<String, Transaction>,
    pegs: Vec<(String, Box<dyn PegRun>)>,
    seen: u64,
}

/// Runs `scenario` on `chain`. Lab failures end the run early and are reported in
/// [`Report::error`] (a peglab bug in [`Report::bug`]), with the steps so far.
pub fn run<C: Chain>(scenario: &Scenario, chain: &mut C) -> Report {
    run_steps(scenario, chain, scenario.steps.len())
}

/// Sets the scenario up on `chain` (users funded, pegs started) and runs its first `steps`
/// steps only: `peglab up` leaves the lab there for the user's own software.
pub fn run_steps<C: Chain>(scenario: &Scenario, chain: &mut C, steps: usize) -> Report {
    let mut erased = Erased(chain);
    let mut report = Report::new(scenario);
    report.analysis = scenario.pegs.iter().flat_map(|p| p.spec.analysis(&p.name)).collect();
    let mut run = match Run::setup(scenario, &mut erased) {
        Ok(run) => run,
        Err(e) => {
            report.fail(format!("failed to set up the scenario: {e}"), e.is_lab_failure());
            return report;
        }
    };
    for step in scenario.steps.iter().take(steps) {
        match run.step(step) {
            Ok(step_report) => report.steps.push(step_report),
            Err(e) => {
                report.fail(
                    format!("step {} (line {}): {e}", step.index, step.line),
                    e.is_lab_failure(),
                );
                return report;
            }
        }
    }
    report.passed = report.steps.iter().all(|s| s.passed);
    report
}

impl<'a, 'c> Run<'a, 'c> {
    fn setup(scenario: &'a Scenario, chain: &'a mut DynChain<'c>) -> Result<Self, RunError> {
        let secp = Secp256k1::new();
        let keys = KeyBook::new(&secp, scenario);
        let mut wallets = BTreeMap::new();
        for actor in &scenario.actors {
            if let Role::User { .. } = actor.role {
                let rng_seed = sha256::Hash::hash(
                    format!("peglab/v1/rng/{}/{}", scenario.seed, actor.name).as_bytes(),
                );
                let wallet = UserWallet::new(
                    keys.wallet_descriptors(&actor.name),
                    rng_seed.to_byte_array(),
                )?;
                wallets.insert(actor.name.clone(), wallet);
            }
        }
        let mut run = Self {
            scenario,
            chain,
            secp,
            keys,
            wallets,
            offline: BTreeSet::new(),
            txs: BTreeMap::new(),
            pegs: Vec::new(),
            seen: 0,
        };
        run.fund_users()?;
        for peg in &scenario.pegs {
            let state = peg.spec.start(&peg.name, &mut step_cx!(run, NodeId::FIRST))?;
            run.pegs.push((peg.name.clone(), state));
        }
        Ok(run)
    }

    /// Pays every user's starting funds from the lab's coins in one transaction, and
    /// confirms it.
    fn fund_users(&mut self) -> Result<(), RunError> {
        let mut outputs = Vec::new();
        for actor in &self.scenario.actors {
            if let Role::User { funds } = actor.role
                && funds > Amount::ZERO
            {
                let wallet = self
                    .wallets
                    .get_mut(&actor.name)
                    .ok_or_else(|| RunError::NoWallet(actor.name.clone()))?;
                outputs.push((wallet.next_script(), funds));
            }
        }
        if !outputs.is_empty() {
            self.chain.fund_many(NodeId::FIRST, &outputs)?;
            self.chain.mine(NodeId::FIRST, 1, None)?;
        }
        // Every wallet is born at the funding block: one that first pays after later blocks
        // (a `mine` or `advance_time` first) still sees its funds.
        for wallet in self.wallets.values_mut() {
            wallet.sync(&*self.chain, NodeId::FIRST)?;
        }
        Ok(())
    }

    fn step(&mut self, step: &Step) -> Result<StepReport, RunError> {
        let mut result = self.act(step)?;
        if matches!(step.action, Action::Reorg { .. } | Action::Heal | Action::Partition(_)) {
            let mut pegs = std::mem::take(&mut self.pegs);
            let noticed: Result<Vec<_>, RunError> = pegs
                .iter_mut()
                .map(|(_, state)| state.chain_changed(&mut step_cx!(self, step.node)))
                .collect();
            self.pegs = pegs;
            result.events.extend(noticed?.into_iter().flatten());
        }
        let expectations = self.check(step, &result)?;
        let mut report = StepReport::new(step, &result, expectations);
        report.height = Some(self.chain.height(step.node)?);
        Ok(report)
    }
}
