//! What rskj's Bridge does with a peg-in it registers (post-RSKIP379 `PegUtils.evaluatePegin`
//! @ rsksmart/rskj `d987a4c6`, `rskj-core/src/main/java/co/rsk/peg/PegUtils.java:200-256`):
//! register it (mint RBTC), refund it, or keep the coins without either.
//!
//! - an output to the federation below `minimumPeginTxValue`: NO_REFUND, INVALID_AMOUNT;
//! - an `RSKT` output (protocol 1): REGISTER to the address it names; unparsable and no refund
//!   address: NO_REFUND, PEGIN_V1_INVALID_PAYLOAD;
//! - no `RSKT` (legacy): the sender is read from the first input as
//!   `btcLockSender/BtcLockSenderProvider` reads it: P2PKH or P2SH-P2WPKH: REGISTER to the
//!   sender; P2SH multisig or P2SH-P2WSH multisig: REFUND; anything else (a native segwit or
//!   taproot wallet): NO_REFUND, LEGACY_PEGIN_UNDETERMINED_SENDER.

use bitcoin::{Amount, Script, Transaction, script::Instruction};

use super::rsk;

/// Who sent a legacy peg-in, as rskj can tell from its first input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sender {
    P2pkh,
    P2shP2wpkh,
    P2shMultisig,
    P2shP2wsh,
    Unknown,
}

/// What the Bridge does with a peg-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Evaluation {
    /// Mint RBTC to the `RSKT` destination (`Some`) or to the sender (`None`).
    Register(Option<[u8; 20]>),
    /// Return the coins to the sender.
    RefundMultisigSender,
    /// Keep the coins: neither minted nor returned.
    NoRefund(NoRefund),
}

/// Why the coins stay with the federation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoRefund {
    InvalidAmount,
    UndeterminedSender,
    InvalidPayload,
}

fn pushes(script: &Script) -> Option<Vec<Vec<u8>>> {
    script
        .instructions()
        .map(|i| match i {
            Ok(Instruction::PushBytes(p)) => Some(p.as_bytes().to_vec()),
            Ok(Instruction::Op(op)) if op.to_u8() == 0 => Some(Vec::new()),
            _ => None,
        })
        .collect()
}

fn is_multisig(script: &[u8]) -> bool {
    let script = Script::from_bytes(script);
    let ins: Vec<_> = script.instructions().filter_map(Result::ok).collect();
    matches!(ins.last(), Some(Instruction::Op(op)) if *op == bitcoin::opcodes::all::OP_CHECKMULTISIG)
        && ins.len() >= 4
}

/// The sender type of `tx`'s first input (`BtcLockSenderProvider.tryGetBtcLockSender`).
pub(crate) fn sender(tx: &Transaction) -> Sender {
    let Some(input) = tx.input.first() else { return Sender::Unknown };
    let chunks = pushes(&input.script_sig).unwrap_or_default();
    let witness: Vec<&[u8]> = input.witness.iter().collect();
    if chunks.len() == 2 && bitcoin::PublicKey::from_slice(&chunks[1]).is_ok() {
        return Sender::P2pkh;
    }
    if chunks.len() == 1
        && witness.len() == 2
        && bitcoin::PublicKey::from_slice(witness[1]).is_ok_and(|k| k.compressed)
    {
        return Sender::P2shP2wpkh;
    }
    if chunks.len() >= 3 && chunks.last().is_some_and(|r| is_multisig(r)) {
        return Sender::P2shMultisig;
    }
    if chunks.len() == 1 && witness.len() >= 3 && witness.last().is_some_and(|r| is_multisig(r)) {
        return Sender::P2shP2wsh;
    }
    Sender::Unknown
}

/// `evaluatePegin` for a peg-in paying `to_federation` (the values of its outputs to the
/// federation) with at least `minimum` each.
pub(crate) fn evaluate(tx: &Transaction, to_federation: &[Amount], minimum: Amount) -> Evaluation {
    if to_federation.iter().any(|v| *v < minimum) {
        return Evaluation::NoRefund(NoRefund::InvalidAmount);
    }
    match rsk::instructions_of(tx) {
        rsk::Instructions::Destination(address) => return Evaluation::Register(Some(address)),
        rsk::Instructions::Invalid => return Evaluation::NoRefund(NoRefund::InvalidPayload),
        rsk::Instructions::None => {}
    }
    match sender(tx) {
        Sender::P2pkh | Sender::P2shP2wpkh => Evaluation::Register(None),
        Sender::P2shMultisig | Sender::P2shP2wsh => Evaluation::RefundMultisigSender,
        Sender::Unknown => Evaluation::NoRefund(NoRefund::UndeterminedSender),
    }
}
