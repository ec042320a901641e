//! What a descriptor peg's steps do on the chain: deposits from a wallet, spends through a
//! path (its timelocks set, satisfied by miniscript), judged by Bitcoin Core.

use std::collections::{BTreeMap, BTreeSet};

use bitcoin::{Amount, OutPoint, Transaction, TxIn, TxOut, transaction::Version};

use super::Step;
use crate::{
    family::{PegRun, StepArgs},
    lock::{Lock, Spender, fill, lock_time, sequence},
    run::{Cx, Event, Outcome, RunError, StepResult, stalled},
    tx::fee::sign_with_fee,
};

/// A deposit the peg was paid.
#[derive(Debug)]
struct Deposit {
    name: String,
    outpoint: OutPoint,
    value: Amount,
    spent: bool,
}

/// A descriptor peg's state.
pub(super) struct State {
    peg: String,
    lock: Lock,
    deposits: Vec<Deposit>,
}

impl State {
    pub(super) fn new(peg: &str, lock: Lock) -> Self {
        Self { peg: peg.to_owned(), lock, deposits: Vec::new() }
    }

    /// The path `signers` come closest to satisfying (fewest keys missing, the first on ties).
    fn closest_path(&self, signers: &BTreeSet<String>) -> usize {
        self.lock
            .paths
            .iter()
            .enumerate()
            .filter_map(|(i, p)| fill(&p.policy, signers).map(|missing| (missing.len(), i)))
            .min()
            .map_or(0, |(_, i)| i)
    }

    fn spend(
        &mut self,
        cx: &mut Cx<'_>,
        (deposit, signers, path): (&str, &[String], Option<usize>),
        to: &crate::scenario::Destination,
        name: &str,
    ) -> Result<StepResult, RunError> {
        let mut result = StepResult::new(format!(
            "{} sign a spend of {deposit} from {} to {to}",
            signers.join(", "),
            self.peg
        ));
        let Some(index) = self
            .deposits
            .iter()
            .position(|d| d.name == deposit && !d.spent)
            .or_else(|| self.deposits.iter().position(|d| d.name == deposit))
        else {
            let why =
                format!("{deposit} was never accepted by Bitcoin Core: there is nothing to spend");
            return Ok(result.ended(stalled("no-deposit", why)));
        };
        let mut secrets = BTreeMap::new();
        let mut able = BTreeSet::new();
        let mut unable = Vec::new();
        for s in signers {
            match cx.signer(s) {
                Ok((pk, sk)) => {
                    secrets.insert(pk, sk);
                    able.insert(s.clone());
                }
                Err(why) => unable.push(why.to_string()),
            }
        }
        let path = path.unwrap_or_else(|| self.closest_path(&able));
        let spec = &self.lock.paths[path];
        let short = fill(&spec.policy, &able).is_none_or(|missing| !missing.is_empty());
        if !unable.is_empty() && short {
            let why = format!("path `{}` cannot be signed: {}", spec.name, unable.join(", "));
            return Ok(result.ended(stalled("quorum", why)));
        }
        let d = &self.deposits[index];
        let locks = spec.policy.timelocks();
        let prevout = TxOut { value: d.value, script_pubkey: self.lock.script_pubkey.clone() };
        let mut tx = Transaction {
            version: Version::TWO,
            lock_time: lock_time(&locks),
            input: vec![TxIn {
                previous_output: d.outpoint,
                sequence: sequence(&locks),
                ..TxIn::default()
            }],
            output: vec![TxOut { value: d.value, script_pubkey: cx.script_of(to) }],
        };
        let Spender::Descriptor(lock) = &self.lock.spender else {
            unreachable!("a descriptor lock")
        };
        let holders = &self.lock.holders;
        sign_with_fee(&mut tx, 0, d.value, cx.fee_rate, |tx| {
            lock.sign(
                cx.secp,
                tx,
                0,
                std::slice::from_ref(&prevout),
                path,
                &secrets,
                spec,
                holders,
            );
        });
        result.events.push(Event::note(&self.peg, format!("through path `{}`", spec.name)));
        let value = d.value;
        let (outcome, made) = cx.submit(name, tx, Some(value))?;
        if matches!(outcome, Outcome::Accepted) {
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

impl PegRun for State {
    fn step(&mut self, args: &dyn StepArgs, cx: &mut Cx<'_>) -> Result<StepResult, RunError> {
        let step = args.as_any().downcast_ref::<Step>().expect("a descriptor step");
        match step {
            Step::Deposit { from, amount, name } => {
                let spk = self.lock.script_pubkey.clone();
                let paid =
                    cx.pay(from, vec![TxOut { value: *amount, script_pubkey: spk.clone() }], name)?;
                let mut result =
                    StepResult::new(format!("{from} deposits {amount} into {}", self.peg));
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
            Step::Spend { deposit, signers, path, to, name } => {
                self.spend(cx, (deposit, signers, *path), to, name)
            }
        }
    }

    fn measure(&self, _: &str, _: Option<&str>, _: &mut Cx<'_>) -> Result<Amount, RunError> {
        Ok(self.deposits.iter().filter(|d| !d.spent).map(|d| d.value).sum())
    }
}
