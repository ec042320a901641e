//! Reading `[[peg]]`: `name` and `kind` first, then the rest of the table as that family's
//! own typed parameters.

use std::collections::{HashMap, HashSet};

use toml::{Spanned, de::DeValue};

use super::{
    diagnostic::suggest,
    model::Peg,
    reader::Reader,
    spans::Seg,
    validator::{Validator, key},
};
use crate::families;

/// Most pegs one file may define.
const MAX_PEGS: usize = 100;

/// Reads every peg; returns them with an index by name.
/// The pegs read, an index by name, and the names of pegs that had problems (steps that name
/// them are not reported again).
pub(crate) struct Pegs {
    pub(crate) pegs: Vec<Peg>,
    pub(crate) by_name: HashMap<String, usize>,
    pub(crate) broken: HashSet<String>,
}

pub(crate) fn pegs<'a>(v: &mut Validator<'a>, items: &[Spanned<DeValue<'a>>]) -> Pegs {
    let mut pegs: Vec<Peg> = Vec::new();
    let mut index = HashMap::new();
    let mut broken = HashSet::new();
    if items.len() > MAX_PEGS {
        v.report(&[key("peg")], format!("a scenario has at most {MAX_PEGS} pegs"), None);
        return Pegs { pegs, by_name: index, broken };
    }
    for (i, item) in items.iter().enumerate() {
        let path = vec![key("peg"), Seg::Index(i)];
        let at = |k: &str| vec![key("peg"), Seg::Index(i), key(k)];
        let DeValue::Table(table) = item.get_ref() else {
            v.report(&path, "a peg is a table: [[peg]]", None);
            broken.insert(format!("peg{}", i + 1));
            continue;
        };
        let name = match table.get("name").map(|n| n.get_ref()) {
            Some(DeValue::String(s)) if !s.trim().is_empty() => s.to_string(),
            Some(_) => {
                v.report(&at("name"), "a peg's name is a non-empty string", None);
                continue;
            }
            None if items.len() == 1 => "peg".to_owned(),
            None => {
                v.report(&path, "with several pegs, each needs a `name`", None);
                format!("peg{}", i + 1)
            }
        };
        if index.contains_key(&name) {
            v.report(&at("name"), format!("two pegs are called `{name}`"), None);
        }
        let kinds = || families::ALL.iter().map(|f| f.kind());
        broken.insert(name.clone());
        let family = match table.get("kind").map(|k| k.get_ref()) {
            Some(DeValue::String(kind)) => match families::find(kind) {
                Some(family) => family,
                None => {
                    let known: Vec<&str> = kinds().collect();
                    let message =
                        format!("unknown peg kind `{kind}`; known kinds: {}", known.join(", "));
                    v.report(&at("kind"), message, suggest(kind, kinds()));
                    continue;
                }
            },
            Some(_) => {
                v.report(&at("kind"), "`kind` is a string: the peg's family", None);
                continue;
            }
            None => {
                let known: Vec<&str> = kinds().collect();
                let message = format!("a peg needs a `kind`: one of {}", known.join(", "));
                v.report(&path, message, None);
                continue;
            }
        };
        let mut rest = table.clone();
        rest.remove("name");
        rest.remove("kind");
        let rest = Spanned::new(item.span(), DeValue::Table(rest));
        let what = format!("kind `{}`", family.kind());
        let mut reader = Reader::new(v, rest, path, what, 0, name.clone());
        if let Some(spec) = family.read_peg(&mut reader) {
            broken.remove(&name);
            index.insert(name.clone(), pegs.len());
            pegs.push(Peg { name, spec });
        }
    }
    Pegs { pegs, by_name: index, broken }
}
