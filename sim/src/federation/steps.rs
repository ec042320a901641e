//! The steps Liquid and the PowPeg share: sweeping, emergency recovery, a colluding quorum's
//! theft, paying out, and what the federation holds as the chain sees it.

use bitcoin::{Amount, OutPoint, PublicKey, ScriptBuf, Transaction, TxOut, secp256k1::SecretKey};

use super::{Books, FedUtxo, Federation, Signers};
use crate::{
    TxStatus,
    run::{Cx, Event, Outcome, RunError, StepResult, stalled},
};

/// Who pays a payout's fee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PayoutFee {
    /// Every payout, in equal shares (rskj: bitcoinj's `recipientsPayFees`).
    Split,
    /// The federation's own coins (Liquid's fee pool): payouts are exact, the change pays.
    FeePool,
}

/// What the federation keeps beyond a fee-pool payout, so that its change can pay the fee.
const FEE_POOL_MARGIN: Amount = Amount::from_sat(100_000);

/// A federated peg's running state on the Bitcoin side, and its other side's books.
#[derive(Debug)]
pub(crate) struct Fed {
    pub(crate) peg: String,
    pub(crate) federation: Federation,
    pub(crate) books: Books,
    pub(crate) members: Vec<String>,
}

impl Fed {
    pub(crate) fn new(peg: &str, federation: Federation, members: Vec<String>) -> Self {
        Self { peg: peg.to_owned(), federation, books: Books::default(), members }
    }

    /// The online members holding their keys if they reach the threshold, else the stall
    /// that says why.
    pub(crate) fn quorum(&self, cx: &Cx<'_>) -> Result<Vec<(PublicKey, SecretKey)>, Outcome> {
        let members: Vec<_> = self.members.iter().filter_map(|m| cx.signer(m).ok()).collect();
        let threshold = self.federation.custody.threshold();
        let keys: Vec<PublicKey> = members.iter().map(|(pk, _)| *pk).collect();
        if !self.federation.custody.quorum_met(&keys) {
            let why = format!("{threshold} member signatures needed, {} online", members.len());
            return Err(stalled("quorum", why));
        }
        Ok(members)
    }

    /// Broadcasts a federation transaction spending `inputs`; when Bitcoin Core accepts it,
    /// the federation's outputs follow. `fee_from_books`: the fee is the federation's own
    /// cost (a sweep), not taken from what leaves.
    pub(crate) fn submit(
        &mut self,
        cx: &mut Cx<'_>,
        name: &str,
        tx: Transaction,
        inputs: &[FedUtxo],
        fee_from_books: bool,
        result: &mut StepResult,
    ) -> Result<Outcome, RunError> {
        let value_in: Amount = inputs.iter().map(|u| u.value).sum();
        let (outcome, made) = cx.submit(name, tx, Some(value_in))?;
        if matches!(outcome, Outcome::Accepted) {
            let spent: Vec<OutPoint> = inputs.iter().map(|u| u.outpoint).collect();
            self.federation.utxos.retain(|u| !spent.contains(&u.outpoint));
            let own = self.federation.script_pubkey(cx.secp, None);
            let txid = made.tx.compute_txid();
            for (vout, out) in made.tx.output.iter().enumerate() {
                if out.script_pubkey == own {
                    self.federation.utxos.push(FedUtxo {
                        outpoint: OutPoint::new(txid, vout as u32),
                        value: out.value,
                        claim_script: None,
                    });
                }
            }
            if fee_from_books {
                self.books.fees_paid += made.fee.unwrap_or(Amount::ZERO);
            }
            let held = self.federation.holdings();
            result.events.push(Event::note(&self.peg, format!("the federation now holds {held}")));
        }
        result.txs.push(made);
        Ok(outcome)
    }

