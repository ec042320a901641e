//! Reading one TOML value into a typed struct: every unknown key reported with the keys the
//! struct takes, and the first type error at its line and column.

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use toml::{Spanned, de::DeValue};

use super::{
    diagnostic::suggest,
    spans::{Seg, from_ignored, path_at, span_of},
    validator::Validator,
};

/// Deserializes `value` (found at `prefix`) into `T`, reporting each unknown key and each
/// type error. `what` names the table in messages: "kind `babylon`", "step `claim`".
///
/// serde stops at the first type error; so that every bad key of a table is reported at
/// once, a key whose value has the wrong type is reported, dropped, and the rest read again
/// (and checked further: the file is refused either way).
pub(crate) fn read<T: DeserializeOwned>(
    v: &mut Validator<'_>,
    value: &Spanned<DeValue<'_>>,
    prefix: &[Seg],
    what: &str,
) -> Option<T> {
    let mut value = value.clone();
    let mut failed = false;
    for _ in 0..MAX_RETRIES {
        match read_once(v, &value, prefix, what, !failed) {
            Ok(t) => return Some(t),
            Err(Some(key)) => {
                failed = true;
                if let DeValue::Table(t) = value.get_mut() {
                    t.remove(key.as_str());
                }
            }
            Err(None) => return None,
        }
    }
    None
}

/// How many bad keys of one table are reported.
const MAX_RETRIES: usize = 64;

/// One attempt: `Err(Some(key))` when a top-level key had the wrong type (reported), to be
/// dropped and read again; `Err(None)` when nothing more can be read.
fn read_once<T: DeserializeOwned>(
    v: &mut Validator<'_>,
    value: &Spanned<DeValue<'_>>,
    prefix: &[Seg],
    what: &str,
    report_unknown: bool,
) -> Result<T, Option<String>> {
    let mut unknown = Vec::new();
    let parsed =
        serde_ignored::deserialize(toml::de::ValueDeserializer::from(value.clone()), |p| {
            unknown.push(from_ignored(&p))
        });
    if report_unknown {
        let own = fields_of::<T>();
        for rel in unknown {
            let path: Vec<Seg> = prefix.iter().cloned().chain(rel.iter().cloned()).collect();
            let word = match path.last() {
                Some(Seg::Key(k)) => k.clone(),
                _ => String::new(),
            };
            let (message, help) = if rel.len() == 1 && !own.is_empty() {
                let message =
                    format!("`{word}` is not a key of {what} (its keys: {})", own.join(", "));
                (message, suggest(&word, own.iter().copied()))
            } else {
                (format!("unknown key `{word}`"), suggest(&word, super::schema::all_keys()))
            };
            v.report_at(span_of(v.root, &path), &path, message, help);
        }
    }
    parsed.map_err(|e| {
        let rel = match (e.span(), value.get_ref()) {
            (Some(span), DeValue::Table(t)) => path_at(t, span.start),
            _ => Vec::new(),
        };
        let path: Vec<Seg> = prefix.iter().cloned().chain(rel.iter().cloned()).collect();
        let message = e.message().trim().replace('\n', "; ");
        let span = e.span().or_else(|| span_of(v.root, &path));
        v.report_at(span, &path, message, None);
        match rel.first() {
            Some(Seg::Key(k)) if e.span().is_some() => Some(k.clone()),
            _ => None,
        }
    })
}

/// The field names serde reads for the struct `T` (or the variant names of the enum `T`),
/// read off serde's own derive: no list is kept by hand.
pub(crate) fn fields_of<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut probe = Probe(None);
    let _ = T::deserialize(&mut probe);
    probe.0.unwrap_or(&[])
}

struct Probe(Option<&'static [&'static str]>);

#[derive(Debug)]
struct Stop;

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("probe")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Stop
    }
}

impl<'de> Deserializer<'de> for &mut Probe {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Stop> {
        self.0 = Some(fields);
        Err(Stop)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Stop> {
        self.0 = Some(variants);
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    #[expect(dead_code, reason = "only the field names are read")]
    struct Example {
        alpha: u32,
        #[serde(rename = "beta_key")]
        beta: Option<String>,
    }

    #[test]
    fn field_names_come_from_serde() {
        assert_eq!(fields_of::<Example>(), &["alpha", "beta_key"]);
        assert!(fields_of::<u32>().is_empty());
    }
}
