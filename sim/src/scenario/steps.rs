//! Reading `[[step]]`: the generic verbs here, every other verb by the family of the peg it
//! names. One action per step; every name defined before it is used.

use std::collections::HashSet;

use schemars::JsonSchema;
use serde::Deserialize;
use toml::{Spanned, de::DeValue};

use super::{
    diagnostic::suggest,
    expect::expectations,
    limits,
    model::{Action, Condition, PegAction, Step},
    pegs::Pegs,
    reader::{Reader, require_tx},
    spans::Seg,
    units::parse_duration,
    validator::{Validator, key},
};
use crate::{NodeId, chain::START_HEIGHT, families};

/// The keys every step may have besides its verb.
pub(crate) const STEP_KEYS: &[&str] = &["node", "note", "expect"];

/// The verbs of the generic core, with what they do.
pub(crate) const GENERIC_VERBS: &[(&str, &str)] = &[
    ("mine", "mine blocks on the step's node: `mine = 6`"),
    (
        "advance_time",
        "move every node's clock (and mine 6 blocks so median-time-past follows): `advance_time = \"2h\"`",
    ),
    (
        "reorg",
        "replace the last blocks with a branch one longer: `reorg = { depth = 2, without = \"dep1\" }`",
    ),
    (
        "partition",
        "split the nodes into groups that cannot see each other: `partition = [[0], [1]]`",
    ),
    ("heal", "reconnect every node: `heal = true`"),
    ("offline", "signers stop signing: `offline = [\"carol\"]`"),
    ("online", "signers sign again: `online = [\"carol\"]`"),
    (
        "pay",
        "a user pays from its wallet: `pay = { from = \"alice\", to = \"bob\", amount = \"0.1 BTC\" }`",
    ),
    (
        "exec",
        "run your own program beside the lab, with its connection details and keys in the environment: `exec = { cmd = [\"./bridge.sh\"], env = { TO = \"{address:carol}\" }, timeout = \"30s\" }`",
    ),
    (
        "await",
        "mine one block at a time until an address holds an amount or an output is spent: `await = { address = \"bcrt1q...\", amount = \"0.4 BTC\", blocks = 10 }`",
    ),
];

/// `exec = { cmd, env, timeout }`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct RawExec {
    /// The program and its arguments, run in the scenario file's folder.
    pub(crate) cmd: Vec<String>,
    /// Extra environment variables; a value may name `{address:<actor>}` (a fresh address of
    /// a user's wallet, or a signer's P2WPKH).
    pub(crate) env: Option<std::collections::BTreeMap<String, String>>,
    /// When the program is killed (default "60s"; at most "1h").
    pub(crate) timeout: Option<String>,
}

/// `await = { address | descriptor | spent, amount, blocks }`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct RawAwait {
    /// A regtest address whose confirmed outputs must hold `amount`.
    pub(crate) address: Option<String>,
    /// An output descriptor whose confirmed outputs must hold `amount`.
    pub(crate) descriptor: Option<String>,
    /// How much (with `address` or `descriptor`).
    pub(crate) amount: Option<String>,
    /// `<transaction>:<output>` that must be spent.
    pub(crate) spent: Option<String>,
    /// The most blocks to mine (default 10; 0 checks without mining).
    pub(crate) blocks: Option<u32>,
}

/// The longest an `exec` may run.
const MAX_EXEC_SECS: u32 = 3600;
/// The default `exec` timeout.
const DEFAULT_EXEC_SECS: u32 = 60;

/// `reorg = { depth, without }`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct RawReorg {
    /// How many blocks the new branch replaces (it is one longer).
    pub(crate) depth: u32,
    /// A transaction the new branch leaves out (it returns to the mempool).
    pub(crate) without: Option<String>,
}

/// `pay = { from, to, amount, name }`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct RawPay {
    /// The paying user.
    pub(crate) from: String,
    /// An actor or a regtest address.
    pub(crate) to: String,
    /// How much, e.g. "0.1 BTC".
    pub(crate) amount: String,
    /// The transaction's name (default `pay:<step number>`).
    pub(crate) name: Option<String>,
}

/// What the steps so far imply about each node's chain, for limits `check` can enforce.
struct Progress {
    /// A lower bound of each node's height.
    heights: Vec<u64>,
    blocks: u64,
    advanced: u64,
}

