//! Reading a step's `expect` table: generic keys here, quantities declared by the families.
//! An expectation that checks nothing, or does not apply to what it names, is refused.

use std::collections::HashMap;

use toml::{Spanned, de::DeValue};

use super::{
    diagnostic::suggest,
    model::{Action, Expectation, Peg},
    reader::require_tx,
    spans::Seg,
    validator::{RoleName, Validator, key},
};
use crate::{
    RejectReason, families,
    family::{Family, Per},
    run::{AWAIT_STALLS, EXEC_REFUSALS, GENERIC_STALLS},
};

/// The generic keys of `expect`, with what they check.
pub(crate) const GENERIC_EXPECT: &[(&str, &str)] = &[
    (
        "accepted",
        "Bitcoin Core accepted the step's transaction (or the model its non-Bitcoin step)",
    ),
    (
        "rejected",
        "Bitcoin Core refused the step's transaction for this reason: its token, and for a script failure the script error in parentheses",
    ),
    ("refused", "the modelled side refused the step with this code (one of its family's)"),
    ("stalled", "the step could not be made, for this reason (a quorum offline, funds missing)"),
    ("confirmations", "the named transactions have exactly these confirmations: { dep1 = 6 }"),
    (
        "balance",
        "the users' wallets hold exactly this (confirmed plus unconfirmed): { alice = \"0.9 BTC\" }",
    ),
    (
        "address_balance",
        "the confirmed outputs of these regtest addresses or output descriptors hold exactly this (Core's scantxoutset): { \"bcrt1q...\" = \"0.4 BTC\" }",
    ),
    (
        "unspent",
        "these outputs of named transactions are unspent (true) or spent, in a block or the mempool (false): { \"dep1:0\" = false }",
    ),
];

