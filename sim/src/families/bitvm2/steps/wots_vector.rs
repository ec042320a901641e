//! BitVM's published WOTS vectors on regtest.

use bitcoin::{Amount, Sequence, TxOut, hashes::Hash, hex::DisplayHex};

use super::super::{
    graph::{self, FEE},
    script::{self},
    verbs::{Step, Twin},
    wots,
};
use super::State;
use crate::tx::taproot::leaf_witness;
use crate::{
    families::truc::steps::anyone,
    run::{Cx, Event, Outcome, RunError, StepResult},
};

impl State {
    /// One of BitVM's published WOTS vectors on regtest: a coin locked to a leaf verifying
    /// its public key, spent with its witness or an invalid twin.
    pub(super) fn wots_vector(
        &mut self,
        step: &Step,
        cx: &mut Cx<'_>,
        result: &mut StepResult,
    ) -> Result<Outcome, RunError> {
        let v = &wots::bitvm_vectors()[step.vector];
        let message = v.message();
        let ps = wots::Params::for_bytes(message.len() as u32);
        let public = v.public_key();
        let mut items = v.witness();
        match step.twin {
            None => {}
            Some(Twin::DigitChanged) => {
                let d = items[1].first().copied().unwrap_or(0);
                items[1] = if d == 15 { vec![14] } else { vec![d + 1] };
            }
            Some(Twin::ForgedDigit) => {
                // The first message digit below 15: one more hash makes its link verify.
                let i = (1..items.len())
                    .step_by(2)
                    .find(|&i| items[i].first().copied().unwrap_or(0) < 15)
                    .expect("a digit below 15");
                let d = items[i].first().copied().unwrap_or(0);
                items[i] = vec![d + 1];
                items[i - 1] =
                    bitcoin::hashes::hash160::Hash::hash(&items[i - 1]).to_byte_array().to_vec();
            }
            Some(Twin::NonMinimalDigit) => {
                if let Some(zero) = (1..items.len()).step_by(2).find(|&i| items[i].is_empty()) {
                    items[zero] = vec![0];
                }
            }
        }
        let leaf =
            wots::drop_digits(wots::verify(bitcoin::script::Builder::new(), ps, &public), ps)
                .push_opcode(bitcoin::opcodes::OP_TRUE)
                .into_script();
        let info = script::tree(cx.secp, script::nums(), std::slice::from_ref(&leaf));
        let lock = graph::spk(&info);
        let funding = cx.chain.fund(cx.node, &lock, Amount::from_sat(100_000))?;
        cx.txs.insert(format!("{}:lock", step.name), funding.tx.clone());
        cx.chain.mine(cx.node, 1, None)?;
        let mut b = graph::spend(
            (funding.outpoint, funding.txout.clone()),
            Sequence::ENABLE_RBF_NO_LOCKTIME,
            vec![TxOut { value: funding.txout.value - FEE, script_pubkey: anyone() }],
        );
        b.tx.input[0].witness = leaf_witness(items, &leaf, &info);
        result.events.push(Event::note(
            &self.peg,
            format!(
                "BitVM WOTS vector {} ({}-byte message {}): {} bytes of leaf",
                step.vector,
                message.len(),
                message.to_lower_hex_string(),
                leaf.len()
            ),
        ));
        self.submit(cx, &step.name, &b, step.via, result)
    }
}