/// Reads every step.
pub(crate) fn steps<'a>(
    v: &mut Validator<'a>,
    items: &[Spanned<DeValue<'a>>],
    read: &Pegs,
    nodes: usize,
) -> Vec<Step> {
    let (pegs, by_name) = (read.pegs.as_slice(), &read.by_name);
    let mut progress =
        Progress { heights: vec![u64::from(START_HEIGHT); nodes], blocks: 0, advanced: 0 };
    let mut steps = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let base = vec![key("step"), Seg::Index(i)];
        let DeValue::Table(table) = item.get_ref() else {
            v.report(&base, "a step is a table: [[step]]", None);
            continue;
        };
        let line = v.line_of(&base);
        let verbs: Vec<(&str, &Spanned<DeValue<'a>>)> = table
            .iter()
            .filter(|(k, _)| !STEP_KEYS.contains(&k.get_ref().as_ref()))
            .map(|(k, value)| (k.get_ref().as_ref(), value))
            .collect();
        if verbs.len() > 1 {
            let names: Vec<&str> = verbs.iter().map(|(k, _)| *k).collect();
            let message = format!("a step does one thing; this one has {}", names.join(" and "));
            v.report(&base, message, None);
            continue;
        }
        let node = match table.get("node").map(|n| n.get_ref()) {
            None => 0,
            Some(DeValue::Integer(n)) => match n.as_str().parse::<usize>() {
                Ok(n) if n < nodes => n,
                _ => {
                    let message = format!(
                        "node {} does not exist: the scenario runs {nodes} node(s), numbered from 0",
                        n.as_str()
                    );
                    v.report(&[key("step"), Seg::Index(i), key("node")], message, None);
                    0
                }
            },
            Some(_) => {
                v.report(&[key("step"), Seg::Index(i), key("node")], "`node` is a number", None);
                0
            }
        };
        let note = match table.get("note").map(|n| n.get_ref()) {
            None => None,
            Some(DeValue::String(s)) => Some(s.to_string()),
            Some(_) => {
                v.report(&[key("step"), Seg::Index(i), key("note")], "`note` is a string", None);
                None
            }
        };
        let action = match verbs.first() {
            None => {
                if !table.contains_key("expect") {
                    let message =
                        "an empty step: give it an action (`mine`, `pay`, ...) or an `expect`";
                    v.report(&base, message, None);
                    continue;
                }
                Some(Action::Check)
            }
            Some((verb, value)) => {
                let mut at = base.clone();
                at.push(key(verb));
                match generic(v, verb, value, &at, i, nodes, node, &mut progress) {
                    Some(action) => action,
                    None => family_step(v, verb, value, at, i, read),
                }
            }
        };
        let Some(action) = action else { continue };
        let family = match &action {
            Action::Peg(p) => by_name.get(&p.peg).map(|&i| pegs[i].spec.family()),
            _ => None,
        };
        let expect = match table.get("expect") {
            Some(e) => {
                let mut at = base.clone();
                at.push(key("expect"));
                expectations(v, e, &at, &action, family, pegs, by_name)
            }
            None => Vec::new(),
        };
        steps.push(Step { index: i + 1, line, node: NodeId(node), action, expect, note });
    }
    steps
}

