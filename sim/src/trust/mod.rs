//! What a peg trusts, read from its spend paths (`peglab explain`): per kind of output, who
//! can take the coins without their owner (steal), who can stop every way out (freeze), how
//! an owner leaves alone (exit), and what waits behind a timelock (recovery); then grades in
//! the manner of BitcoinLayers and of L2BEAT (peg-catalog-2.md §6), each with the rule applied.
//!
//! Keys that stand for a group off chain (FROST, threshold ECDSA) are one key on chain: the
//! group comes from the family and is labelled declared, never derived.

mod coalitions;
mod grades;
mod recognize;

use std::collections::BTreeSet;

use serde::Serialize;

pub use coalitions::{Coalition, Delay, Requirements, blocking, minimal, requirements};
pub use grades::{
    Grade, NOT_ON_UNMODIFIED_CORE, committee_sentiment, custody_grade, custody_grade_with,
};
pub use recognize::recognize;

use crate::{
    lock::{Lock, of_scenario},
    policy::{Policy, Timelocks},
    run::keys::KeyBook,
    scenario::Scenario,
};

/// A key that stands for a group off chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyGroup {
    /// The holder name its spend paths use.
    pub holder: String,
    /// Members.
    pub members: u32,
    /// Signatures needed.
    pub threshold: u32,
    /// The scheme (FROST, threshold ECDSA, ...).
    pub scheme: String,
}

/// A coalition and when it can act.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Who {
    /// Its members (a group counted as its threshold: "10 of 14 (FROST, declared)").
    pub holders: Vec<String>,
    /// How many signers it takes.
    pub signers: u64,
    /// The delay, in words ("none", "12 blocks", "a time lock").
    pub delay: String,
}

/// One kind of output a peg locks coins in, and what holds for it.
#[derive(Debug, Clone, Serialize)]
pub struct Class {
    /// What the coins are.
    pub coins: String,
    /// `deposit` (an owner's key is on a path) or `custody`.
    pub kind: &'static str,
    /// The cheapest coalitions that move the coins without their owner.
    pub steal: Vec<Who>,
    /// The cheapest set whose refusal leaves no path but the owner's own exit.
    pub freeze: Option<Who>,
    /// The owner alone.
    pub exit: Option<Who>,
    /// Paths behind a timelock that need no owner (emergency keys, recovery).
    pub recovery: Vec<Who>,
    /// Whether every script of the output, read back from its bytes, says what the family
    /// states (`None` where a script is not recognized).
    pub read_back: Option<bool>,
    /// The committee (members, threshold) of its immediate custody path, if a threshold.
    #[serde(skip)]
    pub committee: Option<(u64, u64)>,
}

/// A peg's trust, explained.
#[derive(Debug, Clone, Serialize)]
pub struct PegTrust {
    /// The peg.
    pub peg: String,
    /// Its kind.
    pub kind: &'static str,
    /// Per kind of output.
    pub classes: Vec<Class>,
    /// Groups behind single keys, as declared.
    pub groups: Vec<KeyGroup>,
    /// Trust no script shows, as declared.
    pub declared: Vec<String>,
    /// BitcoinLayers-style BTC custody.
    pub custody: Grade,
    /// L2BEAT-style committee sentiment (an analogy: L2BEAT does not grade Bitcoin pegs).
    pub committee: Option<Grade>,
}

fn delay(t: &Timelocks) -> String {
    let mut parts = Vec::new();
    if t.blocks_old > 0 {
        parts.push(format!("{} blocks", t.blocks_old));
    }
    if t.seconds_old > 0 {
        parts.push(format!("{} s", t.seconds_old));
    }
    if let Some(h) = t.height {
        parts.push(format!("height {h}"));
    }
    if t.time.is_some() {
        parts.push("a time lock (CLTV)".into());
    }
    if parts.is_empty() { "none".into() } else { parts.join(" and ") }
}

/// How many signers a holder stands for (its threshold, for a group).
fn cost(groups: &[KeyGroup], holder: &str, blocking: bool) -> u64 {
    match groups.iter().find(|g| g.holder == holder) {
        Some(g) if blocking => u64::from(g.members - g.threshold + 1),
        Some(g) => u64::from(g.threshold),
        None => 1,
    }
}

