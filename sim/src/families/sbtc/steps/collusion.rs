//! The signer set changing (a new DKG) and colluding (a FROST round at the threshold, or
//! below it the key their shares interpolate to).

use super::*;

impl State {
    pub(super) fn rotate(
        &mut self,
        cx: &mut Cx<'_>,
        signers: Option<&[String]>,
        threshold: Option<u16>,
    ) -> StepResult {
        let old = &self.groups[self.current()];
        let members = signers.map_or_else(|| old.members.clone(), <[String]>::to_vec);
        let threshold = threshold.unwrap_or(old.threshold).min(members.len() as u16);
        let result = StepResult::new(format!(
            "{}'s signers run a DKG for a new key ({threshold} of {})",
            self.peg,
            members.len()
        ));
        let offline: Vec<&String> = members.iter().filter(|m| cx.offline.contains(*m)).collect();
        if !offline.is_empty() {
            let names: Vec<&str> = offline.iter().map(|s| s.as_str()).collect();
            let why = format!(
                "{} offline: sBTC's DKG needs every signer (dkg_threshold = num_signers)",
                names.join(", ")
            );
            return result.ended(stalled("dkg-needs-every-signer", why));
        }
        let label = crate::families::sbtc::label(cx.keys, &self.peg, self.groups.len());
        match Group::generate(&members, threshold, &label) {
            Ok(group) => {
                let mut result = result;
                result.events.push(Event::note(&self.peg, format!("the new aggregate key is {}; new deposits lock to it, the signers' UTXO moves at the next sweep", group.key)));
                self.groups.push(group);
                result.ended(Outcome::Accepted)
            }
            Err(e) => {
                result.ended(stalled("dkg-needs-every-signer", format!("the DKG failed: {e}")))
            }
        }
    }

    pub(super) fn steal(
        &mut self,
        cx: &mut Cx<'_>,
        signers: &[String],
        to: &Destination,
        name: &str,
    ) -> Result<StepResult, RunError> {
        let mut result = StepResult::new(format!(
            "{} sign {}'s coins over to {to}",
            signers.join(", "),
            self.peg
        ));
        let current = self.current();
        let group = self.groups[current].clone();
        let members: Vec<String> = signers.iter().filter(|s| group.is_member(s)).cloned().collect();
        for s in signers.iter().filter(|s| !group.is_member(s)) {
            result
                .events
                .push(Event::note(&self.peg, format!("{s} holds no share of the current key")));
        }
        let utxo = self.utxo.filter(|u| u.group == current);
        let deposits: Vec<usize> = (0..self.deposits.len())
            .filter(|&i| !self.deposits[i].spent && self.deposits[i].group == current)
            .collect();
        let mut prevouts = Vec::new();
        let mut inputs = Vec::new();
        if let Some(u) = utxo {
            prevouts.push(TxOut { value: u.value, script_pubkey: group.script_pubkey(cx.secp) });
            inputs.push(u.outpoint);
        }
        for &i in &deposits {
            let d = self.deposit_input(cx, i);
            prevouts.push(d.prevout);
            inputs.push(d.outpoint);
        }
        if inputs.is_empty() {
            return Ok(
                result.ended(stalled("nothing-to-sweep", "nothing is locked to the current key"))
            );
        }
        let value_in: Amount = prevouts.iter().map(|p| p.value).sum();
        let script_pubkey = cx.script_of(to);
        let mut tx = Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: inputs
                .iter()
                .map(|o| TxIn { previous_output: *o, sequence: Sequence::ZERO, ..TxIn::default() })
                .collect(),
            output: vec![TxOut { value: value_in, script_pubkey }],
        };
        // FROST first; with fewer than the threshold it refuses, and the colluders fall back
        // to the key their shares interpolate to.
        let frost = |digest: [u8; 32], tweaked: bool| group.sign(&members, digest, tweaked);
        let fallback = match frost([0; 32], false) {
            Ok(_) => None,
            Err(e) => {
                result.events.push(Event::note(
                    &self.peg,
                    format!(
                        "FROST refuses {} of {} signers ({} needed): {e}",
                        members.len(),
                        group.members.len(),
                        group.threshold
                    ),
                ));
                match group.interpolate(&members) {
                    Ok(key) => {
                        result.events.push(Event::note(&self.peg, "they sign with the key their shares interpolate to, which is not the aggregate key"));
                        Some(key)
                    }
                    Err(e) => {
                        return Ok(
                            result.ended(stalled("signing-round-failed", format!("FROST: {e}")))
                        );
                    }
                }
            }
        };
        let has_utxo = utxo.is_some();
        let leaves: Vec<(ScriptBuf, TaprootSpendInfo)> = deposits
            .iter()
            .map(|&i| (self.deposits[i].leaf.clone(), self.deposits[i].info.clone()))
            .collect();
        let mut failure = None;
        sign_with_fee(&mut tx, 0, value_in, cx.fee_rate, |tx| {
            let unsigned = tx.clone();
            for index in 0..tx.input.len() {
                let leaf =
                    if has_utxo && index == 0 { None } else { Some(index - usize::from(has_utxo)) };
                let digest = sweep::digest(&unsigned, &prevouts, index, leaf.map(|k| &leaves[k].0));
                let signature = match &fallback {
                    None => frost(digest, leaf.is_none()),
                    Some(key) => Ok(schnorr_sign(cx, key, digest, leaf.is_none())),
                };
                let sig = match signature {
                    Ok(s) => sweep::with_all(s),
                    Err(e) => {
                        failure = Some(e);
                        [0; 65]
                    }
                };
                tx.input[index].witness = match leaf {
                    None => Witness::from_slice(&[sig]),
                    Some(k) => sweep::witness(&leaves[k].0, &leaves[k].1, sig),
                };
            }
        });
        if let Some(e) = failure {
            return Ok(result.ended(stalled("signing-round-failed", format!("FROST: {e}"))));
        }
        let (outcome, made) = cx.submit(name, tx, Some(value_in))?;
        if matches!(outcome, Outcome::Accepted) {
            if has_utxo {
                self.utxo = None;
            }
            for &i in &deposits {
                self.deposits[i].spent = true;
            }
            let shortfall = self.liabilities().checked_sub(self.holdings()).unwrap_or_default();
            result.events.push(Event::Shortfall { peg: self.peg.clone(), amount: shortfall });
        }
        result.txs.push(made);
        Ok(result.ended(outcome))
    }
}

/// A plain BIP340 signature by `key` (tweaked for a key path): what colluders below the
/// threshold can make.
fn schnorr_sign(
    cx: &Cx<'_>,
    key: &bitcoin::secp256k1::SecretKey,
    digest: [u8; 32],
    tweaked: bool,
) -> schnorr::Signature {
    let keypair = Keypair::from_secret_key(cx.secp, key);
    let keypair = if tweaked { keypair.tap_tweak(cx.secp, None).to_keypair() } else { keypair };
    cx.secp.sign_schnorr_no_aux_rand(&Message::from_digest(digest), &keypair)
}