/// A generic verb: `Some(None)` when it is one but has problems, `None` when it is no generic
/// verb at all.
#[expect(clippy::too_many_arguments, reason = "the step's parts, read once")]
fn generic<'a>(
    v: &mut Validator<'a>,
    verb: &str,
    value: &Spanned<DeValue<'a>>,
    at: &[Seg],
    index: usize,
    nodes: usize,
    node: usize,
    progress: &mut Progress,
) -> Option<Option<Action>> {
    use super::typed::read;
    let what = format!("step `{verb}`");
    let action = match verb {
        "mine" => {
            let Some(n): Option<u32> = read(v, value, at, &what) else { return Some(None) };
            if n == 0 || n > limits::MAX_MINE {
                let message = format!("mine 1 to {} blocks in one step, not {n}", limits::MAX_MINE);
                v.report(at, message, None);
                return Some(None);
            }
            progress.heights[node] += u64::from(n);
            progress.blocks += u64::from(n);
            if progress.blocks > limits::MAX_TOTAL_BLOCKS {
                let message = format!(
                    "the scenario mines more than {} blocks in all",
                    limits::MAX_TOTAL_BLOCKS
                );
                v.report(at, message, None);
            }
            Action::Mine(n)
        }
        "advance_time" => {
            let Some(text): Option<String> = read(v, value, at, &what) else { return Some(None) };
            let Some(secs) = parse_duration(&text).filter(|s| *s > 0) else {
                let help = Some("write e.g. \"90s\", \"30m\", \"2h\" or \"3d\"".into());
                v.report(at, format!("`{text}` is not a duration"), help);
                return Some(None);
            };
            progress.advanced += u64::from(secs);
            progress.heights[node] += 6;
            if progress.advanced > limits::MAX_TOTAL_ADVANCE {
                let message = format!(
                    "the scenario moves the clock {} s in all, past the {} s a lab allows (block \
                     times end in 2106)",
                    progress.advanced,
                    limits::MAX_TOTAL_ADVANCE
                );
                v.report(at, message, None);
            }
            Action::AdvanceTime(secs)
        }
        "reorg" => {
            let Some(r): Option<RawReorg> = read(v, value, at, &what) else { return Some(None) };
            let height = progress.heights[node];
            let max = height.min(u64::from(limits::MAX_REORG));
            if r.depth == 0 || u64::from(r.depth) > max {
                let message = format!(
                    "a reorg replaces 1 to {max} blocks here (node {node} has at least {height} \
                     blocks; at most {} in one step), not {}",
                    limits::MAX_REORG,
                    r.depth
                );
                v.report(at, message, None);
            }
            if let Some(tx) = &r.without {
                require_tx(v, at, tx);
            }
            progress.heights[node] += 1;
            Action::Reorg { depth: r.depth, without: r.without }
        }
        "partition" => {
            let Some(groups): Option<Vec<Vec<u64>>> = read(v, value, at, &what) else {
                return Some(None);
            };
            let mut seen = HashSet::new();
            for n in groups.iter().flatten() {
                if *n >= nodes as u64 {
                    let message =
                        format!("node {n} does not exist: the scenario runs {nodes} node(s)");
                    v.report(at, message, None);
                } else if !seen.insert(*n) {
                    v.report(at, format!("node {n} is named in two partition groups"), None);
                }
            }
            let groups = groups
                .into_iter()
                .map(|g| g.into_iter().map(|n| NodeId(n as usize)).collect())
                .collect();
            Action::Partition(groups)
        }
        "heal" => {
            let Some(heal): Option<bool> = read(v, value, at, &what) else { return Some(None) };
            if !heal {
                v.report(at, "`heal = false` does nothing: leave the step out", None);
            }
            Action::Heal
        }
        "offline" | "online" => {
            let Some(who): Option<Vec<String>> = read(v, value, at, &what) else {
                return Some(None);
            };
            if who.is_empty() {
                v.report(at, format!("`{verb} = []` names nobody"), None);
            }
            for w in &who {
                v.check_actor(at, w, None);
            }
            if verb == "offline" { Action::Offline(who) } else { Action::Online(who) }
        }
        "pay" => {
            let Some(p): Option<RawPay> = read(v, value, at, &what) else { return Some(None) };
            let mut reader = Reader::new(v, value.clone(), at.to_vec(), what, index, String::new());
            reader.payer("from", &p.from);
            let to = reader.destination("to", &p.to);
            let amount = reader.amount("amount", &p.amount).unwrap_or_default();
            let name = reader.name_tx("name", "pay", p.name.as_deref());
            Action::Pay { from: p.from, to, amount, name }
        }
        "exec" => {
            let Some(e): Option<RawExec> = read(v, value, at, &what) else { return Some(None) };
            if e.cmd.is_empty() || e.cmd[0].trim().is_empty() {
                v.report(at, "`cmd` names a program: cmd = [\"./bridge.sh\", \"--flag\"]", None);
            }
            let timeout = match e.timeout.as_deref() {
                None => DEFAULT_EXEC_SECS,
                Some(text) => {
                    match parse_duration(text).filter(|s| (1..=MAX_EXEC_SECS).contains(s)) {
                        Some(secs) => secs,
                        None => {
                            let message =
                                format!("timeout `{text}`: a duration of 1 s to 1 h, e.g. \"30s\"");
                            v.report(at, message, None);
                            DEFAULT_EXEC_SECS
                        }
                    }
                }
            };
            let env: Vec<(String, String)> = e.env.unwrap_or_default().into_iter().collect();
            for (k, value) in &env {
                if k.is_empty() || k.contains('=') || k.contains('\0') || k.starts_with("PEGLAB_") {
                    let message =
                        format!("`{k}` cannot be set: names are plain, and PEGLAB_ is the lab's");
                    v.report(at, message, None);
                }
                for name in address_refs(value) {
                    v.check_actor(at, &name, None);
                }
            }
            Action::Exec { cmd: e.cmd, env, timeout }
        }
        "await" => {
            let Some(a): Option<RawAwait> = read(v, value, at, &what) else { return Some(None) };
            let blocks = a.blocks.unwrap_or(10);
            if blocks > limits::MAX_MINE {
                v.report(at, format!("await mines at most {} blocks", limits::MAX_MINE), None);
            }
            progress.heights[node] += u64::from(blocks);
            progress.blocks += u64::from(blocks);
            let until = match (a.address, a.descriptor, a.spent) {
                (Some(text), None, None) | (None, Some(text), None) => {
                    let of = super::expect::descriptor(v, at, &text);
                    let amount = match a.amount.as_deref() {
                        Some(amount) => v.amount(at, amount),
                        None => {
                            v.report(at, "say how much the address must hold: `amount`", None);
                            None
                        }
                    };
                    match (of, amount) {
                        (Some(of), Some(amount)) => Condition::Balance { of, amount },
                        _ => return Some(None),
                    }
                }
                (None, None, Some(text)) => {
                    if a.amount.is_some() {
                        v.report(at, "`amount` goes with `address` or `descriptor`", None);
                    }
                    match super::expect::outpoint(v, at, &text) {
                        Some((tx, vout)) => Condition::Spent { tx, vout },
                        None => return Some(None),
                    }
                }
                _ => {
                    v.report(at, "await one thing: `address`, `descriptor` or `spent`", None);
                    return Some(None);
                }
            };
            Action::Await { until, blocks }
        }
        _ => return None,
    };
    Some(Some(action))
}

