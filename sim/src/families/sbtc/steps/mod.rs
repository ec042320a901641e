//! What an sBTC peg's steps do: deposits, the signers' sweeps and their FROST rounds,
//! withdrawal requests on Stacks, reclaims, key rotation and collusion.

mod collusion;
mod sweeping;

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
        if let Some((outpoint, value)) = paid.paying(&spk) {
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
        if let Some((outpoint, value)) = paid.paying(&spk) {
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
