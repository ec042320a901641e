//! What an sBTC peg's steps do: deposits, the signers' sweeps and their FROST rounds,
//! withdrawal requests on Stacks, reclaims, key rotation and collusion.

use std::collections::BTreeMap;

use bitcoin::{
    Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness,
    absolute::LockTime,
    key::{Keypair, TapTweak},
    secp256k1::{Message, schnorr},
    taproot::TaprootSpendInfo,
    transaction::Version,
};

use super::{
    Refused, Spec, Step, deposit_leaves,
    script::{deposit_info, deposit_script_pubkey, parse_deposit, parse_reclaim},
    signers::Group,
    sweep::{self, DepositInput, Layout, WithdrawalOutput},
};
use crate::{
    chain::TxStatus,
    family::{PegRun, StepArgs},
    run::{Cx, Event, Outcome, RunError, StepResult, keys::Purpose, refused, stalled},
    scenario::Destination,
    tx::{
        fee::sign_with_fee,
        taproot::{leaf_witness, sign_leaf},
    },
};

/// Blocks a withdrawal request waits before the signers act (`WITHDRAWAL_MIN_CONFIRMATIONS`).
const WITHDRAWAL_MIN_CONFIRMATIONS: u32 = 6;
/// Blocks after which a request expires (`WITHDRAWAL_BLOCKS_EXPIRY`).
const WITHDRAWAL_BLOCKS_EXPIRY: u32 = 24;
/// The signers stop including a request this close to expiry (`WITHDRAWAL_EXPIRY_BUFFER`).
const WITHDRAWAL_EXPIRY_BUFFER: u32 = 6;
/// The deposit sweep guard (`DEPOSIT_LOCKTIME_BLOCK_BUFFER`).
const DEPOSIT_LOCKTIME_BLOCK_BUFFER: u16 = 3;
/// The dust floor of a minted deposit and a withdrawal (`DEPOSIT_DUST_LIMIT`, `dust-limit`).
const DUST: Amount = Amount::from_sat(546);

#[derive(Debug, Clone)]
struct Deposit {
    name: String,
    from: String,
    outpoint: OutPoint,
    value: Amount,
    leaf: ScriptBuf,
    reclaim: ScriptBuf,
    info: TaprootSpendInfo,
    /// The signer set whose key the deposit leaf names.
    group: usize,
    /// Swept, reclaimed or stolen.
    spent: bool,
}

impl Deposit {
    /// Its max fee and lock, as the signers read them from its scripts
    /// (`DepositScriptInputs::parse`, `ReclaimScriptInputs::parse`).
    fn terms(&self) -> (Amount, u16) {
        let max_fee = parse_deposit(&self.leaf).map_or(Amount::ZERO, |t| t.max_fee);
        let lock = parse_reclaim(&self.reclaim).map_or(0, |(lock, _)| lock);
        (max_fee, lock)
    }
}

#[derive(Debug, Clone)]
struct Withdrawal {
    name: String,
    id: u64,
    from: String,
    amount: Amount,
    max_fee: Amount,
    script: ScriptBuf,
    /// The Bitcoin height when Stacks took the request.
    height: u32,
    done: bool,
}

#[derive(Debug, Clone, Copy)]
struct SignersUtxo {
    outpoint: OutPoint,
    value: Amount,
    group: usize,
}

/// An sBTC peg's state: the signer sets (the last is current), deposits, requests, the
/// signers' UTXO and the sBTC ledger.
pub(super) struct State {
    peg: String,
    groups: Vec<Group>,
    stacks_version: u8,
    deposits: Vec<Deposit>,
    withdrawals: Vec<Withdrawal>,
    utxo: Option<SignersUtxo>,
    sbtc: BTreeMap<String, Amount>,
}

/// Why the signers leave a request out, and in which words.
struct Unfit {
    code: Refused,
    why: String,
}

