//! The generic steps (mine, advance_time, reorg, partition, heal, offline, online, pay), and
//! the dispatch of every other step to its peg's family.

use bitcoin::{Transaction, TxOut};

use super::{Cx, Run, RunError, StepResult, step_cx};
use crate::scenario::{Action, Step};

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
            Action::Check => StepResult::new("check"),
        })
    }
}
