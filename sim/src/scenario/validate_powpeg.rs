//! Validating a Rootstock PowPeg: members, ERP keys, delay, confirmations.

use std::str::FromStr;

use super::{
    model::{Actor, Flyover, OutputType, PowpegParams},
    raw::{Members, RawFlyover, RawPeg},
    spans::Seg,
    validate::Validator,
};

/// Rootstock mainnet (`FederationMainNetConstants`, `BridgeMainNetConstants`): 4 ERP keys
/// (3-of-4) after 52,560 blocks (about a year), peg-ins registered at 100 confirmations,
/// P2SH-P2WSH (format 4000). The number of pegnatories is not a constant of the code: 9 here
/// stands in for it.
const MAINNET_MEMBERS: usize = 9;
const MAINNET_ERP_KEYS: usize = 4;
const MAINNET_DELAY: u32 = 52_560;
const MAINNET_CONFIRMATIONS: u32 = 100;
const PRESETS: &[(&str, ())] = &[("rootstock-mainnet", ())];

fn legacy_address(text: &str) -> Result<bitcoin::Address, String> {
    let address =
        bitcoin::Address::from_str(text).map_err(|e| format!("`{text}` is not an address: {e}"))?;
    let address = address
        .require_network(bitcoin::Network::Regtest)
        .map_err(|_| format!("`{text}` is not a regtest address"))?;
    match address.address_type() {
        Some(bitcoin::AddressType::P2pkh | bitcoin::AddressType::P2sh) => Ok(address),
        _ => {
            Err(format!("`{text}` is not a legacy P2PKH or P2SH address, which rskj requires here"))
        }
    }
}

fn hex_bytes<const N: usize>(text: &str) -> Result<[u8; N], String> {
    <[u8; N] as bitcoin::hex::FromHex>::from_hex(text)
        .map_err(|e| format!("`{text}` is not {N} bytes of hex: {e}"))
}

impl Validator<'_> {
    /// The value, or `None` with the error reported at `path`.
    fn accept<T>(&mut self, path: &[Seg], result: Result<T, String>) -> Option<T> {
        result.map_err(|message| self.report(path, message, None)).ok()
    }

    fn flyover(&mut self, path: &[Seg], f: &RawFlyover) -> Option<Flyover> {
        let at = |k: &str| {
            let mut p = path.to_vec();
            p.push(Seg::Key(k.to_owned()));
            p
        };
        let user_refund = self.accept(&at("user_refund"), legacy_address(&f.user_refund));
        let lp_btc = self.accept(&at("lp_btc"), legacy_address(&f.lp_btc));
        let lbc = self.accept(&at("lbc"), hex_bytes::<20>(&f.lbc));
        let arguments_hash = self.accept(&at("arguments_hash"), hex_bytes::<32>(&f.arguments_hash));
        Some(Flyover {
            user_refund: user_refund?,
            lp_btc: lp_btc?,
            lbc: lbc?,
            arguments_hash: arguments_hash?,
        })
    }

    pub(crate) fn powpeg(
        &mut self,
        p: &RawPeg,
        at: &dyn Fn(&str) -> Vec<Seg>,
        actors: &mut Vec<Actor>,
    ) -> PowpegParams {
        let mainnet = self.preset(p.preset.as_deref(), &at("preset"), PRESETS).is_some();
        let members = match p.members.clone().or(mainnet.then_some(Members::Count(MAINNET_MEMBERS)))
        {
            Some(spec) => self.federation(&at("members"), spec, "member", actors),
            None => {
                self.report(
                    &at("kind"),
                    "a powpeg needs `members` (a count or signer names), or a `preset`",
                    None,
                );
                Vec::new()
            }
        };
        let majority = members.len() / 2 + 1;
        if let Some(t) = p.threshold
            && t != majority
        {
            let message = format!(
                "a PowPeg signs with a majority: {majority} of {} members, not {t}",
                members.len()
            );
            self.report(&at("threshold"), message, Some("leave `threshold` out".into()));
        }
        let (emergency, csv) = match (&p.emergency, mainnet) {
            (Some(e), _) => {
                let path = at("emergency");
                let keys = self.federation(&path, e.members.clone(), "erp", actors);
                if let Some(t) = e.threshold
                    && t != keys.len() / 2 + 1
                {
                    let message = format!(
                        "the ERP keys sign with a majority: {} of {}, not {t}",
                        keys.len() / 2 + 1,
                        keys.len()
                    );
                    self.report(&path, message, Some("leave `threshold` out".into()));
                }
                (keys, self.csv(&path, e.csv))
            }
            (None, true) => {
                let keys =
                    self.federation(&at("preset"), Members::Count(MAINNET_ERP_KEYS), "erp", actors);
                (keys, self.csv(&at("preset"), MAINNET_DELAY))
            }
            (None, false) => {
                self.report(
                    &at("kind"),
                    "a powpeg needs `emergency = { members, csv }` (the ERP keys), or a `preset`",
                    None,
                );
                (Vec::new(), 1)
            }
        };
        let pegin_depth = p.pegin_depth.unwrap_or(MAINNET_CONFIRMATIONS);
        let formats = [("p2sh-p2wsh", OutputType::P2shP2wsh), ("p2sh", OutputType::P2sh)];
        let address = self.federated_tail(p, at, pegin_depth, "powpeg", &formats);
        let flyover = p.flyover.as_ref().and_then(|f| self.flyover(&at("flyover"), f));
        PowpegParams { members, emergency, csv, pegin_depth, address, flyover }
    }
}
