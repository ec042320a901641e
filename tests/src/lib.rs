//! Shared helpers for peglab's integration tests.
#![warn(missing_docs)]

pub mod fuzz;

use std::{path::PathBuf, sync::OnceLock};

use peglab_harness::bitcoind;

/// The bitcoind the tests run: found as the product finds it, built into the cache if needed.
/// Panics with the product's own message when there is none to be had.
pub fn bitcoind_exe() -> PathBuf {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        struct Quiet;
        impl bitcoind::BuildProgress for Quiet {
            fn stage(&self, what: &str) {
                eprintln!("peglab-tests: {what}");
            }
            fn percent(&self, _: u8) {}
        }
        match bitcoind::find_or_build(&Quiet) {
            Ok(found) => found.exe,
            Err(e) => panic!("no bitcoind for the tests: {e}"),
        }
    })
    .clone()
}

use bitcoin::{
    Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness, absolute::LockTime,
    transaction::Version,
};
use peglab_harness::{Lab, LabOptions};

/// A single-node lab with the default premine.
pub fn lab() -> Lab {
    Lab::single(&bitcoind_exe()).expect("a lab starts")
}

/// A lab of `nodes` connected nodes.
pub fn lab_of(nodes: usize) -> Lab {
    Lab::start(&bitcoind_exe(), &LabOptions { nodes, ..LabOptions::default() })
        .expect("a lab starts")
}

/// A version-2 transaction spending a P2WSH output whose witness script needs no signature,
/// paying `value - 1000 sat` to `to`.
pub fn spend_p2wsh(
    outpoint: OutPoint,
    value: Amount,
    witness_script: &ScriptBuf,
    sequence: Sequence,
    lock_time: LockTime,
    to: ScriptBuf,
) -> Transaction {
    let mut witness = Witness::new();
    witness.push(witness_script.as_bytes());
    Transaction {
        version: Version::TWO,
        lock_time,
        input: vec![TxIn { previous_output: outpoint, sequence, witness, ..TxIn::default() }],
        output: vec![TxOut { value: value - Amount::from_sat(1_000), script_pubkey: to }],
    }
}

/// A standard output script nobody in the tests spends (P2WSH of `OP_TRUE`).
pub fn sink() -> ScriptBuf {
    ScriptBuf::new_p2wsh(&op_true().wscript_hash())
}

/// The witness script `OP_TRUE`.
pub fn op_true() -> ScriptBuf {
    ScriptBuf::from_bytes(vec![0x51])
}
