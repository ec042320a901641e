//! Reading the keys a file gives an actor: a public key (hex, or an extended public key with
//! its derivation), a secret key (hex, WIF, or an extended private key with its derivation),
//! and a user's wallet descriptor. Each problem is a message for the diagnostic.

use std::str::FromStr;

use bitcoin::{NetworkKind, PrivateKey, PublicKey, secp256k1::SecretKey};
use miniscript::descriptor::{DescriptorPublicKey, DescriptorSecretKey};

/// A public key: 33 bytes of hex, or `[fingerprint/path]xpub.../path` (no wildcard).
pub(crate) fn public_key(text: &str) -> Result<PublicKey, String> {
    let text = text.trim();
    if let Ok(pk) = PublicKey::from_str(text) {
        return if pk.compressed {
            Ok(pk)
        } else {
            Err("an uncompressed key: peglab's pegs are segwit, which takes compressed (33-byte) \
                 keys only"
                .into())
        };
    }
    let key = DescriptorPublicKey::from_str(text).map_err(|e| {
        format!("not a public key: {e} (give 33 bytes of hex, or an extended key with its path)")
    })?;
    if key.has_wildcard() {
        return Err("a range of keys (`/*`): give one key, e.g. `.../0/7`".into());
    }
    let secp = bitcoin::secp256k1::Secp256k1::verification_only();
    key.at_derivation_index(0)
        .map_err(|e| format!("not a single key: {e}"))?
        .derive_public_key(&secp)
        .map_err(|e| format!("cannot derive the key: {e}"))
}

/// A secret key: 32 bytes of hex, WIF, or `xprv.../path` (no wildcard).
pub(crate) fn secret_key(text: &str) -> Result<SecretKey, String> {
    let text = text.trim();
    if text.len() == 64
        && let Ok(sk) = SecretKey::from_str(text)
    {
        return Ok(sk);
    }
    if let Ok(wif) = PrivateKey::from_wif(text) {
        return if wif.compressed {
            Ok(wif.inner)
        } else {
            Err("a WIF for an uncompressed key: segwit takes compressed keys only".into())
        };
    }
    let secp = bitcoin::secp256k1::Secp256k1::new();
    match DescriptorSecretKey::from_str(text) {
        Ok(DescriptorSecretKey::Single(single)) => Ok(single.key.inner),
        Ok(DescriptorSecretKey::XPrv(x)) => {
            if x.wildcard != miniscript::descriptor::Wildcard::None {
                return Err("a range of keys (`/*`): give one key, e.g. `.../0/7`".into());
            }
            x.xkey
                .derive_priv(&secp, &x.derivation_path)
                .map(|k| k.private_key)
                .map_err(|e| format!("cannot derive the key: {e}"))
        }
        Ok(DescriptorSecretKey::MultiXPrv(_)) => {
            Err("a multipath key (`<0;1>`): give one key".into())
        }
        Err(e) => Err(format!(
            "not a secret key: {e} (give 32 bytes of hex, a WIF, or an extended key with its path)"
        )),
    }
}

/// A wallet descriptor bdk can use on regtest; `true` when it holds private keys (the wallet
/// can pay), `false` for a watch-only one.
pub(crate) fn wallet_descriptor(text: &str) -> Result<bool, String> {
    let secp = bitcoin::secp256k1::Secp256k1::new();
    let (_, keymap) = bdk_wallet::descriptor::IntoWalletDescriptor::into_wallet_descriptor(
        text,
        &secp,
        NetworkKind::Test,
    )
    .map_err(|e| format!("not a wallet descriptor for regtest: {e}"))?;
    Ok(!keymap.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_in_every_form() {
        let pk = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
        assert_eq!(public_key(pk).unwrap().to_string(), pk);
        // BIP32 test vector 1: m/0' of master 000102...0f.
        let tpub_child = "[3442193e/0']tpubD8eQVK4Kdxg3gHrF62jGP7dKVCoYiEB8dFSpuTawkL5YxTus5j5pf83vaKnii4bc6v2NVEy81P2gYrJczYne3QNNwMTS53p5uzDyHvnw2jm/1";
        assert!(public_key(tpub_child).is_ok());
        assert!(public_key(&format!("{tpub_child}/*")).unwrap_err().contains("range"));
        assert!(public_key("02").unwrap_err().starts_with("not a public key"));
        let one = "0000000000000000000000000000000000000000000000000000000000000001";
        let sk = secret_key(one).unwrap();
        let secp = bitcoin::secp256k1::Secp256k1::new();
        assert_eq!(PublicKey::new(sk.public_key(&secp)).to_string(), pk);
        // The WIF of key 1, compressed, testnet.
        assert_eq!(secret_key("cMahea7zqjxrtgAbB7LSGbcQUr1uX1ojuat9jZodMN87JcbXMTcA").unwrap(), sk);
        assert!(secret_key("not a key").unwrap_err().starts_with("not a secret key"));
        assert!(wallet_descriptor("wpkh(02)").is_err());
        assert_eq!(wallet_descriptor(&format!("wpkh({pk})")), Ok(false));
        assert_eq!(
            wallet_descriptor("wpkh(cMahea7zqjxrtgAbB7LSGbcQUr1uX1ojuat9jZodMN87JcbXMTcA)"),
            Ok(true)
        );
    }
}
