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

use crate::tx::{OutputType, script_pubkey};

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

    use bitcoin::script::Builder;

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

    /// Rootstock's flyover (Liquidity Provider Server) tests: rsksmart/liquidity-provider-server
    /// @ f40fb30c9ab371a5b118533058f21135dfed8e2a, `internal/adapters/dataproviders/rootstock/
    /// federation/federation_test.go` and `bridge_test.go` (the fake federation of
    /// `test/mocks/common.go`): a 2-of-3 PowPeg, its derivation hashes for four quotes, and the
    /// resulting addresses.
    const FED_KEYS: [&str; 3] = [
        "02cd53fc53a07f211641a677d250f6de99caf620e8e77071e811a28b3bcddf0be1",
        "0362634ab57dae9cb373a5d536e66a8c4f67468bbcfb063809bab643072d78a124",
        "03c5946b3fbae03a654237da863c9ed534e0878657175b132b8ca630f245df04db",
    ];
    const POWPEG_SCRIPT: &str = "522102cd53fc53a07f211641a677d250f6de99caf620e8e77071e811a28b3bcddf0be1210362634ab57dae9cb373a5d536e66a8c4f67468bbcfb063809bab643072d78a1242103c5946b3fbae03a654237da863c9ed534e0878657175b132b8ca630f245df04db53ae";
    const FLYOVER_SCRIPT: &str = "20ffe4766f7b5f2fdf374f8ae02270d713c4dcb4b1c5d42bffda61b7f4c1c4c6c975522102cd53fc53a07f211641a677d250f6de99caf620e8e77071e811a28b3bcddf0be1210362634ab57dae9cb373a5d536e66a8c4f67468bbcfb063809bab643072d78a1242103c5946b3fbae03a654237da863c9ed534e0878657175b132b8ca630f245df04db53ae";
    const LBC: &str = "2ff74F841b95E000625b3A77fed03714874C4fEa";
    const QUOTE_HASH: &str = "4a3eca107f22707e5dbc79964f3e6c21ec5e354e0903391245d9fdbe6bd2b2f0";
    /// (refund and LP address, network, expected derivation hash, expected flyover address)
    const QUOTES: [(&str, bitcoin::Network, &str, &str); 4] = [
        (
            "mnxKdPFrYqLSUy2oP1eno8n5X8AwkcnPjk",
            bitcoin::Network::Testnet,
            "ff883edd54f8cb22464a8181ed62652fcdb0028e0ada18f9828afd76e0df2c72",
            "2Mx7jaPHtsgJTbqGnjU5UqBpkekHgfigXay",
        ),
        (
            "2NDjJznHgtH1rzq63eeFG3SiDi5wxE25FSz",
            bitcoin::Network::Testnet,
            "4cd8a9037f5342217092a9ccc027ab0af1be60bf015e4228afc87214f86f2e51",
            "2N6LxcNDYkKzeyXh7xjZUNZnS9G4Sq3mysi",
        ),
        (
            "17VZNX1SN5NtKa8UQFxwQbFeFc3iqRYhem",
            bitcoin::Network::Bitcoin,
            "f07f644aa9123cd339f232be7f02ec536d40247f6f0c89a93d625ee57918c544",
            "38r8PQdgw5vdebE9h12Eum6saVnWEXxbve",
        ),
        (
            "3EktnHQD7RiAE6uzMj2ZifT9YgRrkSgzQX",
            bitcoin::Network::Bitcoin,
            "edb9cfe28705fa1619fe1c1bc70e55d5eee4965aea0de631bcf56434a7c454cc",
            "33P85aACtqezxcGjhrferYkpg6djBtvstk",
        ),
    ];

    fn powpeg_script() -> ScriptBuf {
        let mut keys: Vec<bitcoin::PublicKey> =
            FED_KEYS.iter().map(|k| bitcoin::PublicKey::from_str(k).unwrap()).collect();
        keys.sort_by_key(|k| k.inner.serialize());
        let b = keys.iter().fold(Builder::new().push_int(2), |b, k| b.push_key(k));
        b.push_int(3).push_opcode(bitcoin::opcodes::all::OP_CHECKMULTISIG).into_script()
    }

    #[test]
    fn reproduces_rootstock_flyover_vectors() {
        use bitcoin::hex::FromHex;
        let federation = powpeg_script();
        assert_eq!(federation.to_hex_string(), POWPEG_SCRIPT);
        let p2sh = |script: &Script, network| Address::p2sh(script, network).unwrap().to_string();
        assert_eq!(
            p2sh(&federation, bitcoin::Network::Bitcoin),
            "3EDhHutH7XnsotnZaTfRr9CwnnGsNNrhCL"
        );

        let fixed: [u8; 32] =
            FromHex::from_hex("ffe4766f7b5f2fdf374f8ae02270d713c4dcb4b1c5d42bffda61b7f4c1c4c6c9")
                .unwrap();
        let flyover = redeem_script(&fixed, &federation);
        assert_eq!(flyover.to_hex_string(), FLYOVER_SCRIPT);
        assert_eq!(p2sh(&flyover, bitcoin::Network::Bitcoin), "34TNebhLLHsE6FHQVMmeHAhTFpaAWhfweR");

        let lbc: [u8; 20] = FromHex::from_hex(LBC).unwrap();
        let quote: [u8; 32] = FromHex::from_hex(QUOTE_HASH).unwrap();
        for (refund_and_lp, network, expected_hash, expected_address) in QUOTES {
            let address = address(refund_and_lp);
            let hash = derivation_hash(&quote, &address, &lbc, &address).unwrap();
            assert_eq!(
                bitcoin::hex::DisplayHex::to_lower_hex_string(&hash[..]),
                expected_hash,
                "{refund_and_lp}"
            );
            assert_eq!(p2sh(&redeem_script(&hash, &federation), network), expected_address);
        }
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
