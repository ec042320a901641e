//! What a step handler works with: the chain on the step's node, the actors' keys and
//! wallets, the named transactions; and the one way to pay from a wallet and to broadcast.

use std::collections::{BTreeMap, BTreeSet};

use bitcoin::{
    Amount, FeeRate, OutPoint, PublicKey, ScriptBuf, Transaction, TxOut,
    secp256k1::{All, Secp256k1, SecretKey},
};

use super::{
    RunError,
    erased::DynChain,
    keys::KeyBook,
    outcome::{MadeTx, Outcome, stalled},
    wallet::{UserWallet, WalletError},
};
use crate::{NodeId, scenario::Destination};

/// The step's world.
pub(crate) struct Cx<'a> {
    /// The node the step acts on.
    pub(crate) node: NodeId,
    pub(crate) chain: &'a mut DynChain<'a>,
    pub(crate) keys: &'a KeyBook,
    pub(crate) wallets: &'a mut BTreeMap<String, UserWallet>,
    /// Every transaction the scenario made, by name.
    pub(crate) txs: &'a mut BTreeMap<String, Transaction>,
    pub(crate) offline: &'a BTreeSet<String>,
    /// The scenario's fee rate.
    pub(crate) fee_rate: FeeRate,
    pub(crate) secp: &'a Secp256k1<All>,
    /// A counter for "last seen" times of unconfirmed transactions.
    pub(crate) seen: &'a mut u64,
}

/// A payment from a user's wallet: how it ended, and the transaction when one was made.
#[derive(Debug)]
pub(crate) struct Paid {
    pub(crate) outcome: Outcome,
    pub(crate) made: Option<MadeTx>,
}

impl Paid {
    /// The output of the accepted payment that pays `script`, with its value.
    pub(crate) fn paying(&self, script: &ScriptBuf) -> Option<(OutPoint, Amount)> {
        self.accepted().and_then(|tx| Cx::output_paying(tx, script))
    }

    /// The payment's transaction, when Bitcoin Core accepted it.
    pub(crate) fn accepted(&self) -> Option<&Transaction> {
        matches!(self.outcome, Outcome::Accepted)
            .then_some(())
            .and(self.made.as_ref())
            .map(|m| &m.tx)
    }
}

/// Why a signer cannot sign now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unable {
    /// It went offline.
    Offline(String),
    /// The file gave only its public key.
    NoSecret(String),
}

impl std::fmt::Display for Unable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Offline(who) => write!(f, "{who} is offline"),
            Self::NoSecret(who) => write!(f, "{who} has no secret key in the scenario"),
        }
    }
}

impl Cx<'_> {
    /// Broadcasts `tx` (named `name`) on the step's node; Bitcoin Core's verdict is the
    /// outcome. The transaction is remembered by name either way.
    pub(crate) fn broadcast(&mut self, name: &str, tx: &Transaction) -> Result<Outcome, RunError> {
        let verdict = self.chain.broadcast(self.node, tx)?;
        self.txs.insert(name.to_owned(), tx.clone());
        Ok(match verdict {
            Ok(_) => {
                *self.seen += 1;
                for wallet in self.wallets.values_mut() {
                    wallet.saw(tx, *self.seen);
                }
                Outcome::Accepted
            }
            Err(rejection) => Outcome::Rejected(rejection),
        })
    }

    /// Broadcasts a transaction the step built, returning its outcome and the made record
    /// (`value_in`: what its inputs are worth, for the fee).
    pub(crate) fn submit(
        &mut self,
        name: &str,
        tx: Transaction,
        value_in: Option<Amount>,
    ) -> Result<(Outcome, MadeTx), RunError> {
        let fee = value_in.and_then(|v| v.checked_sub(tx.output.iter().map(|o| o.value).sum()));
        let outcome = self.broadcast(name, &tx)?;
        Ok((outcome, MadeTx { name: name.to_owned(), tx, fee }))
    }

    /// `from`'s wallet pays `outputs` (in order; OP_RETURN outputs included) at the
    /// scenario's fee rate, and broadcasts. A wallet that holds too little stalls.
    pub(crate) fn pay(
        &mut self,
        from: &str,
        outputs: Vec<TxOut>,
        name: &str,
    ) -> Result<Paid, RunError> {
        let wallet =
            self.wallets.get_mut(from).ok_or_else(|| RunError::NoWallet(from.to_owned()))?;
        wallet.sync(self.chain, self.node)?;
        let (tx, fee) = match wallet.pay(&outputs, self.fee_rate) {
            Ok(paid) => paid,
            Err(WalletError::InsufficientFunds { needed, available }) => {
                let why = format!("{from}'s wallet holds {available}, {needed} needed");
                return Ok(Paid { outcome: stalled("insufficient-funds", why), made: None });
            }
            Err(WalletError::Dust(amount)) => {
                let why = format!("an output of {amount} is below the dust limit");
                return Ok(Paid { outcome: stalled("insufficient-funds", why), made: None });
            }
            Err(other) => return Err(other.into()),
        };
        let outcome = self.broadcast(name, &tx)?;
        Ok(Paid { outcome, made: Some(MadeTx { name: name.to_owned(), tx, fee: Some(fee) }) })
    }

    /// The output script a destination stands for: a user's next address, a signer's P2WPKH.
    pub(crate) fn script_of(&mut self, to: &Destination) -> ScriptBuf {
        match to {
            Destination::Address(a) => a.script_pubkey(),
            Destination::Actor(name) => match self.wallets.get_mut(name) {
                Some(wallet) => wallet.next_script(),
                None => {
                    let pk = self.keys.public(name);
                    // Validation refuses uncompressed keys: every actor key is compressed.
                    let hash = pk.wpubkey_hash().expect("actor keys are compressed");
                    ScriptBuf::new_p2wpkh(&hash)
                }
            },
        }
    }

    /// The signing key of `who`, unless it is offline or has none.
    pub(crate) fn signer(&self, who: &str) -> Result<(PublicKey, SecretKey), Unable> {
        if self.offline.contains(who) {
            return Err(Unable::Offline(who.to_owned()));
        }
        let secret = self.keys.secret(who).ok_or_else(|| Unable::NoSecret(who.to_owned()))?;
        Ok((self.keys.public(who), secret))
    }

    /// The first output of `tx` paying `script`, with its value.
    pub(crate) fn output_paying(
        tx: &Transaction,
        script: &ScriptBuf,
    ) -> Option<(OutPoint, Amount)> {
        let vout = tx.output.iter().position(|o| &o.script_pubkey == script)?;
        Some((OutPoint::new(tx.compute_txid(), vout as u32), tx.output[vout].value))
    }
}