fn name(groups: &[KeyGroup], holder: &str, blocking: bool) -> String {
    match groups.iter().find(|g| g.holder == holder) {
        Some(g) if blocking => format!(
            "{} of the {} members behind {holder} ({}, declared)",
            g.members - g.threshold + 1,
            g.members,
            g.scheme
        ),
        Some(g) => {
            format!("{} of {} behind {holder} ({}, declared)", g.threshold, g.members, g.scheme)
        }
        None => holder.to_owned(),
    }
}

fn who(groups: &[KeyGroup], set: &Coalition, t: &Timelocks, blocking: bool) -> Who {
    Who {
        holders: set.iter().map(|h| name(groups, h, blocking)).collect(),
        signers: set.iter().map(|h| cost(groups, h, blocking)).sum(),
        delay: delay(t),
    }
}

/// The users whose keys are on the lock's paths: its owners.
fn owners(lock: &Lock, users: &BTreeSet<String>) -> BTreeSet<String> {
    lock.paths.iter().flat_map(|p| p.policy.holders()).filter(|h| users.contains(h)).collect()
}

/// Whether the lock's scripts, read from their bytes, agree with its stated paths.
fn read_back(lock: &Lock) -> Option<bool> {
    let mut agree = true;
    for (paths, recognized) in lock.script_policies() {
        let stated =
            Policy::Or { of: paths.iter().map(|&p| lock.paths[p].policy.clone()).collect() };
        agree &= requirements(&recognized?) == requirements(&stated);
    }
    Some(agree)
}

/// The answers for one lock.
fn class(lock: &Lock, users: &BTreeSet<String>, groups: &[KeyGroup]) -> Class {
    let owners = owners(lock, users);
    let mut steal: Vec<(Coalition, Timelocks)> = Vec::new();
    // A path that is a plain threshold of keys reads better as "any k of n".
    let mut thresholds: Vec<(Timelocks, String)> = Vec::new();
    let mut exit = None;
    let mut others: Vec<Coalition> = Vec::new();
    for path in &lock.paths {
        let t = path.policy.timelocks();
        let keys_of = |p: &Policy| match p {
            Policy::Thresh { k, of } if of.iter().all(|c| matches!(c, Policy::Pk { .. })) => {
                let names: Vec<String> = of.iter().flat_map(Policy::holders).collect();
                Some(format!("any {k} of {}: {}", names.len(), names.join(", ")))
            }
            _ => None,
        };
        let described = match &path.policy {
            Policy::And { of } => of.iter().find_map(keys_of),
            other => keys_of(other),
        };
        if let Some(text) = described
            && !thresholds.iter().any(|(d, _)| *d == t)
        {
            thresholds.push((t, text));
        }
        for set in minimal(&path.policy) {
            if !set.is_empty() && set.iter().all(|h| owners.contains(h)) {
                // The owner's quickest way out (a key path before a timelocked leaf).
                if exit.as_ref().is_none_or(|(_, e)| wait(&t) < wait(e)) {
                    exit = Some((who(groups, &set, &t, false), t));
                }
                continue;
            }
            if set.iter().any(|h| owners.contains(h)) {
                // Needs the owner and others: the owner's consent, not a steal.
                others.push(set.iter().filter(|h| !owners.contains(*h)).cloned().collect());
                continue;
            }
            others.push(set.clone());
            steal.push((set, t));
        }
    }
    // The cheapest coalition for each delay, the shortest delay first.
    let signers = |s: &Coalition| s.iter().map(|h| cost(groups, h, false)).sum::<u64>();
    let mut delays: Vec<Timelocks> = Vec::new();
    for (_, t) in &steal {
        if !delays.contains(t) {
            delays.push(*t);
        }
    }
    delays.sort_by_key(|t| (t.blocks_old, t.seconds_old, t.height, t.time));
    let steal_who: Vec<Who> = delays
        .iter()
        .filter_map(|d| {
            steal.iter().filter(|(_, t)| t == d).min_by_key(|(s, _)| signers(s)).map(|(s, t)| {
                let mut w = who(groups, s, t, false);
                if let Some((_, text)) = thresholds.iter().find(|(d, _)| d == t) {
                    w.holders = vec![text.clone()];
                }
                w
            })
        })
        .collect();
    let committee = lock.paths.iter().find_map(|p| {
        if p.policy.timelocks() != Timelocks::default()
            || p.policy.holders().iter().any(|h| owners.contains(h))
        {
            return None;
        }
        match &p.policy {
            Policy::Thresh { k, of } if of.iter().all(|c| matches!(c, Policy::Pk { .. })) => {
                Some((of.len() as u64, *k as u64))
            }
            Policy::Pk { key } => groups
                .iter()
                .find(|g| &g.holder == key)
                .map(|g| (u64::from(g.members), u64::from(g.threshold))),
            _ => None,
        }
    });
    let recovery: Vec<Who> = steal_who.iter().filter(|w| w.delay != "none").cloned().collect();
    // Freezing: with an exit of their own, owners cannot be frozen past its delay.
    let freeze = match exit {
        Some(_) => None,
        None => blocking(&others, &|h| cost(groups, h, true))
            .map(|(set, _)| who(groups, &set, &Timelocks::default(), true)),
    };
    Class {
        coins: lock.coins.clone(),
        kind: if owners.is_empty() { "custody" } else { "deposit" },
        steal: steal_who,
        freeze,
        exit: exit.map(|(w, _)| w),
        recovery,
        read_back: read_back(lock),
        committee,
    }
}

