//! What a multisig peg's steps do on the chain.

use bitcoin::{Amount, OutPoint, TxOut};

use super::{Script, Step};
use crate::{
    family::{PegRun, StepArgs},
    run::{Cx, Event, RunError, StepResult, stalled},
};

/// A deposit the peg was paid.
#[derive(Debug)]
struct Deposit {
    name: String,
    outpoint: OutPoint,
    value: Amount,
    /// Spent by an accepted spend.
    spent: bool,
}

/// A multisig peg's state.
pub(super) struct State {
    peg: String,
    script: Script,
    signers: Vec<String>,
    deposits: Vec<Deposit>,
}

impl State {
    pub(super) fn new(peg: &str, script: Script, signers: Vec<String>) -> Self {
        Self { peg: peg.to_owned(), script, signers, deposits: Vec::new() }
    }
}

impl PegRun for State {
    fn step(&mut self, args: &dyn StepArgs, cx: &mut Cx<'_>) -> Result<StepResult, RunError> {
        let step = args.as_any().downcast_ref::<Step>().expect("a multisig step");
        match step {
            Step::Deposit { from, amount, name } => {
                let spk = self.script.script_pubkey();
                let action = format!("{from} deposits {amount} into {}", self.peg);
                let paid =
                    cx.pay(from, vec![TxOut { value: *amount, script_pubkey: spk.clone() }], name)?;
                let mut result = StepResult::new(action);
                if let Some((outpoint, value)) = paid.paying(&spk) {
                    self.deposits.push(Deposit {
                        name: name.clone(),
                        outpoint,
                        value,
                        spent: false,
                    });
                    result.events.push(Event::Deposited {
                        peg: self.peg.clone(),
                        name: name.clone(),
                        amount: value,
                    });
                }
                result.txs.extend(paid.made);
                Ok(result.ended(paid.outcome))
            }
            Step::Spend { deposit, signers, to, name } => {
                let action = format!(
                    "{} sign a spend of {deposit} from {} to {to}",
                    signers.join(", "),
                    self.peg
                );
                let mut result = StepResult::new(action);
                let Some(index) = self.deposits.iter().position(|d| d.name == *deposit) else {
                    let why = format!(
                        "{deposit} was never accepted by Bitcoin Core: there is nothing to spend"
                    );
                    return Ok(result.ended(stalled("no-deposit", why)));
                };
                let (mut secrets, mut unable) = (Vec::new(), Vec::new());
                for s in signers {
                    match cx.signer(s) {
                        Ok((_, sk)) => secrets.push(sk),
                        Err(why) => unable.push(why.to_string()),
                    }
                }
                let threshold = self.script.threshold;
                if !unable.is_empty() && secrets.len() < threshold {
                    let why = format!(
                        "{threshold} signatures needed, {} available ({})",
                        secrets.len(),
                        unable.join(", ")
                    );
                    return Ok(result.ended(stalled("quorum", why)));
                }
                let d = &self.deposits[index];
                let script = cx.script_of(to);
                let tx =
                    self.script.spend(cx.secp, d.outpoint, d.value, script, &secrets, cx.fee_rate);
                result.events.push(Event::note(
                    &self.peg,
                    format!(
                        "{} signature(s) on a {threshold}-of-{} script",
                        secrets.len().min(threshold),
                        self.signers.len()
                    ),
                ));
                let (outcome, made) = cx.submit(name, tx, Some(d.value))?;
                if matches!(outcome, crate::run::Outcome::Accepted) {
                    self.deposits[index].spent = true;
                    result.events.push(Event::PaidOut {
                        peg: self.peg.clone(),
                        to: to.to_string(),
                        amount: made.tx.output[0].value,
                    });
                }
                result.txs.push(made);
                Ok(result.ended(outcome))
            }
        }
    }

    fn measure(&self, _: &str, _: Option<&str>, _: &mut Cx<'_>) -> Result<Amount, RunError> {
        Ok(self.deposits.iter().filter(|d| !d.spent).map(|d| d.value).sum())
    }
}
