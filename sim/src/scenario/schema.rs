//! The scenario format as a JSON Schema, generated from the types that read it (one branch per
//! peg kind, one per step verb). `scenarios/schema.json` is this, committed; a test
//! regenerates it and compares.

use std::{collections::BTreeMap, sync::OnceLock};

use schemars::{JsonSchema, SchemaGenerator, generate::SchemaSettings};
use serde_json::{Map, Value, json};

use super::{
    expect::GENERIC_EXPECT,
    limits,
    steps::{GENERIC_VERBS, RawAwait, RawExec, RawPay, RawReorg},
    validator::{RawActor, RawTop},
};
use crate::families;

fn generator() -> SchemaGenerator {
    SchemaSettings::draft07()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .into_generator()
}

fn schema_of<T: JsonSchema>(g: &mut SchemaGenerator) -> Value {
    g.subschema_for::<T>().to_value()
}

/// The JSON Schema of schema-1 scenario files.
pub fn json_schema() -> Value {
    let mut g = generator();
    let mut top = schema_of::<RawTop>(&mut g);
    let props = properties(&mut top);
    props.insert(
        "schema".into(),
        json!({ "const": 1, "description": "The format version: 1. Read before anything else." }),
    );
    let mut actor = schema_of::<RawActor>(&mut g);
    actor["description"] = json!("An actor: a user with a wallet, or a signer.");
    props.insert(
        "actors".into(),
        json!({ "type": "object", "description": "The people and keys, by name.", "additionalProperties": actor }),
    );
    props.insert(
        "peg".into(),
        json!({ "type": "array", "description": "The peg instances: [[peg]] tables, each of one kind.", "items": { "oneOf": pegs(&mut g) } }),
    );
    props.insert(
        "step".into(),
        json!({ "type": "array", "description": "What happens, in order: [[step]] tables, each doing one thing.", "items": { "oneOf": steps(&mut g) } }),
    );
    top["title"] = json!("peglab scenario (schema 1)");
    top["description"] = json!(
        "A peglab scenario file: actors, pegs and steps run against real regtest nodes (see scenarios/SCHEMA.md)."
    );
    top["$schema"] = json!("http://json-schema.org/draft-07/schema#");
    top["definitions"] = json!({ "expect": expect_schema() });
    tidy(&mut top);
    top
}

fn pegs(g: &mut SchemaGenerator) -> Vec<Value> {
    families::ALL
        .iter()
        .map(|family| {
            let mut schema = family.peg_schema(g).to_value();
            let props = properties(&mut schema);
            props.insert(
                "kind".into(),
                json!({ "const": family.kind(), "description": family.about() }),
            );
            props.insert(
                "name".into(),
                json!({ "type": "string", "description": "The peg's name (needed when there are several; default `peg`)." }),
            );
            let required = schema.as_object_mut().expect("an object").entry("required");
            let required = required.or_insert_with(|| json!([]));
            required.as_array_mut().expect("a list").push(json!("kind"));
            schema["title"] = json!(format!("kind = \"{}\"", family.kind()));
            schema
        })
        .collect()
}

