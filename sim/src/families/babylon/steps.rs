//! What a Babylon peg's steps do: delegate, withdraw through a timelock leaf, unbond with the
//! covenant, vote, slash. Every spend is built and signed as far as its signers can, and
//! Bitcoin Core judges it: a spent output, a missing key, a timelock not yet reached.

use std::collections::BTreeMap;

use bitcoin::{
    Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, XOnlyPublicKey,
    absolute::LockTime, hashes::Hash, key::Keypair, script::PushBytesBuf, secp256k1::SecretKey,
    taproot::TaprootSpendInfo, transaction::Version,
};

use super::{Spec, Step, adaptor, eots, script::Delegation};
use crate::{
    family::{PegRun, StepArgs},
    run::{Cx, Event, Outcome, RunError, StepResult, keys::Purpose, refused, stalled},
    tx::{
        fee::sign_with_fee,
        taproot::{leaf_sighash, leaf_witness, sign_leaf},
    },
};

/// A delegation's outputs as they were made.
#[derive(Debug, Clone)]
struct Record {
    name: String,
    staking: (OutPoint, Amount),
    unbonding: Option<(OutPoint, Amount)>,
    refund: Option<(OutPoint, Amount)>,
    /// The covenant members who signed at registration.
    covenant: Vec<String>,
    /// Withdrawn or slashed: no longer staked.
    ended: bool,
}

/// A Babylon peg's state.
pub(super) struct State {
    peg: String,
    staker: String,
    providers: Vec<String>,
    covenant: Vec<String>,
    quorum: usize,
    unbonding_fee: Amount,
    slashing_rate: f64,
    slashing_fee: Amount,
    tag: Option<[u8; 4]>,
    bounds: super::Bounds,
    delegation: Delegation,
    records: Vec<Record>,
    /// Votes signed: (provider, height) -> (message, signature).
    votes: BTreeMap<(String, u64), ([u8; 32], eots::Signature)>,
    /// Provider keys extracted from double votes.
    extracted: BTreeMap<String, SecretKey>,
}

/// `OP_RETURN "babylon"`: Babylon mainnet's slashing burn script.
fn burn_script() -> ScriptBuf {
    ScriptBuf::new_op_return(b"babylon")
}

/// One input, one output paying `value` to `to` (the fee is taken later).
fn spend_tx(outpoint: OutPoint, sequence: Sequence, value: Amount, to: ScriptBuf) -> Transaction {
    Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn { previous_output: outpoint, sequence, ..TxIn::default() }],
        output: vec![TxOut { value, script_pubkey: to }],
    }
}

fn p2tr(info: &TaprootSpendInfo) -> ScriptBuf {
    ScriptBuf::new_p2tr_tweaked(info.output_key())
}

impl State {
    pub(super) fn new(peg: &str, spec: &Spec, cx: &Cx<'_>) -> Self {
        Self {
            peg: peg.to_owned(),
            staker: spec.staker.clone(),
            providers: spec.providers.clone(),
            covenant: spec.covenant.clone(),
            quorum: spec.quorum,
            unbonding_fee: spec.unbonding_fee,
            slashing_rate: spec.slashing_rate,
            slashing_fee: spec.slashing_fee,
            tag: spec.tag,
            bounds: spec.bounds,
            delegation: spec.delegation(cx.keys, cx.secp),
            records: Vec::new(),
            votes: BTreeMap::new(),
            extracted: BTreeMap::new(),
        }
    }

    fn staker_keypair(&self, cx: &Cx<'_>) -> Keypair {
        // `check` refuses a step the staker signs when the file gave only its public key.
        let secret =
            cx.keys.user_secret(Purpose::Staking, &self.staker).expect("the staker's secret");
        Keypair::from_secret_key(cx.secp, &secret)
    }

    fn record(&self, name: &str) -> Result<Record, Outcome> {
        self.records.iter().find(|r| r.name == name).cloned().ok_or_else(|| {
            stalled("no-delegation", format!("{name} was never accepted by Bitcoin Core"))
        })
    }

