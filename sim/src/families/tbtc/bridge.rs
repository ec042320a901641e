//! The Bridge's checks of a wallet transaction's shape, as its `require`s state them
//! (keep-network/tbtc-v2 @ 4a253098): pure functions of the transaction, so that the wallet's
//! client (which signs only what it can prove) and the tests read the same rules.

use bitcoin::{Amount, OutPoint, ScriptBuf, Transaction};

use super::{DEPOSIT_TX_MAX_FEE, Refused};

/// A check that failed: the Bridge's code and the particulars.
pub(crate) type Verdict = Result<(), (Refused, String)>;

/// `DepositSweep.sol`: at least one deposit, exactly one output (`processDepositSweepTxOutput`:
/// to the wallet's key hash), and a fee per deposit within `depositTxMaxFee`.
pub(crate) fn sweep(tx: &Transaction, deposits: usize, wallet: &ScriptBuf, fee: Amount) -> Verdict {
    if deposits == 0 {
        return Err((Refused::SweepNoDeposit, "no revealed, unswept deposit".into()));
    }
    if tx.output.len() != 1 || tx.output[0].script_pubkey != *wallet {
        let why = format!("the sweep has {} output(s)", tx.output.len());
        return Err((Refused::SweepSingleOutput, why));
    }
    let share = fee / deposits as u64;
    if share > DEPOSIT_TX_MAX_FEE {
        let why = format!("{share} per deposit; depositTxMaxFee is {DEPOSIT_TX_MAX_FEE}");
        return Err((Refused::FeeTooHigh, why));
    }
    Ok(())
}

/// `Redemption.sol` (`processWalletOutboundTxInput`): one input, the main UTXO.
pub(crate) fn outbound(tx: &Transaction, main: OutPoint) -> Verdict {
    if tx.input.len() != 1 || tx.input[0].previous_output != main {
        let why = format!("the transaction spends {} input(s)", tx.input.len());
        return Err((Refused::SingleInput, why));
    }
    Ok(())
}

/// `MovingFunds.sol`: the main UTXO alone, split evenly among the targets.
pub(crate) fn moving_funds(tx: &Transaction, main: OutPoint) -> Verdict {
    outbound(tx, main)?;
    if tx.output.windows(2).any(|w| w[0].value != w[1].value) {
        let values: Vec<String> = tx.output.iter().map(|o| o.value.to_string()).collect();
        return Err((Refused::NotEvenly, format!("the parts are {}", values.join(", "))));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use bitcoin::{Sequence, TxIn, TxOut, absolute::LockTime, hashes::Hash, transaction::Version};

    use super::*;

    fn tx(inputs: u32, outputs: &[u64], script: &ScriptBuf) -> Transaction {
        Transaction {
            version: Version::ONE,
            lock_time: LockTime::ZERO,
            input: (0..inputs)
                .map(|vout| TxIn {
                    previous_output: OutPoint::new(bitcoin::Txid::all_zeros(), vout),
                    sequence: Sequence::MAX,
                    ..TxIn::default()
                })
                .collect(),
            output: outputs
                .iter()
                .map(|v| TxOut { value: Amount::from_sat(*v), script_pubkey: script.clone() })
                .collect(),
        }
    }

    #[test]
    fn a_sweep_has_one_output_to_the_wallet_and_a_bounded_fee() {
        let wallet = ScriptBuf::new_op_return([1u8; 4]);
        let fee = Amount::from_sat(1_000);
        assert_eq!(sweep(&tx(2, &[10], &wallet), 2, &wallet, fee), Ok(()));
        let two = sweep(&tx(2, &[5, 5], &wallet), 2, &wallet, fee).unwrap_err();
        assert_eq!(two.0, Refused::SweepSingleOutput);
        let elsewhere = sweep(&tx(1, &[5], &ScriptBuf::new()), 1, &wallet, fee).unwrap_err();
        assert_eq!(elsewhere.0, Refused::SweepSingleOutput);
        let none = sweep(&tx(1, &[5], &wallet), 0, &wallet, fee).unwrap_err();
        assert_eq!(none.0, Refused::SweepNoDeposit);
        let costly = sweep(&tx(1, &[5], &wallet), 2, &wallet, Amount::from_sat(200_002));
        assert_eq!(costly.unwrap_err().0, Refused::FeeTooHigh);
        assert_eq!(sweep(&tx(1, &[5], &wallet), 2, &wallet, Amount::from_sat(200_000)), Ok(()));
    }

    #[test]
    fn outbound_transactions_spend_the_main_utxo_alone_and_moves_split_evenly() {
        let main = OutPoint::new(bitcoin::Txid::all_zeros(), 0);
        let s = ScriptBuf::new();
        assert_eq!(outbound(&tx(1, &[5, 1], &s), main), Ok(()));
        assert_eq!(outbound(&tx(2, &[5], &s), main).unwrap_err().0, Refused::SingleInput);
        let other = OutPoint::new(bitcoin::Txid::all_zeros(), 7);
        assert_eq!(outbound(&tx(1, &[5], &s), other).unwrap_err().0, Refused::SingleInput);
        assert_eq!(moving_funds(&tx(1, &[5, 5, 5], &s), main), Ok(()));
        assert_eq!(moving_funds(&tx(1, &[5, 6], &s), main).unwrap_err().0, Refused::NotEvenly);
    }
}
