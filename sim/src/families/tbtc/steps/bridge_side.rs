//! The Bridge's side of a wallet's transactions: proofs through the LightRelay, the wallet
//! stealing and the fraud challenge it cannot defeat, redemption timeouts.

use super::*;

impl State {
    /// A relayer's proof of a wallet transaction (`submitDepositSweepProof`,
    /// `submitRedemptionProof`, `submitMovingFundsProof`): the LightRelay's header check,
    /// then the Bridge's reading of the transaction.
    pub(super) fn prove(&mut self, cx: &mut Cx<'_>, name: &str) -> Result<StepResult, RunError> {
        let result = StepResult::new(format!("a relayer proves {name} to {}'s Bridge", self.peg));
        let Some(made) = self.made.get(name).cloned() else {
            let why = format!(
                "{name} is not a transaction {}'s wallet made and Bitcoin Core accepted",
                self.peg
            );
            return Ok(result.ended(stalled("no-such-tx", why)));
        };
        if made.proven {
            let why = format!("{name} was proven before");
            return Ok(result.ended(refused(Refused::AlreadyProven.code(), why)));
        }
        let node = cx.node;
        let (Some(proof), TxStatus::Confirmed { block, .. }) =
            (cx.chain.inclusion_proof(node, made.txid)?, cx.chain.tx_status(node, made.txid)?)
        else {
            let why = format!("{name} is not confirmed on node {}'s best chain", node.0);
            let code = crate::relay::store::Fault::UnknownHeader.code();
            return Ok(result.ended(refused(code, why)));
        };
        // The proof brings the block and the headers after it: as many as the chain has, up
        // to the difficulty factor.
        let factor = self.relay.k();
        let mut headers = Vec::new();
        for height in block.height..block.height.saturating_add(factor) {
            let Some(hash) = cx.chain.block_at(node, height)? else { break };
            headers.push(cx.chain.header(node, hash)?);
        }
        let mut result = result;
        if let Err(refusal) = self.relay.verify_with_headers(&proof, made.txid, None, &headers) {
            return Ok(result.ended(refused(refusal.code, refusal.why)));
        }
        result.events.push(Event::ProofChecked {
            peg: self.peg.clone(),
            tx: name.to_owned(),
            confirmations: headers.len() as u32,
            required: factor,
        });
        match &made.kind {
            Kind::Theft => {
                let why = format!(
                    "{name} spends the main UTXO to an output no redemption request asked for"
                );
                return Ok(result.ended(refused(Refused::NonRequested.code(), why)));
            }
            Kind::Sweep(credits) => {
                for (to, amount) in credits {
                    *self.tbtc.entry(to.clone()).or_default() += *amount;
                    result.events.push(Event::Minted {
                        peg: self.peg.clone(),
                        to: to.clone(),
                        amount: *amount,
                    });
                }
            }
            Kind::Redemption(request) => {
                if let Some(r) = self.requests.iter_mut().find(|r| &r.name == request) {
                    r.done = true;
                }
            }
            Kind::Move => {}
        }
        if let Some(m) = self.made.get_mut(name) {
            m.proven = true;
        }
        Ok(result.ended(Outcome::Accepted))
    }

    /// The wallet's operators sign the main UTXO over to `to`.
    pub(super) fn steal(
        &mut self,
        cx: &mut Cx<'_>,
        to: &Destination,
        name: &str,
    ) -> Result<StepResult, RunError> {
        let mut result =
            StepResult::new(format!("{}'s wallet signs its main UTXO over to {to}", self.peg));
        let Some((outpoint, value)) = self.main else {
            return Ok(result.ended(stalled("no-main-utxo", "the wallet has swept nothing yet")));
        };
        let script_pubkey = cx.script_of(to);
        let mut tx = Transaction {
            version: Version::ONE,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: outpoint,
                sequence: Sequence::MAX,
                ..TxIn::default()
            }],
            output: vec![TxOut { value, script_pubkey }],
        };
        sign_with_fee(&mut tx, 0, value, cx.fee_rate, |tx| self.sign_main(cx, tx, 0, value));
        let (outcome, made) = cx.submit(name, tx, Some(value))?;
        if matches!(outcome, Outcome::Accepted) {
            self.main = None;
            let txid = made.tx.compute_txid();
            self.made.insert(name.to_owned(), WalletTx { txid, kind: Kind::Theft, proven: false });
            let shortfall = self.liabilities().checked_sub(self.holdings()).unwrap_or_default();
            result.events.push(Event::Shortfall { peg: self.peg.clone(), amount: shortfall });
        }
        result.txs.push(made);
        Ok(result.ended(outcome))
    }

    /// `submitFraudChallenge` with a signature of the wallet over `name`'s inputs: the wallet
    /// defeats it only by revealing the preimage of a transaction proven in the Bridge.
    pub(super) fn challenge(&mut self, name: &str) -> StepResult {
        let result = StepResult::new(format!(
            "a challenger submits the wallet's signature in {name} to {}'s Bridge",
            self.peg
        ));
        let Some(made) = self.made.get(name) else {
            let why = format!("{name} is not a transaction {}'s wallet signed", self.peg);
            return result.ended(stalled("no-such-tx", why));
        };
        if made.proven {
            let why = format!("the wallet reveals the preimage: {name} is proven in the Bridge");
            return result.ended(refused(Refused::ChallengeDefeated.code(), why));
        }
        let mut result = result;
        result.events.push(Event::note(&self.peg, format!(
            "no defeat within fraudChallengeDefeatTimeout (7 days): the wallet's operators are slashed (fraudSlashingAmount) and the challenger rewarded; no BTC comes back{}",
            if matches!(made.kind, Kind::Theft) { "" } else { " (an honest transaction not yet proven: prove it before the defeat timeout)" }
        )));
        let shortfall = self.liabilities().checked_sub(self.holdings()).unwrap_or_default();
        result.events.push(Event::Shortfall { peg: self.peg.clone(), amount: shortfall });
        result.ended(Outcome::Accepted)
    }

    /// `notifyRedemptionTimeout`: a request unpaid (unproven) for `redemptionTimeout`.
    pub(super) fn timeout(
        &mut self,
        cx: &mut Cx<'_>,
        request: &str,
    ) -> Result<StepResult, RunError> {
        let result =
            StepResult::new(format!("anyone reports {request}'s timeout to {}'s Bridge", self.peg));
        let now = cx.chain.median_time_past(cx.node)?;
        let Some(index) = self.requests.iter().position(|r| r.name == request && !r.done) else {
            let why = format!("{request} was never made, or was paid or timed out");
            return Ok(result.ended(refused(Refused::NoRedemption.code(), why)));
        };
        let r = self.requests[index].clone();
        let waited = now.saturating_sub(r.at);
        if waited < REDEMPTION_TIMEOUT {
            let why = format!(
                "{waited} s since the request; redemptionTimeout is {REDEMPTION_TIMEOUT} s"
            );
            return Ok(result.ended(refused(Refused::NotTimedOut.code(), why)));
        }
        self.requests[index].done = true;
        *self.tbtc.entry(r.from.clone()).or_default() += r.amount;
        let mut result = result;
        result.events.push(Event::Minted {
            peg: self.peg.clone(),
            to: r.from.clone(),
            amount: r.amount,
        });
        result.events.push(Event::note(&self.peg, "the Bank returns the request's tBTC; the wallet's operators are slashed (redemptionTimeoutSlashingAmount) and the wallet must move its funds"));
        Ok(result.ended(Outcome::Accepted))
    }
}
