//! Who can satisfy a policy: its minimal coalitions (sets of key holders, none a superset of
//! another) with the delays they wait for, and the cheapest set whose refusal blocks a list of
//! them. Hash locks count as a holder of the preimage; timelocks cost nobody anything.

use std::collections::BTreeSet;

use crate::policy::Policy;

/// A set of key holders.
pub type Coalition = BTreeSet<String>;

/// The most minimal coalitions kept for one policy (a 15-of-20 would have millions).
const MAX_SETS: usize = 4096;

/// The holder a hash lock stands for.
fn preimage(kind: &str, hash: &str) -> String {
    format!("whoever knows the {kind} preimage of {}", &hash[..hash.len().min(16)])
}

/// The kinds of delay a coalition waits for: blocks and seconds (relative), and whether a
/// height or a time lock (absolute; each output picks its own) applies.
pub type Delay = (u32, u32, bool, bool);

const NO_DELAY: Delay = (0, 0, false, false);

/// What a policy requires: each minimal coalition with the delay it waits for. Two policies
/// with the same requirements let the same coalitions spend after the same kinds of delay.
pub type Requirements = BTreeSet<(Coalition, Delay)>;

/// Keeps only the pairs no pair with the same delay and a subset of its coalition beats.
fn minimize(mut pairs: Vec<(Coalition, Delay)>) -> Vec<(Coalition, Delay)> {
    pairs.sort_by_key(|(c, _)| c.len());
    pairs.dedup();
    let mut kept: Vec<(Coalition, Delay)> = Vec::new();
    for (set, delay) in pairs {
        if !kept.iter().any(|(k, d)| *d == delay && k.len() <= set.len() && k.is_subset(&set)) {
            kept.push((set, delay));
        }
        if kept.len() >= MAX_SETS {
            break;
        }
    }
    kept
}

/// Every union of one pair from each of `parts` (the longest delay of each kind), minimized.
fn product(parts: &[Vec<(Coalition, Delay)>]) -> Vec<(Coalition, Delay)> {
    let mut acc = vec![(Coalition::new(), NO_DELAY)];
    for part in parts {
        let mut next = Vec::new();
        for (a, da) in &acc {
            for (b, db) in part {
                let delay = (da.0.max(db.0), da.1.max(db.1), da.2 || db.2, da.3 || db.3);
                next.push((a.union(b).cloned().collect(), delay));
            }
        }
        acc = minimize(next);
    }
    acc
}

/// `k`-element subsets of `0..n`, in order.
fn choose(n: usize, k: usize, from: usize, picked: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
    if picked.len() == k {
        out.push(picked.clone());
        return;
    }
    for i in from..n {
        if n - i < k - picked.len() || out.len() >= MAX_SETS {
            break;
        }
        picked.push(i);
        choose(n, k, i + 1, picked, out);
        picked.pop();
    }
}

fn pairs(policy: &Policy) -> Vec<(Coalition, Delay)> {
    let alone = |holder: String| vec![(Coalition::from([holder]), NO_DELAY)];
    let wait = |delay: Delay| vec![(Coalition::new(), delay)];
    match policy {
        Policy::Pk { key } => alone(key.clone()),
        Policy::And { of } => product(&of.iter().map(pairs).collect::<Vec<_>>()),
        Policy::Or { of } => minimize(of.iter().flat_map(pairs).collect()),
        Policy::Thresh { k, of } => {
            let children: Vec<Vec<(Coalition, Delay)>> = of.iter().map(pairs).collect();
            let mut picks = Vec::new();
            choose(children.len(), *k, 0, &mut Vec::new(), &mut picks);
            let mut all = Vec::new();
            for pick in picks {
                let parts: Vec<_> = pick.iter().map(|&i| children[i].clone()).collect();
                all.extend(product(&parts));
            }
            minimize(all)
        }
        Policy::Older { blocks } => wait((u32::from(*blocks), 0, false, false)),
        Policy::OlderTime { seconds } => wait((0, *seconds, false, false)),
        Policy::AfterHeight { .. } => wait((0, 0, true, false)),
        Policy::AfterTime { .. } => wait((0, 0, false, true)),
        Policy::Anyone => wait(NO_DELAY),
        Policy::Sha256 { hash } => alone(preimage("SHA256", hash)),
        Policy::Hash160 { hash } => alone(preimage("HASH160", hash)),
        Policy::Hash256 { hash } => alone(preimage("HASH256", hash)),
        Policy::Ripemd160 { hash } => alone(preimage("RIPEMD160", hash)),
        Policy::Nobody => Vec::new(),
    }
}

/// The requirements of `policy`.
pub fn requirements(policy: &Policy) -> Requirements {
    pairs(policy).into_iter().collect()
}

/// The minimal coalitions that satisfy `policy` (given time). Empty when nobody can; one
/// empty set when anyone can.
pub fn minimal(policy: &Policy) -> Vec<Coalition> {
    let coalitions = pairs(policy).into_iter().map(|(c, _)| (c, NO_DELAY)).collect();
    minimize(coalitions).into_iter().map(|(c, _)| c).collect()
}

