//! Checking a step's expectations against what happened.

use bitcoin::{Amount, Transaction};

use super::{ExpectationReport, Outcome, Run, RunError};
use crate::{
    Chain,
    scenario::{Expectation, Step},
};

impl<C: Chain> Run<'_, C> {
    pub(crate) fn check(
        &mut self,
        step: &Step,
        outcome: &Outcome,
    ) -> Result<Vec<ExpectationReport>, RunError<C::Error>> {
        let mut reports = Vec::new();
        let states_outcome = step.expect.iter().any(|e| {
            matches!(e, Expectation::Accepted | Expectation::Rejected(_) | Expectation::Stalled(_))
        });
        // A step that makes a transaction (or a claim) and says nothing about it must succeed.
        if step.action.has_outcome() && !states_outcome {
            reports.push(report(
                "accepted (implied)".into(),
                describe(outcome),
                matches!(outcome, Outcome::Accepted),
            ));
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
    ) -> Result<ExpectationReport, RunError<C::Error>> {
        let node = step.node;
        Ok(match expectation {
            Expectation::Accepted => {
                report("accepted".into(), describe(outcome), matches!(outcome, Outcome::Accepted))
            }
            Expectation::Rejected(reason) => {
                let held = match outcome {
                    Outcome::Rejected(r) => r.reason.matches(reason),
                    Outcome::ModelRejected { code, .. } => code == reason,
                    _ => false,
                };
                report(format!("rejected: {reason}"), describe(outcome), held)
            }
            Expectation::Stalled(code) => {
                let held = matches!(outcome, Outcome::Stalled { code: c, .. } if c == code);
                report(format!("stalled: {code}"), describe(outcome), held)
            }
            Expectation::Confirmations { tx, count } => {
                let txid = self.txs.get(tx).map(Transaction::compute_txid);
                let actual = match txid {
                    Some(txid) => {
                        self.chain.tx_status(node, txid).map_err(RunError::Chain)?.confirmations()
                    }
                    None => 0,
                };
                report(
                    format!("{tx}: {count} confirmation(s)"),
                    format!("{actual}"),
                    actual == *count,
                )
            }
            Expectation::Balance { actor, amount } => {
                let wallet = self.wallets.get_mut(actor).expect("validated user");
                wallet.sync(&*self.chain, node)?;
                let actual = wallet.balance();
                report(format!("{actor} holds {amount}"), format!("{actual}"), actual == *amount)
            }
            Expectation::SidechainBalance { actor, amount } => {
                let federated: Amount =
                    self.liquids.values().map(|l| l.sidechain.balance(actor)).sum();
                let tokens: Amount =
                    self.spvs.values().filter_map(|s| s.tokens.get(actor)).copied().sum();
                let actual = federated + tokens;
                report(
                    format!("{actor} holds {amount} on the sidechain"),
                    format!("{actual}"),
                    actual == *amount,
                )
            }
            Expectation::Shortfall { peg, amount } => {
                let actual = if self.spvs.contains_key(peg) {
                    self.spv_shortfall(node, peg)?
                } else {
                    let holdings = self.liquid_holdings(node, peg)?;
                    self.liquids[peg].shortfall(holdings)
                };
                report(
                    format!("{peg} is short by {amount}"),
                    format!("{actual}"),
                    actual == *amount,
                )
            }
            Expectation::Collateral { peg, amount } => {
                let actual = self.spvs[peg].collateral;
                report(
                    format!("{peg}'s vault has {amount} of collateral"),
                    format!("{actual}"),
                    actual == *amount,
                )
            }
            Expectation::Reimbursed { actor, amount } => {
                let actual: Amount =
                    self.spvs.values().filter_map(|s| s.reimbursed.get(actor)).copied().sum();
                report(
                    format!("{actor} was reimbursed {amount}"),
                    format!("{actual}"),
                    actual == *amount,
                )
            }
            Expectation::PegBalance { peg, amount } => {
                let actual: Amount = match (self.multisigs.get(peg), self.liquids.get(peg)) {
                    (Some(m), _) => m.deposits.iter().map(|(_, _, v)| *v).sum(),
                    (None, Some(_)) => self.liquid_holdings(node, peg)?,
                    (None, None) => Amount::ZERO,
                };
                report(format!("{peg} holds {amount}"), format!("{actual}"), actual == *amount)
            }
        })
    }
}

fn report(expected: String, actual: String, held: bool) -> ExpectationReport {
    ExpectationReport { expected, actual, held }
}

fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::None => "no transaction".into(),
        Outcome::Accepted => "accepted".into(),
        Outcome::Rejected(r) => format!("rejected: {}", r.message),
        Outcome::Stalled { code, why } => format!("stalled ({code}): {why}"),
        Outcome::ModelRejected { code, why } => format!("refused by the model ({code}): {why}"),
    }
}