pub(crate) fn expectations<'a>(
    v: &mut Validator<'a>,
    value: &Spanned<DeValue<'a>>,
    base: &[Seg],
    action: &Action,
    family: Option<&'static dyn Family>,
    pegs: &[Peg],
    by_name: &HashMap<String, usize>,
) -> Vec<Expectation> {
    let at = |k: &str| {
        let mut p = base.to_vec();
        p.push(key(k));
        p
    };
    let DeValue::Table(table) = value.get_ref() else {
        v.report(base, "`expect` is a table: expect = { ... }", None);
        return Vec::new();
    };
    if table.is_empty() {
        v.report(
            base,
            "an empty `expect` checks nothing: say what must hold, or leave it out",
            None,
        );
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut outcomes = 0;
    for (k, item) in table {
        let k = k.get_ref().as_ref();
        let path = at(k);
        match k {
            "accepted" => {
                outcomes += 1;
                match item.get_ref() {
                    DeValue::Boolean(true) => out.push(Expectation::Accepted),
                    DeValue::Boolean(false) => v.report(
                        &path,
                        "`accepted = false` says nothing: write `rejected = \"<reason>\"` or `refused = \"<code>\"`",
                        None,
                    ),
                    _ => v.report(&path, "`accepted` is `true`", None),
                }
            }
            "rejected" | "refused" | "stalled" => {
                outcomes += 1;
                let Some(text) = string(v, item, &path) else { continue };
                match k {
                    "rejected" => {
                        if action.tx_name().is_none() && action.judged() {
                            let message = format!(
                                "a `{}` step makes no Bitcoin transaction: Bitcoin Core has no say \
                                 in it; the model's refusals are `refused = \"<code>\"`",
                                action.keyword()
                            );
                            v.report(&path, message, None);
                            continue;
                        }
                        match RejectReason::expected(&text) {
                            Ok(_) => out.push(Expectation::Rejected(text)),
                            Err(message) => {
                                let help = family.and_then(|f| {
                                    f.refusals().iter().any(|c| c.code == text).then(|| {
                                        format!("`{text}` is the model's code: write `refused = \"{text}\"`")
                                    })
                                });
                                v.report(&path, message, help);
                            }
                        }
                    }
                    "refused" if matches!(action, Action::Exec { .. }) => {
                        let codes: Vec<&str> = EXEC_REFUSALS.iter().map(|c| c.code).collect();
                        if codes.contains(&text.as_str()) {
                            out.push(Expectation::Refused(text));
                        } else {
                            let message = format!(
                                "`{text}` is not how a program fails (codes: {})",
                                codes.join(", ")
                            );
                            v.report(&path, message, suggest(&text, codes.iter().copied()));
                        }
                    }
                    "refused" => {
                        let Some(family) = family else {
                            let message = format!(
                                "a `{}` step is not one of a peg's: no model can refuse it",
                                action.keyword()
                            );
                            v.report(&path, message, None);
                            continue;
                        };
                        if family.refusals().iter().any(|c| c.code == text) {
                            out.push(Expectation::Refused(text));
                        } else {
                            let codes: Vec<&str> =
                                family.refusals().iter().map(|c| c.code).collect();
                            let message = if codes.is_empty() {
                                format!("the {} model refuses nothing", family.kind())
                            } else {
                                format!(
                                    "`{text}` is not a refusal of the {} model (its codes: {})",
                                    family.kind(),
                                    codes.join(", ")
                                )
                            };
                            v.report(&path, message, suggest(&text, codes.iter().copied()));
                        }
                    }
                    _ => {
                        let mut codes: Vec<&str> = GENERIC_STALLS.iter().map(|c| c.code).collect();
                        if matches!(action, Action::Await { .. }) {
                            codes = AWAIT_STALLS.iter().map(|c| c.code).collect();
                        }
                        if let Some(f) = family {
                            codes.extend(f.stalls().iter().map(|c| c.code));
                        }
                        if codes.contains(&text.as_str()) {
                            out.push(Expectation::Stalled(text));
                        } else {
                            let message = format!(
                                "`{text}` is not a way a `{}` step stalls (codes: {})",
                                action.keyword(),
                                codes.join(", ")
                            );
                            v.report(&path, message, suggest(&text, codes.iter().copied()));
                        }
                    }
                }
            }
            "confirmations" => {
                for (name, count, p) in entries(v, item, &path) {
                    let Some(count) = count_of(v, count, &p) else { continue };
                    if require_tx(v, &p, &name) {
                        out.push(Expectation::Confirmations { tx: name, count });
                    }
                }
            }
            "balance" => {
                for (name, amount, p) in entries(v, item, &path) {
                    let Some(text) = string(v, amount, &p) else { continue };
                    if v.check_actor(&p, &name, Some(RoleName::User))
                        && let Some(amount) = v.amount(&p, &text)
                    {
                        out.push(Expectation::Balance { actor: name, amount });
                    }
                }
            }
            "address_balance" => {
                for (name, amount, p) in entries(v, item, &path) {
                    let Some(text) = string(v, amount, &p) else { continue };
                    if let (Some(of), Some(amount)) =
                        (descriptor(v, &p, &name), v.amount(&p, &text))
                    {
                        out.push(Expectation::ScanBalance { of, amount });
                    }
                }
            }
            "unspent" => {
                for (name, flag, p) in entries(v, item, &path) {
                    let DeValue::Boolean(unspent) = flag.get_ref() else {
                        v.report(&p, "`true` (unspent) or `false` (spent)", None);
                        continue;
                    };
                    if let Some((tx, vout)) = outpoint(v, &p, &name) {
                        out.push(Expectation::Unspent { tx, vout, unspent: *unspent });
                    }
                }
            }
            other => match families::quantity(other) {
                Some(quantity) => {
                    for (name, amount, p) in entries(v, item, &path) {
                        let Some(text) = string(v, amount, &p) else { continue };
                        let applies = match quantity.per {
                            Per::Peg => match by_name.get(&name) {
                                Some(&i) => {
                                    let f = pegs[i].spec.family();
                                    let ok = f.quantities().iter().any(|q| q.key == other);
                                    if !ok {
                                        let message = format!(
                                            "`{other}` does not apply to `{name}`, a {} peg ({})",
                                            f.kind(),
                                            quantity.about
                                        );
                                        v.report(&p, message, None);
                                    }
                                    ok
                                }
                                None => {
                                    let help = suggest(&name, pegs.iter().map(|p| p.name.as_str()));
                                    v.report(&p, format!("unknown peg `{name}`"), help);
                                    false
                                }
                            },
                            Per::Holder => {
                                let measured = pegs.iter().any(|p| {
                                    p.spec.family().quantities().iter().any(|q| q.key == other)
                                });
                                if !measured {
                                    let message = format!(
                                        "no peg of this scenario measures `{other}` ({}): it would check nothing",
                                        quantity.about
                                    );
                                    v.report(&p, message, None);
                                }
                                v.check_actor(&p, &name, None) && measured
                            }
                        };
                        if applies && let Some(amount) = v.amount(&p, &text) {
                            out.push(Expectation::Quantity {
                                key: quantity.key,
                                per: quantity.per,
                                of: name,
                                amount,
                            });
                        }
                    }
                }
                None => {
                    let known = GENERIC_EXPECT
                        .iter()
                        .map(|(k, _)| *k)
                        .chain(families::quantities().map(|q| q.key));
                    let help = suggest(other, known);
                    v.report(&path, format!("unknown expectation `{other}`"), help);
                }
            },
        }
    }
    if outcomes > 1 {
        v.report(base, "expect one outcome: `accepted`, `rejected`, `refused` or `stalled`", None);
    }
    if outcomes > 0 && !action.judged() {
        let message = format!(
            "a `{}` step has no outcome to be accepted, rejected, refused or stalled",
            action.keyword()
        );
        v.report(base, message, None);
    }
    out
}

fn string(v: &mut Validator<'_>, item: &Spanned<DeValue<'_>>, path: &[Seg]) -> Option<String> {
    match item.get_ref() {
        DeValue::String(s) if !s.trim().is_empty() => Some(s.to_string()),
        DeValue::String(_) => {
            v.report(path, "an empty string says nothing", None);
            None
        }
        _ => {
            v.report(path, "expected a string", None);
            None
        }
    }
}

fn count_of(v: &mut Validator<'_>, item: &Spanned<DeValue<'_>>, path: &[Seg]) -> Option<u32> {
    match item.get_ref() {
        DeValue::Integer(n) => match n.as_str().parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                v.report(path, format!("{} is not a number of confirmations", n.as_str()), None);
                None
            }
        },
        _ => {
            v.report(path, "expected a number of confirmations", None);
            None
        }
    }
}