fn steps(g: &mut SchemaGenerator) -> Vec<Value> {
    let expect = json!({ "$ref": "#/definitions/expect" });
    let common = |props: &mut Map<String, Value>| {
        props.insert("node".into(), json!({ "type": "integer", "minimum": 0, "maximum": limits::MAX_NODES - 1, "description": "The node the step acts on (default 0)." }));
        props.insert("note".into(), json!({ "type": "string", "description": "A note for the reader, carried into the report." }));
        props.insert("expect".into(), expect.clone());
    };
    let mut verbs: BTreeMap<&str, (String, Vec<Value>)> = BTreeMap::new();
    for (name, about) in GENERIC_VERBS {
        let schema = match *name {
            "mine" => json!({ "type": "integer", "minimum": 1, "maximum": limits::MAX_MINE }),
            "advance_time" => json!({ "type": "string", "pattern": "^\\s*[0-9]+\\s*[smhd]\\s*$" }),
            "reorg" => schema_of::<RawReorg>(g),
            "partition" => {
                json!({ "type": "array", "items": { "type": "array", "items": { "type": "integer", "minimum": 0 } } })
            }
            "heal" => json!({ "const": true }),
            "offline" | "online" => {
                json!({ "type": "array", "items": { "type": "string" }, "minItems": 1 })
            }
            "pay" => schema_of::<RawPay>(g),
            "exec" => schema_of::<RawExec>(g),
            "await" => schema_of::<RawAwait>(g),
            other => unreachable!("generic verb {other} has a schema"),
        };
        verbs.insert(name, ((*about).to_owned(), vec![schema]));
    }
    for family in families::ALL {
        for verb in family.verbs() {
            let mut schema = (verb.schema)(g).to_value();
            properties(&mut schema).insert("peg".into(), json!({ "type": "string", "description": "The peg (needed when several pegs have this step)." }));
            schema["description"] = json!(format!("{} ({})", verb.about, family.kind()));
            let entry =
                verbs.entry(verb.name).or_insert_with(|| (verb.about.to_owned(), Vec::new()));
            entry.1.push(schema);
        }
    }
    let mut out: Vec<Value> = verbs
        .into_iter()
        .map(|(name, (about, mut schemas))| {
            let schema =
                if schemas.len() == 1 { schemas.remove(0) } else { json!({ "anyOf": schemas }) };
            let mut props = Map::new();
            props.insert(name.into(), schema);
            common(&mut props);
            json!({
                "title": name,
                "description": about,
                "type": "object",
                "properties": props,
                "required": [name],
                "additionalProperties": false
            })
        })
        .collect();
    let mut props = Map::new();
    common(&mut props);
    out.push(json!({
        "title": "expect",
        "description": "A step that only checks its expectations.",
        "type": "object",
        "properties": props,
        "required": ["expect"],
        "additionalProperties": false
    }));
    out
}

fn expect_schema() -> Value {
    let amounts = |about: &str| json!({ "type": "object", "description": about, "additionalProperties": { "type": "string" }, "minProperties": 1 });
    let mut props = Map::new();
    for (key, about) in GENERIC_EXPECT {
        let schema = match *key {
            "accepted" => json!({ "const": true, "description": about }),
            "rejected" | "refused" | "stalled" => {
                json!({ "type": "string", "minLength": 1, "description": about })
            }
            "confirmations" => {
                json!({ "type": "object", "description": about, "additionalProperties": { "type": "integer", "minimum": 0 }, "minProperties": 1 })
            }
            "unspent" => {
                json!({ "type": "object", "description": about, "additionalProperties": { "type": "boolean" }, "minProperties": 1 })
            }
            _ => amounts(about),
        };
        props.insert((*key).into(), schema);
    }
    for q in families::quantities() {
        props.insert(q.key.into(), amounts(q.about));
    }
    json!({
        "type": "object",
        "description": "What must hold after the step.",
        "properties": props,
        "additionalProperties": false,
        "minProperties": 1
    })
}

/// The `properties` of an object schema, made when it has none.
fn properties(schema: &mut Value) -> &mut Map<String, Value> {
    if !schema.is_object() {
        *schema = json!({ "type": "object" });
    }
    let object = schema.as_object_mut().expect("an object");
    object
        .entry("properties")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("properties are an object")
}

/// TOML has no null: optional fields are just absent. Objects with properties take no others.
fn tidy(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    map.insert("type".into(), only);
                }
            }
            if map.get("default") == Some(&Value::Null) {
                map.remove("default");
            }
            map.remove("format");
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            map.values_mut().for_each(tidy);
        }
        Value::Array(items) => items.iter_mut().for_each(tidy),
        _ => {}
    }
}

/// Every key the format knows, at any depth, for typo suggestions.
pub(crate) fn all_keys() -> impl Iterator<Item = &'static str> {
    static KEYS: OnceLock<Vec<String>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut keys = std::collections::BTreeSet::new();
        collect(&json_schema(), &mut keys);
        keys.into_iter().collect()
    })
    .iter()
    .map(String::as_str)
}

fn collect(value: &Value, out: &mut std::collections::BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = map.get("properties") {
                out.extend(props.keys().cloned());
            }
            map.values().for_each(|v| collect(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
        _ => {}
    }
}
