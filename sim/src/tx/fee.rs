//! The one fee loop: sign, size, set the fee, sign again.

use bitcoin::{Amount, FeeRate, Transaction};

/// Signs `tx` with `sign`, then takes the fee at `rate` for its signed size out of the outputs
/// `payers` (each worth its `values` entry before the fee) in equal shares, the first paying
/// the remainder (bitcoinj's `recipientsPayFees`, as rskj builds releases), and signs again.
/// Returns the fee.
pub(crate) fn sign_with_split_fee(
    tx: &mut Transaction,
    payers: &[(usize, Amount)],
    rate: FeeRate,
    mut sign: impl FnMut(&mut Transaction),
) -> Amount {
    sign(tx);
    let fee = rate.fee_vb(tx.vsize() as u64).unwrap_or(Amount::MAX_MONEY);
    let n = payers.len().max(1) as u64;
    let share = fee / n;
    let remainder = fee - share * n;
    for (i, (index, value)) in payers.iter().enumerate() {
        let cut = if i == 0 { share + remainder } else { share };
        tx.output[*index].value = value.checked_sub(cut).unwrap_or(Amount::ZERO);
    }
    sign(tx);
    fee
}

/// Signs `tx` with `sign`, then takes the fee at `rate` for its signed size out of output
/// `payer` (worth `value` before the fee; never below zero), and signs again. Returns the fee.
pub(crate) fn sign_with_fee(
    tx: &mut Transaction,
    payer: usize,
    value: Amount,
    rate: FeeRate,
    mut sign: impl FnMut(&mut Transaction),
) -> Amount {
    sign(tx);
    let fee = rate.fee_vb(tx.vsize() as u64).unwrap_or(Amount::MAX_MONEY);
    tx.output[payer].value = value.checked_sub(fee).unwrap_or(Amount::ZERO);
    sign(tx);
    fee
}
