//! The registry of peg families: one line per family. Everything else about a family lives
//! in its folder.

mod babylon;
pub(crate) mod bitvm2;
mod core_staking;
mod descriptor;
mod header_relay;
pub(crate) mod liquid;
mod multisig;
pub(crate) mod powpeg;
pub(crate) mod sbtc;
mod spv_vault;
mod tbtc;
pub(crate) mod truc;

pub use crate::family::{Code, Verb};
use crate::family::{Family, Quantity};

/// Every family peglab knows.
pub(crate) static ALL: &[&dyn Family] = &[
    &multisig::Multisig,
    &liquid::Liquid,
    &powpeg::Powpeg,
    &spv_vault::SpvVault,
    &header_relay::HeaderRelay,
    &core_staking::CoreStaking,
    &babylon::Babylon,
    &descriptor::DescriptorPeg,
    &sbtc::Sbtc,
    &tbtc::Tbtc,
    &truc::Truc,
    &bitvm2::Bitvm2,
];

/// The family of `kind`.
pub(crate) fn find(kind: &str) -> Option<&'static dyn Family> {
    ALL.iter().copied().find(|f| f.kind() == kind)
}

/// `name` as the static keyword of some family's step.
pub(crate) fn verb(name: &str) -> Option<&'static str> {
    ALL.iter().flat_map(|f| f.verbs()).map(|v| v.name).find(|v| *v == name)
}

/// Every family step keyword, once each.
pub(crate) fn all_verbs() -> Vec<&'static str> {
    let mut verbs: Vec<&'static str> = ALL.iter().flat_map(|f| f.verbs()).map(|v| v.name).collect();
    verbs.sort_unstable();
    verbs.dedup();
    verbs
}

/// Every quantity some family measures, once per key.
pub(crate) fn quantities() -> impl Iterator<Item = Quantity> {
    let mut seen = Vec::new();
    ALL.iter().flat_map(|f| f.quantities()).copied().filter(move |q| {
        if seen.contains(&q.key) {
            return false;
        }
        seen.push(q.key);
        true
    })
}

/// The quantity measured under `key`.
pub(crate) fn quantity(key: &str) -> Option<Quantity> {
    quantities().find(|q| q.key == key)
}

/// What the CLI and the docs show of a family.
#[derive(Debug, Clone, Copy)]
pub struct FamilyInfo {
    /// Its `kind`.
    pub kind: &'static str,
    /// What it models, in one line.
    pub about: &'static str,
    /// A commented starter scenario.
    pub starter: &'static str,
    /// Its step keywords.
    pub verbs: &'static [Verb],
    /// The codes its model refuses with.
    pub refusals: &'static [Code],
    /// The codes its steps stall with.
    pub stalls: &'static [Code],
}

/// Every registered family, in registry order.
pub fn list() -> Vec<FamilyInfo> {
    ALL.iter()
        .map(|f| FamilyInfo {
            kind: f.kind(),
            about: f.about(),
            starter: f.starter(),
            verbs: f.verbs(),
            refusals: f.refusals(),
            stalls: f.stalls(),
        })
        .collect()
}
