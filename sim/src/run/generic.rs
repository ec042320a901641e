//! The generic steps (mine, advance_time, reorg, partition, heal, offline, online, pay, exec,
//! await), and
//! the dispatch of every other step to its peg's family.

use bitcoin::{Transaction, TxOut};

use super::{Cx, Run, RunError, StepResult, step_cx};
use crate::scenario::{Action, Condition, Step};

impl Run<'_, '_> {
    pub(super) fn act(&mut self, step: &Step) -> Result<StepResult, RunError> {
        let node = step.node;
        Ok(match &step.action {
            Action::Mine(n) => {
                self.chain.mine(node, *n, None)?;
                StepResult::new(format!("mine {n} block(s) on node {}", node.0))
            }
            Action::AdvanceTime(secs) => {
                self.chain.advance_time(node, *secs)?;
                StepResult::new(format!("advance time by {secs} s (and mine 6 blocks)"))
            }
            Action::Reorg { depth, without } => {
                let txid =
                    without.as_ref().and_then(|n| self.txs.get(n)).map(Transaction::compute_txid);
                self.chain.reorg(node, *depth, txid)?;
                let what = without.as_ref().map(|n| format!(" without {n}")).unwrap_or_default();
                StepResult::new(format!("reorg the last {depth} block(s){what}"))
            }
            Action::Partition(groups) => {
                self.chain.partition(groups)?;
                let text: Vec<String> = groups
                    .iter()
                    .map(|g| {
                        let ids: Vec<String> = g.iter().map(|n| n.0.to_string()).collect();
                        format!("[{}]", ids.join(", "))
                    })
                    .collect();
                StepResult::new(format!("partition nodes into {}", text.join(" ")))
            }
            Action::Heal => {
                self.chain.heal()?;
                StepResult::new("heal the partition")
            }
            Action::Offline(who) => {
                self.offline.extend(who.iter().cloned());
                StepResult::new(format!("{} go offline", who.join(", ")))
            }
            Action::Online(who) => {
                for w in who {
                    self.offline.remove(w);
                }
                StepResult::new(format!("{} come online", who.join(", ")))
            }
            Action::Pay { from, to, amount, name } => {
                let mut cx: Cx<'_> = step_cx!(self, node);
                let script = cx.script_of(to);
                let paid =
                    cx.pay(from, vec![TxOut { value: *amount, script_pubkey: script }], name)?;
                let mut result = StepResult::new(format!("{from} pays {amount} to {to}"));
                result.txs.extend(paid.made);
                result.ended(paid.outcome)
            }
            Action::Peg(action) => {
                let Some(index) = self.pegs.iter().position(|(name, _)| *name == action.peg) else {
                    return Ok(StepResult::new(format!("no peg {}", action.peg)));
                };
                let mut pegs = std::mem::take(&mut self.pegs);
                let result = pegs[index].1.step(&*action.spec.args, &mut step_cx!(self, node));
                self.pegs = pegs;
                result?
            }
            Action::Exec { cmd, env, timeout } => self.exec(node, cmd, env, *timeout)?,
            Action::Await { until, blocks } => self.await_condition(node, until, *blocks)?,
            Action::Check => StepResult::new("check"),
        })
    }
}

impl Run<'_, '_> {
    /// Whether `until` holds on `node` now.
    fn holds(&mut self, node: crate::NodeId, until: &Condition) -> Result<bool, RunError> {
        Ok(match until {
            Condition::Balance { of, amount } => self.chain.scan_balance(node, of)? >= *amount,
            Condition::Spent { tx, vout } => {
                match self.txs.get(tx).map(Transaction::compute_txid) {
                    Some(txid) => {
                        self.chain.unspent(node, bitcoin::OutPoint::new(txid, *vout))?.is_none()
                    }
                    None => false,
                }
            }
        })
    }

    /// Mines one block at a time until `until` holds, at most `blocks`.
    fn await_condition(
        &mut self,
        node: crate::NodeId,
        until: &Condition,
        blocks: u32,
    ) -> Result<StepResult, RunError> {
        let what = match until {
            Condition::Balance { of, amount } => format!("{of} holds {amount}"),
            Condition::Spent { tx, vout } => format!("{tx}:{vout} is spent"),
        };
        let result = StepResult::new(format!("await: {what} (within {blocks} block(s))"));
        for mined in 0..=blocks {
            if self.holds(node, until)? {
                let mut result = result;
                result
                    .events
                    .push(super::Event::note("lab", format!("held after {mined} block(s)")));
                return Ok(result.ended(super::Outcome::Accepted));
            }
            if mined < blocks {
                self.chain.mine(node, 1, None)?;
            }
        }
        let why = format!("not after {blocks} block(s)");
        Ok(result.ended(super::stalled("condition-not-met", why)))
    }
}