    fn update(&mut self, name: &str, change: impl FnOnce(&mut Record)) {
        if let Some(r) = self.records.iter_mut().find(|r| r.name == name) {
            change(r);
        }
    }

    /// Covenant signatures for a leaf whose covenant multisig checks keys in sorted order:
    /// the witness holds them last key first, an empty item for each member who does not sign.
    /// `signing` signed at registration: whether they are online now does not matter.
    fn covenant_sigs(
        &self,
        cx: &Cx<'_>,
        signing: &[String],
        sign: impl Fn(&SecretKey) -> Vec<u8>,
    ) -> Vec<Vec<u8>> {
        let mut committee: Vec<&String> = self.covenant.iter().collect();
        committee.sort_by_key(|m| cx.keys.x_only(m).serialize());
        committee
            .iter()
            .rev()
            .map(|member| match (signing.contains(member), cx.keys.secret(member)) {
                (true, Some(sk)) => sign(&sk),
                _ => Vec::new(),
            })
            .collect()
    }

    fn delegate(
        &mut self,
        cx: &mut Cx<'_>,
        amount: Amount,
        covenant: Option<&[String]>,
        name: &str,
    ) -> Result<StepResult, RunError> {
        let mut result =
            StepResult::new(format!("{} delegates {amount} on {}", self.staker, self.peg));
        // Babylon checks the delegation before the staker broadcasts (pre-staking registration).
        let b = self.bounds;
        let time = self.delegation.staking_time;
        let why = if amount < b.min_value || amount > b.max_value {
            Some(format!(
                "staking value {} is out of bounds. Min: {}, Max: {}",
                amount.to_sat(),
                b.min_value.to_sat(),
                b.max_value.to_sat()
            ))
        } else if time < b.min_time || time > b.max_time {
            Some(format!(
                "staking time {time} is out of bounds. Min: {}, Max: {}",
                b.min_time, b.max_time
            ))
        } else {
            None
        };
        if let Some(why) = why {
            return Ok(result.ended(refused(super::Refused::InvalidStakingTx.code(), why)));
        }
        // The covenant signs at registration: the members online now, with their keys.
        let signers: Vec<String> = self
            .covenant
            .iter()
            .filter(|m| covenant.is_none_or(|chosen| chosen.contains(m)))
            .filter(|m| cx.signer(m).is_ok())
            .cloned()
            .collect();
        let spk = p2tr(&self.delegation.staking_info(cx.secp));
        let mut outputs = vec![TxOut { value: amount, script_pubkey: spk.clone() }];
        if let Some(tag) = self.tag {
            let data = self.delegation.op_return(tag).as_bytes()[2..].to_vec();
            let push = PushBytesBuf::try_from(data).expect("71 bytes");
            outputs
                .push(TxOut { value: Amount::ZERO, script_pubkey: ScriptBuf::new_op_return(push) });
        }
        let paid = cx.pay(&self.staker.clone(), outputs, name)?;
        if let Some(staking) = paid.paying(&spk) {
            let activates = if signers.len() >= self.quorum {
                format!("active after {} confirmations", b.k)
            } else {
                format!(
                    "{} covenant signature(s) at registration, {} needed: it never activates",
                    signers.len(),
                    self.quorum
                )
            };
            result.events.push(Event::note(&self.peg, activates));
            self.records.push(Record {
                name: name.to_owned(),
                staking,
                unbonding: None,
                refund: None,
                covenant: signers,
                ended: false,
            });
            result.events.push(Event::Deposited {
                peg: self.peg.clone(),
                name: name.to_owned(),
                amount,
            });
            result.events.push(Event::note(&self.peg, format!(
                "withdrawable alone after {} blocks, or earlier with {} of {} covenant signatures",
                self.delegation.staking_time,
                self.quorum,
                self.covenant.len()
            )));
        }
        result.txs.extend(paid.made);
        Ok(result.ended(paid.outcome))
    }

