//! Validating a Rootstock PowPeg: members, ERP keys, delay, confirmations.

use super::{
    diagnostic::suggest,
    model::{Actor, OutputType, PowpegParams},
    raw::{Members, RawPeg},
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
const PRESETS: &[&str] = &["rootstock-mainnet"];

impl Validator<'_> {
    pub(crate) fn powpeg(
        &mut self,
        p: &RawPeg,
        at: &dyn Fn(&str) -> Vec<Seg>,
        actors: &mut Vec<Actor>,
    ) -> PowpegParams {
        let mainnet = match p.preset.as_deref() {
            None => false,
            Some("rootstock-mainnet") => true,
            Some(other) => {
                let help = suggest(other, PRESETS.iter().copied());
                self.report(
                    &at("preset"),
                    format!("unknown preset `{other}`; known: {}", PRESETS.join(", ")),
                    help,
                );
                false
            }
        };
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
        if pegin_depth == 0 {
            self.report(&at("pegin_depth"), "a peg-in needs at least one confirmation", None);
        }
        let address = match p.address.as_deref() {
            None | Some("p2sh-p2wsh") => OutputType::P2shP2wsh,
            Some("p2sh") => OutputType::P2sh,
            Some(other) => {
                let help = suggest(other, ["p2sh-p2wsh", "p2sh"]);
                self.report(
                    &at("address"),
                    format!("unknown address type `{other}`; use `p2sh-p2wsh` or `p2sh`"),
                    help,
                );
                OutputType::P2shP2wsh
            }
        };
        for (key, present) in [("signers", p.signers.is_some()), ("output", p.output.is_some())] {
            if present {
                self.report(
                    &at(key),
                    format!("`{key}` belongs to multisig pegs; a powpeg has `members`"),
                    None,
                );
            }
        }
        PowpegParams { members, emergency, csv, pegin_depth, address }
    }
}
