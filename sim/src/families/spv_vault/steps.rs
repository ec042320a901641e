//! What an SPV vault peg's steps do: the relayer feeds the relay; issues and redeems are
//! proven to it; a vault that does not pay in time loses collateral.

use std::collections::BTreeMap;

use bitcoin::{
    Amount, BlockHash, ScriptBuf, Transaction, TxOut, Txid,
    hashes::{Hash, sha256},
    script::Instruction,
};

use super::{Refused, Spec, Step};
use crate::{
    TxStatus,
    family::{PegRun, StepArgs},
    relay::store::{ForkChoice, Relay},
    run::{Cx, Event, Outcome, RunError, StepResult, refused},
    scenario::Destination,
};

/// An issue the user paid.
#[derive(Debug, Clone)]
struct IssueRecord {
    name: String,
    from: String,
    txid: Txid,
    minted: Option<Amount>,
    /// The block the relay accepted the proof under.
    proven_in: Option<BlockHash>,
}

/// A redeem request.
#[derive(Debug, Clone)]
struct RedeemRequest {
    name: String,
    from: String,
    amount: Amount,
    id: [u8; 32],
    pay_to: ScriptBuf,
    /// The last relay height at which the vault's payment counts.
    deadline: u32,
    paid: Option<Txid>,
    closed: bool,
}

/// An SPV vault peg's state.
pub(super) struct State {
    peg: String,
    vault: String,
    k: u32,
    coinbase_proof: bool,
    redeem_period: u32,
    punishment: f64,
    relay: Relay,
    vault_script: ScriptBuf,
    tokens: BTreeMap<String, Amount>,
    collateral: Amount,
    reimbursed: BTreeMap<String, Amount>,
    issues: Vec<IssueRecord>,
    requests: Vec<RedeemRequest>,
}

fn refuse(code: Refused, why: String) -> Outcome {
    refused(code.code(), why)
}

impl State {
    pub(super) fn new(peg: &str, spec: &Spec, relay: Relay, vault_script: ScriptBuf) -> Self {
        Self {
            peg: peg.to_owned(),
            vault: spec.vault.clone(),
            k: spec.k,
            coinbase_proof: spec.coinbase_proof,
            redeem_period: spec.redeem_period,
            punishment: spec.punishment,
            relay,
            vault_script,
            tokens: BTreeMap::new(),
            collateral: spec.collateral,
            reimbursed: BTreeMap::new(),
            issues: Vec::new(),
            requests: Vec::new(),
        }
    }

    fn request(&self, name: &str) -> Result<RedeemRequest, Outcome> {
        self.requests
            .iter()
            .find(|r| r.name == name)
            .cloned()
            .ok_or_else(|| refuse(Refused::NoRequest, format!("{name} was never made")))
    }

    /// The relayer submits the step node's best chain, from the last header the relay holds.
    fn submit_headers(&mut self, cx: &mut Cx<'_>) -> Result<StepResult, RunError> {
        let node = cx.node;
        let mut result = StepResult::new(format!(
            "the relayer submits node {}'s best chain to {}'s relay",
            node.0, self.peg
        ));
        let tip = cx.chain.tip(node)?;
        let mut height = tip.height;
        let mut hashes = Vec::new();
        while let Some(hash) = cx.chain.block_at(node, height)? {
            if self.relay.knows(&hash) || height == 0 {
                break;
            }
            hashes.push(hash);
            height -= 1;
        }
        hashes.reverse();
        let mut accepted = 0;
        for hash in hashes {
            let header = cx.chain.header(node, hash)?;
            if let Err(refusal) = self.relay.submit(header) {
                let (tip, at) = self.relay.tip();
                result.events.push(Event::note(&self.peg, format!(
                    "relay accepted {accepted} header(s), then refused {hash}; its main chain stays at {tip} (height {at})"
                )));
                self.unbacked_issues(cx, &mut result)?;
                return Ok(result.ended(refused(refusal.code, refusal.why)));
            }
            accepted += 1;
        }
        let (tip, at) = self.relay.tip();
        result.events.push(Event::note(
            &self.peg,
            format!(
                "relay accepted {accepted} header(s); its main chain is at {tip} (height {at})"
            ),
        ));
        self.unbacked_issues(cx, &mut result)?;
        Ok(result.ended(Outcome::Accepted))
    }

