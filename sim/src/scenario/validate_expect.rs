//! Validating a step's `expect` table against what the step does and the names it may use.

use super::{
    model::*,
    raw::*,
    spans::Seg,
    validate::{Validator, key},
    validate_steps::Names,
};

impl Validator<'_> {
    pub(super) fn expectations(
        &mut self,
        path: &[Seg],
        e: &RawExpect,
        action: &Action,
        actors: &[Actor],
        pegs: &[Peg],
        names: &Names,
    ) -> Vec<Expectation> {
        let at = |k: &str| {
            let mut p = path.to_vec();
            p.push(key(k));
            p
        };
        let mut out = Vec::new();
        let outcome_keys = [e.accepted.is_some(), e.rejected.is_some(), e.stalled.is_some()];
        if outcome_keys.iter().filter(|on| **on).count() > 1 {
            self.report(path, "expect one outcome: `accepted`, `rejected` or `stalled`", None);
        }
        if outcome_keys.iter().any(|on| *on) && !action.has_outcome() {
            self.report(
                path,
                format!(
                    "a `{}` step makes no transaction to be accepted, rejected or stalled",
                    action.keyword()
                ),
                None,
            );
        }
        match e.accepted {
            Some(true) => out.push(Expectation::Accepted),
            Some(false) => self.report(
                &at("accepted"),
                "`accepted = false` says nothing: write `rejected = \"<reason>\"`",
                None,
            ),
            None => {}
        }
        if let Some(r) = &e.rejected {
            out.push(Expectation::Rejected(r.clone()));
        }
        if let Some(r) = &e.stalled {
            out.push(Expectation::Stalled(r.clone()));
        }
        for (tx, count) in e.confirmations.iter().flatten() {
            self.check_tx(&at("confirmations"), tx, names);
            out.push(Expectation::Confirmations { tx: tx.clone(), count: *count });
        }
        for (actor, amount) in e.balance.iter().flatten() {
            self.check_actor(&at("balance"), actor, actors, false);
            if let Some(amount) = self.amount(&at("balance"), amount) {
                out.push(Expectation::Balance { actor: actor.clone(), amount });
            }
        }
        for (actor, amount) in e.sidechain_balance.iter().flatten() {
            self.check_actor(&at("sidechain_balance"), actor, actors, false);
            if let Some(amount) = self.amount(&at("sidechain_balance"), amount) {
                out.push(Expectation::SidechainBalance { actor: actor.clone(), amount });
            }
        }
        for (peg, amount) in e.shortfall.iter().flatten() {
            // A federated peg (liquid, powpeg) or an spv-vault.
            if !matches!(
                pegs.iter().find(|p| p.name == *peg).map(|p| &p.kind),
                Some(PegKind::SpvVault(_))
            ) {
                self.liquid_peg(&at("shortfall"), Some(peg), pegs);
            }
            if let Some(amount) = self.amount(&at("shortfall"), amount) {
                out.push(Expectation::Shortfall { peg: peg.clone(), amount });
            }
        }
        for (peg, amount) in e.collateral.iter().flatten() {
            self.peg_of_kind(&at("collateral"), Some(peg), pegs, "an spv-vault peg", |k| {
                matches!(k, PegKind::SpvVault(_))
            });
            if let Some(amount) = self.amount(&at("collateral"), amount) {
                out.push(Expectation::Collateral { peg: peg.clone(), amount });
            }
        }
        for (actor, amount) in e.reimbursed.iter().flatten() {
            self.check_actor(&at("reimbursed"), actor, actors, false);
            if let Some(amount) = self.amount(&at("reimbursed"), amount) {
                out.push(Expectation::Reimbursed { actor: actor.clone(), amount });
            }
        }
        for (peg, amount) in e.peg_balance.iter().flatten() {
            self.peg_name(&at("peg_balance"), Some(peg), pegs);
            if let Some(amount) = self.amount(&at("peg_balance"), amount) {
                out.push(Expectation::PegBalance { peg: peg.clone(), amount });
            }
        }
        out
    }
}
