//! Clementine's watchtowers (`core/src/builder/transaction/challenge.rs` @ b61efacf;
//! peg-catalog-2.md §4.1): each has a kickoff output only its key spends (its challenge, 144
//! bytes in an OP_RETURN: a proof of the heaviest chain there, a fixed pattern here), and an
//! acknowledgement output the operator spends by revealing a preimage; without it in time the
//! presigned nack burns the collateral, and a silent watchtower's outputs time out.

use bitcoin::{
    Amount, OutPoint, ScriptBuf, Sequence, TxOut, XOnlyPublicKey,
    secp256k1::{Secp256k1, Verification},
    taproot::TaprootSpendInfo,
};

use super::{
    graph::{Built, DEFAULT, Terms, op_return, vout},
    script,
};
use crate::families::truc::steps::p2a;

/// A watchtower as the graph knows it: its key, and the hash of the preimage the operator
/// reveals to acknowledge its challenge.
#[derive(Debug, Clone)]
pub(crate) struct Watchtower {
    pub(crate) key: XOnlyPublicKey,
    pub(crate) hash: [u8; 20],
}

impl Terms {
    /// A watchtower challenge output: two connectors and an anchor (Clementine's 2·330+240).
    pub(crate) fn watchtower_challenge_value(&self) -> Amount {
        self.connector() * 2 + self.anchor()
    }

    /// Watchtower `w`'s challenge output: its key path, or the committee after the timeout.
    pub(crate) fn watchtower_challenge_info<C: Verification>(
        &self,
        s: &Secp256k1<C>,
        w: usize,
    ) -> TaprootSpendInfo {
        let leaf = script::timelock(self.nofn, self.timeouts.watchtower_challenge);
        script::tree(s, self.watchtowers[w].key, &[leaf])
    }

    /// The acknowledgement output's leaves: the committee after the nack timeout, the
    /// committee after the watchtower timeout, the operator with the preimage.
    pub(crate) fn challenge_ack_leaves(&self, w: usize) -> [ScriptBuf; 3] {
        [
            script::timelock(self.nofn, self.timeouts.operator_challenge_nack),
            script::timelock(self.nofn, self.timeouts.watchtower_challenge),
            script::preimage_reveal(self.operator, self.watchtowers[w].hash),
        ]
    }

    pub(crate) fn challenge_ack_info<C: Verification>(
        &self,
        s: &Secp256k1<C>,
        w: usize,
    ) -> TaprootSpendInfo {
        script::tree(s, script::nums(), &self.challenge_ack_leaves(w))
    }
}

/// The transactions of one watchtower's challenge (Clementine `challenge.rs`).
#[derive(Debug, Clone)]
pub(crate) struct WatchtowerTxs {
    /// The watchtower's challenge: its key path, a 144-byte OP_RETURN (standard from Core
    /// 30), an anchor.
    pub(crate) challenge: Built,
    /// The operator's acknowledgement: the preimage, the operator's signature.
    pub(crate) ack: Built,
    /// No acknowledgement in time: the collateral burned (presigned).
    pub(crate) nack: Built,
    /// No challenge in time: both outputs spent by the committee (presigned).
    pub(crate) timeout: Built,
}

/// What a watchtower commits: 144 bytes (Clementine's `watchtower_challenge_bytes`; there, a
/// proof of the heaviest chain's work).
pub(crate) const WATCHTOWER_CHALLENGE_BYTES: usize = 144;

impl WatchtowerTxs {
    pub(super) fn build(
        t: &Terms,
        kickoff: &Built,
        w: usize,
        collateral: &(OutPoint, TxOut),
        burn: Vec<TxOut>,
    ) -> Self {
        let challenge_out = kickoff.out(vout::watchtower_challenge(w));
        let ack_out = kickoff.out(vout::challenge_ack(w));
        let anchor = TxOut { value: t.anchor(), script_pubkey: p2a() };
        let data = [w as u8; WATCHTOWER_CHALLENGE_BYTES];
        let challenge = Built::new(
            3,
            vec![(challenge_out.0, DEFAULT, challenge_out.1.clone())],
            vec![op_return(&data), anchor.clone()],
        );
        let ack = Built::new(
            3,
            vec![(ack_out.0, DEFAULT, ack_out.1.clone())],
            vec![anchor, op_return(b"PADDING")],
        );
        let nack_wait = Sequence::from_height(t.timeouts.operator_challenge_nack);
        let finalizer = kickoff.out(vout::FINALIZER);
        let nack = Built::new(
            3,
            vec![
                (ack_out.0, nack_wait, ack_out.1.clone()),
                (finalizer.0, DEFAULT, finalizer.1),
                (collateral.0, DEFAULT, collateral.1.clone()),
            ],
            burn.clone(),
        );
        let wait = Sequence::from_height(t.timeouts.watchtower_challenge);
        let timeout = Built::new(
            3,
            vec![(challenge_out.0, wait, challenge_out.1), (ack_out.0, wait, ack_out.1)],
            burn,
        );
        Self { challenge, ack, nack, timeout }
    }
}
