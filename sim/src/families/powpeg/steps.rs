//! What a PowPeg's steps do: peg-ins (with an RSKT OP_RETURN when named), registration by SPV
//! proof, queued peg-outs released in a batch, sweeps, ERP recovery and theft.

use bitcoin::{Amount, OutPoint, ScriptBuf, Transaction, TxOut};

use super::{
    Refused, Step,
    pegin::{self, Evaluation, NoRefund},
    rsk,
};
use crate::{
    family::{PegRun, StepArgs},
    federation::{EvidenceFault, Fed, FedUtxo, PayoutFee, Signers, gather},
    run::{Cx, Event, Outcome, RunError, StepResult, keys::Purpose, refused, stalled},
};

/// The Bridge's constants a PowPeg runs with.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rules {
    /// Confirmations a registration needs (`btc2RskMinimumAcceptableConfirmations`).
    pub(super) depth: u32,
    pub(super) minimum_pegin: Amount,
    pub(super) minimum_pegout: Amount,
}

/// A PowPeg's state.
pub(super) struct State {
    fed: Fed,
    rules: Rules,
    /// Peg-ins made to this peg: name, payer.
    pegins: Vec<(String, String)>,
    /// Peg-ins the Bridge processed without minting (refunded or kept).
    rejected: Vec<String>,
    /// Release requests waiting for a batch: requester, amount, destination script, to.
    queue: Vec<(String, Amount, ScriptBuf, String)>,
}

impl State {
    pub(super) fn new(fed: Fed, rules: Rules) -> Self {
        Self { fed, rules, pegins: Vec::new(), rejected: Vec::new(), queue: Vec::new() }
    }

    fn peg(&self) -> &str {
        &self.fed.peg
    }

    /// The user whose Rootstock address this is.
    fn rsk_owner(cx: &Cx<'_>, address: &[u8; 20]) -> Option<String> {
        cx.keys.users().find(|u| rsk_address(cx, u) == *address).map(str::to_owned)
    }

    fn register(&mut self, cx: &mut Cx<'_>, deposit: &str) -> Result<StepResult, RunError> {
        let result = StepResult::new(format!("the bridge registers {deposit} on {}", self.peg()));
        let refuse =
            |code: Refused, why: String| Ok(result.clone().ended(refused(code.code(), why)));
        let Some(tx) = cx.txs.get(deposit).cloned() else {
            return refuse(Refused::CouldNotValidate, format!("{deposit} was never broadcast"));
        };
        if self.fed.claimed(deposit, None) || self.rejected.iter().any(|r| r == deposit) {
            return refuse(Refused::AlreadyProcessed, format!("{deposit} was registered before"));
        }
        let evidence = match gather(cx, tx.compute_txid())? {
            Ok(evidence) => evidence,
            Err(fault @ (EvidenceFault::BadProof(_) | EvidenceFault::BadPow(_))) => {
                return refuse(Refused::CouldNotValidate, fault.to_string());
            }
            Err(fault) => return refuse(Refused::CouldNotValidate, fault.to_string()),
        };
        if evidence.confirmations < self.rules.depth {
            let why = format!(
                "{} confirmation(s); registration needs {}",
                evidence.confirmations, self.rules.depth
            );
            return refuse(Refused::CouldNotValidate, why);
        }
        let expected = self.fed.federation.script_pubkey(cx.secp, None);
        let Some((outpoint, value)) = Cx::output_paying(&evidence.tx, &expected) else {
            return refuse(Refused::NotAPegin, "no output pays this federation".into());
        };
        let mut result = result;
        result.events.push(Event::ProofChecked {
            peg: self.peg().to_owned(),
            tx: deposit.to_owned(),
            confirmations: evidence.confirmations,
            required: self.rules.depth,
        });
        let to_federation: Vec<Amount> = evidence
            .tx
            .output
            .iter()
            .filter(|o| o.script_pubkey == expected)
            .map(|o| o.value)
            .collect();
        let payer = self.pegins.iter().find(|(n, _)| n == deposit).map(|(_, p)| p.clone());
        let credited = match pegin::evaluate(&evidence.tx, &to_federation, self.rules.minimum_pegin)
        {
            Evaluation::Register(Some(address)) => {
                Self::rsk_owner(cx, &address).unwrap_or_default()
            }
            Evaluation::Register(None) => payer.unwrap_or_default(),
            Evaluation::NoRefund(why) => {
                self.rejected.push(deposit.to_owned());
                self.fed.federation.utxos.push(FedUtxo { outpoint, value, claim_script: None });
                let (code, text) = match why {
                    NoRefund::InvalidAmount => (
                        Refused::NoRefundInvalidAmount,
                        format!("an output to the federation is below the minimum peg-in of {}", self.rules.minimum_pegin),
                    ),
                    NoRefund::UndeterminedSender => (
                        Refused::NoRefundUndeterminedSender,
                        "no RSKT output, and the first input is not P2PKH, P2SH-P2WPKH or P2SH multisig: rskj cannot tell who sent it".to_owned(),
                    ),
                    NoRefund::InvalidPayload => (
                        Refused::NoRefundInvalidPayload,
                        "RSKT outputs rskj cannot parse, and no refund address".to_owned(),
                    ),
                };
                let stuck = format!(
                    "{value} stays with the federation: no RBTC is minted and nothing is returned; the coins are stuck"
                );
                result.events.push(Event::note(self.peg(), stuck));
                return Ok(result.ended(refused(code.code(), text)));
            }
            Evaluation::RefundMultisigSender => {
                self.rejected.push(deposit.to_owned());
                return self.refund(cx, &evidence.tx, outpoint, value, deposit, result);
            }
        };
        self.fed.credit(deposit, outpoint, value, &credited, None, &mut result);
        Ok(result.ended(Outcome::Accepted))
    }

