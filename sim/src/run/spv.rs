//! SPV vault bridge steps (modelled on Interlay): the relayer feeds the relay; issues and
//! redeems are proven to it; a vault that does not pay in time loses collateral.

use std::collections::BTreeMap;

use bitcoin::{
    Amount, ScriptBuf, Transaction, Txid,
    hashes::{Hash, sha256},
    script::Instruction,
};

use super::{Outcome, Run, RunError};
use crate::{
    Chain, NodeId, TxStatus,
    relay::store::{ForkChoice, Relay, attacker_success},
    scenario::SpvVaultParams,
};

/// An issue the user paid.
#[derive(Debug, Clone)]
pub(crate) struct IssueRecord {
    name: String,
    from: String,
    txid: Txid,
    minted: Option<Amount>,
    /// The block the relay accepted the proof under.
    proven_in: Option<bitcoin::BlockHash>,
}

/// A redeem request.
#[derive(Debug, Clone)]
pub(crate) struct RedeemRequest {
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

/// An SPV vault bridge's modelled state.
#[derive(Debug)]
pub(crate) struct SpvState {
    pub(crate) params: SpvVaultParams,
    pub(crate) relay: Relay,
    pub(crate) vault_script: ScriptBuf,
    pub(crate) tokens: BTreeMap<String, Amount>,
    pub(crate) collateral: Amount,
    pub(crate) reimbursed: BTreeMap<String, Amount>,
    issues: Vec<IssueRecord>,
    requests: Vec<RedeemRequest>,
}

impl SpvState {
    pub(crate) fn new(params: SpvVaultParams, relay: Relay, vault_script: ScriptBuf) -> Self {
        let collateral = params.collateral;
        Self {
            params,
            relay,
            vault_script,
            tokens: BTreeMap::new(),
            collateral,
            reimbursed: BTreeMap::new(),
            issues: Vec::new(),
            requests: Vec::new(),
        }
    }

    /// The whitepaper's attacker arithmetic for this relay's `k`, for the report.
    /// The named redeem request, or the step's refusal when it was never made.
    fn request(&self, name: &str) -> Result<RedeemRequest, Outcome> {
        self.requests
            .iter()
            .find(|r| r.name == name)
            .cloned()
            .ok_or_else(|| refused("no-request", format!("{name} was never made")))
    }

    pub(crate) fn analysis(&self, peg: &str) -> Vec<String> {
        let k = self.params.k;
        let odds: Vec<String> = [0.1, 0.2, 0.3, 0.4]
            .iter()
            .map(|q| format!("{:.0} %: {:.7}", q * 100.0, attacker_success(*q, k)))
            .collect();
        let mut lines = vec![format!(
            "{peg}: proofs need k = {k} confirmations; an attacker with this share of the hashrate overtakes them with probability (Nakamoto, section 11): {}",
            odds.join(", ")
        )];
        if self.params.fork_choice == ForkChoice::Light {
            lines.push(format!(
                "{peg}: a light relay tracks no forks: the bound is the cost of mining {k} blocks privately, whatever the attacker's share"
            ));
        }
        lines
    }
}

fn refused(code: &'static str, why: String) -> Outcome {
    Outcome::ModelRejected { code, why }
}

impl<C: Chain> Run<'_, C> {
    /// The relayer submits `node`'s best chain, from the last header the relay holds.
    pub(crate) fn submit_headers(
        &mut self,
        node: NodeId,
        peg: &str,
        model: &mut Vec<String>,
    ) -> Result<Outcome, RunError<C::Error>> {
        let chain_err = RunError::Chain;
        let tip = self.chain.tip(node).map_err(chain_err)?;
        let mut height = tip.height;
        let mut hashes = Vec::new();
        while let Some(hash) = self.chain.block_at(node, height).map_err(chain_err)? {
            if self.spvs[peg].relay.knows(&hash) || height == 0 {
                break;
            }
            hashes.push(hash);
            height -= 1;
        }
        hashes.reverse();
        let mut accepted = 0;
        for hash in hashes {
            let header = self.chain.header(node, hash).map_err(chain_err)?;
            let relay = &mut self.spvs.get_mut(peg).expect("validated peg").relay;
            if let Err(refusal) = relay.submit(header) {
                let (tip, at) = relay.tip();
                model.push(format!("relay accepted {accepted} header(s), then refused {hash}; its main chain stays at {tip} (height {at})"));
                self.unbacked_issues(node, peg, model)?;
                return Ok(refused(refusal.code, refusal.why));
            }
            accepted += 1;
        }
        let (tip, at) = self.spvs[peg].relay.tip();
        model.push(format!(
            "relay accepted {accepted} header(s); its main chain is at {tip} (height {at})"
        ));
        self.unbacked_issues(node, peg, model)?;
        Ok(Outcome::Accepted)
    }

