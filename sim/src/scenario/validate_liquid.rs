//! Validating a Liquid peg: its preset, members, emergency keys and depths.

use super::{
    diagnostic::suggest,
    model::{Actor, ActorKey, LiquidParams, OutputType, Role},
    raw::{Members, RawPeg},
    spans::Seg,
    validate::Validator,
};

/// Liquid v1 at launch (Elements `chainparams.cpp`, liquidv1): 11-of-15 functionaries, a
/// 2-of-3 emergency path after 4032 blocks, peg-ins at 100 confirmations, P2SH-P2WSH.
const LIQUID_V1: LiquidParams = LiquidParams {
    members: Vec::new(),
    threshold: 11,
    emergency: Vec::new(),
    emergency_threshold: 2,
    csv: 4032,
    pegin_depth: 100,
    address: OutputType::P2shP2wsh,
};
const LIQUID_V1_MEMBERS: usize = 15;
const LIQUID_V1_EMERGENCY: usize = 3;
const PRESETS: &[(&str, LiquidParams)] = &[("liquid-v1", LIQUID_V1)];
/// `OP_CHECKMULTISIG` takes at most 20 keys.
const MAX_KEYS: usize = 20;

impl Validator<'_> {
    pub(crate) fn liquid(
        &mut self,
        p: &RawPeg,
        at: &dyn Fn(&str) -> Vec<Seg>,
        actors: &mut Vec<Actor>,
    ) -> LiquidParams {
        let preset = self.preset(p.preset.as_deref(), &at("preset"), PRESETS);
        let members_spec =
            p.members.clone().or(preset.as_ref().map(|_| Members::Count(LIQUID_V1_MEMBERS)));
        let members = match members_spec {
            Some(spec) => self.federation(&at("members"), spec, "member", actors),
            None => {
                self.report(
                    &at("kind"),
                    "a liquid peg needs `members` (a count or signer names), or a `preset`",
                    None,
                );
                Vec::new()
            }
        };
        let threshold =
            p.threshold.or(preset.as_ref().map(|p| p.threshold)).unwrap_or(members.len());
        if threshold == 0 || threshold > members.len() {
            self.report(
                &at("threshold"),
                format!("threshold {threshold} is impossible with {} members", members.len()),
                None,
            );
        }
        let (emergency, emergency_threshold, csv) = match (&p.emergency, &preset) {
            (Some(e), _) => {
                let path = at("emergency");
                let keys = self.federation(&path, e.members.clone(), "emergency", actors);
                let threshold = e.threshold.unwrap_or_else(|| {
                    self.report(&path, "a liquid emergency path needs a `threshold`", None);
                    1
                });
                if threshold == 0 || threshold > keys.len() {
                    let n = keys.len();
                    let message =
                        format!("emergency threshold {threshold} is impossible with {n} keys");
                    self.report(&path, message, None);
                }
                let csv = self.csv(&path, e.csv);
                (keys, threshold, csv)
            }
            (None, Some(v1)) => {
                let keys = self.federation(
                    &at("preset"),
                    Members::Count(LIQUID_V1_EMERGENCY),
                    "emergency",
                    actors,
                );
                (keys, v1.emergency_threshold, v1.csv)
            }
            (None, None) => {
                self.report(
                    &at("kind"),
                    "a liquid peg needs `emergency = { members, threshold, csv }`, or a `preset`",
                    None,
                );
                (Vec::new(), 1, 1)
            }
        };
        if !members.is_empty() && threshold == emergency_threshold {
            self.report(
                &at("emergency"),
                format!(
                    "the watchman template picks its branch by the number of witness items \
                     (OP_DEPTH == threshold + 1): with both thresholds {threshold}, the emergency \
                     branch can never be reached"
                ),
                Some("make the emergency threshold differ from the members' threshold".into()),
            );
        }
        let pegin_depth = p
            .pegin_depth
            .or(preset.as_ref().map(|p| p.pegin_depth))
            .unwrap_or(LIQUID_V1.pegin_depth);
        let formats = [("p2sh-p2wsh", OutputType::P2shP2wsh), ("p2wsh", OutputType::P2wsh)];
        let address = self.federated_tail(p, at, pegin_depth, "liquid peg", &formats);
        LiquidParams {
            members,
            threshold,
            emergency,
            emergency_threshold,
            csv,
            pegin_depth,
            address,
        }
    }

    /// What liquid and powpeg pegs check alike: the peg-in depth, the address type (the first
    /// of `addresses` is the default), and no multisig keys.
    pub(crate) fn federated_tail(
        &mut self,
        p: &RawPeg,
        at: &dyn Fn(&str) -> Vec<Seg>,
        pegin_depth: u32,
        what: &str,
        addresses: &[(&str, OutputType)],
    ) -> OutputType {
        if pegin_depth == 0 {
            self.report(&at("pegin_depth"), "a peg-in needs at least one confirmation", None);
        }
        for (key, present) in [("signers", p.signers.is_some()), ("output", p.output.is_some())] {
            if present {
                let message = format!("`{key}` belongs to multisig pegs; a {what} has `members`");
                self.report(&at(key), message, None);
            }
        }
        let Some(given) = p.address.as_deref() else { return addresses[0].1 };
        if let Some((_, output)) = addresses.iter().find(|(name, _)| *name == given) {
            return *output;
        }
        let names: Vec<&str> = addresses.iter().map(|(name, _)| *name).collect();
        let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        let message = format!("unknown address type `{given}`; use {}", quoted.join(" or "));
        self.report(&at("address"), message, suggest(given, names.iter().copied()));
        addresses[0].1
    }

    /// A relative timelock in blocks: 1 to 65535.
    pub(crate) fn csv(&mut self, path: &[Seg], csv: u32) -> u16 {
        match u16::try_from(csv) {
            Ok(csv) if csv > 0 => csv,
            _ => {
                let message =
                    format!("csv {csv} is impossible: a relative timelock in blocks is 1 to 65535");
                self.report(path, message, None);
                1
            }
        }
    }

    /// Resolves a federation's signers: named signer actors, or `count` new ones called
    /// `<prefix>-1`, `<prefix>-2`, ... (kept when the file defines them).
    pub(crate) fn federation(
        &mut self,
        path: &[Seg],
        spec: Members,
        prefix: &str,
        actors: &mut Vec<Actor>,
    ) -> Vec<String> {
        let names = match spec {
            Members::Names(names) => {
                for n in &names {
                    self.check_actor(path, n, actors, true);
                }
                names
            }
            Members::Count(count) => {
                let names: Vec<String> = (1..=count).map(|i| format!("{prefix}-{i}")).collect();
                for n in &names {
                    if !actors.iter().any(|a| &a.name == n) {
                        actors.push(Actor {
                            name: n.clone(),
                            role: Role::Signer,
                            key: ActorKey::Derived,
                        });
                    }
                }
                names
            }
        };
        if names.is_empty() || names.len() > MAX_KEYS {
            self.report(
                path,
                format!("a federation has 1 to {MAX_KEYS} keys, not {}", names.len()),
                None,
            );
        }
        names
    }
}