/// The entries of a `{ name = value }` table, each with its path; an empty or non-table value
/// is reported.
fn entries<'t, 'a>(
    v: &mut Validator<'a>,
    item: &'t Spanned<DeValue<'a>>,
    path: &[Seg],
) -> Vec<(String, &'t Spanned<DeValue<'a>>, Vec<Seg>)> {
    match item.get_ref() {
        DeValue::Table(t) if !t.is_empty() => t
            .iter()
            .map(|(name, value)| {
                let mut p = path.to_vec();
                p.push(key(name.get_ref()));
                (name.get_ref().to_string(), value, p)
            })
            .collect(),
        DeValue::Table(_) => {
            v.report(path, "an empty table checks nothing", None);
            Vec::new()
        }
        _ => {
            v.report(path, "expected a table: { name = value }", None);
            Vec::new()
        }
    }
}

/// A regtest address (as `addr(...)`) or an output descriptor `scantxoutset` takes.
pub(crate) fn descriptor(v: &mut Validator<'_>, path: &[Seg], text: &str) -> Option<String> {
    use std::str::FromStr;
    if text.contains('(') {
        let body = text.split('#').next().unwrap_or(text);
        return match miniscript::Descriptor::<miniscript::DescriptorPublicKey>::from_str(body) {
            Ok(_) => Some(text.to_owned()),
            Err(e) => {
                v.report(path, format!("`{text}` is not an output descriptor: {e}"), None);
                None
            }
        };
    }
    match text.parse::<bitcoin::Address<_>>().map(|a| a.require_network(bitcoin::Network::Regtest))
    {
        Ok(Ok(address)) => Some(format!("addr({address})")),
        Ok(Err(_)) => {
            v.report(
                path,
                format!("`{text}` is not a regtest address: peglab only looks at regtest"),
                None,
            );
            None
        }
        Err(_) => {
            v.report(
                path,
                format!("`{text}` is neither a regtest address nor an output descriptor"),
                None,
            );
            None
        }
    }
}

/// `<transaction name>:<output index>`, the transaction made before this step.
pub(crate) fn outpoint(v: &mut Validator<'_>, path: &[Seg], text: &str) -> Option<(String, u32)> {
    let Some((tx, vout)) = text.rsplit_once(':') else {
        v.report(path, format!("`{text}` is not `<transaction>:<output>`, e.g. \"dep1:0\""), None);
        return None;
    };
    let Ok(vout) = vout.parse::<u32>() else {
        v.report(path, format!("`{vout}` is not an output index"), None);
        return None;
    };
    require_tx(v, path, tx).then(|| (tx.to_owned(), vout))
}