/// The actors named by `{address:<actor>}` in an `exec` environment value.
pub(crate) fn address_refs(value: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find("{address:") {
        let after = &rest[start + "{address:".len()..];
        let Some(end) = after.find('}') else { break };
        names.push(after[..end].to_owned());
        rest = &after[end + 1..];
    }
    names
}

/// A family's verb, read by the family of the peg it names.
fn family_step<'a>(
    v: &mut Validator<'a>,
    verb: &str,
    value: &Spanned<DeValue<'a>>,
    at: Vec<Seg>,
    index: usize,
    read: &Pegs,
) -> Option<Action> {
    let (pegs, by_name) = (read.pegs.as_slice(), &read.by_name);
    let Some(verb) = families::verb(verb) else {
        let all = families::all_verbs();
        let help = suggest(verb, GENERIC_VERBS.iter().map(|(v, _)| *v).chain(all.iter().copied()));
        v.report(&at, format!("unknown step `{verb}`"), help);
        return None;
    };
    let DeValue::Table(table) = value.get_ref() else {
        v.report(&at, format!("`{verb}` takes a table: {verb} = {{ ... }}"), None);
        return None;
    };
    let with_verb: Vec<usize> = pegs
        .iter()
        .enumerate()
        .filter(|(_, p)| p.spec.family().verbs().iter().any(|x| x.name == verb))
        .map(|(i, _)| i)
        .collect();
    let peg_index = match table.get("peg").map(|p| p.get_ref()) {
        Some(DeValue::String(name)) => match by_name.get(name.as_ref()) {
            Some(&i) => i,
            // The peg had problems of its own, reported already.
            None if read.broken.contains(name.as_ref()) => return None,
            None => {
                let help = suggest(name, pegs.iter().map(|p| p.name.as_str()));
                let mut p = at.clone();
                p.push(key("peg"));
                v.report(&p, format!("unknown peg `{name}`"), help);
                return None;
            }
        },
        Some(_) => {
            let mut p = at.clone();
            p.push(key("peg"));
            v.report(&p, "`peg` is the name of a peg", None);
            return None;
        }
        None if !read.broken.is_empty() && with_verb.len() != 1 => return None,
        None if pegs.len() == 1 => 0,
        None if with_verb.len() == 1 => with_verb[0],
        None if pegs.is_empty() => {
            v.report(&at, format!("`{verb}` is a peg's step, and the scenario has no peg"), None);
            return None;
        }
        None => {
            let message =
                format!("name the peg (`peg = \"...\"`): the scenario has {}", pegs.len());
            v.report(&at, message, None);
            return None;
        }
    };
    let peg = &pegs[peg_index];
    let family = peg.spec.family();
    if !family.verbs().iter().any(|x| x.name == verb) {
        let own: Vec<&str> = family.verbs().iter().map(|x| x.name).collect();
        let message = format!(
            "`{verb}` is not a step of `{}` (kind `{}`; its steps: {})",
            peg.name,
            family.kind(),
            own.join(", ")
        );
        v.report(&at, message, suggest(verb, own.iter().copied()));
        return None;
    }
    let mut args = table.clone();
    args.remove("peg");
    let args = Spanned::new(value.span(), DeValue::Table(args));
    let what = format!("step `{verb}`");
    let mut reader = Reader::new(v, args, at, what, index, peg.name.clone());
    let spec = peg.spec.read_step(verb, &mut reader)?;
    Some(Action::Peg(PegAction { peg: peg.name.clone(), verb, spec }))
}