    /// Says which minted issues have no deposit on `node`'s best chain any more, and whether
    /// the relay noticed.
    fn unbacked_issues(
        &self,
        node: NodeId,
        peg: &str,
        model: &mut Vec<String>,
    ) -> Result<(), RunError<C::Error>> {
        let state = &self.spvs[peg];
        for issue in &state.issues {
            let (Some(minted), Some(block)) = (issue.minted, issue.proven_in) else { continue };
            if matches!(
                self.chain.tx_status(node, issue.txid).map_err(RunError::Chain)?,
                TxStatus::Confirmed { .. }
            ) {
                continue;
            }
            let relay = if state.relay.confirmations(&block).is_some() {
                "the relay, stuck on the abandoned branch, still shows it"
            } else {
                "the relay followed the reorg, but the tokens stay minted"
            };
            model.push(format!(
                "{minted} of tokens minted to {} for {} are without backing: the deposit is not on node {}'s best chain; {relay}",
                issue.from, issue.name, node.0
            ));
        }
        Ok(())
    }

    /// Proves `txid` (confirmed on `node`) to the relay; returns the refusal or confirmations.
    fn prove(
        &self,
        node: NodeId,
        peg: &str,
        txid: Txid,
    ) -> Result<Result<u32, Outcome>, RunError<C::Error>> {
        let chain_err = RunError::Chain;
        let Some(proof) = self.chain.inclusion_proof(node, txid).map_err(chain_err)? else {
            return Ok(Err(refused(
                "not-confirmed",
                format!("{txid} is not confirmed on node {}'s best chain", node.0),
            )));
        };
        let state = &self.spvs[peg];
        let coinbase = if state.params.coinbase_proof {
            let block = self.chain.block(node, proof.header.block_hash()).map_err(chain_err)?;
            let coinbase_txid = block.txdata[0].compute_txid();
            self.chain.inclusion_proof(node, coinbase_txid).map_err(chain_err)?
        } else {
            None
        };
        Ok(state
            .relay
            .verify_inclusion(&proof, txid, coinbase.as_ref(), state.params.k)
            .map_err(|r| refused(r.code, r.why)))
    }

    pub(crate) fn issue(
        &mut self,
        node: NodeId,
        peg: &str,
        from: &str,
        amount: Amount,
        name: &str,
        made: &mut super::federated::Made,
    ) -> Result<Outcome, RunError<C::Error>> {
        let script = self.spvs[peg].vault_script.clone();
        let outcome = self.user_pays(node, from, script, amount, name, made)?;
        if let (Outcome::Accepted, Some((_, tx, _))) = (&outcome, made.as_ref()) {
            let record = IssueRecord {
                name: name.to_owned(),
                from: from.to_owned(),
                txid: tx.compute_txid(),
                minted: None,
                proven_in: None,
            };
            self.spvs.get_mut(peg).expect("validated peg").issues.push(record);
        }
        Ok(outcome)
    }

    pub(crate) fn execute_issue(
        &mut self,
        node: NodeId,
        peg: &str,
        deposit: &str,
        model: &mut Vec<String>,
    ) -> Result<Outcome, RunError<C::Error>> {
        let Some(issue) = self.spvs[peg].issues.iter().find(|i| i.name == deposit).cloned() else {
            return Ok(refused(
                "no-issue",
                format!("{deposit} was never accepted by Bitcoin Core"),
            ));
        };
        if issue.minted.is_some() {
            return Ok(refused("already-executed", format!("{deposit} was executed before")));
        }
        let confirmations = match self.prove(node, peg, issue.txid)? {
            Ok(c) => c,
            Err(refusal) => return Ok(refusal),
        };
        let tx = self
            .chain
            .transaction(node, issue.txid)
            .map_err(RunError::Chain)?
            .expect("a proven transaction");
        let block = match self.chain.tx_status(node, issue.txid).map_err(RunError::Chain)? {
            TxStatus::Confirmed { block, .. } => Some(block.hash),
            _ => None,
        };
        let state = self.spvs.get_mut(peg).expect("validated peg");
        let paid: Amount = tx
            .output
            .iter()
            .filter(|o| o.script_pubkey == state.vault_script)
            .map(|o| o.value)
            .sum();
        *state.tokens.entry(issue.from.clone()).or_default() += paid;
        if let Some(record) = state.issues.iter_mut().find(|i| i.name == deposit) {
            record.minted = Some(paid);
            record.proven_in = block;
        }
        model.push(format!("relay verified the proof at {confirmations} confirmation(s) (k = {}); minted {paid} to {}", state.params.k, issue.from));
        Ok(Outcome::Accepted)
    }

