//! What a tBTC peg's steps do: deposits and their reveal, the wallet's sweeps, redemptions
//! and moving funds (each shape checked as the Bridge's `require`s check it), refunds.

mod bridge_side;

use std::collections::BTreeMap;

use bitcoin::{
    Amount, OutPoint, PublicKey, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness,
    absolute::LockTime, transaction::Version,
};

use super::{REDEMPTION_TIMEOUT, Refused, Spec, Step, bridge, reveal, script::deposit_script};
use crate::{
    chain::TxStatus,
    family::{PegRun, StepArgs},
    relay::store::Relay,
    run::{Cx, Event, Outcome, RunError, StepResult, keys::Purpose, refused, stalled},
    scenario::Destination,
    tx::{
        OutputType,
        fee::sign_with_fee,
        multisig::{ecdsa_sighash, sign_single_input},
        script_pubkey,
    },
};

#[derive(Debug, Clone)]
struct Deposit {
    name: String,
    from: String,
    outpoint: OutPoint,
    value: Amount,
    script: ScriptBuf,
    locktime: u32,
    /// Swept or refunded.
    spent: bool,
}

/// What a wallet transaction is, for its proof to the Bridge.
#[derive(Debug, Clone)]
enum Kind {
    /// A sweep: who the Bank credits once it is proven.
    Sweep(Vec<(String, Amount)>),
    /// A redemption paying this request.
    Redemption(String),
    Move,
    /// A spend of the main UTXO nobody asked for.
    Theft,
}

#[derive(Debug, Clone)]
struct WalletTx {
    txid: bitcoin::Txid,
    kind: Kind,
    proven: bool,
}

#[derive(Debug, Clone)]
struct Request {
    name: String,
    from: String,
    amount: Amount,
    /// Median-time-past when it was made (the Bridge's block.timestamp).
    at: u32,
    /// Proven paid, or timed out.
    done: bool,
}

/// A tBTC peg's state.
pub(super) struct State {
    peg: String,
    relay: Relay,
    made: BTreeMap<String, WalletTx>,
    requests: Vec<Request>,
    wallet: String,
    output: OutputType,
    refund_lock: u32,
    deposit_dust: Amount,
    deposits: Vec<Deposit>,
    main: Option<(OutPoint, Amount)>,
    /// What moving funds sent to other wallets.
    moved: Amount,
    tbtc: BTreeMap<String, Amount>,
}

impl State {
    pub(super) fn new(peg: &str, spec: &Spec, relay: Relay) -> Self {
        Self {
            peg: peg.to_owned(),
            relay,
            made: BTreeMap::new(),
            requests: Vec::new(),
            wallet: spec.wallet.clone(),
            output: spec.output,
            refund_lock: spec.refund_lock,
            deposit_dust: spec.deposit_dust,
            deposits: Vec::new(),
            main: None,
            moved: Amount::ZERO,
            tbtc: BTreeMap::new(),
        }
    }

    fn wallet_key(&self, cx: &Cx<'_>) -> PublicKey {
        cx.keys.public(&self.wallet)
    }

    fn wallet_script(&self, cx: &Cx<'_>) -> ScriptBuf {
        let pk = self.wallet_key(cx);
        ScriptBuf::new_p2wpkh(&pk.wpubkey_hash().expect("actor keys are compressed"))
    }

    /// Signs the main UTXO (P2WPKH) at `index`.
    fn sign_main(&self, cx: &Cx<'_>, tx: &mut Transaction, index: usize, value: Amount) {
        let pk = self.wallet_key(cx);
        let code = ScriptBuf::new_p2pkh(&pk.pubkey_hash());
        let digest = ecdsa_sighash(tx, index, &code, value, OutputType::P2wsh);
        let secret = cx.keys.secret(&self.wallet).expect("`check` wants the wallet's secret");
        let sig = bitcoin::ecdsa::Signature::sighash_all(
            cx.secp.sign_ecdsa(&bitcoin::secp256k1::Message::from_digest(digest), &secret),
        );
        tx.input[index].witness = Witness::from_slice(&[sig.to_vec(), pk.to_bytes()]);
    }

