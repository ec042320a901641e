//! Scenario files: the format (see `scenarios/SCHEMA.md`), read in two phases.
//!
//! The TOML is parsed into spanned tables; the schema version is read first. Then every item
//! is read into typed structs: top-level keys and actors here, each `[[peg]]` by the family
//! its `kind` names, each `[[step]]` by the generic core or the family of the peg it names.
//! Every problem is collected, with file, line, column and key path, as a [`Diagnostic`].
//! Validation is linear in the file's size.

mod actor_keys;
mod diagnostic;
mod expect;
mod limits;
mod model;
mod pegs;
mod reader;
mod schema;
mod spans;
mod steps;
mod typed;
mod units;
mod validator;

pub use crate::family::Per;
pub use diagnostic::Diagnostic;
pub use model::*;
pub use schema::json_schema;

pub(crate) use reader::{Members, Reader};
pub(crate) use units::parse_duration;

/// `"90s"`, `"30m"`, `"2h"`, `"3d"` in seconds.
pub fn duration(text: &str) -> Option<u32> {
    parse_duration(text)
}
pub(crate) use validator::RoleName;

use diagnostic::SourceMap;
pub(crate) use diagnostic::suggest;
use spans::{Seg, span_of};
use toml::{
    Spanned,
    de::{DeTable, DeValue},
};
use validator::{Validator, key};

/// The schema version this peglab reads.
pub const SCHEMA_VERSION: i64 = 1;

/// Parses and validates one scenario file. `file` is how the user named it (for messages);
/// `seed` overrides the file's seed.
pub fn load(file: &str, text: &str, seed: Option<&str>) -> Result<Scenario, Vec<Diagnostic>> {
    let source = SourceMap::new(file, text);
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

    let mut v = Validator::new(source, table);
    let scenario = read(&mut v, &root, file, seed);
    match scenario {
        Some(s) if v.problems.is_empty() => Ok(s),
        _ => {
            let mut problems = v.problems;
            problems.sort_by_key(|p| (p.line, p.column));
            problems.dedup();
            Err(problems)
        }
    }
}

fn read<'a>(
    v: &mut Validator<'a>,
    root: &Spanned<DeTable<'a>>,
    file: &str,
    seed: Option<&str>,
) -> Option<Scenario> {
    let table = root.get_ref();
    let mut top = DeTable::new();
    let mut actors = None;
    let (mut pegs, mut steps): (&[Spanned<DeValue<'a>>], &[Spanned<DeValue<'a>>]) = (&[], &[]);
    for (k, value) in table {
        let name = k.get_ref().as_ref();
        match (name, value.get_ref()) {
            ("actors", DeValue::Table(t)) => actors = Some(t),
            ("peg", DeValue::Array(items)) => pegs = &items[..],
            ("step", DeValue::Array(items)) => steps = &items[..],
            ("actors" | "peg" | "step", _) => {
                let shape = if name == "actors" {
                    "a table: [actors]"
                } else {
                    "an array of tables: [[...]]"
                };
                v.report(&[key(name)], format!("must be {shape}"), None);
            }
            _ => {
                top.insert(k.clone(), value.clone());
            }
        }
    }
    let top = Spanned::new(root.span(), DeValue::Table(top));
    let (raw, nodes, fee_rate) = v.top(&top)?;
    if let Some(actors) = actors {
        v.actors(actors);
    }
    let pegs = pegs::pegs(v, pegs);
    if steps.is_empty() {
        v.report(&[], "a scenario without steps shows nothing: add [[step]] tables", None);
    }
    let steps = steps::steps(v, steps, &pegs, nodes);
    Some(Scenario {
        file: file.to_owned(),
        name: raw.name,
        description: raw.description,
        seed: seed.map_or(raw.seed, str::to_owned),
        nodes,
        fee_rate,
        actors: std::mem::take(&mut v.actors).into_values().collect(),
        pegs: pegs.pegs,
        steps,
    })
}