    /// The online members move every federation output to one fresh output (restarting the
    /// emergency timelock).
    pub(crate) fn sweep(&mut self, cx: &mut Cx<'_>, name: &str) -> Result<StepResult, RunError> {
        let result = StepResult::new(format!("the {} federation sweeps its outputs", self.peg));
        let members = match self.quorum(cx) {
            Ok(members) => members,
            Err(stall) => return Ok(result.ended(stall)),
        };
        let inputs = self.federation.utxos.clone();
        if inputs.is_empty() {
            return Ok(result.ended(stalled("nothing-to-sweep", "the federation holds nothing")));
        }
        let total = inputs.iter().map(|u| u.value).sum();
        let output =
            TxOut { value: total, script_pubkey: self.federation.script_pubkey(cx.secp, None) };
        let tx = self.federation.spend(
            cx.secp,
            &inputs,
            vec![output],
            &Signers::Members(&members),
            cx.fee_rate,
        );
        let mut result = result;
        let outcome = self.submit(cx, name, tx, &inputs, true, &mut result)?;
        if matches!(outcome, Outcome::Accepted) {
            let text = format!(
                "the federation swept {} output(s) into one: the emergency timelock starts again",
                inputs.len()
            );
            result.events.push(Event::note(&self.peg, text));
        }
        Ok(result.ended(outcome))
    }

    /// Emergency recovery of the oldest output (`emergency`), or theft of every output by
    /// colluding members, to `to`. Signers who cannot sign leave their signature empty:
    /// Bitcoin Core judges the attempt.
    pub(crate) fn take(
        &mut self,
        cx: &mut Cx<'_>,
        signers: &[String],
        to: ScriptBuf,
        to_name: &str,
        name: &str,
        emergency: bool,
    ) -> Result<StepResult, RunError> {
        let what = if emergency { "recover the oldest output of" } else { "move every output of" };
        let result =
            StepResult::new(format!("{} {what} {} to {to_name}", signers.join(", "), self.peg));
        let inputs: Vec<FedUtxo> = if emergency {
            self.federation.utxos.iter().take(1).cloned().collect()
        } else {
            self.federation.utxos.clone()
        };
        if inputs.is_empty() {
            return Ok(result.ended(stalled("nothing-to-take", "the federation holds nothing")));
        }
        let able: Vec<(PublicKey, SecretKey)> =
            signers.iter().filter_map(|s| cx.signer(s).ok()).collect();
        let total: Amount = inputs.iter().map(|u| u.value).sum();
        let outputs = vec![TxOut { value: total, script_pubkey: to }];
        let tx = if emergency {
            let secrets: Vec<SecretKey> = able.iter().map(|(_, sk)| *sk).collect();
            self.federation.spend(
                cx.secp,
                &inputs,
                outputs,
                &Signers::Emergency(&secrets),
                cx.fee_rate,
            )
        } else {
            self.federation.spend(cx.secp, &inputs, outputs, &Signers::Members(&able), cx.fee_rate)
        };
        let mut result = result;
        let outcome = self.submit(cx, name, tx, &inputs, false, &mut result)?;
        if matches!(outcome, Outcome::Accepted) {
            let holdings = self.holdings(cx)?;
            let who = if emergency { "the emergency keys" } else { "colluding members" };
            let text = format!(
                "{who} moved {total} out of the federation with no burn behind it: the other side owes {}, the federation holds {holdings}",
                self.books.liabilities()
            );
            result.events.push(Event::note(&self.peg, text));
            let short = self.books.shortfall(holdings);
            if short > Amount::ZERO {
                result.events.push(Event::Shortfall { peg: self.peg.clone(), amount: short });
            }
        }
        Ok(result.ended(outcome))
    }

    /// What the federation holds as the step's node sees it: a claimed peg-in backs the
    /// other side's coins only while it is confirmed on the best chain; the federation's own
    /// outputs count from the mempool on.
    pub(crate) fn holdings(&self, cx: &mut Cx<'_>) -> Result<Amount, RunError> {
        let mut total = Amount::ZERO;
        for utxo in &self.federation.utxos {
            let counts = match cx.chain.tx_status(cx.node, utxo.outpoint.txid)? {
                TxStatus::Confirmed { .. } => true,
                TxStatus::InMempool => utxo.claim_script.is_none() && !self.is_pegin(utxo),
                TxStatus::Unknown => false,
            };
            if counts {
                total += utxo.value;
            }
        }
        Ok(total)
    }

    fn is_pegin(&self, utxo: &FedUtxo) -> bool {
        self.books.claimed.iter().any(|(_, outpoint, _)| *outpoint == utxo.outpoint)
    }

    /// The shared quantities: `peg_balance`, `shortfall`, `sidechain_balance`.
    pub(crate) fn measure(
        &self,
        key: &str,
        holder: Option<&str>,
        cx: &mut Cx<'_>,
    ) -> Result<Amount, RunError> {
        Ok(match key {
            "peg_balance" => self.holdings(cx)?,
            "shortfall" => self.books.shortfall(self.holdings(cx)?),
            "sidechain_balance" => self.books.balance(holder.unwrap_or_default()),
            _ => Amount::ZERO,
        })
    }

