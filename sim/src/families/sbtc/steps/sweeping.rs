//! The sweep: which requests the signers take now (their validation rules), the
//! transaction laid out, one FROST round per input, and what Stacks credits after it.

use super::*;

impl State {
    /// Whether the signers would sweep `deposit` now (`validation.rs`).
    pub(super) fn deposit_unfit(
        &self,
        cx: &mut Cx<'_>,
        deposit: &Deposit,
        tip: u32,
    ) -> Result<Option<Unfit>, RunError> {
        let height = match cx.chain.tx_status(cx.node, deposit.outpoint.txid)? {
            TxStatus::Confirmed { block, .. } => block.height,
            _ => {
                let why = format!("{} is not confirmed on the best chain", deposit.name);
                return Ok(Some(Unfit { code: Refused::TxNotOnBestChain, why }));
            }
        };
        let age = tip.saturating_sub(height);
        let (_, lock) = deposit.terms();
        let guard = lock.saturating_sub(DEPOSIT_LOCKTIME_BLOCK_BUFFER);
        if age >= u32::from(guard) {
            let why = format!(
                "{} is {age} block(s) past its confirmation; its lock is {} blocks, and the signers stop at lock - {DEPOSIT_LOCKTIME_BLOCK_BUFFER} = {guard}",
                deposit.name, lock
            );
            return Ok(Some(Unfit { code: Refused::LockTimeExpiry, why }));
        }
        Ok(None)
    }

    /// Whether the signers would pay `request` now (`request_decider.rs`, `validation.rs`).
    pub(super) fn withdrawal_unfit(request: &Withdrawal, tip: u32) -> Option<Unfit> {
        let age = tip.saturating_sub(request.height);
        if age < WITHDRAWAL_MIN_CONFIRMATIONS {
            let why = format!(
                "{} is {age} block(s) old; the signers act after {WITHDRAWAL_MIN_CONFIRMATIONS}",
                request.name
            );
            return Some(Unfit { code: Refused::RequestNotFinal, why });
        }
        if age >= WITHDRAWAL_BLOCKS_EXPIRY - WITHDRAWAL_EXPIRY_BUFFER {
            let why = format!(
                "{} is {age} block(s) old; the signers leave out requests within {WITHDRAWAL_EXPIRY_BUFFER} blocks of expiry ({WITHDRAWAL_BLOCKS_EXPIRY})",
                request.name
            );
            return Some(Unfit { code: Refused::RequestExpired, why });
        }
        None
    }

    /// Requests older than the expiry: the signers reject them and Stacks returns what they
    /// locked (`sbtc-withdrawal.clar` `reject-withdrawal-request`).
    pub(super) fn expire(&mut self, tip: u32, events: &mut Vec<Event>) {
        for w in &mut self.withdrawals {
            if !w.done && tip.saturating_sub(w.height) >= WITHDRAWAL_BLOCKS_EXPIRY {
                w.done = true;
                *self.sbtc.entry(w.from.clone()).or_default() += w.amount + w.max_fee;
                events.push(Event::note(
                    &self.peg,
                    format!("{} expired after {WITHDRAWAL_BLOCKS_EXPIRY} blocks: the signers reject it and Stacks returns {} to {}", w.name, w.amount + w.max_fee, w.from),
                ));
            }
        }
    }

