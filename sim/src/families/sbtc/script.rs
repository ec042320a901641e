//! sBTC's deposit output, byte for byte as `sbtc/src/deposits.rs` builds and parses it
//! (stacks-network/sbtc @ a291cdd2): a P2TR with the NUMS internal key and two leaves at depth
//! 1, pinned to Emily's fixtures (`testdata/`).
//!
//! ```text
//! deposit : <max_fee (8, BE) ‖ recipient principal> OP_DROP <signers' x-only key> OP_CHECKSIG
//! reclaim : <lock> OP_CHECKSEQUENCEVERIFY <user script>
//!           (the wallet's user script: OP_DROP <depositor x-only key> OP_CHECKSIG)
//! ```

use bitcoin::{
    Amount, ScriptBuf, XOnlyPublicKey,
    opcodes::all::{OP_CHECKSIG, OP_CSV, OP_DROP},
    script::{Builder, Instruction, PushBytesBuf},
    secp256k1::{Secp256k1, Verification},
    taproot::{TaprootBuilder, TaprootSpendInfo},
};

use crate::families::babylon::script::nums;

/// A deposit's terms, as its deposit leaf states them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DepositTerms {
    /// The most the depositor lets the signers take as fee.
    pub(crate) max_fee: Amount,
    /// The Stacks principal credited (Clarity consensus bytes).
    pub(crate) recipient: Vec<u8>,
    /// The signers' aggregate key (untweaked).
    pub(crate) signers: XOnlyPublicKey,
}

/// The deposit leaf.
pub(crate) fn deposit_script(terms: &DepositTerms) -> ScriptBuf {
    let mut data = terms.max_fee.to_sat().to_be_bytes().to_vec();
    data.extend_from_slice(&terms.recipient);
    let push = PushBytesBuf::try_from(data).expect("at most 159 bytes");
    Builder::new()
        .push_slice(push)
        .push_opcode(OP_DROP)
        .push_x_only_key(&terms.signers)
        .push_opcode(OP_CHECKSIG)
        .into_script()
}

/// The reclaim leaf over a user script.
pub(crate) fn reclaim_script(lock: u16, user: &ScriptBuf) -> ScriptBuf {
    let mut bytes =
        Builder::new().push_int(i64::from(lock)).push_opcode(OP_CSV).into_script().into_bytes();
    bytes.extend_from_slice(user.as_bytes());
    ScriptBuf::from_bytes(bytes)
}

/// The wallet's user script: `OP_DROP <key> OP_CHECKSIG`.
pub(crate) fn user_script(key: &XOnlyPublicKey) -> ScriptBuf {
    Builder::new().push_opcode(OP_DROP).push_x_only_key(key).push_opcode(OP_CHECKSIG).into_script()
}

/// The deposit output's tree: both leaves at depth 1 under the NUMS key.
pub(crate) fn deposit_info<C: Verification>(
    secp: &Secp256k1<C>,
    deposit: &ScriptBuf,
    reclaim: &ScriptBuf,
) -> TaprootSpendInfo {
    TaprootBuilder::new()
        .add_leaf(1, deposit.clone())
        .and_then(|b| b.add_leaf(1, reclaim.clone()))
        .expect("a valid tree")
        .finalize(secp, nums())
        .expect("a complete tree")
}

/// The deposit output's script.
pub(crate) fn deposit_script_pubkey<C: Verification>(
    secp: &Secp256k1<C>,
    deposit: &ScriptBuf,
    reclaim: &ScriptBuf,
) -> ScriptBuf {
    ScriptBuf::new_p2tr_tweaked(deposit_info(secp, deposit, reclaim).output_key())
}

/// Parses a deposit leaf (`DepositScriptInputs::parse`): a minimal push of at least 8 + 22
/// bytes, `OP_DROP`, a 32-byte key, `OP_CHECKSIG`, and nothing else.
pub(crate) fn parse_deposit(script: &ScriptBuf) -> Result<DepositTerms, String> {
    let bytes = script.as_bytes();
    if bytes.len() < 66 {
        return Err(format!("a deposit script of {} bytes: at least 66", bytes.len()));
    }
    let ins: Vec<Instruction<'_>> = script
        .instructions_minimal()
        .collect::<Result<_, _>>()
        .map_err(|e| format!("not a minimal script: {e}"))?;
    match ins.as_slice() {
        [
            Instruction::PushBytes(data),
            Instruction::Op(drop),
            Instruction::PushBytes(key),
            Instruction::Op(check),
        ] if *drop == OP_DROP && *check == OP_CHECKSIG && key.len() == 32 && data.len() >= 30 => {
            let data = data.as_bytes();
            let max_fee =
                Amount::from_sat(u64::from_be_bytes(data[..8].try_into().expect("8 bytes")));
            let signers = XOnlyPublicKey::from_slice(key.as_bytes())
                .map_err(|e| format!("the signers' key: {e}"))?;
            Ok(DepositTerms { max_fee, recipient: data[8..].to_vec(), signers })
        }
        _ => Err("not `<fee ‖ recipient> OP_DROP <key> OP_CHECKSIG`".into()),
    }
}

