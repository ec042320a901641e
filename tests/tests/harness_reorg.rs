//! Invalidating blocks, reorgs on one node, and competing chains on a two-node partition.

use bitcoin::Amount;
use peglab_sim::{Chain, NodeId, TxStatus};
use peglab_tests::{lab, lab_of, sink};

const N0: NodeId = NodeId(0);
const N1: NodeId = NodeId(1);

#[test]
fn invalidate_and_reconsider_move_the_tip() {
    let mut lab = lab();
    let tip = lab.tip(N0).unwrap();
    lab.invalidate(N0, tip.hash).unwrap();
    assert_eq!(lab.tip(N0).unwrap().height, tip.height - 1);
    lab.reconsider(N0, tip.hash).unwrap();
    assert_eq!(lab.tip(N0).unwrap(), tip);
}

#[test]
fn reorg_replaces_blocks_and_can_leave_a_transaction_out() {
    let mut lab = lab();
    let funding = lab.fund(N0, &sink(), Amount::ONE_BTC).unwrap();
    let txid = funding.outpoint.txid;
    lab.mine(N0, 1, None).unwrap();
    lab.mine(N0, 1, None).unwrap();
    let old_tip = lab.tip(N0).unwrap();
    let TxStatus::Confirmed { block, .. } = lab.tx_status(N0, txid).unwrap() else { panic!() };

    let branch = lab.reorg(N0, 2, Some(txid)).unwrap();
    assert_eq!(branch.len(), 3, "a branch one block longer");
    let tip = lab.tip(N0).unwrap();
    assert_eq!(tip.height, old_tip.height + 1);
    assert_eq!(tip.hash, branch[2]);
    assert_ne!(lab.block_at(N0, block.height).unwrap(), Some(block.hash));
    assert_eq!(lab.tx_status(N0, txid).unwrap(), TxStatus::InMempool, "back in the mempool");

    // Without exclusion the same transactions are mined again, in different blocks.
    lab.mine(N0, 1, None).unwrap();
    let before = lab.tx_status(N0, txid).unwrap();
    lab.reorg(N0, 1, None).unwrap();
    let after = lab.tx_status(N0, txid).unwrap();
    assert_eq!(after.confirmations(), 2);
    assert_ne!(before, after);
}

#[test]
fn a_partition_lets_a_longer_chain_remove_a_confirmed_transaction() {
    let mut lab = lab_of(2);
    assert_eq!(lab.tip(N0).unwrap(), lab.tip(N1).unwrap(), "connected nodes agree");
    lab.partition(&[vec![N0], vec![N1]]).unwrap();

    let funding = lab.fund(N0, &sink(), Amount::ONE_BTC).unwrap();
    let txid = funding.outpoint.txid;
    lab.mine(N0, 1, None).unwrap();
    assert_eq!(lab.tx_status(N0, txid).unwrap().confirmations(), 1);
    assert_eq!(lab.tx_status(N1, txid).unwrap(), TxStatus::Unknown, "node 1 never saw it");

    lab.mine(N1, 2, None).unwrap();
    assert_ne!(lab.tip(N0).unwrap(), lab.tip(N1).unwrap(), "two competing chains");

    lab.heal().unwrap();
    let tip = lab.tip(N1).unwrap();
    assert_eq!(lab.tip(N0).unwrap(), tip, "node 0 followed the longer chain");
    assert_eq!(lab.tx_status(N0, txid).unwrap(), TxStatus::InMempool, "reorged out");

    // Connected again: a block mined on node 0 reaches node 1, with the transaction.
    lab.mine(N0, 1, None).unwrap();
    assert_eq!(lab.tip(N1).unwrap(), lab.tip(N0).unwrap());
    assert_eq!(lab.tx_status(N1, txid).unwrap().confirmations(), 1);
}

#[test]
fn connected_nodes_share_transactions_and_blocks() {
    let mut lab = lab_of(3);
    let funding = lab.fund(NodeId(2), &sink(), Amount::ONE_BTC).unwrap();
    assert_eq!(lab.tx_status(N0, funding.outpoint.txid).unwrap(), TxStatus::InMempool);
    lab.mine(N1, 1, None).unwrap();
    for node in 0..3 {
        assert_eq!(lab.tx_status(NodeId(node), funding.outpoint.txid).unwrap().confirmations(), 1);
    }
}