    pub(super) fn sweep(
        &mut self,
        cx: &mut Cx<'_>,
        named: (Option<&[String]>, Option<&[String]>),
        name: &str,
    ) -> Result<StepResult, RunError> {
        let mut result = StepResult::new(format!("{}'s signers sweep", self.peg));
        let tip = cx.chain.height(cx.node)?;
        self.expire(tip, &mut result.events);
        let Some(utxo) = self.utxo else {
            let why = "the signers have no UTXO: sBTC's wallet starts with a donation";
            return Ok(result.ended(stalled("missing-signer-utxo", why)));
        };
        let (named_deposits, named_withdrawals) = named;
        // The candidates, named or every open one; those named and unfit refuse the sweep.
        let mut deposits = Vec::new();
        for (i, d) in self.deposits.iter().enumerate() {
            let wanted = named_deposits.is_none_or(|n| n.contains(&d.name));
            if !wanted {
                continue;
            }
            if d.spent {
                if named_deposits.is_some() {
                    let why = format!("{} was spent already", d.name);
                    return Ok(result.ended(stalled("no-deposit", why)));
                }
                continue;
            }
            match self.deposit_unfit(cx, d, tip)? {
                Some(unfit) if named_deposits.is_some() => {
                    return Ok(result.ended(refused(unfit.code.code(), unfit.why)));
                }
                Some(unfit) => result.events.push(Event::note(
                    &self.peg,
                    format!("left out: {} ({})", unfit.why, unfit.code.code()),
                )),
                None => deposits.push(i),
            }
        }
        if let Some(names) = named_deposits
            && let Some(missing) =
                names.iter().find(|n| !self.deposits.iter().any(|d| &d.name == *n))
        {
            let why = format!("{missing} was never accepted by Bitcoin Core");
            return Ok(result.ended(stalled("no-deposit", why)));
        }
        let mut withdrawals = Vec::new();
        for (i, w) in self.withdrawals.iter().enumerate() {
            if w.done || !named_withdrawals.is_none_or(|n| n.contains(&w.name)) {
                continue;
            }
            match Self::withdrawal_unfit(w, tip) {
                Some(unfit) if named_withdrawals.is_some() => {
                    return Ok(result.ended(refused(unfit.code.code(), unfit.why)));
                }
                Some(unfit) => result.events.push(Event::note(
                    &self.peg,
                    format!("left out: {} ({})", unfit.why, unfit.code.code()),
                )),
                None => withdrawals.push(i),
            }
        }
        // Lay out, and leave out (or refuse on) requests whose fee share is too high.
        let laid = loop {
            if deposits.is_empty() && withdrawals.is_empty() {
                let why = "no deposit or withdrawal request the signers would accept now";
                return Ok(result.ended(stalled("nothing-to-sweep", why)));
            }
            let inputs = deposits.iter().map(|&i| self.deposit_input(cx, i)).collect();
            let outputs: Vec<WithdrawalOutput> = withdrawals
                .iter()
                .map(|&i| {
                    let w = &self.withdrawals[i];
                    WithdrawalOutput { id: w.id, amount: w.amount, script: w.script.clone() }
                })
                .collect();
            let prevout = TxOut {
                value: utxo.value,
                script_pubkey: self.groups[utxo.group].script_pubkey(cx.secp),
            };
            let spk = self.groups[self.current()].script_pubkey(cx.secp);
            let laid = match sweep::lay_out(
                (utxo.outpoint, prevout),
                inputs,
                &outputs,
                spk,
                cx.fee_rate,
            ) {
                Ok(laid) => laid,
                Err(Layout::Short { have, need }) => {
                    let why =
                        format!("the signers hold {have}; the withdrawals and the fee need {need}");
                    return Ok(result.ended(stalled("nothing-to-sweep", why)));
                }
                Err(Layout::MarkerTooLong(n)) => {
                    let why = format!(
                        "the withdrawal ids take {n} bytes of OP_RETURN; the signers allow {}",
                        sweep::OP_RETURN_MAX
                    );
                    return Ok(result.ended(stalled("nothing-to-sweep", why)));
                }
            };
            match self.first_unfit(&laid, &deposits, &withdrawals) {
                None => break laid,
                Some((unfit, is_deposit, k)) => {
                    let named = if is_deposit {
                        named_deposits.is_some()
                    } else {
                        named_withdrawals.is_some()
                    };
                    if named {
                        return Ok(result.ended(refused(unfit.code.code(), unfit.why)));
                    }
                    result.events.push(Event::note(
                        &self.peg,
                        format!("left out: {} ({})", unfit.why, unfit.code.code()),
                    ));
                    if is_deposit {
                        deposits.remove(k)
                    } else {
                        withdrawals.remove(k)
                    };
                }
            }
        };
        let mut tx = laid.tx.clone();
        if let Err(why) = self.sign_sweep(cx, &mut tx, &laid, utxo.group, &deposits) {
            return Ok(result.ended(stalled("signing-round-failed", why)));
        }
        let value_in = laid.prevouts.iter().map(|p| p.value).sum();
        let (outcome, made) = cx.submit(name, tx, Some(value_in))?;
        if matches!(outcome, Outcome::Accepted) {
            self.settle(&made.tx, &laid, &deposits, &withdrawals, &mut result.events);
        }
        result.txs.push(made);
        Ok(result.ended(outcome))
    }

    pub(super) fn deposit_input(&self, cx: &Cx<'_>, index: usize) -> DepositInput {
        let d = &self.deposits[index];
        let _ = cx;
        DepositInput {
            outpoint: d.outpoint,
            prevout: TxOut {
                value: d.value,
                script_pubkey: ScriptBuf::new_p2tr_tweaked(d.info.output_key()),
            },
            leaf: d.leaf.clone(),
            info: d.info.clone(),
        }
    }