impl State {
    pub(super) fn new(peg: &str, spec: &Spec, group: Group) -> Self {
        Self {
            peg: peg.to_owned(),
            groups: vec![group],
            stacks_version: spec.stacks_version,
            deposits: Vec::new(),
            withdrawals: Vec::new(),
            utxo: None,
            sbtc: BTreeMap::new(),
        }
    }

    fn current(&self) -> usize {
        self.groups.len() - 1
    }

    fn online(&self, cx: &Cx<'_>, group: usize) -> Vec<String> {
        self.groups[group].members.iter().filter(|m| !cx.offline.contains(*m)).cloned().collect()
    }

    /// sBTC in circulation and locked in pending requests.
    fn liabilities(&self) -> Amount {
        let pending = self.withdrawals.iter().filter(|w| !w.done).map(|w| w.amount + w.max_fee);
        self.sbtc.values().copied().chain(pending).sum()
    }

    fn holdings(&self) -> Amount {
        self.utxo.map_or(Amount::ZERO, |u| u.value)
    }

    fn donate(
        &mut self,
        cx: &mut Cx<'_>,
        from: &str,
        amount: Amount,
        name: &str,
    ) -> Result<StepResult, RunError> {
        let mut result =
            StepResult::new(format!("{from} donates {amount} to {}'s signers", self.peg));
        let spk = self.groups[self.current()].script_pubkey(cx.secp);
        let paid = cx.pay(from, vec![TxOut { value: amount, script_pubkey: spk.clone() }], name)?;
        if let Some(tx) = paid.accepted()
            && let Some((outpoint, value)) = Cx::output_paying(tx, &spk)
        {
            if self.utxo.is_none() {
                self.utxo = Some(SignersUtxo { outpoint, value, group: self.current() });
                result.events.push(Event::note(&self.peg, format!("{value} is the signers' UTXO")));
            } else {
                result.events.push(Event::note(
                    &self.peg,
                    "the signers already have a UTXO: a sweep spends only that one; this donation stays aside",
                ));
            }
        }
        result.txs.extend(paid.made);
        Ok(result.ended(paid.outcome))
    }

    fn deposit(
        &mut self,
        cx: &mut Cx<'_>,
        (from, amount, max_fee, lock, name): (&str, Amount, Amount, u16, &str),
    ) -> Result<StepResult, RunError> {
        let mut result = StepResult::new(format!(
            "{from} deposits {amount} to {} (max fee {max_fee}, reclaim after {lock} blocks)",
            self.peg
        ));
        let group = self.current();
        let (leaf, reclaim) = deposit_leaves(
            cx.secp,
            cx.keys,
            self.stacks_version,
            from,
            max_fee,
            lock,
            &self.groups[group],
        );
        let info = deposit_info(cx.secp, &leaf, &reclaim);
        let spk = deposit_script_pubkey(cx.secp, &leaf, &reclaim);
        let paid = cx.pay(from, vec![TxOut { value: amount, script_pubkey: spk.clone() }], name)?;
        if let Some(tx) = paid.accepted()
            && let Some((outpoint, value)) = Cx::output_paying(tx, &spk)
        {
            self.deposits.push(Deposit {
                name: name.to_owned(),
                from: from.to_owned(),
                outpoint,
                value,
                leaf,
                reclaim,
                info,
                group,
                spent: false,
            });
        }
        result.txs.extend(paid.made);
        Ok(result.ended(paid.outcome))
    }

