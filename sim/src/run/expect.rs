//! Checking a step's expectations against what happened.

use bitcoin::{Amount, Transaction};

use super::{ExpectationReport, Outcome, Run, RunError, StepResult, step_cx};
use crate::{
    family::Per,
    scenario::{Expectation, Step},
};

impl Run<'_, '_> {
    pub(super) fn check(
        &mut self,
        step: &Step,
        result: &StepResult,
    ) -> Result<Vec<ExpectationReport>, RunError> {
        let outcome = &result.outcome;
        let mut reports = Vec::new();
        let states_outcome = step.expect.iter().any(|e| {
            matches!(
                e,
                Expectation::Accepted
                    | Expectation::Rejected(_)
                    | Expectation::Refused(_)
                    | Expectation::Stalled(_)
            )
        });
        // A step with an outcome that says nothing about it must be accepted.
        if step.action.judged() && !states_outcome {
            let held = matches!(outcome, Outcome::Accepted);
            reports.push(report("accepted (implied)".into(), describe(outcome), held));
        }
        for expectation in &step.expect {
            reports.push(self.check_one(step, expectation, outcome)?);
        }
        Ok(reports)
    }

    fn check_one(
        &mut self,
        step: &Step,
        expectation: &Expectation,
        outcome: &Outcome,
    ) -> Result<ExpectationReport, RunError> {
        let node = step.node;
        Ok(match expectation {
            Expectation::Accepted => {
                report("accepted".into(), describe(outcome), matches!(outcome, Outcome::Accepted))
            }
            Expectation::Rejected(reason) => {
                let held = matches!(outcome, Outcome::Rejected(r) if r.reason.matches(reason));
                report(format!("rejected by Bitcoin Core: {reason}"), describe(outcome), held)
            }
            Expectation::Refused(code) => {
                let held = matches!(outcome, Outcome::Refused(r) if r.code == code);
                report(format!("refused by the model: {code}"), describe(outcome), held)
            }
            Expectation::Stalled(code) => {
                let held = matches!(outcome, Outcome::Stalled(s) if s.code == code);
                report(format!("stalled: {code}"), describe(outcome), held)
            }
            Expectation::Confirmations { tx, count } => {
                let actual = match self.txs.get(tx).map(Transaction::compute_txid) {
                    Some(txid) => self.chain.tx_status(node, txid)?.confirmations(),
                    None => 0,
                };
                let expected = format!("{tx}: {count} confirmation(s)");
                report(expected, actual.to_string(), actual == *count)
            }
            Expectation::Balance { actor, amount } => {
                let wallet =
                    self.wallets.get_mut(actor).ok_or_else(|| RunError::NoWallet(actor.clone()))?;
                wallet.sync(self.chain, node)?;
                let actual = wallet.balance();
                report(format!("{actor} holds {amount}"), actual.to_string(), actual == *amount)
            }
            Expectation::ScanBalance { of, amount } => {
                let actual = self.chain.scan_balance(node, of)?;
                report(format!("{of} holds {amount}"), actual.to_string(), actual == *amount)
            }
            Expectation::Unspent { tx, vout, unspent } => {
                let actual = match self.txs.get(tx).map(Transaction::compute_txid) {
                    Some(txid) => {
                        self.chain.unspent(node, bitcoin::OutPoint::new(txid, *vout))?.is_some()
                    }
                    None => false,
                };
                let word = |u: bool| if u { "unspent" } else { "spent" };
                report(
                    format!("{tx}:{vout} {}", word(*unspent)),
                    word(actual).into(),
                    actual == *unspent,
                )
            }
            Expectation::Quantity { key, per, of, amount } => {
                let mut actual = Amount::ZERO;
                let mut pegs = std::mem::take(&mut self.pegs);
                let mut measured = Ok(());
                for ((name, state), peg) in pegs.iter_mut().zip(&self.scenario.pegs) {
                    let applies = match per {
                        Per::Peg => name == of,
                        Per::Holder => peg.spec.family().quantities().iter().any(|q| q.key == *key),
                    };
                    if !applies {
                        continue;
                    }
                    let holder = (*per == Per::Holder).then_some(of.as_str());
                    match state.measure(key, holder, &mut step_cx!(self, node)) {
                        Ok(value) => actual += value,
                        Err(e) => {
                            measured = Err(e);
                            break;
                        }
                    }
                }
                self.pegs = pegs;
                measured?;
                let expected = format!("{key} of {of}: {amount}");
                report(expected, actual.to_string(), actual == *amount)
            }
        })
    }
}

fn report(expected: String, actual: String, held: bool) -> ExpectationReport {
    ExpectationReport { expected, actual, held }
}

/// An outcome in words, naming who judged it.
pub(crate) fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Done => "nothing to judge".into(),
        Outcome::Accepted => "accepted".into(),
        Outcome::Rejected(r) => format!("rejected by Bitcoin Core: {}", r.message),
        Outcome::Refused(r) => format!("refused by the model ({}): {}", r.code, r.why),
        Outcome::Stalled(s) => format!("stalled ({}): {}", s.code, s.why),
    }
}