    pub(crate) fn redeem(
        &mut self,
        node: NodeId,
        peg: &str,
        from: &str,
        amount: Amount,
        name: &str,
        model: &mut Vec<String>,
    ) -> Result<Outcome, RunError<C::Error>> {
        let pay_to = self.destination_script(&crate::scenario::Destination::Actor(from.to_owned()));
        let _ = node;
        let state = self.spvs.get_mut(peg).expect("validated peg");
        let held = state.tokens.get(from).copied().unwrap_or(Amount::ZERO);
        if held < amount {
            return Ok(refused(
                "insufficient-tokens",
                format!("{from} holds {held} of tokens, less than {amount}"),
            ));
        }
        state.tokens.insert(from.to_owned(), held - amount);
        let id = sha256::Hash::hash(format!("peglab redeem {name}").as_bytes()).to_byte_array();
        let deadline = state.relay.tip().1 + state.params.redeem_period;
        state.requests.push(RedeemRequest {
            name: name.to_owned(),
            from: from.to_owned(),
            amount,
            id,
            pay_to,
            deadline,
            paid: None,
            closed: false,
        });
        model
            .push(format!("{from} burned {amount}; the vault must pay by relay height {deadline}"));
        Ok(Outcome::Accepted)
    }

    pub(crate) fn vault_pays(
        &mut self,
        node: NodeId,
        peg: &str,
        request: &str,
        name: &str,
        made: &mut super::federated::Made,
    ) -> Result<Outcome, RunError<C::Error>> {
        let state = &self.spvs[peg];
        let req = match state.request(request) {
            Ok(req) => req,
            Err(refused) => return Ok(refused),
        };
        let vault = state.params.vault.clone();
        let outcome = self.user_pays_with(
            node,
            &vault,
            req.pay_to.clone(),
            req.amount,
            Some(req.id.to_vec()),
            name,
            made,
        )?;
        if let (Outcome::Accepted, Some((_, tx, _))) = (&outcome, made.as_ref()) {
            let txid = tx.compute_txid();
            let state = self.spvs.get_mut(peg).expect("validated peg");
            if let Some(r) = state.requests.iter_mut().find(|r| r.name == request) {
                r.paid = Some(txid);
            }
        }
        Ok(outcome)
    }

    pub(crate) fn execute_redeem(
        &mut self,
        node: NodeId,
        peg: &str,
        request: &str,
        model: &mut Vec<String>,
    ) -> Result<Outcome, RunError<C::Error>> {
        let req = match self.spvs[peg].request(request) {
            Ok(req) => req,
            Err(refused) => return Ok(refused),
        };
        if req.closed {
            return Ok(refused("already-executed", format!("{request} is closed")));
        }
        let Some(txid) = req.paid else {
            return Ok(refused("not-paid", format!("the vault has not paid {request}")));
        };
        let confirmations = match self.prove(node, peg, txid)? {
            Ok(c) => c,
            Err(refusal) => return Ok(refusal),
        };
        let tx = self
            .chain
            .transaction(node, txid)
            .map_err(RunError::Chain)?
            .expect("a proven transaction");
        if !pays(&tx, &req) {
            return Ok(refused(
                "wrong-payment",
                format!("{txid} does not pay {} tagged with the redeem id", req.amount),
            ));
        }
        let TxStatus::Confirmed { block, .. } =
            self.chain.tx_status(node, txid).map_err(RunError::Chain)?
        else {
            return Ok(refused("not-confirmed", format!("{txid} is not confirmed")));
        };
        let state = self.spvs.get_mut(peg).expect("validated peg");
        let relay_height = state.relay.tip().1 + 1 - confirmations;
        if relay_height > req.deadline {
            return Ok(refused(
                "past-deadline",
                format!("paid at relay height {relay_height}, after the deadline {}", req.deadline),
            ));
        }
        if let Some(r) = state.requests.iter_mut().find(|r| r.name == request) {
            r.closed = true;
        }
        model.push(format!(
            "relay verified the vault's payment in block {} (height {}); {request} is done",
            block.hash, block.height
        ));
        Ok(Outcome::Accepted)
    }