    /// A legacy peg-in from a multisig sender: the federation returns it to the sender's
    /// address (`generateRejectionRelease`), the fee out of the returned value.
    fn refund(
        &mut self,
        cx: &mut Cx<'_>,
        tx: &Transaction,
        outpoint: OutPoint,
        value: Amount,
        deposit: &str,
        mut result: StepResult,
    ) -> Result<StepResult, RunError> {
        let why =
            "no RSKT output and a multisig sender: the federation returns the coins".to_owned();
        let code = Refused::RefundMultisigSender.code();
        let spent = tx.input[0].previous_output;
        let sender = cx
            .chain
            .transaction(cx.node, spent.txid)?
            .and_then(|t| t.output.get(spent.vout as usize).map(|o| o.script_pubkey.clone()));
        let members = match self.fed.quorum(cx) {
            Ok(members) => members,
            Err(_) => {
                self.fed.federation.utxos.push(FedUtxo { outpoint, value, claim_script: None });
                result
                    .events
                    .push(Event::note(self.peg(), "the refund waits for a quorum of pegnatories"));
                return Ok(result.ended(refused(code, why)));
            }
        };
        let Some(sender) = sender else {
            return Ok(result.ended(refused(code, why)));
        };
        let input = FedUtxo { outpoint, value, claim_script: None };
        let output = TxOut { value, script_pubkey: sender };
        let refund = self.fed.federation.spend(
            cx.secp,
            std::slice::from_ref(&input),
            vec![output],
            &Signers::Members(&members),
            cx.fee_rate,
        );
        let name = format!("{deposit}:refund");
        let (outcome, made) = cx.submit(&name, refund, Some(value))?;
        let text = match outcome {
            Outcome::Accepted => format!("{name} returns {value} (less its fee) to the sender"),
            _ => format!("{name} was not accepted: {outcome:?}"),
        };
        result.events.push(Event::note(self.peg(), text));
        result.txs.push(made);
        Ok(result.ended(refused(code, why)))
    }