    /// Whether the signers would sweep `deposit` now (`validation.rs`).
    fn deposit_unfit(
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
    fn withdrawal_unfit(request: &Withdrawal, tip: u32) -> Option<Unfit> {
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
    fn expire(&mut self, tip: u32, events: &mut Vec<Event>) {
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

    fn sweep(
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

    fn deposit_input(&self, cx: &Cx<'_>, index: usize) -> DepositInput {
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
    fn first_unfit(
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
    fn sign_sweep(
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
    fn settle(
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

    fn withdraw(
        &mut self,
        cx: &mut Cx<'_>,
        (from, amount, to, max_fee, name): (&str, Amount, &Destination, Amount, &str),
    ) -> Result<StepResult, RunError> {
        let mut result = StepResult::new(format!(
            "{from} asks {} on Stacks for {amount} to {to} (max fee {max_fee})",
            self.peg
        ));
        if amount <= DUST {
            let why = format!("{amount} is at most the dust limit, {DUST}");
            return Ok(result.ended(refused(Refused::AmountIsDust.code(), why)));
        }
        let balance = self.sbtc.get(from).copied().unwrap_or_default();
        let locked = amount + max_fee;
        if balance < locked {
            let why = format!("{from} holds {balance} sBTC; the request locks {locked}");
            return Ok(result.ended(stalled("insufficient-sbtc", why)));
        }
        self.sbtc.insert(from.to_owned(), balance - locked);
        let height = cx.chain.height(cx.node)?;
        let id = self.withdrawals.len() as u64 + 1;
        let script = cx.script_of(to);
        self.withdrawals.push(Withdrawal {
            name: name.to_owned(),
            id,
            from: from.to_owned(),
            amount,
            max_fee,
            script,
            height,
            done: false,
        });
        result.events.push(Event::Burned {
            peg: self.peg.clone(),
            from: from.to_owned(),
            amount: locked,
        });
        result.events.push(Event::note(
            &self.peg,
            format!("request {id} ({name}) taken at Bitcoin height {height}"),
        ));
        Ok(result.ended(Outcome::Accepted))
    }

    fn reclaim(
        &mut self,
        cx: &mut Cx<'_>,
        deposit: &str,
        to: Option<&Destination>,
        name: &str,
    ) -> Result<StepResult, RunError> {
        let result = StepResult::new(format!("the depositor reclaims {deposit}"));
        let Some(index) = self.deposits.iter().position(|d| d.name == deposit) else {
            let why = format!("{deposit} was never accepted by Bitcoin Core");
            return Ok(result.ended(stalled("no-deposit", why)));
        };
        let d = self.deposits[index].clone();
        let to = to.cloned().unwrap_or_else(|| Destination::Actor(d.from.clone()));
        let script_pubkey = cx.script_of(&to);
        let mut tx = Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: d.outpoint,
                sequence: Sequence::from_height(d.terms().1),
                ..TxIn::default()
            }],
            output: vec![TxOut { value: d.value, script_pubkey }],
        };
        let prevout = TxOut {
            value: d.value,
            script_pubkey: ScriptBuf::new_p2tr_tweaked(d.info.output_key()),
        };
        // `check` refuses a reclaim by a depositor given only a public key.
        let secret =
            cx.keys.user_secret(Purpose::Staking, &d.from).expect("the depositor's secret");
        let keypair = Keypair::from_secret_key(cx.secp, &secret);
        sign_with_fee(&mut tx, 0, d.value, cx.fee_rate, |tx| {
            let sig = sign_leaf(cx.secp, tx, 0, &prevout, &d.reclaim, &keypair);
            tx.input[0].witness = leaf_witness(vec![sig], &d.reclaim, &d.info);
        });
        let (outcome, made) = cx.submit(name, tx, Some(d.value))?;
        if matches!(outcome, Outcome::Accepted) {
            self.deposits[index].spent = true;
        }
        let mut result = result;
        result.txs.push(made);
        Ok(result.ended(outcome))
    }

    fn rotate(
        &mut self,
        cx: &mut Cx<'_>,
        signers: Option<&[String]>,
        threshold: Option<u16>,
    ) -> StepResult {
        let old = &self.groups[self.current()];
        let members = signers.map_or_else(|| old.members.clone(), <[String]>::to_vec);
        let threshold = threshold.unwrap_or(old.threshold).min(members.len() as u16);
        let result = StepResult::new(format!(
            "{}'s signers run a DKG for a new key ({threshold} of {})",
            self.peg,
            members.len()
        ));
        let offline: Vec<&String> = members.iter().filter(|m| cx.offline.contains(*m)).collect();
        if !offline.is_empty() {
            let names: Vec<&str> = offline.iter().map(|s| s.as_str()).collect();
            let why = format!(
                "{} offline: sBTC's DKG needs every signer (dkg_threshold = num_signers)",
                names.join(", ")
            );
            return result.ended(stalled("dkg-needs-every-signer", why));
        }
        let label = super::label(cx.keys, &self.peg, self.groups.len());
        match Group::generate(&members, threshold, &label) {
            Ok(group) => {
                let mut result = result;
                result.events.push(Event::note(&self.peg, format!("the new aggregate key is {}; new deposits lock to it, the signers' UTXO moves at the next sweep", group.key)));
                self.groups.push(group);
                result.ended(Outcome::Accepted)
            }
            Err(e) => {
                result.ended(stalled("dkg-needs-every-signer", format!("the DKG failed: {e}")))
            }
        }
    }

    fn steal(
        &mut self,
        cx: &mut Cx<'_>,
        signers: &[String],
        to: &Destination,
        name: &str,
    ) -> Result<StepResult, RunError> {
        let mut result = StepResult::new(format!(
            "{} sign {}'s coins over to {to}",
            signers.join(", "),
            self.peg
        ));
        let current = self.current();
        let group = self.groups[current].clone();
        let members: Vec<String> = signers.iter().filter(|s| group.is_member(s)).cloned().collect();
        for s in signers.iter().filter(|s| !group.is_member(s)) {
            result
                .events
                .push(Event::note(&self.peg, format!("{s} holds no share of the current key")));
        }
        let utxo = self.utxo.filter(|u| u.group == current);
        let deposits: Vec<usize> = (0..self.deposits.len())
            .filter(|&i| !self.deposits[i].spent && self.deposits[i].group == current)
            .collect();
        let mut prevouts = Vec::new();
        let mut inputs = Vec::new();
        if let Some(u) = utxo {
            prevouts.push(TxOut { value: u.value, script_pubkey: group.script_pubkey(cx.secp) });
            inputs.push(u.outpoint);
        }
        for &i in &deposits {
            let d = self.deposit_input(cx, i);
            prevouts.push(d.prevout);
            inputs.push(d.outpoint);
        }
        if inputs.is_empty() {
            return Ok(
                result.ended(stalled("nothing-to-sweep", "nothing is locked to the current key"))
            );
        }
        let value_in: Amount = prevouts.iter().map(|p| p.value).sum();
        let script_pubkey = cx.script_of(to);
        let mut tx = Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: inputs
                .iter()
                .map(|o| TxIn { previous_output: *o, sequence: Sequence::ZERO, ..TxIn::default() })
                .collect(),
            output: vec![TxOut { value: value_in, script_pubkey }],
        };
        // FROST first; with fewer than the threshold it refuses, and the colluders fall back
        // to the key their shares interpolate to.
        let frost = |digest: [u8; 32], tweaked: bool| group.sign(&members, digest, tweaked);
        let fallback = match frost([0; 32], false) {
            Ok(_) => None,
            Err(e) => {
                result.events.push(Event::note(
                    &self.peg,
                    format!(
                        "FROST refuses {} of {} signers ({} needed): {e}",
                        members.len(),
                        group.members.len(),
                        group.threshold
                    ),
                ));
                match group.interpolate(&members) {
                    Ok(key) => {
                        result.events.push(Event::note(&self.peg, "they sign with the key their shares interpolate to, which is not the aggregate key"));
                        Some(key)
                    }
                    Err(e) => {
                        return Ok(
                            result.ended(stalled("signing-round-failed", format!("FROST: {e}")))
                        );
                    }
                }
            }
        };
        let has_utxo = utxo.is_some();
        let leaves: Vec<(ScriptBuf, TaprootSpendInfo)> = deposits
            .iter()
            .map(|&i| (self.deposits[i].leaf.clone(), self.deposits[i].info.clone()))
            .collect();
        let mut failure = None;
        sign_with_fee(&mut tx, 0, value_in, cx.fee_rate, |tx| {
            let unsigned = tx.clone();
            for index in 0..tx.input.len() {
                let leaf =
                    if has_utxo && index == 0 { None } else { Some(index - usize::from(has_utxo)) };
                let digest = sweep::digest(&unsigned, &prevouts, index, leaf.map(|k| &leaves[k].0));
                let signature = match &fallback {
                    None => frost(digest, leaf.is_none()),
                    Some(key) => Ok(schnorr_sign(cx, key, digest, leaf.is_none())),
                };
                let sig = match signature {
                    Ok(s) => sweep::with_all(s),
                    Err(e) => {
                        failure = Some(e);
                        [0; 65]
                    }
                };
                tx.input[index].witness = match leaf {
                    None => Witness::from_slice(&[sig]),
                    Some(k) => sweep::witness(&leaves[k].0, &leaves[k].1, sig),
                };
            }
        });
        if let Some(e) = failure {
            return Ok(result.ended(stalled("signing-round-failed", format!("FROST: {e}"))));
        }
        let (outcome, made) = cx.submit(name, tx, Some(value_in))?;
        if matches!(outcome, Outcome::Accepted) {
            if has_utxo {
                self.utxo = None;
            }
            for &i in &deposits {
                self.deposits[i].spent = true;
            }
            let shortfall = self.liabilities().checked_sub(self.holdings()).unwrap_or_default();
            result.events.push(Event::Shortfall { peg: self.peg.clone(), amount: shortfall });
        }
        result.txs.push(made);
        Ok(result.ended(outcome))
    }
}

/// A plain BIP340 signature by `key` (tweaked for a key path): what colluders below the
/// threshold can make.
fn schnorr_sign(
    cx: &Cx<'_>,
    key: &bitcoin::secp256k1::SecretKey,
    digest: [u8; 32],
    tweaked: bool,
) -> schnorr::Signature {
    let keypair = Keypair::from_secret_key(cx.secp, key);
    let keypair = if tweaked { keypair.tap_tweak(cx.secp, None).to_keypair() } else { keypair };
    cx.secp.sign_schnorr_no_aux_rand(&Message::from_digest(digest), &keypair)
}

impl PegRun for State {
    fn step(&mut self, args: &dyn StepArgs, cx: &mut Cx<'_>) -> Result<StepResult, RunError> {
        let step = args.as_any().downcast_ref::<Step>().expect("an sbtc step");
        match step {
            Step::Donate { from, amount, name } => self.donate(cx, from, *amount, name),
            Step::Deposit { from, amount, max_fee, lock, name } => {
                self.deposit(cx, (from, *amount, *max_fee, *lock, name))
            }
            Step::Sweep { deposits, withdrawals, name } => {
                self.sweep(cx, (deposits.as_deref(), withdrawals.as_deref()), name)
            }
            Step::Withdraw { from, amount, to, max_fee, name } => {
                self.withdraw(cx, (from, *amount, to, *max_fee, name))
            }
            Step::Reclaim { deposit, to, name } => self.reclaim(cx, deposit, to.as_ref(), name),
            Step::Rotate { signers, threshold } => {
                Ok(self.rotate(cx, signers.as_deref(), *threshold))
            }
            Step::Steal { signers, to, name } => self.steal(cx, signers, to, name),
        }
    }

    fn measure(&self, key: &str, holder: Option<&str>, _: &mut Cx<'_>) -> Result<Amount, RunError> {
        Ok(match key {
            "peg_balance" => self.holdings(),
            "shortfall" => self.liabilities().checked_sub(self.holdings()).unwrap_or_default(),
            "sidechain_balance" => {
                holder.and_then(|h| self.sbtc.get(h)).copied().unwrap_or_default()
            }
            _ => Amount::ZERO,
        })
    }
}
