//! Mining, funding, broadcasting and inclusion proofs against a real regtest node.

use bitcoin::{
    Amount, ScriptBuf, Sequence, absolute::LockTime, consensus::encode::deserialize_hex,
};
use peglab_harness::COINBASE_MATURITY;
use peglab_sim::{Chain, NodeId, RejectReason, TxStatus};
use peglab_tests::{lab, op_true, sink, spend_p2wsh};
use serde_json::{Value, json};

const N0: NodeId = NodeId::FIRST;

#[test]
fn mines_blocks_to_a_chosen_script() {
    let mut lab = lab();
    let before = lab.tip(N0).unwrap();
    assert_eq!(before.height, COINBASE_MATURITY + 100, "the premine");
    let target = ScriptBuf::from_bytes(vec![0x51]);
    let hashes = lab.mine(N0, 3, Some(&target)).unwrap();
    assert_eq!(hashes.len(), 3);
    let after = lab.tip(N0).unwrap();
    assert_eq!(after.height, before.height + 3);
    assert_eq!(after.hash, hashes[2]);
    let block: Value =
        lab.rpc(N0).unwrap().call("getblock", &[json!(hashes[0]), json!(2)]).unwrap();
    assert_eq!(block["tx"][0]["vout"][0]["scriptPubKey"]["hex"], json!("51"));
}

#[test]
fn funds_any_script_from_coinbase_coins() {
    let mut lab = lab();
    let amount = Amount::from_btc(123.456).unwrap();
    let funding = lab.fund(N0, &sink(), amount).unwrap();
    assert_eq!(funding.txout.value, amount);
    assert_eq!(funding.txout.script_pubkey, sink());
    assert_eq!(lab.tx_status(N0, funding.outpoint.txid).unwrap(), TxStatus::InMempool);
    lab.mine(N0, 1, None).unwrap();
    assert_eq!(lab.tx_status(N0, funding.outpoint.txid).unwrap().confirmations(), 1);
    let utxo: Value =
        lab.rpc(N0).unwrap().call("gettxout", &[json!(funding.outpoint.txid), json!(0)]).unwrap();
    assert_eq!(utxo["value"], json!(123.456));
    // Several fundings in a row, without mining in between, use distinct coins.
    for _ in 0..5 {
        lab.fund(N0, &sink(), Amount::from_btc(10.0).unwrap()).unwrap();
    }
}

#[test]
fn broadcast_and_test_accept_give_typed_reasons() {
    let mut lab = lab();
    let funding =
        lab.fund(N0, &ScriptBuf::new_p2wsh(&op_true().wscript_hash()), Amount::ONE_BTC).unwrap();
    lab.mine(N0, 1, None).unwrap();
    let spend = |to| {
        spend_p2wsh(
            funding.outpoint,
            Amount::ONE_BTC,
            &op_true(),
            Sequence::MAX,
            LockTime::ZERO,
            to,
        )
    };
    let tx = spend(sink());
    assert_eq!(lab.test_accept(N0, &tx).unwrap(), Ok(()));
    assert_eq!(lab.tx_status(N0, tx.compute_txid()).unwrap(), TxStatus::Unknown, "not broadcast");
    assert_eq!(lab.broadcast(N0, &tx).unwrap(), Ok(tx.compute_txid()));
    lab.mine(N0, 1, None).unwrap();

    // A second spend of the same output.
    let double = spend(ScriptBuf::new_p2wsh(&ScriptBuf::from_bytes(vec![0x52]).wscript_hash()));
    let rejection = lab.broadcast(N0, &double).unwrap().unwrap_err();
    assert_eq!(rejection.reason, RejectReason::InputsMissingOrSpent);
    assert_eq!(
        lab.test_accept(N0, &double).unwrap().unwrap_err().reason,
        RejectReason::InputsMissingOrSpent
    );
}

#[test]
fn script_failure_is_bitcoin_cores_own_reason() {
    let mut lab = lab();
    // OP_FALSE can never be satisfied.
    let never = ScriptBuf::from_bytes(vec![0x00]);
    let funding =
        lab.fund(N0, &ScriptBuf::new_p2wsh(&never.wscript_hash()), Amount::ONE_BTC).unwrap();
    lab.mine(N0, 1, None).unwrap();
    let tx = spend_p2wsh(
        funding.outpoint,
        Amount::ONE_BTC,
        &never,
        Sequence::MAX,
        LockTime::ZERO,
        sink(),
    );
    let rejection = lab.broadcast(N0, &tx).unwrap().unwrap_err();
    assert_eq!(
        rejection.reason,
        RejectReason::ScriptVerifyFlagFailed {
            consensus: false,
            detail:
                "Script evaluated without error but finished with a false/empty top stack element"
                    .into()
        },
        "{rejection}"
    );
}

