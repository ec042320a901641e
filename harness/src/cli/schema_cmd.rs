//! `peglab schema`: the scenario format as a JSON Schema (what `scenarios/schema.json` holds).

use super::Exit;

pub(crate) fn run() -> Exit {
    match serde_json::to_string_pretty(&peglab_sim::scenario::json_schema()) {
        Ok(text) => {
            println!("{text}");
            Exit::Success
        }
        Err(e) => {
            eprintln!("peglab: failed to render the schema: {e}");
            Exit::Bug
        }
    }
}