    /// Says which minted issues have no deposit on the node's best chain any more, and
    /// whether the relay noticed.
    fn unbacked_issues(&self, cx: &mut Cx<'_>, result: &mut StepResult) -> Result<(), RunError> {
        for issue in &self.issues {
            let (Some(minted), Some(block)) = (issue.minted, issue.proven_in) else { continue };
            if matches!(cx.chain.tx_status(cx.node, issue.txid)?, TxStatus::Confirmed { .. }) {
                continue;
            }
            let relay = if self.relay.rule() == ForkChoice::TbtcLightRelay {
                "a light relay keeps no chain: nothing it holds undoes the mint"
            } else if self.relay.confirmations(&block).is_some() {
                "the relay, still on the abandoned branch, shows it confirmed"
            } else {
                "the relay followed the reorg, but the tokens stay minted"
            };
            result.events.push(Event::note(&self.peg, format!(
                "{minted} of tokens minted to {} for {} are without backing: the deposit is not on node {}'s best chain; {relay}",
                issue.from, issue.name, cx.node.0
            )));
        }
        Ok(())
    }

    /// Proves `txid` (confirmed on the step's node) to the relay; the refusal, or the
    /// confirmations. A light relay gets the proof's block and the headers after it, `k` in
    /// all, from the step's node.
    fn prove(&self, cx: &mut Cx<'_>, txid: Txid) -> Result<Result<u32, Outcome>, RunError> {
        let node = cx.node;
        let Some(proof) = cx.chain.inclusion_proof(node, txid)? else {
            let why = format!("{txid} is not confirmed on node {}'s best chain", node.0);
            return Ok(Err(refuse(Refused::NotConfirmed, why)));
        };
        let coinbase = if self.coinbase_proof {
            let block = cx.chain.block(node, proof.header.block_hash())?;
            let coinbase_txid = block.txdata[0].compute_txid();
            cx.chain.inclusion_proof(node, coinbase_txid)?
        } else {
            None
        };
        let verdict = if self.relay.rule() == ForkChoice::TbtcLightRelay {
            let TxStatus::Confirmed { block, .. } = cx.chain.tx_status(node, txid)? else {
                let why = format!("{txid} is not confirmed on node {}'s best chain", node.0);
                return Ok(Err(refuse(Refused::NotConfirmed, why)));
            };
            let mut headers = Vec::new();
            for height in block.height..block.height + self.k {
                let Some(hash) = cx.chain.block_at(node, height)? else { break };
                headers.push(cx.chain.header(node, hash)?);
            }
            self.relay.verify_with_headers(&proof, txid, coinbase.as_ref(), &headers)
        } else {
            self.relay.verify_inclusion(&proof, txid, coinbase.as_ref())
        };
        Ok(verdict.map_err(|r| refused(r.code, r.why)))
    }

    /// The height the redeem period counts in: the relay's (a light relay has none: the
    /// step node's).
    fn relay_height(&self, cx: &mut Cx<'_>) -> Result<u32, RunError> {
        Ok(match self.relay.rule() {
            ForkChoice::TbtcLightRelay => cx.chain.tip(cx.node)?.height,
            _ => self.relay.tip().1,
        })
    }

    /// A keeper calls the relay's `markNewHeaviest` with the step node's best block.
    fn mark_heaviest(&mut self, cx: &mut Cx<'_>) -> Result<StepResult, RunError> {
        let mut result = StepResult::new(format!(
            "a keeper marks node {}'s best block as {}'s relay's best",
            cx.node.0, self.peg
        ));
        let best = cx.chain.tip(cx.node)?.hash;
        match self.relay.mark_new_heaviest(best) {
            Ok(moved) => {
                let (tip, at) = self.relay.tip();
                let text = if moved { "moved" } else { "stays" };
                result.events.push(Event::note(
                    &self.peg,
                    format!("the relay's best {text}: {tip} (height {at})"),
                ));
                self.unbacked_issues(cx, &mut result)?;
                Ok(result.ended(Outcome::Accepted))
            }
            Err(refusal) => Ok(result.ended(refused(refusal.code, refusal.why))),
        }
    }

