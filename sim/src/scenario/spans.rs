//! Where each key of a scenario file is: key paths to byte spans and back, over toml's
//! spanned document tree.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    /// 0-based array index.
    Index(usize),
}

/// Renders a key path for people: `step[3].spend.signers` (array positions 1-based, as the
/// report numbers steps).
pub(crate) fn render(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) if out.is_empty() => out.push_str(k),
            Seg::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{}]", i + 1)),
        }
    }
    out
}

/// The span of the value at `path`, or of the nearest ancestor that exists. For a key, the
/// span of the key itself is preferred, so that errors point at the key.
pub(crate) fn span_of(root: &DeTable<'_>, path: &[Seg]) -> Option<Range<usize>> {
    let mut best = None;
    let mut table = Some(root);
    let mut array: Option<&[toml::Spanned<DeValue<'_>>]> = None;
    for seg in path {
        let value = match seg {
            Seg::Key(k) => {
                let (key, value) = table?.get_key_value(k.as_str())?;
                best = Some(key.span());
                value
            }
            Seg::Index(i) => {
                let value = array?.get(*i)?;
                best = Some(value.span());
                value
            }
        };
        table = None;
        array = None;
        match value.get_ref() {
            DeValue::Table(t) => table = Some(t),
            DeValue::Array(a) => array = Some(&**a),
            _ => {}
        }
    }
    best
}

/// The deepest key path whose value contains `offset`.
pub(crate) fn path_at(root: &DeTable<'_>, offset: usize) -> Vec<Seg> {
    let mut path = Vec::new();
    let mut current = entry_at(root, offset, &mut path);
    while let Some(value) = current.take() {
        current = match value {
            DeValue::Table(t) => entry_at(t, offset, &mut path),
            DeValue::Array(a) => {
                a.iter().enumerate().find(|(_, v)| v.span().contains(&offset)).map(|(i, v)| {
                    path.push(Seg::Index(i));
                    v.get_ref()
                })
            }
            _ => None,
        };
    }
    path
}

fn entry_at<'a, 'i>(
    table: &'a DeTable<'i>,
    offset: usize,
    path: &mut Vec<Seg>,
) -> Option<&'a DeValue<'i>> {
    let (key, value) =
        table.iter().find(|(k, v)| v.span().contains(&offset) || k.span().contains(&offset))?;
    path.push(Seg::Key(key.get_ref().to_string()));
    Some(value.get_ref())
}

/// A `serde_ignored` path as segments.
pub(crate) fn from_ignored(path: &serde_ignored::Path<'_>) -> Vec<Seg> {
    use serde_ignored::Path;
    match path {
        Path::Root => Vec::new(),
        Path::Seq { parent, index } => {
            let mut p = from_ignored(parent);
            p.push(Seg::Index(*index));
            p
        }
        Path::Map { parent, key } => {
            let mut p = from_ignored(parent);
            p.push(Seg::Key(key.clone()));
            p
        }
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => from_ignored(parent),
    }
}