    fn withdraw(
        &mut self,
        cx: &mut Cx<'_>,
        delegation: &str,
        to: &crate::scenario::Destination,
        name: &str,
    ) -> Result<StepResult, RunError> {
        let result = StepResult::new(format!(
            "{} withdraws {delegation} through its timelock to {to}",
            self.staker
        ));
        let record = match self.record(delegation) {
            Ok(record) => record,
            Err(stall) => return Ok(result.ended(stall)),
        };
        let d = &self.delegation;
        // The latest output the staker may take alone: the slashing refund, the unbonding
        // output, or the staking output. Spent already? Bitcoin Core says so.
        let ((outpoint, value), info, blocks) = match (record.refund, record.unbonding) {
            (Some(refund), _) => (refund, d.refund_info(cx.secp), d.unbonding_time),
            (None, Some(unbonding)) => (unbonding, d.unbonding_info(cx.secp), d.unbonding_time),
            (None, None) => (record.staking, d.staking_info(cx.secp), d.staking_time),
        };
        let script = d.timelock_script(blocks);
        let prevout = TxOut { value, script_pubkey: p2tr(&info) };
        let keypair = self.staker_keypair(cx);
        let to_script = cx.script_of(to);
        let mut tx = spend_tx(outpoint, Sequence::from_height(blocks), value, to_script);
        sign_with_fee(&mut tx, 0, value, cx.fee_rate, |tx| {
            let sig = sign_leaf(cx.secp, tx, 0, &prevout, &script, &keypair);
            tx.input[0].witness = leaf_witness(vec![sig], &script, &info);
        });
        let (outcome, made) = cx.submit(name, tx, Some(value))?;
        let mut result = result;
        if matches!(outcome, Outcome::Accepted) {
            self.update(delegation, |r| r.ended = true);
            result.events.push(Event::PaidOut {
                peg: self.peg.clone(),
                to: to.to_string(),
                amount: made.tx.output[0].value,
            });
        }
        result.txs.push(made);
        Ok(result.ended(outcome))
    }

    fn unbond(
        &mut self,
        cx: &mut Cx<'_>,
        delegation: &str,
        chosen: Option<&[String]>,
        name: &str,
    ) -> Result<StepResult, RunError> {
        let record = match self.record(delegation) {
            Ok(record) => record,
            Err(stall) => {
                let result = StepResult::new(format!("{} unbonds {delegation}", self.staker));
                return Ok(result.ended(stall));
            }
        };
        // The signatures collected at registration (those the staker chooses to use).
        // The script counts exactly the quorum (`<k> OP_NUMEQUAL`): by default, the first
        // quorum of them.
        let covenant: Vec<String> = match chosen {
            Some(c) => record.covenant.iter().filter(|m| c.contains(m)).cloned().collect(),
            None => record.covenant.iter().take(self.quorum).cloned().collect(),
        };
        let covenant = &covenant;
        let result = StepResult::new(format!(
            "{} unbonds {delegation} with the registration signatures of {}",
            self.staker,
            if covenant.is_empty() { "no covenant member".to_owned() } else { covenant.join(", ") }
        ));
        let d = &self.delegation;
        let (outpoint, value) = record.staking;
        let mut tx = d.unbonding_tx(cx.secp, outpoint, value, self.unbonding_fee);
        let info = d.staking_info(cx.secp);
        let script = d.unbonding_script();
        let prevout = TxOut { value, script_pubkey: p2tr(&info) };
        let staker = sign_leaf(cx.secp, &tx, 0, &prevout, &script, &self.staker_keypair(cx));
        let mut items = self.covenant_sigs(cx, covenant, |sk| {
            sign_leaf(cx.secp, &tx, 0, &prevout, &script, &Keypair::from_secret_key(cx.secp, sk))
        });
        items.push(staker);
        tx.input[0].witness = leaf_witness(items, &script, &info);
        let unbonded = (OutPoint::new(tx.compute_txid(), 0), tx.output[0].value);
        let unbonding_time = d.unbonding_time;
        let (outcome, made) = cx.submit(name, tx, Some(value))?;
        let mut result = result;
        if matches!(outcome, Outcome::Accepted) {
            self.update(delegation, |r| r.unbonding = Some(unbonded));
            result.events.push(Event::note(&self.peg, format!(
                "{} covenant signature(s) (quorum {}): unbonded; the staker may withdraw after {} blocks",
                covenant.len(),
                self.quorum,
                unbonding_time
            )));
        }
        result.txs.push(made);
        Ok(result.ended(outcome))
    }

