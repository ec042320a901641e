//! The sweep transaction as the sBTC signers lay it out (`signer/src/bitcoin/utxo.rs`,
//! `UnsignedTransaction`): version 2, lock time 0; input 0 the signers' UTXO (key path,
//! nSequence 0), then deposits (deposit leaf, nSequence 0); output 0 the new signers' UTXO,
//! output 1 `OP_RETURN 'T3' 0x01 ‖ idpack(withdrawal ids)`, then withdrawals. Every signature
//! is BIP340 with `SIGHASH_ALL` given explicitly (65 bytes). The fee is shared among the
//! requests by weight (`assess_input_fee`, `assess_output_fee`).

use bitcoin::{
    Amount, FeeRate, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness,
    absolute::LockTime,
    hashes::Hash,
    script::PushBytesBuf,
    sighash::{Prevouts, SighashCache, TapSighashType},
    taproot::{LeafVersion, Signature, TapLeafHash, TaprootSpendInfo},
    transaction::Version,
};

use super::idpack;

/// The marker's magic bytes in production code paths (`validation.rs` l.276: "T3").
const MAGIC: &[u8; 2] = b"T3";
/// The marker's version.
const VERSION: u8 = 1;
/// The most an OP_RETURN may carry, as the signers enforce it (`OP_RETURN_MAX_SIZE`).
pub(crate) const OP_RETURN_MAX: usize = 80;

/// A deposit input: its outpoint, prevout, leaf and tree.
#[derive(Debug, Clone)]
pub(crate) struct DepositInput {
    pub(crate) outpoint: OutPoint,
    pub(crate) prevout: TxOut,
    pub(crate) leaf: ScriptBuf,
    pub(crate) info: TaprootSpendInfo,
}

/// A withdrawal output: its request id, amount and script.
#[derive(Debug, Clone)]
pub(crate) struct WithdrawalOutput {
    pub(crate) id: u64,
    pub(crate) amount: Amount,
    pub(crate) script: ScriptBuf,
}

/// A sweep, unsigned, with what each request pays.
#[derive(Debug, Clone)]
pub(crate) struct Sweep {
    pub(crate) tx: Transaction,
    /// The signers' UTXO and each deposit, as input prevouts (input order).
    pub(crate) prevouts: Vec<TxOut>,
    /// The whole transaction's fee.
    pub(crate) fee: Amount,
    /// Each deposit's share of the fee, in input order.
    pub(crate) deposit_fees: Vec<Amount>,
    /// Each withdrawal's share, in output order.
    pub(crate) withdrawal_fees: Vec<Amount>,
}

/// Why a sweep cannot be laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Layout {
    /// The signers' UTXO and the deposits do not cover the withdrawals and the fee.
    Short { have: Amount, need: Amount },
    /// The marker would exceed 80 bytes.
    MarkerTooLong(usize),
}

/// `OP_RETURN 'T3' 0x01 ‖ idpack(ids)`.
pub(crate) fn marker(ids: &[u64]) -> Result<ScriptBuf, Layout> {
    let mut data = MAGIC.to_vec();
    data.push(VERSION);
    data.extend(idpack::encode(ids));
    if data.len() > OP_RETURN_MAX {
        return Err(Layout::MarkerTooLong(data.len()));
    }
    Ok(ScriptBuf::new_op_return(PushBytesBuf::try_from(data).expect("at most 80 bytes")))
}

/// `ceil(weight × fee / total)`: one request's share of the fee.
pub(crate) fn share(fee: Amount, weight: u64, total: u64) -> Amount {
    if total == 0 {
        return Amount::ZERO;
    }
    let product = u128::from(fee.to_sat()) * u128::from(weight);
    Amount::from_sat(product.div_ceil(u128::from(total)) as u64)
}