    pub(crate) fn cancel_redeem(
        &mut self,
        peg: &str,
        request: &str,
        model: &mut Vec<String>,
    ) -> Result<Outcome, RunError<C::Error>> {
        let state = self.spvs.get_mut(peg).expect("validated peg");
        let req = match state.request(request) {
            Ok(req) => req,
            Err(refused) => return Ok(refused),
        };
        if req.closed {
            return Ok(refused("already-executed", format!("{request} is closed")));
        }
        let (_, height) = state.relay.tip();
        if height <= req.deadline {
            return Ok(refused(
                "redeem-period-running",
                format!("the relay is at {height}; the vault may pay until {}", req.deadline),
            ));
        }
        let owed = Amount::from_sat(
            (req.amount.to_sat() as f64 * (1.0 + state.params.punishment)).round() as u64,
        );
        let paid = owed.min(state.collateral);
        state.collateral -= paid;
        *state.reimbursed.entry(req.from.clone()).or_default() += paid;
        if let Some(r) = state.requests.iter_mut().find(|r| r.name == request) {
            r.closed = true;
        }
        model.push(format!(
            "the vault missed the deadline {}: {} reimbursed {paid} from its collateral ({} left)",
            req.deadline, req.from, state.collateral
        ));
        Ok(Outcome::Accepted)
    }

    /// Tokens outstanding (held, or burned in open requests) minus the minted issues still
    /// confirmed on `node`'s best chain less what redeems paid out, when positive.
    pub(crate) fn spv_shortfall(
        &self,
        node: NodeId,
        peg: &str,
    ) -> Result<Amount, RunError<C::Error>> {
        let state = &self.spvs[peg];
        let outstanding: Amount = state.tokens.values().copied().sum::<Amount>()
            + state.requests.iter().filter(|r| !r.closed).map(|r| r.amount).sum::<Amount>();
        let mut backing = Amount::ZERO;
        for issue in &state.issues {
            if let Some(minted) = issue.minted
                && matches!(
                    self.chain.tx_status(node, issue.txid).map_err(RunError::Chain)?,
                    TxStatus::Confirmed { .. }
                )
            {
                backing += minted;
            }
        }
        let redeemed: Amount =
            state.requests.iter().filter(|r| r.closed && r.paid.is_some()).map(|r| r.amount).sum();
        let backing = backing.checked_sub(redeemed).unwrap_or(Amount::ZERO);
        Ok(outstanding.checked_sub(backing).unwrap_or(Amount::ZERO))
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

/// A relay seeded with real mainnet headers: its tip and the first header of its period.
#[derive(Debug, Clone)]
pub(crate) struct HeaderRelayState {
    pub(crate) tip: crate::relay::headers::AtHeight,
    pub(crate) period_start: Option<crate::relay::headers::AtHeight>,
}

impl<C: Chain> Run<'_, C> {
    /// Submits a batch of mainnet headers: accepted whole, or refused at its first bad header
    /// (a relay contract's batch call reverts).
    pub(crate) fn relay_headers(
        &mut self,
        peg: &str,
        headers: &[bitcoin::block::Header],
        model: &mut Vec<String>,
    ) -> Outcome {
        use crate::relay::headers::{AtHeight, HeaderFault, verify_run};
        let state = self.header_relays.get_mut(peg).expect("validated peg");
        match verify_run(bitcoin::Network::Bitcoin, state.tip, state.period_start, headers) {
            Ok(run) => {
                for (i, header) in headers.iter().enumerate() {
                    let height = state.tip.height + 1 + i as u32;
                    if height.is_multiple_of(2016) {
                        state.period_start = Some(AtHeight { height, header: *header });
                    }
                }
                state.tip = run.tip;
                model.push(format!(
                    "relay accepted {} mainnet header(s) ({} retarget(s)); tip {} at height {}",
                    run.count, run.retargets, run.tip_hash, run.tip.height
                ));
                Outcome::Accepted
            }
            Err(bad) => {
                let code = match bad.fault {
                    HeaderFault::Linkage { .. } => "bad-linkage",
                    HeaderFault::WrongTarget { .. } => "wrong-target",
                    HeaderFault::InsufficientWork { .. } => "insufficient-work",
                    HeaderFault::AbovePowLimit => "above-pow-limit",
                    HeaderFault::MissingPeriodStart { .. } => "missing-period-start",
                };
                let why =
                    format!("header {} (height {}): {}", bad.index + 1, bad.height, bad.fault);
                Outcome::ModelRejected { code, why }
            }
        }
    }
}
