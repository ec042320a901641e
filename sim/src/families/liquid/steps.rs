//! What a Liquid peg's steps do: peg-ins on Bitcoin, claims judged as Elements judges them,
//! peg-outs, sweeps, recovery and theft.

use bitcoin::{
    Amount, OutPoint, ScriptBuf, TxOut,
    hashes::{Hash, sha256d},
    secp256k1::{Message, ecdsa::Signature},
};

use super::{CLAIM_LEEWAY, Refused, Step, claim_script};
use crate::{
    family::{PegRun, StepArgs},
    federation::{EvidenceFault, Fed, PayoutFee, gather},
    run::{Cx, Event, Outcome, RunError, StepResult, keys::Purpose, refused, stalled},
};

/// A peg-in as the user made it.
#[derive(Debug, Clone)]
struct PegIn {
    name: String,
    /// The claim script the address was tweaked with (none: the untweaked address).
    claim_script: Option<ScriptBuf>,
}

/// What a Liquid peg's other side enforces.
#[derive(Debug, Clone)]
pub(super) struct Rules {
    /// Confirmations a claim needs: `pegin_min_depth` plus the wallet's lee-way.
    pub(super) claim_depth: u32,
    /// What a claim costs, out of the peg-in's value.
    pub(super) claim_fee: Amount,
    /// Who may peg out, when peg-outs are permissioned.
    pub(super) pak: Option<Vec<String>>,
}

/// A Liquid peg's state.
pub(super) struct State {
    fed: Fed,
    pegins: Vec<PegIn>,
    rules: Rules,
}

impl State {
    pub(super) fn new(fed: Fed, rules: Rules) -> Self {
        Self { fed, pegins: Vec::new(), rules }
    }

    fn peg(&self) -> &str {
        &self.fed.peg
    }

    fn claim(&mut self, cx: &mut Cx<'_>, deposit: &str, by: &str) -> Result<StepResult, RunError> {
        let result = StepResult::new(format!("{by} claims {deposit} on {}", self.peg()));
        let refuse =
            |code: Refused, why: String| Ok(result.clone().ended(refused(code.code(), why)));
        let Some(tx) = cx.txs.get(deposit).cloned() else {
            return refuse(
                Refused::NeedsMoreConfirmations,
                format!("{deposit} was never broadcast: no proof of it exists"),
            );
        };
        let txid = tx.compute_txid();
        // The claim script: the one the peg-in address committed to, or the claimer's own.
        let own =
            self.pegins.iter().find(|p| p.name == deposit).and_then(|p| p.claim_script.clone());
        let claim = own.unwrap_or_else(|| claim_script(cx.keys, cx.secp, by));
        let evidence = match gather(cx, txid)? {
            Ok(evidence) => evidence,
            Err(EvidenceFault::BadProof(why)) => return refuse(Refused::MerkleProofInvalid, why),
            Err(EvidenceFault::BadPow(why)) => return refuse(Refused::ParentPowInvalid, why),
            Err(fault) => return refuse(Refused::NeedsMoreConfirmations, fault.to_string()),
        };
        // Elements' order (`IsValidPeginWitness`): the output, then the depth.
        let expected = self.fed.federation.script_pubkey(cx.secp, Some(&claim));
        let Some((outpoint, value)) = Cx::output_paying(&evidence.tx, &expected) else {
            return refuse(
                Refused::TxInvalid,
                "no output pays the federation script tweaked with this claim script".into(),
            );
        };
        let required = self.rules.claim_depth;
        if evidence.confirmations < required {
            let why = format!(
                "{} confirmation(s); the claim needs pegin_depth {} + {CLAIM_LEEWAY}",
                evidence.confirmations,
                required - CLAIM_LEEWAY
            );
            return refuse(Refused::NeedsMoreConfirmations, why);
        }
        if self.fed.claimed(deposit, Some(outpoint)) {
            return refuse(Refused::DoublePegin, format!("{outpoint} was claimed before"));
        }
        if !claim_signature_verifies(cx, by, &claim, outpoint) {
            let why = format!("{by}'s signature does not satisfy the claim script {claim}");
            return refuse(Refused::ClaimScriptUnsatisfied, why);
        }
        let mut result = result;
        result.events.push(Event::ProofChecked {
            peg: self.peg().to_owned(),
            tx: deposit.to_owned(),
            confirmations: evidence.confirmations,
            required,
        });
        // The claim transaction's fee comes out of the peg-in (Elements' claimpegin).
        let credited = value.checked_sub(self.rules.claim_fee).unwrap_or(Amount::ZERO);
        self.fed.credit(deposit, outpoint, value, by, Some(claim), &mut result);
        self.fed.books.charge(by, value - credited);
        result.events.push(Event::note(
            self.peg(),
            format!(
                "{by} is credited {credited}: the claim's fee of {} comes out of the peg-in",
                value - credited
            ),
        ));
        Ok(result.ended(Outcome::Accepted))
    }
}