    fn execute_issue(&mut self, cx: &mut Cx<'_>, deposit: &str) -> Result<StepResult, RunError> {
        let result = StepResult::new(format!("{deposit} is proven to {}'s relay", self.peg));
        let Some(issue) = self.issues.iter().find(|i| i.name == deposit).cloned() else {
            let why = format!("{deposit} was never accepted by Bitcoin Core");
            return Ok(result.ended(refuse(Refused::NoIssue, why)));
        };
        if issue.minted.is_some() {
            let why = format!("{deposit} was executed before");
            return Ok(result.ended(refuse(Refused::AlreadyExecuted, why)));
        }
        let confirmations = match self.prove(cx, issue.txid)? {
            Ok(c) => c,
            Err(refusal) => return Ok(result.ended(refusal)),
        };
        let Some(tx) = cx.chain.transaction(cx.node, issue.txid)? else {
            return Ok(
                result.ended(refuse(Refused::NotConfirmed, format!("{deposit} is not confirmed")))
            );
        };
        let block = match cx.chain.tx_status(cx.node, issue.txid)? {
            TxStatus::Confirmed { block, .. } => Some(block.hash),
            _ => None,
        };
        let paid: Amount = tx
            .output
            .iter()
            .filter(|o| o.script_pubkey == self.vault_script)
            .map(|o| o.value)
            .sum();
        *self.tokens.entry(issue.from.clone()).or_default() += paid;
        if let Some(record) = self.issues.iter_mut().find(|i| i.name == deposit) {
            record.minted = Some(paid);
            record.proven_in = block;
        }
        let mut result = result;
        result.events.push(Event::ProofChecked {
            peg: self.peg.clone(),
            tx: deposit.to_owned(),
            confirmations,
            required: self.k,
        });
        result.events.push(Event::Minted { peg: self.peg.clone(), to: issue.from, amount: paid });
        Ok(result.ended(Outcome::Accepted))
    }

    fn redeem(
        &mut self,
        cx: &mut Cx<'_>,
        from: &str,
        amount: Amount,
        name: &str,
    ) -> Result<StepResult, RunError> {
        let mut result =
            StepResult::new(format!("{from} redeems {amount} from {} ({name})", self.peg));
        let pay_to = cx.script_of(&Destination::Actor(from.to_owned()));
        let held = self.tokens.get(from).copied().unwrap_or(Amount::ZERO);
        if held < amount {
            let why = format!("{from} holds {held} of tokens, less than {amount}");
            return Ok(result.ended(refuse(Refused::InsufficientTokens, why)));
        }
        self.tokens.insert(from.to_owned(), held - amount);
        let id = sha256::Hash::hash(format!("peglab redeem {name}").as_bytes()).to_byte_array();
        let deadline = self.relay_height(cx)? + self.redeem_period;
        self.requests.push(RedeemRequest {
            name: name.to_owned(),
            from: from.to_owned(),
            amount,
            id,
            pay_to,
            deadline,
            paid: None,
            closed: false,
        });
        result.events.push(Event::Burned { peg: self.peg.clone(), from: from.to_owned(), amount });
        result
            .events
            .push(Event::note(&self.peg, format!("the vault must pay by relay height {deadline}")));
        Ok(result.ended(Outcome::Accepted))
    }