#[test]
fn mines_exactly_the_given_transactions_even_non_standard_ones() {
    let mut lab = lab();
    let funding =
        lab.fund(N0, &ScriptBuf::new_p2wsh(&op_true().wscript_hash()), Amount::ONE_BTC).unwrap();
    lab.mine(N0, 1, None).unwrap();
    // A bare OP_TRUE output is non-standard: the mempool refuses it, a block may hold it.
    let tx = spend_p2wsh(
        funding.outpoint,
        Amount::ONE_BTC,
        &op_true(),
        Sequence::MAX,
        LockTime::ZERO,
        op_true(),
    );
    assert_eq!(
        lab.broadcast(N0, &tx).unwrap().unwrap_err().reason,
        RejectReason::NonStandardScriptPubKey
    );
    let hash = lab.mine_block_with(N0, std::slice::from_ref(&tx)).unwrap().unwrap();
    let block: Value = lab.rpc(N0).unwrap().call("getblock", &[json!(hash), json!(1)]).unwrap();
    assert_eq!(block["tx"].as_array().unwrap().len(), 2, "coinbase and the one transaction");
    assert_eq!(block["tx"][1], json!(tx.compute_txid()));

    // An empty block holds the coinbase only.
    let empty = lab.mine_block_with(N0, &[]).unwrap().unwrap();
    let block: Value = lab.rpc(N0).unwrap().call("getblock", &[json!(empty), json!(1)]).unwrap();
    assert_eq!(block["tx"].as_array().unwrap().len(), 1);

    // A block spending a spent output is refused with Core's reason.
    let double = spend_p2wsh(
        funding.outpoint,
        Amount::ONE_BTC,
        &op_true(),
        Sequence::MAX,
        LockTime::ZERO,
        sink(),
    );
    let again = lab.mine_block_with(N0, &[double]).unwrap().unwrap_err();
    assert_eq!(again.reason, RejectReason::InputsMissingOrSpent, "{again}");
    // The very same transaction again would overwrite it: Core says so in its own words.
    let same = lab.mine_block_with(N0, &[tx]).unwrap().unwrap_err();
    assert_eq!(same.reason, RejectReason::Other("bad-txns-BIP30".into()), "{same}");
}

#[test]
fn inclusion_proof_verifies_against_the_block_header() {
    let mut lab = lab();
    let funding = lab.fund(N0, &sink(), Amount::ONE_BTC).unwrap();
    let other = lab.fund(N0, &sink(), Amount::ONE_BTC).unwrap();
    let txid = funding.outpoint.txid;
    assert_eq!(lab.inclusion_proof(N0, txid).unwrap(), None, "unconfirmed");
    let mined = lab.mine(N0, 3, None).unwrap();
    let TxStatus::Confirmed { block, confirmations } = lab.tx_status(N0, txid).unwrap() else {
        panic!("the funding is confirmed");
    };
    assert_eq!(confirmations, 3);
    assert_eq!(block.hash, mined[0]);
    assert_eq!(lab.block_at(N0, block.height).unwrap(), Some(block.hash));

    let proof = lab.inclusion_proof(N0, txid).unwrap().unwrap();
    let header = lab.header(N0, block.hash).unwrap();
    assert_eq!(proof.header, header);
    assert_eq!(header.block_hash(), block.hash);
    header.validate_pow(header.target()).unwrap();
    let (mut matches, mut indexes) = (vec![], vec![]);
    let root = proof.txn.extract_matches(&mut matches, &mut indexes).unwrap();
    assert_eq!(root, header.merkle_root);
    assert_eq!(matches, vec![txid]);
    assert!(!matches.contains(&other.outpoint.txid));

    // The proof is exactly Core's `gettxoutproof` bytes, and the header links to its parent.
    let hex: String = lab.rpc(N0).unwrap().call("gettxoutproof", &[json!([txid])]).unwrap();
    assert_eq!(deserialize_hex::<bitcoin::MerkleBlock>(&hex).unwrap(), proof);
    let parent = lab.block_at(N0, block.height - 1).unwrap().unwrap();
    assert_eq!(header.prev_blockhash, parent);
    assert_eq!(lab.transaction(N0, txid).unwrap(), Some(funding.tx));
}

#[test]
fn a_lab_refuses_any_chain_but_regtest() {
    let options = peglab_harness::NodeOptions {
        extra_args: vec!["-regtest=0".into(), "-signet=1".into()],
        ..Default::default()
    };
    let err = peglab_harness::Node::start(&peglab_tests::bitcoind_exe(), &options).unwrap_err();
    assert!(
        matches!(&err, peglab_harness::LabError::NotRegtest { chain } if chain == "signet"),
        "{err}"
    );
}