/// Parses a reclaim leaf's lock (`ReclaimScriptInputs::parse`): a minimal script number that
/// is a block-based BIP-68 value of at most 16 bits, then `OP_CHECKSEQUENCEVERIFY`.
pub(crate) fn parse_reclaim(script: &ScriptBuf) -> Result<(u16, ScriptBuf), String> {
    let mut ins = script.instruction_indices_minimal();
    let lock = match ins.next() {
        Some(Ok((_, i))) => i.script_num().ok_or("the lock is not a script number")?,
        _ => return Err("an empty reclaim script".into()),
    };
    let after = match ins.next() {
        Some(Ok((at, Instruction::Op(op)))) if op == OP_CSV => at + 1,
        _ => return Err("the lock is not followed by OP_CHECKSEQUENCEVERIFY".into()),
    };
    let lock = u16::try_from(lock)
        .map_err(|_| format!("lock {lock}: sBTC takes block locks of 0 to 65535"))?;
    Ok((lock, ScriptBuf::from_bytes(script.as_bytes()[after..].to_vec())))
}

/// A standard Stacks principal: `05 ‖ version ‖ hash160` (Clarity consensus bytes).
pub(crate) fn standard_principal(version: u8, hash: [u8; 20]) -> Vec<u8> {
    let mut out = vec![0x05, version];
    out.extend_from_slice(&hash);
    out
}

#[cfg(test)]
mod tests {
    use bitcoin::{Transaction, consensus::encode::deserialize_hex, hashes::hex::FromHex};
    use serde_json::Value;

    use super::*;

    /// Emily's check of a deposit request: the transaction parses and has that txid, the output
    /// exists, both scripts parse, and the output pays the tree they make.
    fn accept(fixture: &Value) -> Result<DepositTerms, String> {
        let field = |k: &str| fixture[k].as_str().unwrap_or_default().to_owned();
        let tx: Transaction =
            deserialize_hex(&field("transactionHex")).map_err(|e| e.to_string())?;
        if tx.compute_txid().to_string() != field("bitcoinTxid") {
            return Err("txid mismatch".into());
        }
        let index = fixture["bitcoinTxOutputIndex"].as_u64().unwrap_or(u64::MAX) as usize;
        let output = tx.output.get(index).ok_or("no such output")?;
        let script = |k: &str| {
            Vec::<u8>::from_hex(&field(k)).map(ScriptBuf::from_bytes).map_err(|e| e.to_string())
        };
        let (deposit, reclaim) = (script("depositScript")?, script("reclaimScript")?);
        let terms = parse_deposit(&deposit)?;
        parse_reclaim(&reclaim)?;
        let secp = Secp256k1::verification_only();
        if deposit_script_pubkey(&secp, &deposit, &reclaim) != output.script_pubkey {
            return Err("the output does not pay these scripts".into());
        }
        Ok(terms)
    }

    fn fixture(name: &str) -> Value {
        let text = match name {
            "valid" => include_str!("testdata/create-deposit-valid.json"),
            "valid-testnet" => include_str!("testdata/create-deposit-valid-testnet.json"),
            "invalid-deposit-script" => {
                include_str!("testdata/create-deposit-invalid-deposit-script.json")
            }
            "invalid-output-index" => {
                include_str!("testdata/create-deposit-invalid-output-index.json")
            }
            "invalid-reclaim-script" => {
                include_str!("testdata/create-deposit-invalid-reclaim-script.json")
            }
            "invalid-transaction-hex" => {
                include_str!("testdata/create-deposit-invalid-transaction-hex.json")
            }
            "invalid-txid" => include_str!("testdata/create-deposit-invalid-txid.json"),
            "mismatch-deposit-script" => {
                include_str!("testdata/create-deposit-mismatch-deposit-script.json")
            }
            "mismatch-reclaim-script" => {
                include_str!("testdata/create-deposit-mismatch-reclaim-script.json")
            }
            "mismatch-txid" => include_str!("testdata/create-deposit-mismatch-txid.json"),
            _ => unreachable!(),
        };
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn emilys_valid_fixtures_rebuild_byte_for_byte() {
        for name in ["valid", "valid-testnet"] {
            let f = fixture(name);
            let terms = accept(&f).unwrap();
            assert_eq!(
                deposit_script(&terms).to_hex_string(),
                f["depositScript"].as_str().unwrap(),
                "{name}"
            );
            let reclaim = ScriptBuf::from_hex(f["reclaimScript"].as_str().unwrap()).unwrap();
            let (lock, user) = parse_reclaim(&reclaim).unwrap();
            assert_eq!(reclaim_script(lock, &user), reclaim, "{name}");
        }
        let terms = accept(&fixture("valid")).unwrap();
        assert_eq!(terms.max_fee, Amount::from_sat(80_000));
        assert_eq!(terms.recipient.len(), 22);
        let (lock, user) = parse_reclaim(
            &ScriptBuf::from_hex(fixture("valid")["reclaimScript"].as_str().unwrap()).unwrap(),
        )
        .unwrap();
        assert_eq!(lock, 12);
        assert_eq!(
            user,
            user_script(&XOnlyPublicKey::from_slice(&user.as_bytes()[2..34]).unwrap())
        );
        assert_eq!(
            parse_reclaim(&ScriptBuf::from_hex("5eb2").unwrap()).unwrap(),
            (14, ScriptBuf::new())
        );
    }

    #[test]
    fn emilys_invalid_fixtures_are_refused() {
        for name in [
            "invalid-deposit-script",
            "invalid-output-index",
            "invalid-reclaim-script",
            "invalid-transaction-hex",
            "invalid-txid",
            "mismatch-deposit-script",
            "mismatch-reclaim-script",
            "mismatch-txid",
        ] {
            assert!(accept(&fixture(name)).is_err(), "{name} must be refused");
        }
    }
}
