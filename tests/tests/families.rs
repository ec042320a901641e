//! Tidy checks of the family registry: every registered family has its SCHEMA.md section, a
//! scenario in the suite, and a starter that `check` accepts; the committed JSON Schema is the
//! one the types generate.

use std::path::{Path, PathBuf};

use peglab_harness::suite;
use peglab_sim::{families, scenario};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn every_family_has_a_schema_section_a_scenario_and_a_valid_starter() {
    let schema_md = std::fs::read_to_string(root().join("scenarios/SCHEMA.md")).unwrap();
    let files = suite::discover(&[root().join("scenarios")]).unwrap();
    let (scenarios, problems) = suite::load_all(&files, None);
    assert!(problems.is_empty(), "{problems:?}");
    for family in families::list() {
        let heading = format!("### `kind = \"{}\"`", family.kind);
        assert!(schema_md.contains(&heading), "SCHEMA.md has no section `{heading}`");
        for verb in family.verbs {
            assert!(
                schema_md.contains(&format!("`{}`", verb.name)),
                "SCHEMA.md does not name the step `{}`",
                verb.name
            );
        }
        for code in family.refusals.iter().chain(family.stalls) {
            assert!(
                schema_md.contains(&format!("`{}`", code.code)),
                "SCHEMA.md does not list the code `{}` of {}",
                code.code,
                family.kind
            );
        }
        assert!(
            scenarios.iter().any(|s| s.pegs.iter().any(|p| p.kind() == family.kind)),
            "no scenario of the suite has a `{}` peg",
            family.kind
        );
        let starter = scenario::load(family.kind, family.starter, None);
        assert!(starter.is_ok(), "{}'s starter: {:?}", family.kind, starter.err());
    }
}

#[test]
fn the_committed_json_schema_is_the_generated_one() {
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("scenarios/schema.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        committed,
        scenario::json_schema(),
        "regenerate it: peglab schema > scenarios/schema.json"
    );
}
