//! What a PowPeg's steps do: peg-ins (with an RSKT OP_RETURN when named), registration by SPV
//! proof, queued peg-outs released in a batch, sweeps, ERP recovery and theft.

use bitcoin::{Amount, ScriptBuf, TxOut};

use super::{Refused, Step, rsk};
use crate::{
    family::{PegRun, StepArgs},
    federation::{EvidenceFault, Fed, gather},
    run::{Cx, Event, Outcome, RunError, StepResult, keys::Purpose, refused, stalled},
};

/// A PowPeg's state.
pub(super) struct State {
    fed: Fed,
    /// Confirmations a registration needs.
    depth: u32,
    /// Peg-ins made to this peg: name, payer.
    pegins: Vec<(String, String)>,
    /// Release requests waiting for a batch: requester, amount, destination script, to.
    queue: Vec<(String, Amount, ScriptBuf, String)>,
}

impl State {
    pub(super) fn new(fed: Fed, depth: u32) -> Self {
        Self { fed, depth, pegins: Vec::new(), queue: Vec::new() }
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
        if self.fed.claimed(deposit, None) {
            return refuse(Refused::AlreadyProcessed, format!("{deposit} was registered before"));
        }
        let evidence = match gather(cx, tx.compute_txid())? {
            Ok(evidence) => evidence,
            Err(fault @ (EvidenceFault::BadProof(_) | EvidenceFault::BadPow(_))) => {
                return refuse(Refused::CouldNotValidate, fault.to_string());
            }
            Err(fault) => return refuse(Refused::CouldNotValidate, fault.to_string()),
        };
        if evidence.confirmations < self.depth {
            let why = format!(
                "{} confirmation(s); registration needs {}",
                evidence.confirmations, self.depth
            );
            return refuse(Refused::CouldNotValidate, why);
        }
        let expected = self.fed.federation.script_pubkey(cx.secp, None);
        let Some((outpoint, value)) = Cx::output_paying(&evidence.tx, &expected) else {
            return refuse(Refused::NotAPegin, "no output pays this federation".into());
        };
        // The RSKT destination, or else the sender (`BtcLockSender`).
        let payer = self.pegins.iter().find(|(n, _)| n == deposit).map(|(_, p)| p.clone());
        let credited = rsk::destination(&evidence.tx)
            .and_then(|address| Self::rsk_owner(cx, &address))
            .or(payer)
            .unwrap_or_default();
        let mut result = result;
        result.events.push(Event::ProofChecked {
            peg: self.peg().to_owned(),
            tx: deposit.to_owned(),
            confirmations: evidence.confirmations,
            required: self.depth,
        });
        self.fed.credit(deposit, outpoint, value, &credited, None, &mut result);
        Ok(result.ended(Outcome::Accepted))
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
        // The last request's output pays the fee (rskj spreads it over the batch).
        let payouts = self
            .queue
            .iter()
            .map(|(_, a, s, _)| TxOut { value: *a, script_pubkey: s.clone() })
            .collect();
        let outcome = self.fed.pay_out(cx, &members, payouts, name, &mut result)?;
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
                    let text = format!("registrable after {} confirmations", self.depth);
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
