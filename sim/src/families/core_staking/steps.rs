//! What a Core staking peg's steps do: lock with a CLTV script and a `SAT+` OP_RETURN, unlock
//! once median-time-past passes the lock.

use bitcoin::{
    Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, absolute::LockTime,
    script::PushBytesBuf, transaction::Version,
};

use super::{
    Refused, Spec, Step, Template,
    script::{Owner, payload, redeem_script},
};
use crate::{
    families::powpeg::rsk,
    family::{PegRun, StepArgs},
    run::{Cx, Event, Outcome, RunError, StepResult, keys::Purpose, refused, stalled},
    tx::{
        OutputType,
        fee::sign_with_fee,
        multisig::{MultisigSpend, sign_multisig_input, sign_single_input},
        script_pubkey,
    },
};

/// A stake as locked.
#[derive(Debug, Clone)]
struct StakeRecord {
    name: String,
    from: String,
    locktime: u32,
    script: ScriptBuf,
    outpoint: OutPoint,
    value: Amount,
    /// Core's contract counts it.
    delegated: bool,
}

/// A Core peg's state.
pub(super) struct State {
    peg: String,
    template: Template,
    output: OutputType,
    chain_id: u16,
    validator: [u8; 20],
    stakes: Vec<StakeRecord>,
}

impl State {
    pub(super) fn new(peg: &str, spec: &Spec) -> Self {
        Self {
            peg: peg.to_owned(),
            template: spec.template.clone(),
            output: spec.output,
            chain_id: spec.chain_id,
            validator: spec.validator,
            stakes: Vec::new(),
        }
    }

    fn owner(&self, cx: &Cx<'_>, user: &str) -> Owner {
        let staker = cx.keys.user_public(Purpose::Staking, user);
        match &self.template {
            Template::PubKey => Owner::PubKey(staker),
            Template::PubKeyHash => Owner::PubKeyHash(staker),
            Template::Multisig { signers, threshold } => Owner::Multisig {
                threshold: *threshold,
                keys: signers.iter().map(|s| cx.keys.public(s)).collect(),
            },
        }
    }

    fn sign(&self, cx: &Cx<'_>, record: &StakeRecord, tx: &mut Transaction) {
        let (script, value) = (&record.script, record.value);
        match &self.template {
            Template::Multisig { signers, threshold } => {
                let keys: Vec<_> = signers.iter().map(|s| cx.keys.public(s)).collect();
                let secrets: Vec<_> =
                    signers.iter().filter_map(|s| cx.signer(s).ok()).map(|(_, sk)| sk).collect();
                let spend = MultisigSpend {
                    keys: &keys,
                    threshold: *threshold,
                    secrets: &secrets,
                    selector: None,
                };
                sign_multisig_input(cx.secp, tx, 0, script, value, &spend, self.output);
            }
            template => {
                // `check` refuses an unstake by an owner given only a public key.
                let secret = cx
                    .keys
                    .user_secret(Purpose::Staking, &record.from)
                    .expect("the owner's secret");
                let with_pubkey = matches!(template, Template::PubKeyHash);
                sign_single_input(cx.secp, tx, 0, script, value, &secret, with_pubkey, self.output);
            }
        }
    }
}

/// Core's light client wants a stake this deep (`INIT_BTC_CONFIRM_BLOCK`).
const CONFIRM_BLOCKS: u32 = 6;
/// A Core round (`SatoshiPlusHelper.ROUND_INTERVAL`): one day.
const ROUND: u32 = 86_400;

