//! Babylon's three outputs as miniscript taproot descriptors, leaf for leaf the scripts of
//! `script.rs` (a test pins that): what the spend paths are read from, and how a probe of
//! them is signed.
//!
//! ```text
//! timelock  : and_v(v:pk(staker),older(time))
//! unbonding : and_v(v:pk(staker),<covenant>)
//! slashing  : and_v(v:pk(staker),and_v(<providers, verify>,<covenant>))
//! ```
//!
//! where a group of one key is `pk(K)` and of several `multi_a(k,sorted keys)`.

use std::str::FromStr;

use bitcoin::{PublicKey, XOnlyPublicKey};
use miniscript::Descriptor;

use super::script::{Delegation, NUMS};
use crate::tx::taproot::even;

fn group(keys: &[XOnlyPublicKey], k: usize, verify: bool) -> String {
    let mut keys = keys.to_vec();
    keys.sort_by_key(|k| k.serialize());
    let v = if verify { "v:" } else { "" };
    match keys.as_slice() {
        [one] => format!("{v}pk({})", even(*one)),
        many => {
            let list: Vec<String> = many.iter().map(|k| even(*k).to_string()).collect();
            format!("{v}multi_a({k},{})", list.join(","))
        }
    }
}

impl Delegation {
    fn staker_and(&self, rest: &str) -> String {
        format!("and_v(v:pk({}),{rest})", even(self.staker))
    }

    fn timelock_leaf(&self, blocks: u16) -> String {
        self.staker_and(&format!("older({blocks})"))
    }

    fn unbonding_leaf(&self) -> String {
        self.staker_and(&group(&self.covenant, self.quorum, false))
    }

    fn slashing_leaf(&self) -> String {
        let providers = group(&self.providers, 1, true);
        self.staker_and(&format!(
            "and_v({providers},{})",
            group(&self.covenant, self.quorum, false)
        ))
    }

    fn tr(tree: &str) -> Descriptor<PublicKey> {
        Descriptor::from_str(&format!("tr(02{NUMS},{tree})"))
            .expect("Babylon's leaves are miniscript")
    }

    /// The staking output: slashing at depth 1, unbonding and timelock at depth 2.
    pub(crate) fn staking_descriptor(&self) -> Descriptor<PublicKey> {
        let tree = format!(
            "{{{},{{{},{}}}}}",
            self.slashing_leaf(),
            self.unbonding_leaf(),
            self.timelock_leaf(self.staking_time)
        );
        Self::tr(&tree)
    }

    /// The unbonding output: timelock (unbonding time) and slashing, both at depth 1.
    pub(crate) fn unbonding_descriptor(&self) -> Descriptor<PublicKey> {
        let tree =
            format!("{{{},{}}}", self.timelock_leaf(self.unbonding_time), self.slashing_leaf());
        Self::tr(&tree)
    }

    /// The slashing-refund output: the staker after the unbonding time.
    pub(crate) fn refund_descriptor(&self) -> Descriptor<PublicKey> {
        Self::tr(&self.timelock_leaf(self.unbonding_time))
    }
}

#[cfg(test)]
mod tests {
    use bitcoin::{ScriptBuf, secp256k1::Secp256k1};
    use serde_json::Value;

    use super::*;

    fn x_only(hex: &Value) -> XOnlyPublicKey {
        PublicKey::from_str(hex.as_str().unwrap()).unwrap().inner.x_only_public_key().0
    }

    /// Every vector's delegation, and one with several providers and covenant keys.
    fn delegations() -> Vec<Delegation> {
        let data: Value =
            serde_json::from_str(include_str!("testdata/babylon_vectors.json")).unwrap();
        data["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                let p = &v["parameters"];
                let keys =
                    |k: &str| p[k].as_array().unwrap().iter().map(x_only).collect::<Vec<_>>();
                Delegation {
                    staker: x_only(&p["staker_public_key"]),
                    providers: keys("finality_provider_public_keys"),
                    covenant: keys("covenant_public_keys"),
                    quorum: p["covenant_quorum"].as_u64().unwrap() as usize,
                    staking_time: p["staking_time"].as_u64().unwrap() as u16,
                    unbonding_time: p["unbonding_time"].as_u64().unwrap() as u16,
                }
            })
            .collect()
    }

    #[test]
    fn the_descriptors_are_babylons_scripts() {
        let secp = Secp256k1::verification_only();
        let all = delegations();
        assert!(all.iter().any(|d| d.covenant.len() > 1 && d.providers.len() > 1));
        for d in all {
            let leaves = |desc: &Descriptor<PublicKey>| -> Vec<ScriptBuf> {
                let Descriptor::Tr(tr) = desc else { panic!("taproot") };
                tr.iter_scripts().map(|(_, ms)| ms.encode()).collect()
            };
            assert_eq!(
                leaves(&d.staking_descriptor()),
                vec![d.slashing_script(), d.unbonding_script(), d.timelock_script(d.staking_time)]
            );
            let staking = ScriptBuf::new_p2tr_tweaked(d.staking_info(&secp).output_key());
            assert_eq!(d.staking_descriptor().script_pubkey(), staking);
            let unbonding = ScriptBuf::new_p2tr_tweaked(d.unbonding_info(&secp).output_key());
            assert_eq!(d.unbonding_descriptor().script_pubkey(), unbonding);
            let refund = ScriptBuf::new_p2tr_tweaked(d.refund_info(&secp).output_key());
            assert_eq!(d.refund_descriptor().script_pubkey(), refund);
        }
    }
}