    fn vault_pays(
        &mut self,
        cx: &mut Cx<'_>,
        request: &str,
        name: &str,
    ) -> Result<StepResult, RunError> {
        let mut result = StepResult::new(format!("{}'s vault pays {request}", self.peg));
        let req = match self.request(request) {
            Ok(req) => req,
            Err(refusal) => return Ok(result.ended(refusal)),
        };
        let push = bitcoin::script::PushBytesBuf::from(req.id);
        let outputs = vec![
            TxOut { value: req.amount, script_pubkey: req.pay_to.clone() },
            TxOut { value: Amount::ZERO, script_pubkey: ScriptBuf::new_op_return(push) },
        ];
        let paid = cx.pay(&self.vault, outputs, name)?;
        if let Some(tx) = paid.accepted() {
            let txid = tx.compute_txid();
            if let Some(r) = self.requests.iter_mut().find(|r| r.name == request) {
                r.paid = Some(txid);
            }
        }
        result.txs.extend(paid.made);
        Ok(result.ended(paid.outcome))
    }

    fn execute_redeem(&mut self, cx: &mut Cx<'_>, request: &str) -> Result<StepResult, RunError> {
        let result = StepResult::new(format!(
            "the vault's payment of {request} is proven to {}'s relay",
            self.peg
        ));
        let req = match self.request(request) {
            Ok(req) => req,
            Err(refusal) => return Ok(result.ended(refusal)),
        };
        if req.closed {
            return Ok(
                result.ended(refuse(Refused::AlreadyExecuted, format!("{request} is closed")))
            );
        }
        let Some(txid) = req.paid else {
            return Ok(
                result.ended(refuse(Refused::NotPaid, format!("the vault has not paid {request}")))
            );
        };
        let confirmations = match self.prove(cx, txid)? {
            Ok(c) => c,
            Err(refusal) => return Ok(result.ended(refusal)),
        };
        let Some(tx) = cx.chain.transaction(cx.node, txid)? else {
            return Ok(
                result.ended(refuse(Refused::NotConfirmed, format!("{txid} is not confirmed")))
            );
        };
        if !pays(&tx, &req) {
            let why = format!("{txid} does not pay {} tagged with the redeem id", req.amount);
            return Ok(result.ended(refuse(Refused::WrongPayment, why)));
        }
        let TxStatus::Confirmed { block, .. } = cx.chain.tx_status(cx.node, txid)? else {
            return Ok(
                result.ended(refuse(Refused::NotConfirmed, format!("{txid} is not confirmed")))
            );
        };
        let relay_height = match self.relay.rule() {
            ForkChoice::TbtcLightRelay => block.height,
            _ => (self.relay.tip().1 + 1).saturating_sub(confirmations),
        };
        if relay_height > req.deadline {
            let why =
                format!("paid at relay height {relay_height}, after the deadline {}", req.deadline);
            return Ok(result.ended(refuse(Refused::PastDeadline, why)));
        }
        if let Some(r) = self.requests.iter_mut().find(|r| r.name == request) {
            r.closed = true;
        }
        let mut result = result;
        result.events.push(Event::ProofChecked {
            peg: self.peg.clone(),
            tx: request.to_owned(),
            confirmations,
            required: self.k,
        });
        result.events.push(Event::note(
            &self.peg,
            format!(
                "relay verified the vault's payment in block {} (height {}); {request} is done",
                block.hash, block.height
            ),
        ));
        Ok(result.ended(Outcome::Accepted))
    }

    fn cancel_redeem(&mut self, cx: &mut Cx<'_>, request: &str) -> Result<StepResult, RunError> {
        let mut result = StepResult::new(format!("{request} is cancelled on {}", self.peg));
        let req = match self.request(request) {
            Ok(req) => req,
            Err(refusal) => return Ok(result.ended(refusal)),
        };
        if req.closed {
            return Ok(
                result.ended(refuse(Refused::AlreadyExecuted, format!("{request} is closed")))
            );
        }
        let height = self.relay_height(cx)?;
        if height <= req.deadline {
            let why = format!("the relay is at {height}; the vault may pay until {}", req.deadline);
            return Ok(result.ended(refuse(Refused::RedeemPeriodRunning, why)));
        }
        let owed =
            Amount::from_sat((req.amount.to_sat() as f64 * (1.0 + self.punishment)).round() as u64);
        let paid = owed.min(self.collateral);
        self.collateral -= paid;
        *self.reimbursed.entry(req.from.clone()).or_default() += paid;
        if let Some(r) = self.requests.iter_mut().find(|r| r.name == request) {
            r.closed = true;
        }
        result.events.push(Event::note(&self.peg, format!(
            "the vault missed the deadline {}: {} reimbursed {paid} from its collateral ({} left)",
            req.deadline, req.from, self.collateral
        )));
        Ok(result.ended(Outcome::Accepted))
    }

