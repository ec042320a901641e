//! Flyover (fast-mode) deposit addresses, as rskj's `PegUtils` derives them:
//!
//! ```text
//! derivation hash = keccak256(derivationArgumentsHash ‖ userRefundBtcAddress ‖ lbcAddress ‖ lpBtcAddress)
//! redeem script   = <derivation hash> OP_DROP <federation redeem script>
//! address         = P2SH-P2WSH of it for a format-4000 federation, else P2SH
//! ```
//!
//! Bitcoin addresses are serialized with their version byte then their HASH160
//! (`BridgeUtils.serializeBtcAddressWithVersion` after RSKIP284), so only legacy P2PKH and P2SH
//! addresses qualify.

use bitcoin::{Address, AddressType, Script, ScriptBuf, opcodes::all::OP_DROP, script::Builder};
use sha3::{Digest, Keccak256};

use crate::{pegs::sign::script_pubkey, scenario::OutputType};

/// A legacy address as rskj serializes it: version byte, then HASH160, which is exactly its
/// base58check payload. `None` for other kinds (segwit addresses have no version byte).
pub(crate) fn serialize_with_version(address: &Address) -> Option<Vec<u8>> {
    match address.address_type()? {
        AddressType::P2pkh | AddressType::P2sh => {
            bitcoin::base58::decode_check(&address.to_string()).ok()
        }
        _ => None,
    }
}

/// rskj's `getFlyoverDerivationHash`, in its concatenation order.
pub(crate) fn derivation_hash(
    derivation_arguments_hash: &[u8; 32],
    user_refund: &Address,
    lbc_address: &[u8; 20],
    lp_btc: &Address,
) -> Option<[u8; 32]> {
    let mut data = derivation_arguments_hash.to_vec();
    data.extend(serialize_with_version(user_refund)?);
    data.extend_from_slice(lbc_address);
    data.extend(serialize_with_version(lp_btc)?);
    Some(Keccak256::digest(&data).into())
}

/// `<derivation hash> OP_DROP <federation redeem script>`.
pub(crate) fn redeem_script(derivation_hash: &[u8; 32], federation_script: &Script) -> ScriptBuf {
    let mut bytes =
        Builder::new().push_slice(derivation_hash).push_opcode(OP_DROP).into_script().into_bytes();
    bytes.extend_from_slice(federation_script.as_bytes());
    ScriptBuf::from_bytes(bytes)
}

/// The flyover deposit output script for a federation of `format`.
pub(crate) fn deposit_script_pubkey(
    derivation_hash: &[u8; 32],
    federation_script: &Script,
    format: OutputType,
) -> ScriptBuf {
    let wrap =
        if format == OutputType::P2shP2wsh { OutputType::P2shP2wsh } else { OutputType::P2sh };
    script_pubkey(&redeem_script(derivation_hash, federation_script), wrap)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn address(text: &str) -> Address {
        Address::from_str(text).unwrap().assume_checked()
    }

    #[test]
    fn addresses_serialize_with_their_version_byte() {
        // Mainnet P2PKH (version 0) and P2SH (version 5) of well-known addresses.
        let p2pkh = serialize_with_version(&address("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2")).unwrap();
        assert_eq!(p2pkh.len(), 21);
        assert_eq!(p2pkh[0], 0x00);
        let p2sh = serialize_with_version(&address("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy")).unwrap();
        assert_eq!(p2sh[0], 0x05);
        assert!(
            serialize_with_version(&address("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"))
                .is_none()
        );
    }

    #[test]
    fn derivation_follows_rskj_order_and_changes_with_every_input() {
        let args = [1u8; 32];
        let lbc = [2u8; 20];
        let user = address("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2");
        let lp = address("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy");
        let hash = derivation_hash(&args, &user, &lbc, &lp).unwrap();
        let mut data = args.to_vec();
        data.extend(serialize_with_version(&user).unwrap());
        data.extend_from_slice(&lbc);
        data.extend(serialize_with_version(&lp).unwrap());
        assert_eq!(hash, <[u8; 32]>::from(Keccak256::digest(&data)));
        assert_ne!(
            hash,
            derivation_hash(&args, &lp, &lbc, &user).unwrap(),
            "user and LP are not interchangeable"
        );
        let script = redeem_script(&hash, Script::from_bytes(&[0x51]));
        assert_eq!(&script.as_bytes()[..2], &[0x20, hash[0]]);
        assert_eq!(&script.as_bytes()[33..], &[0x75, 0x51], "OP_DROP, then the federation script");
    }
}