/// A claim of `explain` that a lab can execute: a coalition spends the lock through a path.
#[derive(Debug, Clone)]
pub struct Claim {
    /// "steal" or "exit".
    pub what: &'static str,
    /// The path of the lock it takes.
    pub path: usize,
    /// Who signs (holder names as the paths name them).
    pub signers: Coalition,
    /// Whether a holder is a declared group (one key on chain).
    pub aggregate: bool,
}

/// How long a path makes its spender wait, comparable: relative blocks first.
fn wait(t: &Timelocks) -> (u32, u32, Option<u32>, Option<u32>) {
    (t.blocks_old, t.seconds_old, t.height, t.time)
}

/// The claims of one lock: the cheapest steal per delay, and the owner's exit.
pub fn claims(lock: &Lock, users: &BTreeSet<String>, groups: &[KeyGroup]) -> Vec<Claim> {
    let owners = owners(lock, users);
    let mut out: Vec<Claim> = Vec::new();
    let mut seen: Vec<Timelocks> = Vec::new();
    // The exit `explain` states: the owner's quickest way out.
    let mut exit: Option<(usize, usize, Timelocks)> = None;
    for (i, path) in lock.paths.iter().enumerate() {
        let t = path.policy.timelocks();
        let sets = minimal(&path.policy);
        if let Some(set) =
            sets.iter().find(|s| !s.is_empty() && s.iter().all(|h| owners.contains(h)))
            && exit.as_ref().is_none_or(|(_, _, e)| wait(&t) < wait(e))
        {
            // Replace an earlier, slower exit claim.
            if let Some((at, _, _)) = exit {
                out.remove(at);
            }
            exit = Some((out.len(), i, t));
            out.push(Claim { what: "exit", path: i, signers: set.clone(), aggregate: false });
        }
        if seen.contains(&t) {
            continue;
        }
        let cost = |s: &Coalition| s.iter().map(|h| self::cost(groups, h, false)).sum::<u64>();
        if let Some(set) = sets
            .iter()
            .filter(|s| !s.is_empty() && !s.iter().any(|h| owners.contains(h)))
            .min_by_key(|s| cost(s))
        {
            seen.push(t);
            let aggregate = set.iter().any(|h| groups.iter().any(|g| &g.holder == h));
            out.push(Claim { what: "steal", path: i, signers: set.clone(), aggregate });
        }
    }
    out
}

