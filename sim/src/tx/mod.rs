//! Building blocks every family's transactions share: output wrappings, the fee loop, and
//! signing of `OP_CHECKMULTISIG`, single-key and tapscript inputs.

pub(crate) mod fee;
pub(crate) mod multisig;
pub(crate) mod taproot;

use bitcoin::{Script, ScriptBuf};
use serde::Serialize;

/// How a script is put in an output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum OutputType {
    /// Native segwit v0 script hash.
    P2wsh,
    /// P2WSH nested in P2SH.
    P2shP2wsh,
    /// Legacy P2SH.
    P2sh,
}

/// The output script locking coins to `script`.
pub(crate) fn script_pubkey(script: &Script, output: OutputType) -> ScriptBuf {
    let p2wsh = ScriptBuf::new_p2wsh(&script.wscript_hash());
    match output {
        OutputType::P2wsh => p2wsh,
        OutputType::P2shP2wsh => ScriptBuf::new_p2sh(&p2wsh.script_hash()),
        OutputType::P2sh => ScriptBuf::new_p2sh(&script.script_hash()),
    }
}