/// Lays the sweep out at `rate`: the fee for its signed size (65-byte signatures), shared by
/// the requests' weights, output 0 what is left.
pub(crate) fn lay_out(
    signers: (OutPoint, TxOut),
    deposits: Vec<DepositInput>,
    withdrawals: &[WithdrawalOutput],
    signers_script: ScriptBuf,
    rate: FeeRate,
) -> Result<Sweep, Layout> {
    let ids: Vec<u64> = withdrawals.iter().map(|w| w.id).collect();
    let input =
        |outpoint| TxIn { previous_output: outpoint, sequence: Sequence::ZERO, ..TxIn::default() };
    let mut tx = Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: std::iter::once(input(signers.0))
            .chain(deposits.iter().map(|d| input(d.outpoint)))
            .collect(),
        output: vec![
            TxOut { value: Amount::ZERO, script_pubkey: signers_script },
            TxOut { value: Amount::ZERO, script_pubkey: marker(&ids)? },
        ],
    };
    tx.output.extend(
        withdrawals.iter().map(|w| TxOut { value: w.amount, script_pubkey: w.script.clone() }),
    );
    // Witnesses of the signed size: a 65-byte signature, and the leaf and control block.
    tx.input[0].witness = Witness::from_slice(&[[0u8; 65]]);
    for (i, d) in deposits.iter().enumerate() {
        tx.input[i + 1].witness = witness(&d.leaf, &d.info, [0; 65]);
    }
    let fee = rate.fee_wu(tx.weight()).unwrap_or(Amount::MAX_MONEY);
    let deposit_weights: Vec<u64> =
        tx.input[1..].iter().map(|i| i.segwit_weight().to_wu()).collect();
    let withdrawal_weights: Vec<u64> = tx.output[2..].iter().map(|o| o.weight().to_wu()).collect();
    let total = deposit_weights.iter().chain(&withdrawal_weights).sum();
    let deposit_fees = deposit_weights.iter().map(|w| share(fee, *w, total)).collect();
    let withdrawal_fees = withdrawal_weights.iter().map(|w| share(fee, *w, total)).collect();
    let have = signers.1.value + deposits.iter().map(|d| d.prevout.value).sum::<Amount>();
    let need = withdrawals.iter().map(|w| w.amount).sum::<Amount>() + fee;
    tx.output[0].value = have.checked_sub(need).ok_or(Layout::Short { have, need })?;
    let prevouts =
        std::iter::once(signers.1).chain(deposits.iter().map(|d| d.prevout.clone())).collect();
    Ok(Sweep { tx, prevouts, fee, deposit_fees, withdrawal_fees })
}

/// A deposit input's witness: `[sig65, deposit leaf, control block]`.
pub(crate) fn witness(leaf: &ScriptBuf, info: &TaprootSpendInfo, sig: [u8; 65]) -> Witness {
    let control = info
        .control_block(&(leaf.clone(), LeafVersion::TapScript))
        .expect("the leaf is in the tree");
    Witness::from_slice(&[sig.to_vec(), leaf.to_bytes(), control.serialize()])
}

/// The digest input `index` signs (`SIGHASH_ALL`): the key path for input 0 and any other
/// key-path input (`leaf` none), else the leaf's script path.
pub(crate) fn digest(
    tx: &Transaction,
    prevouts: &[TxOut],
    index: usize,
    leaf: Option<&ScriptBuf>,
) -> [u8; 32] {
    let mut cache = SighashCache::new(tx);
    let prevouts = Prevouts::All(prevouts);
    match leaf {
        None => cache.taproot_key_spend_signature_hash(index, &prevouts, TapSighashType::All),
        Some(leaf) => cache.taproot_script_spend_signature_hash(
            index,
            &prevouts,
            TapLeafHash::from_script(leaf, LeafVersion::TapScript),
            TapSighashType::All,
        ),
    }
    .expect("the input exists")
    .to_byte_array()
}

/// A 65-byte signature with `SIGHASH_ALL`.
pub(crate) fn with_all(signature: bitcoin::secp256k1::schnorr::Signature) -> [u8; 65] {
    Signature { signature, sighash_type: TapSighashType::All }
        .to_vec()
        .try_into()
        .expect("65 bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sweep_without_withdrawals_carries_the_five_byte_marker() {
        // peg-catalog-2 §2.3: `6a 03 54 33 01`.
        assert_eq!(marker(&[]).unwrap().to_hex_string(), "6a03543301");
    }

    #[test]
    fn shares_round_up_and_cover_the_fee() {
        let fee = Amount::from_sat(1_001);
        let shares: Vec<Amount> = [230, 230, 172].iter().map(|w| share(fee, *w, 632)).collect();
        assert_eq!(shares, [Amount::from_sat(365), Amount::from_sat(365), Amount::from_sat(273)]);
        assert!(shares.iter().copied().sum::<Amount>() >= fee);
    }

    #[test]
    fn too_many_withdrawal_ids_overflow_the_marker() {
        // Ids far apart cost a segment each: the signers would split such a sweep.
        let ids: Vec<u64> = (0..40).map(|i| i * 1_000_000).collect();
        assert!(matches!(marker(&ids), Err(Layout::MarkerTooLong(_))));
    }
}