impl State {
    /// `BitcoinStake.delegate`: the stake proven `CONFIRM_BLOCKS` deep, its lock ending after
    /// the next round (Core's round: the lab clock's day), not delegated before.
    fn delegate(&mut self, cx: &mut Cx<'_>, stake: &str) -> Result<StepResult, RunError> {
        let result = StepResult::new(format!(
            "a relayer delegates {stake} to {}'s validator on Core",
            self.peg
        ));
        let Some(index) = self.stakes.iter().position(|s| s.name == stake) else {
            let why = format!("{stake} was never accepted by Bitcoin Core");
            return Ok(result.ended(stalled("no-stake", why)));
        };
        let record = self.stakes[index].clone();
        if record.delegated {
            let why = format!("{stake} was delegated before");
            return Ok(result.ended(refused(Refused::AlreadyDelegated.code(), why)));
        }
        let confirmations = cx.chain.tx_status(cx.node, record.outpoint.txid)?.confirmations();
        if confirmations < CONFIRM_BLOCKS {
            let why = format!(
                "{confirmations} confirmation(s); Core's light client wants {CONFIRM_BLOCKS}"
            );
            return Ok(result.ended(refused(Refused::NotConfirmed.code(), why)));
        }
        let round = cx.chain.median_time_past(cx.node)? / ROUND;
        let end_round = record.locktime / ROUND;
        if end_round <= round + 1 {
            let why = format!(
                "the lock ends in round {end_round}; Core is in round {round} and wants a lock past round {}",
                round + 1
            );
            return Ok(result.ended(refused(Refused::InsufficientLockingRounds.code(), why)));
        }
        self.stakes[index].delegated = true;
        let mut result = result;
        result.events.push(Event::note(
            &self.peg,
            format!(
                "Core counts {} delegated to the validator until round {end_round}",
                record.value
            ),
        ));
        Ok(result.ended(Outcome::Accepted))
    }
}

impl PegRun for State {
    fn step(&mut self, args: &dyn StepArgs, cx: &mut Cx<'_>) -> Result<StepResult, RunError> {
        let step = args.as_any().downcast_ref::<Step>().expect("a core step");
        match step {
            Step::Stake { from, amount, lock, name } => {
                let mut result = StepResult::new(format!(
                    "{from} stakes {amount} with {} for {lock} s",
                    self.peg
                ));
                let mtp = cx.chain.median_time_past(cx.node)?;
                let locktime = mtp.saturating_add(*lock);
                let script = redeem_script(locktime, &self.owner(cx, from));
                let spk = script_pubkey(&script, self.output);
                let delegator = rsk::address(&cx.keys.user_public(Purpose::Sidechain, from));
                let owner = self.owner(cx, from);
                let data = payload(
                    self.chain_id,
                    &delegator,
                    &self.validator,
                    1,
                    (locktime, &owner, script.as_bytes()),
                );
                let push = PushBytesBuf::try_from(data).expect("at most 80 bytes");
                let outputs = vec![
                    TxOut { value: *amount, script_pubkey: spk.clone() },
                    TxOut { value: Amount::ZERO, script_pubkey: ScriptBuf::new_op_return(push) },
                ];
                let paid = cx.pay(from, outputs, name)?;
                if let Some((outpoint, value)) = paid.paying(&spk) {
                    self.stakes.push(StakeRecord {
                        name: name.clone(),
                        from: from.clone(),
                        locktime,
                        script,
                        outpoint,
                        value,
                        delegated: false,
                    });
                    result.events.push(Event::note(&self.peg, format!(
                        "{from} locked {amount} until UNIX time {locktime} (median-time-past now {mtp})"
                    )));
                }
                result.txs.extend(paid.made);
                Ok(result.ended(paid.outcome))
            }
            Step::Delegate { stake } => self.delegate(cx, stake),
            Step::Unstake { stake, to, name } => {
                let result = StepResult::new(format!("{stake} is unlocked to {to}"));
                let Some(record) = self.stakes.iter().find(|s| s.name == *stake).cloned() else {
                    return Ok(result.ended(stalled(
                        "no-stake",
                        format!("{stake} was never accepted by Bitcoin Core"),
                    )));
                };
                let to_script = cx.script_of(to);
                let mut tx = Transaction {
                    version: Version::TWO,
                    lock_time: LockTime::from_time(record.locktime).unwrap_or(LockTime::ZERO),
                    input: vec![TxIn {
                        previous_output: record.outpoint,
                        sequence: Sequence::ENABLE_LOCKTIME_NO_RBF,
                        ..TxIn::default()
                    }],
                    output: vec![TxOut { value: record.value, script_pubkey: to_script }],
                };
                sign_with_fee(&mut tx, 0, record.value, cx.fee_rate, |tx| {
                    self.sign(cx, &record, tx)
                });
                let (outcome, made) = cx.submit(name, tx, Some(record.value))?;
                let mut result = result;
                result.txs.push(made);
                Ok(result.ended(outcome))
            }
        }
    }

    fn measure(&self, _: &str, _: Option<&str>, _: &mut Cx<'_>) -> Result<Amount, RunError> {
        Ok(self.stakes.iter().filter(|s| s.delegated).map(|s| s.value).sum())
    }
}