    /// A provider's vote; a second vote at one height for another block gives its key away.
    fn vote(&mut self, cx: &Cx<'_>, provider: &str, height: u64, block: &str) -> StepResult {
        let mut result =
            StepResult::new(format!("{provider} votes for block {block} at height {height}"));
        let Ok((_, secret)) = cx.signer(provider) else {
            result.events.push(Event::note(&self.peg, format!("{provider} cannot sign: no vote")));
            return result;
        };
        let public: XOnlyPublicKey = secret.x_only_public_key(cx.secp).0;
        let block_hash = bitcoin::hashes::sha256::Hash::hash(block.as_bytes()).to_byte_array();
        let message = eots::vote_message(height, &block_hash);
        let signature = eots::sign(&secret, height, &message);
        match self.votes.get(&(provider.to_owned(), height)).copied() {
            Some((earlier, _)) if earlier == message => {
                result.events.push(Event::note(
                    &self.peg,
                    format!("{provider} repeats its vote at height {height}"),
                ));
            }
            Some((earlier, earlier_sig)) => {
                match eots::extract(&public, &earlier, &earlier_sig, &message, &signature) {
                    Some(key) => {
                        self.extracted.insert(provider.to_owned(), key);
                        result.events.push(Event::note(&self.peg, format!(
                        "{provider} signed two blocks at height {height} with one committed nonce"
                    )));
                        result.events.push(Event::KeyExtracted {
                            peg: self.peg.clone(),
                            who: provider.to_owned(),
                        });
                    }
                    None => result.events.push(Event::note(
                        &self.peg,
                        format!(
                            "{provider} signed two blocks at height {height}, but no key came out"
                        ),
                    )),
                }
            }
            None => {
                self.votes.insert((provider.to_owned(), height), (message, signature));
            }
        }
        result
    }