    fn sign_deposit(&self, cx: &Cx<'_>, tx: &mut Transaction, index: usize, d: &Deposit) {
        let secret = cx.keys.secret(&self.wallet).expect("`check` wants the wallet's secret");
        sign_single_input(cx.secp, tx, index, &d.script, d.value, &secret, true, self.output);
    }

    fn deposit(
        &mut self,
        cx: &mut Cx<'_>,
        (from, amount, extra, name): (&str, Amount, Option<[u8; 32]>, &str),
    ) -> Result<StepResult, RunError> {
        let mut result =
            StepResult::new(format!("{from} deposits {amount} to {} and reveals it", self.peg));
        // The Bridge reveals only deposits above its dust threshold: the depositor's client
        // does not pay one below it.
        if amount < self.deposit_dust {
            let why = format!("{amount} is below depositDustThreshold, {}", self.deposit_dust);
            return Ok(result.ended(refused(Refused::DepositAmountTooSmall.code(), why)));
        }
        let locktime = cx.chain.median_time_past(cx.node)?.saturating_add(self.refund_lock);
        let wallet = self.wallet_key(cx);
        let script = deposit_script(&reveal(cx.keys, from, &wallet, locktime, extra, name));
        let spk = script_pubkey(&script, self.output);
        let paid = cx.pay(from, vec![TxOut { value: amount, script_pubkey: spk.clone() }], name)?;
        if let Some((outpoint, value)) = paid.paying(&spk) {
            self.deposits.push(Deposit {
                name: name.to_owned(),
                from: from.to_owned(),
                outpoint,
                value,
                script,
                locktime,
                spent: false,
            });
            result.events.push(Event::note(
                &self.peg,
                format!(
                    "revealed: a {}-byte script, refundable after UNIX time {locktime}",
                    self.deposits.last().map_or(0, |d| d.script.len())
                ),
            ));
        }
        result.txs.extend(paid.made);
        Ok(result.ended(paid.outcome))
    }