    /// After the chain changed: which claimed peg-ins left the best chain. The other side
    /// does not undo a claim: the coins it minted stay in circulation, unbacked.
    pub(crate) fn chain_changed(&self, cx: &mut Cx<'_>) -> Result<Vec<Event>, RunError> {
        let mut events = Vec::new();
        for (name, outpoint, value) in &self.books.claimed {
            if !matches!(cx.chain.tx_status(cx.node, outpoint.txid)?, TxStatus::Confirmed { .. }) {
                let holdings = self.holdings(cx)?;
                events.push(Event::note(
                    &self.peg,
                    format!(
                        "claimed peg-in {name} ({value}) is no longer confirmed on the best chain; a claim is not undone: what it minted stays in circulation, unbacked while the peg-in is out"
                    ),
                ));
                events.push(Event::Shortfall {
                    peg: self.peg.clone(),
                    amount: self.books.shortfall(holdings),
                });
            }
        }
        Ok(events)
    }

    /// Records a claimed or registered peg-in: the other side credits `to` with `value`,
    /// and the federation holds the output.
    pub(crate) fn credit(
        &mut self,
        deposit: &str,
        outpoint: OutPoint,
        value: Amount,
        to: &str,
        claim_script: Option<ScriptBuf>,
        result: &mut StepResult,
    ) {
        self.books.claimed.push((deposit.to_owned(), outpoint, value));
        *self.books.balances.entry(to.to_owned()).or_default() += value;
        self.federation.utxos.push(FedUtxo { outpoint, value, claim_script });
        result.events.push(Event::Minted {
            peg: self.peg.clone(),
            to: to.to_owned(),
            amount: value,
        });
    }

    /// Burns `amount` of `from`'s balance on the other side; `false` when it holds less.
    pub(crate) fn burn(&mut self, from: &str, amount: Amount, result: &mut StepResult) -> bool {
        let balance = self.books.balance(from);
        if balance < amount {
            return false;
        }
        self.books.balances.insert(from.to_owned(), balance - amount);
        self.books.pending_pegouts += amount;
        result.events.push(Event::Burned { peg: self.peg.clone(), from: from.to_owned(), amount });
        true
    }

    /// Whether the other side already credited this deposit.
    pub(crate) fn claimed(&self, deposit: &str, outpoint: Option<OutPoint>) -> bool {
        self.books.claimed.iter().any(|(n, o, _)| n == deposit || Some(*o) == outpoint)
    }

    /// Pays `payouts` (value, script) from the oldest outputs, change back to the federation
    /// first, signed by `members`. `fee`: who pays the fee.
    pub(crate) fn pay_out(
        &mut self,
        cx: &mut Cx<'_>,
        members: &[(PublicKey, SecretKey)],
        payouts: Vec<TxOut>,
        fee: PayoutFee,
        (name, result): (&str, &mut StepResult),
    ) -> Result<Outcome, RunError> {
        let total: Amount = payouts.iter().map(|o| o.value).sum();
        let margin = match fee {
            PayoutFee::FeePool => FEE_POOL_MARGIN,
            _ => Amount::ZERO,
        };
        let Some(inputs) = super::select(&self.federation.utxos, total + margin) else {
            let why =
                format!("the federation holds {}, less than {total}", self.federation.holdings());
            return Ok(stalled("insufficient-federation-funds", why));
        };
        let held: Amount = inputs.iter().map(|u| u.value).sum();
        let mut outputs = Vec::new();
        if held > total {
            let change = self.federation.script_pubkey(cx.secp, None);
            outputs.push(TxOut { value: held - total, script_pubkey: change });
        }
        let first = outputs.len();
        let count = payouts.len();
        outputs.extend(payouts);
        let payers = match fee {
            PayoutFee::Split => (first..first + count).collect(),
            PayoutFee::FeePool => vec![0],
        };
        let tx = self.federation.spend_with(
            cx.secp,
            &inputs,
            outputs,
            &Signers::Members(members),
            cx.fee_rate,
            &super::FeeFrom::Outputs(payers),
        );
        let from_books = matches!(fee, PayoutFee::FeePool);
        self.submit(cx, name, tx, &inputs, from_books, result)
    }
}