    /// Completes the delegation's slashing transaction (signed by the staker, adaptor-signed
    /// by the covenant) with an extracted provider key, from the unbonding or the staking
    /// output. Without an extracted key, anyone can still try: the provider's signature is
    /// missing and the covenant's stay encrypted, and Bitcoin Core refuses the attempt.
    fn slash(
        &mut self,
        cx: &mut Cx<'_>,
        delegation: &str,
        name: &str,
    ) -> Result<StepResult, RunError> {
        let result = StepResult::new(format!("anyone slashes {delegation} on {}", self.peg));
        let record = match self.record(delegation) {
            Ok(record) => record,
            Err(stall) => return Ok(result.ended(stall)),
        };
        let d = &self.delegation;
        let ((outpoint, value), info, from) = match record.unbonding {
            Some(unbonding) => (unbonding, d.unbonding_info(cx.secp), "unbonding"),
            None => (record.staking, d.staking_info(cx.secp), "staking"),
        };
        let extracted = self.extracted.iter().next().map(|(p, k)| (p.clone(), *k));
        // As Babylon builds it (`btcstaking/staking.go` buildSlashingTxFromOutpoint): the burn
        // is value × rate rounded to the nearest satoshi (btcutil's MulF64), a version-1 tx.
        let burn = Amount::from_sat((value.to_sat() as f64 * self.slashing_rate).round() as u64);
        let refund_info = d.refund_info(cx.secp);
        let refund = value.checked_sub(burn + self.slashing_fee).unwrap_or(Amount::ZERO);
        let mut tx = spend_tx(outpoint, Sequence::MAX, burn, burn_script());
        tx.version = Version::ONE;
        tx.output.push(TxOut { value: refund, script_pubkey: p2tr(&refund_info) });
        let script = d.slashing_script();
        let prevout = TxOut { value, script_pubkey: p2tr(&info) };
        // The covenant quorum's signatures are adaptor signatures encrypted to the provider's
        // key: only the extracted key decrypts them into BIP340 signatures.
        // The adaptor signatures collected at registration (a quorum of them).
        let quorum: Vec<String> = record.covenant.iter().take(self.quorum).cloned().collect();
        let sighash = leaf_sighash(&tx, 0, &prevout, &script);
        let encryption_key = match &extracted {
            Some((provider, _)) => cx.keys.x_only(provider),
            None => cx.keys.x_only(&self.providers[0]),
        };
        let t = adaptor::encryption_key(&encryption_key);
        let mut items = self.covenant_sigs(cx, &quorum, |sk| {
            let psig = adaptor::pre_sign(sk, &[0; 32], &sighash, &t).expect("a usable nonce");
            debug_assert!(adaptor::pre_verify(
                &psig,
                &sk.x_only_public_key(cx.secp).0,
                &sighash,
                &t
            ));
            match &extracted {
                Some((_, key)) => adaptor::adapt(&psig, &adaptor::decryption_key(key)).to_vec(),
                None => psig.undecrypted().to_vec(),
            }
        });
        let mut providers: Vec<&String> = self.providers.iter().collect();
        providers.sort_by_key(|f| cx.keys.x_only(f).serialize());
        for f in providers.iter().rev() {
            items.push(match &extracted {
                Some((provider, key)) if *f == provider => sign_leaf(
                    cx.secp,
                    &tx,
                    0,
                    &prevout,
                    &script,
                    &Keypair::from_secret_key(cx.secp, key),
                ),
                _ => Vec::new(),
            });
        }
        items.push(sign_leaf(cx.secp, &tx, 0, &prevout, &script, &self.staker_keypair(cx)));
        tx.input[0].witness = leaf_witness(items, &script, &info);
        let refund_out = (OutPoint::new(tx.compute_txid(), 1), refund);
        let unbonding_time = d.unbonding_time;
        let (outcome, made) = cx.submit(name, tx, Some(value))?;
        let mut result = result;
        if matches!(outcome, Outcome::Accepted) {
            self.update(delegation, |r| {
                r.refund = Some(refund_out);
                r.ended = true;
            });
            let who = extracted.map(|(p, _)| p).unwrap_or_default();
            result.events.push(Event::note(&self.peg, format!(
                "slashed from the {from} output: {who}'s extracted key signs and decrypts the covenant's adaptor signatures; {burn} burned to OP_RETURN \"babylon\", {refund} to the staker after {unbonding_time} blocks"
            )));
        }
        result.txs.push(made);
        Ok(result.ended(outcome))
    }
}

impl PegRun for State {
    fn step(&mut self, args: &dyn StepArgs, cx: &mut Cx<'_>) -> Result<StepResult, RunError> {
        let step = args.as_any().downcast_ref::<Step>().expect("a babylon step");
        match step {
            Step::Delegate { amount, covenant, name } => {
                self.delegate(cx, *amount, covenant.as_deref(), name)
            }
            Step::Withdraw { delegation, to, name } => self.withdraw(cx, delegation, to, name),
            Step::Unbond { delegation, covenant, name } => {
                self.unbond(cx, delegation, covenant.as_deref(), name)
            }
            Step::Vote { provider, height, block } => Ok(self.vote(cx, provider, *height, block)),
            Step::Slash { delegation, name } => self.slash(cx, delegation, name),
        }
    }

    fn measure(&self, _: &str, _: Option<&str>, cx: &mut Cx<'_>) -> Result<Amount, RunError> {
        let mut active = Amount::ZERO;
        for r in &self.records {
            if r.ended || r.unbonding.is_some() || r.covenant.len() < self.quorum {
                continue;
            }
            if cx.chain.tx_status(cx.node, r.staking.0.txid)?.confirmations() >= self.bounds.k {
                active += r.staking.1;
            }
        }
        Ok(active)
    }
}