/// The claimer signs the claim of `outpoint` with its sidechain key; the signature is
/// verified against the claim script (a P2WPKH: the key must hash to its program), as
/// Elements verifies the claim input against it.
fn claim_signature_verifies(cx: &Cx<'_>, by: &str, claim: &ScriptBuf, outpoint: OutPoint) -> bool {
    // `check` refuses a claim by a user given only a public key.
    let key = cx.keys.user_secret(Purpose::Sidechain, by).expect("the claimer's secret");
    let mut data = b"peglab/elements-claim".to_vec();
    data.extend_from_slice(outpoint.txid.as_byte_array());
    data.extend_from_slice(&outpoint.vout.to_le_bytes());
    let message = Message::from_digest(sha256d::Hash::hash(&data).to_byte_array());
    let signature: Signature = cx.secp.sign_ecdsa(&message, &key);
    let public = bitcoin::CompressedPublicKey(key.public_key(cx.secp));
    let program = ScriptBuf::new_p2wpkh(&public.wpubkey_hash());
    program == *claim && cx.secp.verify_ecdsa(&message, &signature, &public.0).is_ok()
}

impl PegRun for State {
    fn step(&mut self, args: &dyn StepArgs, cx: &mut Cx<'_>) -> Result<StepResult, RunError> {
        let step = args.as_any().downcast_ref::<Step>().expect("a liquid step");
        match step {
            Step::PegIn { from, amount, untweaked, claim_script: given, name } => {
                let claim = (!untweaked)
                    .then(|| given.clone().unwrap_or_else(|| claim_script(cx.keys, cx.secp, from)));
                let spk = self.fed.federation.script_pubkey(cx.secp, claim.as_deref());
                let to = if *untweaked {
                    "the untweaked federation script of"
                } else {
                    "the peg-in address of"
                };
                let mut result =
                    StepResult::new(format!("{from} pays {amount} to {to} {}", self.peg()));
                let paid =
                    cx.pay(from, vec![TxOut { value: *amount, script_pubkey: spk }], name)?;
                if let Some(tx) = paid.accepted() {
                    let _ = tx;
                    self.pegins.push(PegIn { name: name.clone(), claim_script: claim });
                    let text = format!("claimable after {} confirmations", self.rules.claim_depth);
                    result.events.push(Event::note(self.peg(), text));
                }
                result.txs.extend(paid.made);
                Ok(result.ended(paid.outcome))
            }
            Step::Claim { deposit, by } => self.claim(cx, deposit, by),
            Step::PegOut { from, amount, to, name } => {
                let mut result = StepResult::new(format!(
                    "{from} pegs out {amount} from {} to {to}",
                    self.peg()
                ));
                if let Some(pak) = &self.rules.pak
                    && !pak.contains(from)
                {
                    let why =
                        format!("{from}'s key is not on the PAK list: peg-outs are permissioned");
                    return Ok(result.ended(refused(Refused::InvalidPegoutProof.code(), why)));
                }
                if *amount < super::MINIMUM_PEGOUT {
                    let why = format!(
                        "{amount} is below Liquid's minimum peg-out of {}",
                        super::MINIMUM_PEGOUT
                    );
                    return Ok(result.ended(refused(Refused::PegoutBelowMinimum.code(), why)));
                }
                if !self.fed.burn(from, *amount, &mut result) {
                    let why = format!(
                        "{from} holds {} on the other side, less than {amount}",
                        self.fed.books.balance(from)
                    );
                    return Ok(result.ended(stalled("insufficient-sidechain-funds", why)));
                }
                let members = match self.fed.quorum(cx) {
                    Ok(members) => members,
                    Err(stall) => return Ok(result.ended(stall)),
                };
                let script = cx.script_of(to);
                let payout = vec![TxOut { value: *amount, script_pubkey: script }];
                let outcome = self.fed.pay_out(
                    cx,
                    &members,
                    payout,
                    PayoutFee::FeePool,
                    (name, &mut result),
                )?;
                if matches!(outcome, Outcome::Accepted) {
                    self.fed.books.pending_pegouts -= *amount;
                    let paid = result
                        .txs
                        .last()
                        .and_then(|m| m.tx.output.last())
                        .map_or(Amount::ZERO, |o| o.value);
                    result.events.push(Event::PaidOut {
                        peg: self.peg().to_owned(),
                        to: to.to_string(),
                        amount: paid,
                    });
                }
                Ok(result.ended(outcome))
            }
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