    fn sweep(
        &mut self,
        cx: &mut Cx<'_>,
        named: Option<&[String]>,
        outputs: u8,
        name: &str,
    ) -> Result<StepResult, RunError> {
        let mut result = StepResult::new(format!("{}'s wallet sweeps", self.peg));
        let mut picked = Vec::new();
        for (i, d) in self.deposits.iter().enumerate() {
            match named {
                Some(names) if names.contains(&d.name) => {
                    if d.spent {
                        let why = format!("{} was swept or refunded", d.name);
                        return Ok(result.ended(refused(Refused::DepositAlreadySwept.code(), why)));
                    }
                    picked.push(i);
                }
                None if !d.spent => picked.push(i),
                _ => {}
            }
        }
        if let Some(missing) =
            named.into_iter().flatten().find(|n| !self.deposits.iter().any(|d| &d.name == *n))
        {
            return Ok(result.ended(stalled(
                "no-deposit",
                format!("{missing} was never accepted by Bitcoin Core"),
            )));
        }
        if picked.is_empty() {
            let why = "no revealed, unswept deposit";
            return Ok(result.ended(refused(Refused::SweepNoDeposit.code(), why)));
        }
        let main = self.main;
        let value_in: Amount = main.map_or(Amount::ZERO, |m| m.1)
            + picked.iter().map(|&i| self.deposits[i].value).sum::<Amount>();
        let mut input: Vec<TxIn> = Vec::new();
        if let Some((outpoint, _)) = main {
            input.push(TxIn {
                previous_output: outpoint,
                sequence: Sequence::MAX,
                ..TxIn::default()
            });
        }
        input.extend(picked.iter().map(|&i| TxIn {
            previous_output: self.deposits[i].outpoint,
            sequence: Sequence::MAX,
            ..TxIn::default()
        }));
        let wallet_spk = self.wallet_script(cx);
        let n = u64::from(outputs.max(1));
        let mut tx = Transaction {
            version: Version::ONE,
            lock_time: LockTime::ZERO,
            input,
            output: (0..n)
                .map(|_| TxOut { value: value_in / n, script_pubkey: wallet_spk.clone() })
                .collect(),
        };
        let offset = usize::from(main.is_some());
        let deposits: Vec<Deposit> = picked.iter().map(|&i| self.deposits[i].clone()).collect();
        let fee = sign_with_fee(&mut tx, 0, value_in / n, cx.fee_rate, |tx| {
            if let Some((_, value)) = main {
                self.sign_main(cx, tx, 0, value);
            }
            for (k, d) in deposits.iter().enumerate() {
                self.sign_deposit(cx, tx, k + offset, d);
            }
        });
        // The Bridge's checks of the sweep proof (`DepositSweep.sol`), made before the
        // wallet signs off.
        if let Err((code, why)) = bridge::sweep(&tx, deposits.len(), &wallet_spk, fee) {
            if code == Refused::SweepSingleOutput {
                result.events.push(Event::note(&self.peg, "the wallet's client follows the Bridge: a sweep it could not prove is not broadcast"));
            }
            return Ok(result.ended(refused(code.code(), why)));
        }
        let share = fee / deposits.len() as u64;
        let (outcome, made) = cx.submit(name, tx, Some(value_in))?;
        if matches!(outcome, Outcome::Accepted) {
            self.main = Some((OutPoint::new(made.tx.compute_txid(), 0), made.tx.output[0].value));
            for &i in &picked {
                self.deposits[i].spent = true;
            }
            // The Bank will credit each depositor its deposit less its share of the fee
            // (`DepositSweep.sol` `depositTxFee`; the treasury fee is left at 0) once the
            // sweep is proven.
            let credits = deposits
                .iter()
                .map(|d| (d.from.clone(), d.value.checked_sub(share).unwrap_or_default()))
                .collect();
            let txid = made.tx.compute_txid();
            self.made.insert(
                name.to_owned(),
                WalletTx { txid, kind: Kind::Sweep(credits), proven: false },
            );
            result.events.push(Event::note(
                &self.peg,
                "the Bank credits the depositors once the sweep is proven (`prove`)",
            ));
        }
        result.txs.push(made);
        Ok(result.ended(outcome))
    }