    /// The first request whose fee share breaks a rule: (why, a deposit?, its position).
    pub(super) fn first_unfit(
        &self,
        laid: &sweep::Sweep,
        deposits: &[usize],
        withdrawals: &[usize],
    ) -> Option<(Unfit, bool, usize)> {
        for (k, (&i, fee)) in deposits.iter().zip(&laid.deposit_fees).enumerate() {
            let d = &self.deposits[i];
            let (max_fee, _) = d.terms();
            if *fee > max_fee {
                let why = format!("{}'s share of the fee is {fee}, its max fee {max_fee}", d.name);
                return Some((Unfit { code: Refused::FeeTooHigh, why }, true, k));
            }
            if d.value.checked_sub(*fee).is_none_or(|minted| minted < DUST) {
                let why = format!("{} less its fee {fee} is below {DUST}", d.name);
                return Some((Unfit { code: Refused::MintAmountBelowDustLimit, why }, true, k));
            }
        }
        for (k, (&i, fee)) in withdrawals.iter().zip(&laid.withdrawal_fees).enumerate() {
            let w = &self.withdrawals[i];
            if *fee > w.max_fee {
                let why =
                    format!("{}'s share of the fee is {fee}, its max fee {}", w.name, w.max_fee);
                return Some((Unfit { code: Refused::FeeTooHigh, why }, false, k));
            }
        }
        None
    }

    /// One FROST round per input among the online signers of the key it is locked to.
    pub(super) fn sign_sweep(
        &self,
        cx: &Cx<'_>,
        tx: &mut Transaction,
        laid: &sweep::Sweep,
        utxo_group: usize,
        deposits: &[usize],
    ) -> Result<(), String> {
        let round = |group: usize, digest: [u8; 32], tweaked: bool| -> Result<[u8; 65], String> {
            let g = &self.groups[group];
            let online = self.online(cx, group);
            g.sign(&online, digest, tweaked).map(sweep::with_all).map_err(|e| {
                format!(
                    "{} of {} signers online, {} needed; FROST: {e}",
                    online.len(),
                    g.members.len(),
                    g.threshold
                )
            })
        };
        let unsigned = tx.clone();
        let sig = round(utxo_group, sweep::digest(&unsigned, &laid.prevouts, 0, None), true)?;
        tx.input[0].witness = Witness::from_slice(&[sig]);
        for (k, &i) in deposits.iter().enumerate() {
            let d = &self.deposits[i];
            let digest = sweep::digest(&unsigned, &laid.prevouts, k + 1, Some(&d.leaf));
            let sig = round(d.group, digest, false)?;
            tx.input[k + 1].witness = sweep::witness(&d.leaf, &d.info, sig);
        }
        Ok(())
    }

    /// After Core accepted a sweep: mint the deposits' sBTC, settle the withdrawals, move the
    /// signers' UTXO.
    pub(super) fn settle(
        &mut self,
        tx: &Transaction,
        laid: &sweep::Sweep,
        deposits: &[usize],
        withdrawals: &[usize],
        events: &mut Vec<Event>,
    ) {
        for (&i, fee) in deposits.iter().zip(&laid.deposit_fees) {
            let d = &mut self.deposits[i];
            d.spent = true;
            let minted = d.value - *fee;
            *self.sbtc.entry(d.from.clone()).or_default() += minted;
            events.push(Event::Minted {
                peg: self.peg.clone(),
                to: d.from.clone(),
                amount: minted,
            });
        }
        for (&i, fee) in withdrawals.iter().zip(&laid.withdrawal_fees) {
            let w = &mut self.withdrawals[i];
            w.done = true;
            let back = w.max_fee - *fee;
            *self.sbtc.entry(w.from.clone()).or_default() += back;
            events.push(Event::PaidOut {
                peg: self.peg.clone(),
                to: w.from.clone(),
                amount: w.amount,
            });
            events.push(Event::note(
                &self.peg,
                format!("{} paid {fee} of fee; Stacks returns {back} of its max fee", w.name),
            ));
        }
        let group = self.current();
        let moved = self.utxo.is_some_and(|u| u.group != group);
        self.utxo = Some(SignersUtxo {
            outpoint: OutPoint::new(tx.compute_txid(), 0),
            value: tx.output[0].value,
            group,
        });
        if moved {
            events.push(Event::note(&self.peg, "the signers' UTXO moved to the rotated key"));
        }
        events.push(Event::note(
            &self.peg,
            format!("the signers' UTXO holds {}; the fee was {}", tx.output[0].value, laid.fee),
        ));
    }
}
