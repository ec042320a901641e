//! Validating an SPV vault bridge: its vault, collateral, relay rule and periods.

use bitcoin::consensus::encode::deserialize_hex;

use super::{
    diagnostic::suggest,
    model::{Actor, HeaderRelayParams, Role, SpvVaultParams},
    raw::RawPeg,
    spans::Seg,
    validate::Validator,
};
use crate::relay::{headers::AtHeight, store::ForkChoice};

const RULES: [(&str, ForkChoice); 3] = [
    ("longest", ForkChoice::Longest),
    ("heaviest", ForkChoice::Heaviest),
    ("light", ForkChoice::Light),
];

/// `HEIGHT:HEADERHEX`.
pub(crate) fn at_height(text: &str) -> Result<AtHeight, String> {
    let (height, hex) =
        text.split_once(':').ok_or_else(|| format!("`{text}` is not HEIGHT:HEADERHEX"))?;
    let height = height.trim().parse().map_err(|_| format!("`{height}` is not a height"))?;
    let header =
        deserialize_hex(hex.trim()).map_err(|e| format!("not an 80-byte header in hex: {e}"))?;
    Ok(AtHeight { height, header })
}

impl Validator<'_> {
    pub(crate) fn header_relay(
        &mut self,
        p: &RawPeg,
        at: &dyn Fn(&str) -> Vec<Seg>,
    ) -> Option<HeaderRelayParams> {
        let Some(text) = p.checkpoint.as_deref() else {
            self.report(
                &at("kind"),
                "a header-relay needs a `checkpoint` (HEIGHT:HEADERHEX of a mainnet header)",
                None,
            );
            return None;
        };
        let checkpoint = at_height(text).map_err(|m| self.report(&at("checkpoint"), m, None)).ok();
        let period_start = p
            .period_start
            .as_deref()
            .and_then(|t| at_height(t).map_err(|m| self.report(&at("period_start"), m, None)).ok());
        Some(HeaderRelayParams { checkpoint: checkpoint?, period_start })
    }

    pub(crate) fn spv_vault(
        &mut self,
        p: &RawPeg,
        at: &dyn Fn(&str) -> Vec<Seg>,
        actors: &[Actor],
    ) -> SpvVaultParams {
        let vault = p.vault.clone().unwrap_or_default();
        if p.vault.is_none() {
            self.report(
                &at("kind"),
                "an spv-vault peg needs a `vault`: the user who operates it",
                None,
            );
        } else if !actors.iter().any(|a| a.name == vault && matches!(a.role, Role::User { .. })) {
            let help = suggest(&vault, actors.iter().map(|a| a.name.as_str()));
            self.report(
                &at("vault"),
                format!("the vault `{vault}` must be a user actor (it needs a wallet)"),
                help,
            );
        }
        let collateral = match &p.collateral {
            Some(text) => self.amount(&at("collateral"), text).unwrap_or_default(),
            None => bitcoin::Amount::ZERO,
        };
        let fork_choice = match p.fork_choice.as_deref() {
            None => ForkChoice::Longest,
            Some(name) => {
                RULES.iter().find(|(n, _)| *n == name).map(|(_, r)| *r).unwrap_or_else(|| {
                    let help = suggest(name, RULES.iter().map(|(n, _)| *n));
                    self.report(
                        &at("fork_choice"),
                        format!("unknown fork choice `{name}`; use longest, heaviest or light"),
                        help,
                    );
                    ForkChoice::Longest
                })
            }
        };
        let k = p.k.unwrap_or(6);
        if k == 0 {
            self.report(&at("k"), "a proof needs at least one confirmation", None);
        }
        let redeem_period = p.redeem_period.unwrap_or(24);
        if redeem_period == 0 {
            self.report(&at("redeem_period"), "a vault needs at least one block to pay", None);
        }
        let punishment = p.punishment.unwrap_or(0.1);
        if !(0.0..=1.0).contains(&punishment) {
            self.report(
                &at("punishment"),
                format!("punishment {punishment} is not a share between 0 and 1"),
                None,
            );
        }
        SpvVaultParams {
            vault,
            collateral,
            fork_choice,
            k,
            coinbase_proof: p.coinbase_proof.unwrap_or(false),
            redeem_period,
            punishment,
        }
    }
}
