//! Validating Core staking: template, output, chain id, validator.

use bitcoin::hashes::{Hash, sha256};

use super::{
    diagnostic::suggest,
    model::{Actor, CoreParams, CoreTemplate, OutputType},
    raw::RawPeg,
    spans::Seg,
    validate::Validator,
};

/// Core mainnet's chain id.
const MAINNET_CHAIN_ID: u16 = 1116;

impl Validator<'_> {
    pub(crate) fn core(
        &mut self,
        p: &RawPeg,
        at: &dyn Fn(&str) -> Vec<Seg>,
        name: &str,
        actors: &[Actor],
    ) -> CoreParams {
        let template = match p.template.as_deref().unwrap_or("pubkey") {
            "pubkey" => CoreTemplate::PubKey,
            "pubkey-hash" => CoreTemplate::PubKeyHash,
            "multisig" => {
                let signers = p.signers.clone().unwrap_or_default();
                if signers.is_empty() {
                    self.report(&at("signers"), "a multisig template needs `signers`", None);
                }
                for s in &signers {
                    self.check_actor(&at("signers"), s, actors, true);
                }
                let threshold = p.threshold.unwrap_or(signers.len());
                if threshold == 0 || threshold > signers.len() {
                    let message = format!(
                        "threshold {threshold} is impossible with {} signers",
                        signers.len()
                    );
                    self.report(&at("threshold"), message, None);
                }
                CoreTemplate::Multisig { signers, threshold }
            }
            other => {
                let help = suggest(other, ["pubkey", "pubkey-hash", "multisig"]);
                self.report(
                    &at("template"),
                    format!("unknown template `{other}`; use pubkey, pubkey-hash or multisig"),
                    help,
                );
                CoreTemplate::PubKey
            }
        };
        let output = match p.output.as_deref().unwrap_or("p2wsh") {
            "p2wsh" => OutputType::P2wsh,
            "p2sh" => OutputType::P2sh,
            other => {
                let help = suggest(other, ["p2wsh", "p2sh"]);
                self.report(
                    &at("output"),
                    format!("unknown output `{other}`; use p2wsh or p2sh"),
                    help,
                );
                OutputType::P2wsh
            }
        };
        let validator = match p.validator.as_deref() {
            None => sha256::Hash::hash(format!("peglab validator {name}").as_bytes())
                .to_byte_array()[..20]
                .try_into()
                .expect("20 bytes"),
            Some(text) => {
                let hex = text.strip_prefix("0x").unwrap_or(text);
                <[u8; 20] as bitcoin::hex::FromHex>::from_hex(hex).unwrap_or_else(|e| {
                    self.report(
                        &at("validator"),
                        format!("`{text}` is not a 20-byte address in hex: {e}"),
                        None,
                    );
                    [0; 20]
                })
            }
        };
        CoreParams { template, output, chain_id: p.chain_id.unwrap_or(MAINNET_CHAIN_ID), validator }
    }
}
