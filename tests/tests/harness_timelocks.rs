//! Relative (CSV) and absolute timestamp (CLTV) locks on a real node, with time moved by
//! mocktime and blocks, never by sleeping.

use bitcoin::{
    Amount, ScriptBuf, Sequence,
    absolute::LockTime,
    opcodes::all::{OP_CLTV, OP_CSV},
    script::Builder,
};
use peglab_sim::{Chain, NodeId, RejectReason, TxStatus};
use peglab_tests::{lab, sink, spend_p2wsh};

const N0: NodeId = NodeId::FIRST;

#[test]
fn csv_spend_is_rejected_one_block_early_and_accepted_on_the_next() {
    let mut lab = lab();
    const DELAY: u16 = 10;
    let script = Builder::new().push_int(DELAY.into()).push_opcode(OP_CSV).into_script();
    let funding =
        lab.fund(N0, &ScriptBuf::new_p2wsh(&script.wscript_hash()), Amount::ONE_BTC).unwrap();
    lab.mine(N0, 1, None).unwrap();
    let TxStatus::Confirmed { block, .. } = lab.tx_status(N0, funding.outpoint.txid).unwrap()
    else {
        panic!("funding confirmed");
    };
    let tx = spend_p2wsh(
        funding.outpoint,
        Amount::ONE_BTC,
        &script,
        Sequence::from_height(DELAY),
        LockTime::ZERO,
        sink(),
    );
    // The spend may enter block `funding height + DELAY`; the mempool judges for tip + 1.
    lab.mine(N0, u32::from(DELAY) - 2, None).unwrap();
    assert_eq!(lab.tip(N0).unwrap().height, block.height + u32::from(DELAY) - 2);
    let early = lab.broadcast(N0, &tx).unwrap().unwrap_err();
    assert_eq!(early.reason, RejectReason::NonBip68Final);
    assert_eq!(early.message, "non-BIP68-final");

    lab.mine(N0, 1, None).unwrap();
    assert_eq!(lab.broadcast(N0, &tx).unwrap(), Ok(tx.compute_txid()));
    lab.mine(N0, 1, None).unwrap();
    assert_eq!(lab.tx_status(N0, tx.compute_txid()).unwrap().confirmations(), 1);
}

#[test]
fn timestamp_cltv_spend_becomes_valid_only_when_median_time_past_passes() {
    let mut lab = lab();
    let start_mtp = lab.median_time_past(N0).unwrap();
    let unlock = start_mtp + 3600;
    let script = Builder::new().push_int(unlock.into()).push_opcode(OP_CLTV).into_script();
    let funding =
        lab.fund(N0, &ScriptBuf::new_p2wsh(&script.wscript_hash()), Amount::ONE_BTC).unwrap();
    lab.mine(N0, 1, None).unwrap();
    let tx = spend_p2wsh(
        funding.outpoint,
        Amount::ONE_BTC,
        &script,
        Sequence::ENABLE_LOCKTIME_NO_RBF,
        LockTime::from_time(unlock).unwrap(),
        sink(),
    );
    assert_eq!(lab.broadcast(N0, &tx).unwrap().unwrap_err().reason, RejectReason::NonFinal);

    // Half an hour is not enough.
    lab.advance_time(N0, 1800).unwrap();
    let mtp = lab.median_time_past(N0).unwrap();
    assert!(mtp > start_mtp + 1800 && mtp < unlock, "mtp {mtp} moved but not past {unlock}");
    assert_eq!(lab.broadcast(N0, &tx).unwrap().unwrap_err().reason, RejectReason::NonFinal);

    // Another half hour: median-time-past is past the lock (BIP113 needs it strictly later).
    lab.advance_time(N0, 1800).unwrap();
    assert!(lab.median_time_past(N0).unwrap() > unlock);
    assert_eq!(lab.broadcast(N0, &tx).unwrap(), Ok(tx.compute_txid()));
}