    fn redeem(
        &mut self,
        cx: &mut Cx<'_>,
        (from, amount, to, inputs, pay, name): (&str, Amount, &Destination, u8, bool, &str),
    ) -> Result<StepResult, RunError> {
        let mut result = StepResult::new(format!("{from} redeems {amount} of tBTC to {to}"));
        let balance = self.tbtc.get(from).copied().unwrap_or_default();
        if balance < amount {
            return Ok(
                result.ended(stalled("insufficient-tbtc", format!("{from} holds {balance} tBTC")))
            );
        }
        // requestRedemption: the Bank balance is taken at once, the wallet pays later.
        let at = cx.chain.median_time_past(cx.node)?;
        self.tbtc.insert(from.to_owned(), balance - amount);
        self.requests.push(Request {
            name: name.to_owned(),
            from: from.to_owned(),
            amount,
            at,
            done: false,
        });
        result.events.push(Event::Burned { peg: self.peg.clone(), from: from.to_owned(), amount });
        if !pay {
            result.events.push(Event::note(
                &self.peg,
                format!(
                    "the request waits for the wallet; after {} s anyone may report its timeout",
                    REDEMPTION_TIMEOUT
                ),
            ));
            return Ok(result.ended(Outcome::Accepted));
        }
        let Some((outpoint, value)) = self.main else {
            return Ok(result.ended(stalled("no-main-utxo", "the wallet has swept nothing yet")));
        };
        let extra = if inputs >= 2 {
            let Some(d) = self.deposits.iter().find(|d| !d.spent).cloned() else {
                return Ok(result
                    .ended(stalled("no-deposit", "no unswept deposit to add as a second input")));
            };
            Some(d)
        } else {
            None
        };
        let redeemer = cx.script_of(to);
        let value_in = value + extra.as_ref().map_or(Amount::ZERO, |d| d.value);
        let change = value_in.checked_sub(amount).unwrap_or_default();
        let mut input =
            vec![TxIn { previous_output: outpoint, sequence: Sequence::MAX, ..TxIn::default() }];
        if let Some(d) = &extra {
            input.push(TxIn {
                previous_output: d.outpoint,
                sequence: Sequence::MAX,
                ..TxIn::default()
            });
        }
        let mut tx = Transaction {
            version: Version::ONE,
            lock_time: LockTime::ZERO,
            input,
            output: vec![
                TxOut { value: amount, script_pubkey: redeemer },
                TxOut { value: change, script_pubkey: self.wallet_script(cx) },
            ],
        };
        // The redeemer pays the transaction's fee out of its output (`redemptionTxMaxFee`).
        sign_with_fee(&mut tx, 0, amount, cx.fee_rate, |tx| {
            self.sign_main(cx, tx, 0, value);
            if let Some(d) = &extra {
                self.sign_deposit(cx, tx, 1, d);
            }
        });
        if let Err((code, why)) = bridge::outbound(&tx, outpoint) {
            result.events.push(Event::note(&self.peg, "the wallet's client follows the Bridge: a redemption it could not prove is not broadcast"));
            return Ok(result.ended(refused(code.code(), why)));
        }
        let (outcome, made) = cx.submit(name, tx, Some(value_in))?;
        if matches!(outcome, Outcome::Accepted) {
            let txid = made.tx.compute_txid();
            self.main = Some((OutPoint::new(txid, 1), change));
            let kind = Kind::Redemption(name.to_owned());
            self.made.insert(name.to_owned(), WalletTx { txid, kind, proven: false });
            result.events.push(Event::PaidOut {
                peg: self.peg.clone(),
                to: to.to_string(),
                amount: made.tx.output[0].value,
            });
        }
        result.txs.push(made);
        Ok(result.ended(outcome))
    }

