//! Validating a Babylon peg: staker, providers, covenant committee, times, rates.

use bitcoin::Amount;

use super::{
    model::{Actor, BabylonParams, Role},
    raw::{Members, RawPeg},
    spans::Seg,
    validate::Validator,
};

/// A preset: covenant size, quorum, staking time, unbonding time, unbonding fee (sat), slashing
/// rate, slashing fee (sat).
type Preset = (usize, usize, u32, u32, u64, f64, u64);

/// Babylon mainnet (phase 2, `btcstaking_params.go`): 6-of-9 covenant, 64000 blocks staking,
/// 1008 blocks unbonding, 32000 sat unbonding fee, 0.1 % slashing, 100000 sat slashing fee.
const MAINNET: Preset = (9, 6, 64_000, 1008, 32_000, 0.001, 100_000);
/// Babylon's `DefaultParams` (devnets): 3-of-5 covenant, 400 blocks minimum staking, 200 blocks
/// unbonding, 10 % slashing (fees are scenario-scale choices).
const DEVNET: Preset = (5, 3, 400, 200, 2_000, 0.1, 2_000);
const PRESETS: &[(&str, Preset)] = &[("babylon-mainnet", MAINNET), ("babylon-devnet", DEVNET)];

impl Validator<'_> {
    pub(crate) fn babylon(
        &mut self,
        p: &RawPeg,
        at: &dyn Fn(&str) -> Vec<Seg>,
        actors: &mut Vec<Actor>,
    ) -> BabylonParams {
        let preset = self.preset(p.preset.as_deref(), &at("preset"), PRESETS);
        let staker = p.staker.clone().unwrap_or_default();
        if !actors.iter().any(|a| a.name == staker && matches!(a.role, Role::User { .. })) {
            self.report(
                &at("staker"),
                "a babylon peg needs a `staker`: a user actor (its wallet funds delegations)",
                None,
            );
        }
        let providers = p.providers.clone().unwrap_or_default();
        if providers.is_empty() {
            self.report(
                &at("providers"),
                "a babylon peg needs at least one finality provider",
                None,
            );
        }
        for fp in &providers {
            self.check_actor(&at("providers"), fp, actors, true);
        }
        let covenant_spec = p.covenant.clone().or(preset.map(|p| Members::Count(p.0)));
        let covenant = match covenant_spec {
            Some(spec) => self.federation(&at("covenant"), spec, "covenant", actors),
            None => {
                self.report(
                    &at("covenant"),
                    "a babylon peg needs a `covenant` committee, or a `preset`",
                    None,
                );
                Vec::new()
            }
        };
        let quorum = p.quorum.or(preset.map(|p| p.1)).unwrap_or(covenant.len());
        if quorum == 0 || quorum > covenant.len() {
            self.report(
                &at("quorum"),
                format!("quorum {quorum} is impossible with {} covenant keys", covenant.len()),
                None,
            );
        }
        let blocks = |me: &mut Self, key: &str, given: Option<u32>, default: Option<u32>| {
            let value = given.or(default).unwrap_or(0);
            u16::try_from(value).ok().filter(|v| *v > 0).unwrap_or_else(|| {
                me.report(
                    &at(key),
                    format!(
                        "{key} {value} is impossible: a relative timelock in blocks is 1 to 65535"
                    ),
                    None,
                );
                1
            })
        };
        let staking_time = blocks(self, "staking_time", p.staking_time, preset.map(|p| p.2));
        let unbonding_time = blocks(self, "unbonding_time", p.unbonding_time, preset.map(|p| p.3));
        let fee =
            |me: &mut Self, key: &str, given: &Option<String>, default: Option<u64>| match given {
                Some(text) => me.amount(&at(key), text).unwrap_or_default(),
                None => Amount::from_sat(default.unwrap_or(2_000)),
            };
        let unbonding_fee = fee(self, "unbonding_fee", &p.unbonding_fee, preset.map(|p| p.4));
        let slashing_fee = fee(self, "slashing_fee", &p.slashing_fee, preset.map(|p| p.6));
        let slashing_rate = p.slashing_rate.or(preset.map(|p| p.5)).unwrap_or(0.1);
        if !(slashing_rate > 0.0 && slashing_rate < 1.0) {
            self.report(
                &at("slashing_rate"),
                format!("slashing rate {slashing_rate} must be between 0 and 1"),
                None,
            );
        }
        let tag = p.tag.as_deref().and_then(|t| {
            <[u8; 4] as bitcoin::hex::FromHex>::from_hex(t)
                .map_err(|e| {
                    self.report(&at("tag"), format!("`{t}` is not a 4-byte tag in hex: {e}"), None)
                })
                .ok()
        });
        BabylonParams {
            staker,
            providers,
            covenant,
            quorum,
            staking_time,
            unbonding_time,
            unbonding_fee,
            slashing_rate,
            slashing_fee,
            tag,
        }
    }
}
