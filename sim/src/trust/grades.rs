//! Grades with the rule that gave them: BitcoinLayers' BTC custody categories
//! (bitcoinlayers @ 4b6a4241, app/methodology/page.tsx) and L2BEAT's committee rule
//! (`getDacSentiment`, packages/config); peg-catalog-2.md §6.1-6.3.

use serde::Serialize;

use super::{Class, KeyGroup};

/// A grade and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grade {
    /// The grade's word.
    pub grade: &'static str,
    /// The rule applied, and the numbers.
    pub why: String,
}

/// BitcoinLayers' BTC custody: green when owners exit on Bitcoin alone from every kind of
/// output (no custody class), red when the cheapest steal takes at least 5 signers (assumed
/// publicly known and external: peglab cannot know), else the worst ("below red").
///
/// `presigners` names the key of an optimistic bridge's committee, which signs its graph at
/// setup and is assumed to delete its key: stealing then needs all of it at setup or beating a
/// challenge game anyone can join, yellow (§6.3); any other path that moves the custody coins
/// (a security council) grades the peg instead when it is worse.
pub fn custody_grade_with(classes: &[Class], presigners: Option<&str>) -> Grade {
    let Some(group) = presigners else { return custody_grade(classes) };
    let by_group = |w: &super::Who| w.holders.len() == 1 && w.holders[0].contains(group);
    let others: Vec<Class> = classes
        .iter()
        .filter(|c| c.kind == "custody")
        .map(|c| {
            let mut c = c.clone();
            c.steal.retain(|w| !by_group(w));
            c
        })
        .filter(|c| !c.steal.is_empty())
        .collect();
    if others.is_empty() {
        return Grade {
            grade: "yellow (Medium)",
            why: format!(
                "stealing needs every member of the {group} at setup (one deleting its key after presigning suffices) or beating a challenge game anyone can join"
            ),
        };
    }
    let worse = custody_grade(&others);
    Grade {
        grade: worse.grade,
        why: format!(
            "a path besides the presigned graph moves the coins: {} (yellow for the challenge game alone, degraded by it)",
            worse.why
        ),
    }
}

/// The same, for a peg with no presigning committee.
pub fn custody_grade(classes: &[Class]) -> Grade {
    if classes.is_empty() {
        return Grade { grade: "not applicable", why: "the peg locks no coins".into() };
    }
    let custody: Vec<&Class> =
        classes.iter().filter(|c| c.kind == "custody" || !c.steal.is_empty()).collect();
    if custody.is_empty() {
        return Grade {
            grade: "green (Low)",
            why: "every output needs its owner's key or lets its owner exit alone: users can unilaterally exit with a Bitcoin transaction".into(),
        };
    }
    let cheapest = custody.iter().flat_map(|c| c.steal.iter()).min_by_key(|w| w.signers);
    match cheapest.map(|w| (w.signers, &w.delay)) {
        Some((n, delay)) if n >= 5 => Grade {
            grade: "red (High)",
            why: format!(
                "the cheapest steal takes {n} signers (>= 5; delay: {delay}); assuming they are publicly known and external to the builder, which no script shows"
            ),
        },
        Some((0, _)) => {
            Grade { grade: "below red (Very High)", why: "anyone can take the coins".into() }
        }
        Some((n, delay)) => Grade {
            grade: "below red (Very High)",
            why: format!(
                "the cheapest steal takes {n} signer(s) (delay: {delay}): fewer than the 5 publicly known signers red requires"
            ),
        },
        None => Grade {
            grade: "green (Low)",
            why: "no coalition moves the coins without their owner".into(),
        },
    }
}

/// L2BEAT's committee rule: bad unless `members >= 6` and `(members - threshold + 1) /
/// members <= 1/3`, then warning (never good).
pub fn committee_sentiment(members: u64, threshold: u64) -> Grade {
    let blocking = members.saturating_sub(threshold) + 1;
    let ratio = blocking as f64 / members.max(1) as f64;
    let ok = members >= 6 && blocking * 3 <= members;
    Grade {
        grade: if ok { "warning" } else { "bad" },
        why: format!(
            "{threshold} of {members}: {blocking} can block ({ratio:.3} of them); L2BEAT wants at least 6 members and at most 1/3 able to block"
        ),
    }
}

/// The committee of the first custody class's immediate path (a threshold of keys, or a
/// declared group behind one key).
pub(crate) fn committee(classes: &[Class], _groups: &[KeyGroup]) -> Option<Grade> {
    let (members, threshold) =
        classes.iter().filter(|c| c.kind == "custody").find_map(|c| c.committee)?;
    Some(committee_sentiment(members, threshold))
}

/// Systems peglab cannot run on unmodified Bitcoin Core, and why: no grade, an explanation.
pub const NOT_ON_UNMODIFIED_CORE: &[(&str, &str)] = &[
    (
        "Drivechain (BIP300/301)",
        "BIP300's hashrate escrows (miners vote withdrawals in over about 3 months) and BIP301's blind merged mining are consensus changes, a soft fork Bitcoin Core does not have: a peg that relies on them cannot be built on regtest, so peglab shows why instead of a grade",
    ),
    (
        "covenant bridges (OP_CAT, OP_CHECKTEMPLATEVERIFY, OP_VAULT)",
        "their scripts use opcodes that are not active on Bitcoin: Core refuses them as non-standard or invalid; BitVM2-style bridges work around this with presigned transactions instead",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committee_rule_as_l2beat_states_it() {
        // peg-catalog-2.md §6.4: sBTC 10/14 -> 0.357 bad; tBTC 51/100 -> 0.5 bad; Mezo-like
        // 2/3 of 9 -> 7/9 -> 3/9 warning; of 10 -> 4/10 bad.
        assert_eq!(committee_sentiment(14, 10).grade, "bad");
        assert!(committee_sentiment(14, 10).why.contains("0.357"));
        assert_eq!(committee_sentiment(100, 51).grade, "bad");
        assert_eq!(committee_sentiment(9, 7).grade, "warning");
        assert_eq!(committee_sentiment(10, 7).grade, "bad");
        assert_eq!(committee_sentiment(5, 5).grade, "bad");
    }

    fn vault(steal: &[(&str, u64)]) -> Class {
        let steal = steal
            .iter()
            .map(|(h, n)| super::super::Who {
                holders: vec![(*h).to_owned()],
                signers: *n,
                delay: "none".into(),
            })
            .collect();
        Class {
            coins: "the vault".into(),
            kind: "custody",
            steal,
            freeze: None,
            exit: None,
            recovery: Vec::new(),
            read_back: Some(true),
            committee: None,
        }
    }

    /// §6.4's Clementine row: yellow for the challenge game, degraded by a council path.
    #[test]
    fn an_optimistic_bridge_is_yellow_unless_a_council_moves_its_vault() {
        let nofn = "committee's n-of-n key";
        let group = "5 of 5 behind committee's n-of-n key (MuSig2, declared)";
        assert_eq!(
            custody_grade_with(&[vault(&[(group, 5)])], Some(nofn)).grade,
            "yellow (Medium)"
        );
        let with_council = vault(&[(group, 5), ("council-1", 1)]);
        assert_eq!(
            custody_grade_with(std::slice::from_ref(&with_council), Some(nofn)).grade,
            "below red (Very High)"
        );
        // Without the presigning rule the same 5-of-5 would be graded as a federation.
        assert_eq!(custody_grade(&[vault(&[(group, 5)])]).grade, "red (High)");
    }
}