    fn move_funds(
        &mut self,
        cx: &mut Cx<'_>,
        targets: &[String],
        name: &str,
    ) -> Result<StepResult, RunError> {
        let result = StepResult::new(format!(
            "{}'s wallet moves its funds to {}",
            self.peg,
            targets.join(", ")
        ));
        let Some((outpoint, value)) = self.main else {
            return Ok(result.ended(stalled("no-main-utxo", "the wallet has swept nothing yet")));
        };
        let scripts: Vec<ScriptBuf> = targets
            .iter()
            .map(|t| {
                ScriptBuf::new_p2wpkh(
                    &cx.keys.public(t).wpubkey_hash().expect("actor keys are compressed"),
                )
            })
            .collect();
        let n = scripts.len() as u64;
        let mut tx = Transaction {
            version: Version::ONE,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: outpoint,
                sequence: Sequence::MAX,
                ..TxIn::default()
            }],
            output: scripts
                .into_iter()
                .map(|s| TxOut { value: value / n, script_pubkey: s })
                .collect(),
        };
        // The fee comes out of every output alike, so that the parts stay equal.
        self.sign_main(cx, &mut tx, 0, value);
        let fee = cx.fee_rate.fee_vb(tx.vsize() as u64).unwrap_or(Amount::MAX_MONEY);
        let each = (value.checked_sub(fee).unwrap_or_default()) / n;
        for o in &mut tx.output {
            o.value = each;
        }
        self.sign_main(cx, &mut tx, 0, value);
        let mut result = result;
        if let Err((code, why)) = bridge::moving_funds(&tx, outpoint) {
            return Ok(result.ended(refused(code.code(), why)));
        }
        let (outcome, made) = cx.submit(name, tx, Some(value))?;
        if matches!(outcome, Outcome::Accepted) {
            self.main = None;
            self.moved += each * n;
            let txid = made.tx.compute_txid();
            self.made.insert(name.to_owned(), WalletTx { txid, kind: Kind::Move, proven: false });
            result.events.push(Event::note(
                &self.peg,
                format!("{} wallets hold {each} each", targets.len()),
            ));
        }
        result.txs.push(made);
        Ok(result.ended(outcome))
    }

    fn refund(
        &mut self,
        cx: &mut Cx<'_>,
        deposit: &str,
        to: Option<&Destination>,
        name: &str,
    ) -> Result<StepResult, RunError> {
        let result = StepResult::new(format!("the depositor takes {deposit} back"));
        let Some(index) = self.deposits.iter().position(|d| d.name == deposit) else {
            return Ok(result.ended(stalled(
                "no-deposit",
                format!("{deposit} was never accepted by Bitcoin Core"),
            )));
        };
        let d = self.deposits[index].clone();
        let to = to.cloned().unwrap_or_else(|| Destination::Actor(d.from.clone()));
        let script_pubkey = cx.script_of(&to);
        let mut tx = Transaction {
            version: Version::TWO,
            lock_time: LockTime::from_time(d.locktime).unwrap_or(LockTime::ZERO),
            input: vec![TxIn {
                previous_output: d.outpoint,
                sequence: Sequence::ENABLE_LOCKTIME_NO_RBF,
                ..TxIn::default()
            }],
            output: vec![TxOut { value: d.value, script_pubkey }],
        };
        // `check` refuses a refund by a depositor given only a public key.
        let secret =
            cx.keys.user_secret(Purpose::Staking, &d.from).expect("the depositor's secret");
        sign_with_fee(&mut tx, 0, d.value, cx.fee_rate, |tx| {
            sign_single_input(cx.secp, tx, 0, &d.script, d.value, &secret, true, self.output);
        });
        let (outcome, made) = cx.submit(name, tx, Some(d.value))?;
        if matches!(outcome, Outcome::Accepted) {
            self.deposits[index].spent = true;
        }
        let mut result = result;
        result.txs.push(made);
        Ok(result.ended(outcome))
    }
}

impl State {
    fn holdings(&self) -> Amount {
        self.main.map_or(Amount::ZERO, |m| m.1) + self.moved
    }

    /// tBTC in circulation and in pending redemption requests.
    fn liabilities(&self) -> Amount {
        let pending = self.requests.iter().filter(|r| !r.done).map(|r| r.amount);
        self.tbtc.values().copied().chain(pending).sum()
    }
}

impl PegRun for State {
    fn step(&mut self, args: &dyn StepArgs, cx: &mut Cx<'_>) -> Result<StepResult, RunError> {
        let step = args.as_any().downcast_ref::<Step>().expect("a tbtc step");
        match step {
            Step::Deposit { from, amount, extra_data, name } => {
                self.deposit(cx, (from, *amount, *extra_data, name))
            }
            Step::Sweep { deposits, outputs, name } => {
                self.sweep(cx, deposits.as_deref(), *outputs, name)
            }
            Step::Redeem { from, amount, to, inputs, pay, name } => {
                self.redeem(cx, (from, *amount, to, *inputs, *pay, name))
            }
            Step::Prove { tx } => self.prove(cx, tx),
            Step::Steal { to, name } => self.steal(cx, to, name),
            Step::Challenge { tx } => Ok(self.challenge(tx)),
            Step::Timeout { request } => self.timeout(cx, request),
            Step::Move { targets, name } => self.move_funds(cx, targets, name),
            Step::Refund { deposit, to, name } => self.refund(cx, deposit, to.as_ref(), name),
        }
    }

    fn measure(&self, key: &str, holder: Option<&str>, _: &mut Cx<'_>) -> Result<Amount, RunError> {
        Ok(match key {
            "peg_balance" => self.holdings(),
            "shortfall" => self.liabilities().checked_sub(self.holdings()).unwrap_or_default(),
            "sidechain_balance" => {
                holder.and_then(|h| self.tbtc.get(h)).copied().unwrap_or_default()
            }
            _ => Amount::ZERO,
        })
    }
}