/// The cheapest set of holders (by `cost` each) that meets every one of `sets`: if they all
/// refuse, none of the sets can act. `None` when a set is empty (anyone can act: nobody can
/// block it). Exact: branch on the holders of the first set not yet met (each subset once),
/// pruned at the best cost so far.
pub fn blocking(sets: &[Coalition], cost: &dyn Fn(&str) -> u64) -> Option<(Coalition, u64)> {
    if sets.iter().any(BTreeSet::is_empty) {
        return None;
    }
    let holders: Vec<&String> =
        sets.iter().flatten().collect::<BTreeSet<_>>().into_iter().collect();
    if holders.len() > 128 {
        return None;
    }
    let index = |h: &String| holders.iter().position(|x| *x == h).unwrap_or(0);
    let mut masks: Vec<u128> =
        sets.iter().map(|s| s.iter().fold(0u128, |m, h| m | 1 << index(h))).collect();
    masks.sort_by_key(|m| m.count_ones());
    masks.dedup();
    let costs: Vec<u64> = holders.iter().map(|h| cost(h)).collect();
    fn go(
        masks: &[u128],
        costs: &[u64],
        taken: u128,
        forbidden: u128,
        spent: u64,
        best: &mut Option<(u128, u64)>,
    ) {
        if best.is_some_and(|(_, b)| spent >= b) {
            return;
        }
        // The open set with the fewest holders left to choose from.
        let mut open: Option<u128> = None;
        for m in masks {
            if m & taken == 0 {
                let left = m & !forbidden;
                if left == 0 {
                    return;
                }
                if open.is_none_or(|o| left.count_ones() < o.count_ones()) {
                    open = Some(left);
                }
            }
        }
        let Some(mut left) = open else {
            *best = Some((taken, spent));
            return;
        };
        let mut forbidden = forbidden;
        while left != 0 {
            let bit = left.trailing_zeros() as usize;
            left &= left - 1;
            go(masks, costs, taken | 1 << bit, forbidden, spent + costs[bit], best);
            // Later branches leave this holder out: each subset is tried once.
            forbidden |= 1 << bit;
        }
    }
    let mut best = None;
    go(&masks, &costs, 0, 0, 0, &mut best);
    best.map(|(taken, spent)| {
        let set = (0..holders.len())
            .filter(|i| taken >> i & 1 == 1)
            .map(|i| holders[i].clone())
            .collect();
        (set, spent)
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::policy::Have;

    fn keys(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("k{i}")).collect()
    }

    fn arb_policy() -> impl Strategy<Value = Policy> {
        let leaf = prop_oneof![
            (0..5usize).prop_map(|i| Policy::pk(format!("k{i}"))),
            Just(Policy::Older { blocks: 10 }),
        ];
        leaf.prop_recursive(3, 12, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 1..4).prop_map(|of| Policy::And { of }),
                prop::collection::vec(inner.clone(), 1..4).prop_map(|of| Policy::Or { of }),
                prop::collection::vec(inner, 1..4)
                    .prop_flat_map(|of| (1..=of.len(), Just(of)))
                    .prop_map(|(k, of)| Policy::Thresh { k, of }),
            ]
        })
    }

    fn all_subsets(n: usize) -> Vec<Coalition> {
        let names = keys(n);
        (0..1u32 << n)
            .map(|mask| {
                names
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask >> i & 1 == 1)
                    .map(|(_, k)| k.clone())
                    .collect()
            })
            .collect()
    }

    fn with_time(signers: &Coalition) -> Have {
        Have { signers: signers.clone(), blocks_old: u32::MAX, ..Have::default() }
    }

    proptest! {
        /// The minimal coalitions are exactly the minimal satisfying subsets, by brute force
        /// over every subset of the keys.
        #[test]
        fn minimal_coalitions_agree_with_brute_force(policy in arb_policy()) {
            let satisfying: Vec<Coalition> =
                all_subsets(5).into_iter().filter(|s| policy.satisfied(&with_time(s))).collect();
            let brute: BTreeSet<Coalition> = satisfying
                .iter()
                .filter(|s| !satisfying.iter().any(|o| o != *s && o.is_subset(s)))
                .cloned()
                .collect();
            let found: BTreeSet<Coalition> = minimal(&policy).into_iter().collect();
            prop_assert_eq!(found, brute);
        }

        /// The cheapest blocking set is as cheap as the cheapest subset, by brute force, whose
        /// refusal leaves the policy unsatisfiable.
        #[test]
        fn blocking_sets_agree_with_brute_force(policy in arb_policy()) {
            let sets = minimal(&policy);
            let brute = all_subsets(5)
                .into_iter()
                .filter(|refusing| {
                    let rest: Coalition = keys(5).into_iter().filter(|k| !refusing.contains(k)).collect();
                    !policy.satisfied(&with_time(&rest))
                })
                .map(|s| s.len() as u64)
                .min();
            let found = blocking(&sets, &|_| 1).map(|(_, c)| c);
            prop_assert_eq!(found, brute);
        }
    }

    #[test]
    fn a_threshold_is_blocked_by_n_minus_t_plus_one() {
        let policy = Policy::multi(10, &keys(14));
        let sets = minimal(&policy);
        assert_eq!(sets.len(), 1001);
        assert!(sets.iter().all(|s| s.len() == 10));
        assert_eq!(blocking(&sets, &|_| 1).map(|(_, c)| c), Some(5));
    }
}
