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
mod validate_steps;

pub use diagnostic::Diagnostic;
pub use model::*;

use diagnostic::{SourceMap, suggest};
use spans::{Seg, from_ignored, path_at, render, span_of};
use toml::de::{DeTable, DeValue};

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

    let mut unknown = Vec::new();
    let deserializer = toml::de::Deserializer::from(root.clone());
    let parsed: Result<raw::RawScenario, _> =
        serde_ignored::deserialize(deserializer, |path| unknown.push(from_ignored(&path)));
    let mut problems: Vec<Diagnostic> = unknown
        .iter()
        .map(|path| {
            let word = match path.last() {
                Some(Seg::Key(k)) => k.as_str(),
                _ => "",
            };
            let mut d = source.diagnostic(
                span_of(table, path),
                render(path),
                format!("unknown key `{word}`"),
            );
            d.help = suggest(word, raw::KNOWN_KEYS.iter().copied());
            d
        })
        .collect();
    let raw = match parsed {
        Ok(raw) => raw,
        Err(e) => {
            let path = e.span().map(|s| path_at(table, s.start)).unwrap_or_default();
            let message = e.message().trim().replace('\n', "; ");
            problems.push(source.diagnostic(e.span(), render(&path), message));
            return Err(problems);
        }
    };
    let mut raw = raw;
    if let Some(seed) = seed {
        raw.seed = seed.to_owned();
    }
    let validator = validate::Validator { source, root: table, problems };
    validator.scenario(raw, file)
}