    fn batch(&mut self, cx: &mut Cx<'_>, name: &str) -> Result<StepResult, RunError> {
        let mut result =
            StepResult::new(format!("the {} federation releases its queued peg-outs", self.peg()));
        let members = match self.fed.quorum(cx) {
            Ok(members) => members,
            Err(stall) => return Ok(result.ended(stall)),
        };
        if self.queue.is_empty() {
            return Ok(result.ended(stalled("nothing-queued", "no peg-out is waiting")));
        }
        let total: Amount = self.queue.iter().map(|(_, a, _, _)| *a).sum();
        // Every request's output pays an equal share of the fee (bitcoinj's recipientsPayFees,
        // rskj ReleaseTransactionBuilder).
        let payouts = self
            .queue
            .iter()
            .map(|(_, a, s, _)| TxOut { value: *a, script_pubkey: s.clone() })
            .collect();
        let outcome =
            self.fed.pay_out(cx, &members, payouts, PayoutFee::Split, (name, &mut result))?;
        if matches!(outcome, Outcome::Accepted) {
            self.fed.books.pending_pegouts -= total;
            let requests = std::mem::take(&mut self.queue);
            let signed = self.fed.federation.custody.threshold();
            let text = format!(
                "{} peg-out request(s) paid in one transaction, signed by {signed} members",
                requests.len()
            );
            result.events.push(Event::note(self.peg(), text));
            for (_, amount, _, to) in requests {
                result.events.push(Event::PaidOut { peg: self.peg().to_owned(), to, amount });
            }
        }
        Ok(result.ended(outcome))
    }
}

/// A user's Rootstock address.
pub(super) fn rsk_address(cx: &Cx<'_>, user: &str) -> [u8; 20] {
    rsk::address(&cx.keys.user_public(Purpose::Sidechain, user))
}

impl PegRun for State {
    fn step(&mut self, args: &dyn StepArgs, cx: &mut Cx<'_>) -> Result<StepResult, RunError> {
        let step = args.as_any().downcast_ref::<Step>().expect("a powpeg step");
        match step {
            Step::PegIn { from, amount, rsk_to, name } => {
                let spk = self.fed.federation.script_pubkey(cx.secp, None);
                let mut outputs = vec![TxOut { value: *amount, script_pubkey: spk }];
                if let Some(to) = rsk_to {
                    let data = rsk::pegin_instructions(&rsk_address(cx, to));
                    let push = bitcoin::script::PushBytesBuf::try_from(data).expect("25 bytes");
                    outputs.push(TxOut {
                        value: Amount::ZERO,
                        script_pubkey: ScriptBuf::new_op_return(push),
                    });
                }
                let mut result = StepResult::new(format!(
                    "{from} pays {amount} to the federation address of {}",
                    self.peg()
                ));
                let paid = cx.pay(from, outputs, name)?;
                if paid.accepted().is_some() {
                    self.pegins.push((name.clone(), from.clone()));
                    let text = format!("registrable after {} confirmations", self.rules.depth);
                    result.events.push(Event::note(self.peg(), text));
                }
                result.txs.extend(paid.made);
                Ok(result.ended(paid.outcome))
            }
            Step::Register { deposit } => self.register(cx, deposit),
            Step::PegOut { from, amount, to } => {
                let mut result = StepResult::new(format!(
                    "{from} pegs out {amount} from {} to {to}",
                    self.peg()
                ));
                if *amount < self.rules.minimum_pegout {
                    let why = format!(
                        "{amount} is below the minimum release of {}: the RBTC is refunded to {from}",
                        self.rules.minimum_pegout
                    );
                    return Ok(result.ended(refused(Refused::LowAmount.code(), why)));
                }
                if !self.fed.burn(from, *amount, &mut result) {
                    let why = format!(
                        "{from} holds {} on the other side, less than {amount}",
                        self.fed.books.balance(from)
                    );
                    return Ok(result.ended(stalled("insufficient-sidechain-funds", why)));
                }
                let script = cx.script_of(to);
                self.queue.push((from.clone(), *amount, script, to.to_string()));
                let text = format!(
                    "the bridge queued the release ({} waiting for the next batch)",
                    self.queue.len()
                );
                result.events.push(Event::note(self.peg(), text));
                Ok(result.ended(Outcome::Accepted))
            }
            Step::Batch { name } => self.batch(cx, name),
            Step::Sweep { name } => self.fed.sweep(cx, name),
            Step::Take { signers, to, name, emergency } => {
                let script = cx.script_of(to);
                self.fed.take(cx, signers, script, &to.to_string(), name, *emergency)
            }
        }
    }

    fn measure(
        &self,
        key: &str,
        holder: Option<&str>,
        cx: &mut Cx<'_>,
    ) -> Result<Amount, RunError> {
        self.fed.measure(key, holder, cx)
    }

    fn chain_changed(&mut self, cx: &mut Cx<'_>) -> Result<Vec<Event>, RunError> {
        self.fed.chain_changed(cx)
    }
}