    /// Tokens outstanding (held, or burned in open requests) minus the minted issues still
    /// confirmed on the node's best chain less what redeems paid out, when positive.
    fn shortfall(&self, cx: &mut Cx<'_>) -> Result<Amount, RunError> {
        let outstanding: Amount = self.tokens.values().copied().sum::<Amount>()
            + self.requests.iter().filter(|r| !r.closed).map(|r| r.amount).sum::<Amount>();
        let mut backing = Amount::ZERO;
        for issue in &self.issues {
            if let Some(minted) = issue.minted
                && matches!(cx.chain.tx_status(cx.node, issue.txid)?, TxStatus::Confirmed { .. })
            {
                backing += minted;
            }
        }
        let redeemed: Amount =
            self.requests.iter().filter(|r| r.closed && r.paid.is_some()).map(|r| r.amount).sum();
        let backing = backing.checked_sub(redeemed).unwrap_or(Amount::ZERO);
        Ok(outstanding.checked_sub(backing).unwrap_or(Amount::ZERO))
    }
}

impl PegRun for State {
    fn step(&mut self, args: &dyn StepArgs, cx: &mut Cx<'_>) -> Result<StepResult, RunError> {
        let step = args.as_any().downcast_ref::<Step>().expect("an spv-vault step");
        match step {
            Step::SubmitHeaders => self.submit_headers(cx),
            Step::MarkHeaviest => self.mark_heaviest(cx),
            Step::Issue { from, amount, name } => {
                let mut result = StepResult::new(format!(
                    "{from} pays {amount} to {}'s vault to issue tokens",
                    self.peg
                ));
                let output = TxOut { value: *amount, script_pubkey: self.vault_script.clone() };
                let paid = cx.pay(from, vec![output], name)?;
                if let Some(tx) = paid.accepted() {
                    self.issues.push(IssueRecord {
                        name: name.clone(),
                        from: from.clone(),
                        txid: tx.compute_txid(),
                        minted: None,
                        proven_in: None,
                    });
                }
                result.txs.extend(paid.made);
                Ok(result.ended(paid.outcome))
            }
            Step::ExecuteIssue { deposit } => self.execute_issue(cx, deposit),
            Step::Redeem { from, amount, name } => self.redeem(cx, from, *amount, name),
            Step::VaultPays { request, name } => self.vault_pays(cx, request, name),
            Step::ExecuteRedeem { request } => self.execute_redeem(cx, request),
            Step::CancelRedeem { request } => self.cancel_redeem(cx, request),
        }
    }

    fn measure(
        &self,
        key: &str,
        holder: Option<&str>,
        cx: &mut Cx<'_>,
    ) -> Result<Amount, RunError> {
        let of = |map: &BTreeMap<String, Amount>| {
            holder.and_then(|h| map.get(h)).copied().unwrap_or(Amount::ZERO)
        };
        Ok(match key {
            "sidechain_balance" => of(&self.tokens),
            "reimbursed" => of(&self.reimbursed),
            "collateral" => self.collateral,
            "shortfall" => self.shortfall(cx)?,
            _ => Amount::ZERO,
        })
    }
}

/// Whether `tx` pays the request's amount to its script and carries `OP_RETURN <redeem id>`.
fn pays(tx: &Transaction, req: &RedeemRequest) -> bool {
    let amount_ok =
        tx.output.iter().any(|o| o.script_pubkey == req.pay_to && o.value >= req.amount);
    let tagged = tx.output.iter().any(|o| {
        o.script_pubkey.is_op_return()
            && matches!(o.script_pubkey.instructions().nth(1), Some(Ok(Instruction::PushBytes(p))) if p.as_bytes() == req.id)
    });
    amount_ok && tagged
}