/// The locks `explain` answers for, one per class of output (every user's deposit reads
/// alike: the first stands for them), with the peg's declared groups.
pub fn classes_of(scenario: &Scenario) -> Vec<(String, Lock, Vec<KeyGroup>)> {
    let mut out: Vec<(String, Lock, Vec<KeyGroup>)> = Vec::new();
    for (peg, lock) in of_scenario(scenario) {
        let key = lock.coins.split("'s ").last().unwrap_or(&lock.coins).to_owned();
        if out
            .iter()
            .any(|(p, l, _)| *p == peg && l.coins.split("'s ").last() == Some(key.as_str()))
        {
            continue;
        }
        let groups = scenario
            .pegs
            .iter()
            .find(|p| p.name == peg)
            .map(|p| p.spec.key_groups())
            .unwrap_or_default();
        out.push((peg, lock, groups));
    }
    out
}

/// The scenario's users.
pub fn users(scenario: &Scenario) -> BTreeSet<String> {
    let keys = KeyBook::new(&bitcoin::secp256k1::Secp256k1::new(), scenario);
    keys.users().map(str::to_owned).collect()
}

/// Explains every peg of `scenario`.
pub fn explain(scenario: &Scenario) -> Vec<PegTrust> {
    let users = users(scenario);
    let classes = classes_of(scenario);
    scenario
        .pegs
        .iter()
        .map(|peg| {
            let groups = peg.spec.key_groups();
            let classes: Vec<Class> = classes
                .iter()
                .filter(|(p, _, _)| *p == peg.name)
                .map(|(_, lock, _)| class(lock, &users, &groups))
                .collect();
            let custody = grades::custody_grade_with(&classes, peg.spec.presigners());
            let committee = grades::committee(&classes, &groups);
            PegTrust {
                peg: peg.name.clone(),
                kind: peg.spec.family().kind(),
                classes,
                groups,
                declared: peg.spec.declared_trust(),
                custody,
                committee,
            }
        })
        .collect()
}

/// `explain` in words, for a terminal.
pub fn render(trust: &[PegTrust]) -> String {
    let mut out = String::new();
    for peg in trust {
        out.push_str(&format!("peg {} ({})\n", peg.peg, peg.kind));
        for c in &peg.classes {
            out.push_str(&format!("  {} [{}]\n", c.coins, c.kind));
            if c.steal.is_empty() {
                out.push_str("    steal:    nobody without the owner\n");
            }
            for w in &c.steal {
                out.push_str(&format!(
                    "    steal:    {} ({} signer(s); delay: {})\n",
                    w.holders.join(" + "),
                    w.signers,
                    w.delay
                ));
            }
            match &c.freeze {
                Some(w) => out.push_str(&format!(
                    "    freeze:   {} refusing ({} signer(s))\n",
                    w.holders.join(" + "),
                    w.signers
                )),
                None if c.exit.is_some() => {
                    out.push_str("    freeze:   nobody, past the owner's exit\n")
                }
                None => out.push_str("    freeze:   nobody can\n"),
            }
            match &c.exit {
                Some(w) if w.delay == "none" => out.push_str(&format!(
                    "    exit:     {} alone, at any time\n",
                    w.holders.join(" + ")
                )),
                Some(w) => out.push_str(&format!(
                    "    exit:     {} alone, after {}\n",
                    w.holders.join(" + "),
                    w.delay
                )),
                None => out.push_str("    exit:     none: the owner cannot leave alone\n"),
            }
            for w in &c.recovery {
                out.push_str(&format!(
                    "    recovery: {} after {}\n",
                    w.holders.join(" + "),
                    w.delay
                ));
            }
            out.push_str(match c.read_back {
                Some(true) => "    scripts:  read back from their bytes: as stated\n",
                Some(false) => "    scripts:  read back from their bytes: NOT as stated\n",
                None => "    scripts:  not recognized from their bytes\n",
            });
        }
        for g in &peg.groups {
            out.push_str(&format!(
                "  declared: {} is {} of {} ({}); the script shows one key\n",
                g.holder, g.threshold, g.members, g.scheme
            ));
        }
        for d in &peg.declared {
            out.push_str(&format!("  declared: {d}\n"));
        }
        out.push_str(&format!(
            "  BitcoinLayers-style custody: {} — {}\n",
            peg.custody.grade, peg.custody.why
        ));
        if let Some(c) = &peg.committee {
            out.push_str(&format!(
                "  L2BEAT-style committee (an analogy): {} — {}\n",
                c.grade, c.why
            ));
        }
    }
    out
}
