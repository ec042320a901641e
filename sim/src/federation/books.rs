//! The sidechain's books of a federated peg: balances on the other side, claimed peg-ins,
//! burns not yet paid out.

use std::collections::BTreeMap;

use bitcoin::{Amount, OutPoint};

/// The other side's books.
#[derive(Debug, Default)]
pub(crate) struct Books {
    pub(crate) balances: BTreeMap<String, Amount>,
    /// Claimed peg-ins: name, Bitcoin outpoint, value.
    pub(crate) claimed: Vec<(String, OutPoint, Amount)>,
    /// Burned on the other side but not yet paid out on Bitcoin.
    pub(crate) pending_pegouts: Amount,
    /// Fees the federation paid from its coins (its operating cost, not a shortfall).
    pub(crate) fees_paid: Amount,
}

impl Books {
    /// What the other side owes: its circulation plus burns not yet paid out.
    pub(crate) fn liabilities(&self) -> Amount {
        self.balances.values().copied().sum::<Amount>() + self.pending_pegouts
    }

    /// Takes `amount` from `who`'s balance (a fee on the other side).
    pub(crate) fn charge(&mut self, who: &str, amount: Amount) {
        let balance = self.balance(who);
        self.balances.insert(who.to_owned(), balance.checked_sub(amount).unwrap_or(Amount::ZERO));
    }

    pub(crate) fn balance(&self, who: &str) -> Amount {
        self.balances.get(who).copied().unwrap_or(Amount::ZERO)
    }

    /// Liabilities minus `holdings` minus fees the federation paid, when positive.
    pub(crate) fn shortfall(&self, holdings: Amount) -> Amount {
        let covered = holdings + self.fees_paid;
        self.liabilities().checked_sub(covered).unwrap_or(Amount::ZERO)
    }
}
