//! Scenario files: the format (see `scenarios/SCHEMA.md`), parsed in two phases.
//!
//! Phase one reads the TOML into a strict serde mirror ([`raw`]), collecting every unknown key
//! at once; phase two ([`validate`]) resolves names and checks that every parameter is
//! possible, again collecting every problem. Each problem is a [`Diagnostic`] with file, line,
//! column and key path.

mod diagnostic;
mod model;
mod raw;
mod spans;
mod validate;
mod validate_babylon;
mod validate_core;
mod validate_expect;
mod validate_liquid;
mod validate_powpeg;
mod validate_spv;
mod validate_steps;
mod validate_steps_spv;
mod validate_steps_staking;

pub use diagnostic::Diagnostic;
pub use model::*;

use diagnostic::{SourceMap, suggest};
use spans::{Seg, from_ignored, path_at, render, span_of};
use toml::{
    Spanned,
    de::{DeTable, DeValue},
};

/// Phase one: reads the top level, then each actor, peg and step on its own, so that every
/// unknown key and every type error in every item is reported.
fn read_raw(
    root: &Spanned<DeTable<'_>>,
    source: &SourceMap<'_>,
    problems: &mut Vec<Diagnostic>,
) -> Option<raw::RawScenario> {
    let table = root.get_ref();
    let mut top = DeTable::new();
    let (mut actors, mut pegs, mut steps) = (Default::default(), Vec::new(), Vec::new());
    for (key, value) in table {
        let path = vec![Seg::Key(key.get_ref().to_string())];
        match (key.get_ref().as_ref(), value.get_ref()) {
            ("actors", DeValue::Table(t)) => {
                for (name, actor) in t {
                    let mut p = path.clone();
                    p.push(Seg::Key(name.get_ref().to_string()));
                    if let Some(a) = read(actor, p, table, source, problems) {
                        std::collections::BTreeMap::insert(
                            &mut actors,
                            name.get_ref().to_string(),
                            a,
                        );
                    }
                }
            }
            ("peg" | "step", DeValue::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let mut p = path.clone();
                    p.push(Seg::Index(i));
                    if key.get_ref() == "peg" {
                        pegs.extend(read(item, p, table, source, problems));
                    } else {
                        steps.extend(read(item, p, table, source, problems));
                    }
                }
            }
            ("actors" | "peg" | "step", _) => {
                let shape = if key.get_ref() == "actors" {
                    "a table: [actors]"
                } else {
                    "an array of tables: [[...]]"
                };
                problems.push(source.diagnostic(
                    Some(key.span()),
                    render(&path),
                    format!("must be {shape}"),
                ));
            }
            _ => {
                top.insert(key.clone(), value.clone());
            }
        }
    }
    let top = Spanned::new(root.span(), DeValue::Table(top));
    let top: raw::RawTop = read(&top, Vec::new(), table, source, problems)?;
    Some(raw::RawScenario { top, actors, peg: pegs, step: steps })
}

/// Deserializes one item, reporting its unknown keys and its first type error.
fn read<T: serde::de::DeserializeOwned>(
    value: &Spanned<DeValue<'_>>,
    prefix: Vec<Seg>,
    root: &DeTable<'_>,
    source: &SourceMap<'_>,
    problems: &mut Vec<Diagnostic>,
) -> Option<T> {
    let mut unknown = Vec::new();
    let parsed =
        serde_ignored::deserialize(toml::de::ValueDeserializer::from(value.clone()), |p| {
            unknown.push(from_ignored(&p))
        });
    for rel in unknown {
        let path: Vec<Seg> = prefix.iter().cloned().chain(rel).collect();
        let word = match path.last() {
            Some(Seg::Key(k)) => k.as_str(),
            _ => "",
        };
        let mut d =
            source.diagnostic(span_of(root, &path), render(&path), format!("unknown key `{word}`"));
        d.help = suggest(word, raw::KNOWN_KEYS.iter().copied());
        problems.push(d);
    }
    match parsed {
        Ok(v) => Some(v),
        Err(e) => {
            let path = match (e.span(), value.get_ref()) {
                (Some(span), DeValue::Table(t)) => {
                    prefix.iter().cloned().chain(path_at(t, span.start)).collect()
                }
                _ => prefix,
            };
            let message = e.message().trim().replace('\n', "; ");
            problems.push(source.diagnostic(e.span(), render(&path), message));
            None
        }
    }
}

/// The schema version this peglab reads.
pub const SCHEMA_VERSION: i64 = 1;

/// Parses and validates one scenario file. `file` is how the user named it (for messages);
/// `seed` overrides the file's seed.
pub fn load(file: &str, text: &str, seed: Option<&str>) -> Result<Scenario, Vec<Diagnostic>> {
    let source = SourceMap { file, text };
    let root = match DeTable::parse(text) {
        Ok(root) => root,
        Err(e) => {
            let message = e.message().trim().replace('\n', "; ");
            return Err(vec![source.diagnostic(e.span(), "", format!("invalid TOML: {message}"))]);
        }
    };
    let table = root.get_ref();

    // The schema version first: a file of another version may mean other things by its keys.
    match table.get("schema").map(|v| v.get_ref()) {
        Some(DeValue::Integer(n)) if n.as_str().parse::<i64>().ok() == Some(SCHEMA_VERSION) => {}
        Some(_) => {
            let span = span_of(table, &[Seg::Key("schema".into())]);
            return Err(vec![source.diagnostic(
                span,
                "schema",
                format!("this peglab reads schema {SCHEMA_VERSION}; the file says otherwise"),
            )]);
        }
        None => {
            return Err(vec![source.diagnostic(
                None,
                "",
                format!("missing `schema = {SCHEMA_VERSION}` (the format version, read first)"),
            )]);
        }
    }

    let mut problems = Vec::new();
    let raw = read_raw(&root, &source, &mut problems);
    let Some(raw) = raw.filter(|_| problems.is_empty()) else {
        problems.sort_by_key(|p| (p.line, p.column));
        return Err(problems);
    };
    let mut raw = raw;
    if let Some(seed) = seed {
        raw.top.seed = seed.to_owned();
    }
    let validator = validate::Validator { source, root: table, problems };
    validator.scenario(raw, file).map_err(|mut problems| {
        problems.sort_by_key(|p| (p.line, p.column));
        problems
    })
}
