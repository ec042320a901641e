//! A fuzzer for the scenario parser: mutations of the suite's own files (the mutations of the
//! reliability probe) and scenarios generated from the JSON Schema's keys, each fed to
//! `scenario::load` and, when accepted, to `peglab derive`, under `catch_unwind`.
//! Deterministic: the same seed gives the same inputs.

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    path::Path,
};

use peglab_sim::{derive::derive, scenario};
use rand_chacha::{
    ChaCha20Rng,
    rand_core::{RngCore, SeedableRng},
};
use serde_json::Value;

/// Numbers a mutation puts in place of a number: the boundaries that broke things before.
const NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1",
    "2",
    "20",
    "21",
    "100",
    "65535",
    "65536",
    "100000",
    "200000",
    "1000000",
    "2147483647",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "18446744073709551615",
    "1e300",
    "nan",
    "inf",
    "0x10",
    "3.5",
];
/// Amounts a mutation puts in place of an amount.
const AMOUNTS: &[&str] = &[
    "\"0 BTC\"",
    "\"1 sat\"",
    "\"-1 BTC\"",
    "\"21000001 BTC\"",
    "\"1e300 sat\"",
    "\"0.000000001 BTC\"",
    "\"NaN BTC\"",
    "\"20999999.99999999 BTC\"",
    "\"10000 BTC\"",
    "\"294 sat\"",
    "\"2 sat/vB\"",
    "\"0 sat/vB\"",
    "\"3d\"",
    "\"40000d\"",
    "\"4294967295s\"",
];
/// Names a mutation puts in place of a string.
const NAMES: &[&str] = &[
    "\"\"",
    "\"member-21\"",
    "\"covenant-9\"",
    "\"emergency-1\"",
    "\"alice\"",
    "\"nobody\"",
    "\"peg\"",
    "\"\\u0007\"",
    "\"p2wsh\"",
    "\"light\"",
    "\"babylon-mainnet\"",
];

/// One fuzz input and how it was made.
#[derive(Debug, Clone)]
pub struct Input {
    /// What made it (a suite file and its mutations, or "generated").
    pub label: String,
    /// The TOML text.
    pub text: String,
}

/// What feeding an input gave.
#[derive(Debug)]
pub enum Verdict {
    /// `check` refused it.
    Refused,
    /// `check` accepted it (and `derive` ran).
    Accepted(Box<scenario::Scenario>),
    /// Something panicked: a bug, with its message.
    Panicked(String),
}

/// Makes inputs.
pub struct Fuzzer {
    rng: ChaCha20Rng,
    corpus: Vec<(String, String)>,
    keys: Vec<String>,
    verbs: Vec<String>,
    kinds: Vec<String>,
}

impl std::fmt::Debug for Fuzzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fuzzer").field("corpus", &self.corpus.len()).finish()
    }
}

fn collect_keys(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = map.get("properties") {
                out.extend(props.keys().cloned());
            }
            map.values().for_each(|v| collect_keys(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_keys(v, out)),
        _ => {}
    }
}

impl Fuzzer {
    /// A fuzzer seeded with `seed`, mutating the scenario files under `scenarios` (its
    /// `invalid/` folder skipped).
    pub fn new(seed: u64, scenarios: &Path) -> Self {
        let files = peglab_harness::suite::discover(&[scenarios.to_path_buf()]).unwrap_or_default();
        let corpus = files
            .iter()
            .filter_map(|f| Some((f.display().to_string(), std::fs::read_to_string(f).ok()?)))
            .collect();
        let mut keys = Vec::new();
        collect_keys(&scenario::json_schema(), &mut keys);
        keys.sort();
        keys.dedup();
        let families = peglab_sim::families::list();
        let mut verbs: Vec<String> =
            families.iter().flat_map(|f| f.verbs.iter().map(|v| v.name.to_owned())).collect();
        verbs.extend(
            ["mine", "advance_time", "reorg", "partition", "heal", "pay"].map(String::from),
        );
        let kinds = families.iter().map(|f| f.kind.to_owned()).collect();
        Self { rng: ChaCha20Rng::seed_from_u64(seed), corpus, keys, verbs, kinds }
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.rng.next_u64() % n as u64) as usize }
    }

    fn any_corpus(&mut self) -> (String, String) {
        let i = self.below(self.corpus.len());
        self.corpus[i].clone()
    }

    fn any_kinds(&mut self) -> String {
        let i = self.below(self.kinds.len());
        self.kinds[i].clone()
    }

    fn any_verbs(&mut self) -> String {
        let i = self.below(self.verbs.len());
        self.verbs[i].clone()
    }

    fn any_keys(&mut self) -> String {
        let i = self.below(self.keys.len());
        self.keys[i].clone()
    }

    fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    /// The next input: mostly a mutant of a suite file, sometimes a generated scenario.
    pub fn next_input(&mut self) -> Input {
        if self.corpus.is_empty() || self.below(5) == 0 {
            return Input { label: "generated".into(), text: self.generate() };
        }
        let (name, text) = self.any_corpus();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let mut done = Vec::new();
        for _ in 0..=self.below(3) {
            done.push(self.mutate(&mut lines));
        }
        Input { label: format!("{name} [{}]", done.join(", ")), text: lines.join("\n") }
    }

    /// A mutant of the suite's files only (for running accepted ones).
    pub fn next_mutant(&mut self) -> Input {
        loop {
            let input = self.next_input();
            if input.label != "generated" {
                return input;
            }
        }
    }

    fn mutate(&mut self, lines: &mut Vec<String>) -> &'static str {
        if lines.is_empty() {
            lines.push(String::new());
        }
        let at = self.below(lines.len());
        match self.below(12) {
            0 => {
                lines.remove(at);
                "delete a line"
            }
            1 => {
                let line = lines[at].clone();
                lines.insert(at, line);
                "duplicate a line"
            }
            2 => {
                let number = self.pick(NUMBERS).to_owned();
                replace_value(&mut lines[at], |v| v.trim().parse::<f64>().is_ok(), &number);
                "a boundary number"
            }
            3 => {
                let amount = self.pick(AMOUNTS).to_owned();
                replace_value(
                    &mut lines[at],
                    |v| v.contains(" BTC") || v.contains(" sat"),
                    &amount,
                );
                "a boundary amount"
            }
            4 => {
                let name = self.pick(NAMES).to_owned();
                replace_value(&mut lines[at], |v| v.trim_start().starts_with('"'), &name);
                "another name"
            }
            5 => {
                let text = lines.join("\n");
                let cut = self.below(text.len() + 1);
                let cut = (0..=cut).rev().find(|c| text.is_char_boundary(*c)).unwrap_or(0);
                *lines = text[..cut].lines().map(str::to_owned).collect();
                "truncate"
            }
            6 => {
                let kind = self.any_kinds();
                if let Some(line) = lines.iter_mut().find(|l| l.trim_start().starts_with("kind ")) {
                    *line = format!("kind = \"{kind}\"");
                }
                "another kind"
            }
            7 => {
                let verb = self.any_verbs();
                let line = &mut lines[at];
                if let Some((key, rest)) = line.split_once(" = ")
                    && !key.contains(' ')
                    && !key.is_empty()
                {
                    *line = format!("{verb} = {rest}");
                }
                "another step"
            }
            8 => {
                let starts: Vec<usize> = lines
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| l.trim() == "[[step]]")
                    .map(|(i, _)| i)
                    .collect();
                if starts.len() >= 2 {
                    let (a, b) =
                        (starts[self.below(starts.len())], starts[self.below(starts.len())]);
                    let last = lines.len() - 1;
                    lines.swap((a + 1).min(last), (b + 1).min(last));
                }
                "swap steps"
            }
            9 => {
                let key = self.any_keys();
                let value = self.value();
                lines.insert(at, format!("{key} = {value}"));
                "insert a key"
            }
            10 => {
                let (a, b) = (self.below(lines.len()), self.below(lines.len()));
                let (va, vb) = (value_of(&lines[a]), value_of(&lines[b]));
                if let (Some(va), Some(vb)) = (va, vb) {
                    replace_value(&mut lines[a], |_| true, &vb);
                    replace_value(&mut lines[b], |_| true, &va);
                }
                "swap values"
            }
            _ => {
                lines.insert(at, "[[step]]".into());
                "insert a step"
            }
        }
    }

    fn value(&mut self) -> String {
        match self.below(7) {
            0 => self.pick(NUMBERS).to_owned(),
            1 => self.pick(AMOUNTS).to_owned(),
            2 => self.pick(NAMES).to_owned(),
            3 => "true".into(),
            4 => format!("[{}, {}]", self.pick(NAMES), self.pick(NAMES)),
            5 => {
                let key = self.any_keys();
                format!("{{ {key} = {} }}", self.pick(NUMBERS))
            }
            _ => format!("\"{}\"", self.any_kinds()),
        }
    }

    /// A scenario built from the format's keys with random values.
    fn generate(&mut self) -> String {
        let mut out = String::from("schema = 1\nname = \"generated\"\nseed = \"g\"\n");
        if self.below(2) == 0 {
            out.push_str(&format!("nodes = {}\n", self.pick(NUMBERS)));
        }
        out.push_str("[actors]\nalice = { role = \"user\", funds = \"2 BTC\" }\ncarol = { role = \"signer\" }\n");
        for _ in 0..self.below(3) {
            let kind = self.any_kinds();
            out.push_str(&format!("[[peg]]\nkind = \"{kind}\"\n"));
            for _ in 0..self.below(6) {
                let key = self.any_keys();
                let value = self.value();
                out.push_str(&format!("{key} = {value}\n"));
            }
        }
        for _ in 0..self.below(6) {
            let verb = self.any_verbs();
            let mut args = Vec::new();
            for _ in 0..self.below(4) {
                let key = self.any_keys();
                args.push(format!("{key} = {}", self.value()));
            }
            out.push_str(&format!("[[step]]\n{verb} = {{ {} }}\n", args.join(", ")));
            if self.below(2) == 0 {
                let key = self.any_keys();
                out.push_str(&format!("expect = {{ {key} = {} }}\n", self.value()));
            }
        }
        out
    }
}

/// The value after ` = ` in a line, if it has one.
fn value_of(line: &str) -> Option<String> {
    line.split_once(" = ").map(|(_, v)| v.to_owned())
}

/// Replaces the first `key = value` value of `line` (also inside an inline table) that
/// `matches`.
fn replace_value(line: &mut String, matches: impl Fn(&str) -> bool, with: &str) {
    let parts: Vec<&str> = line.split(" = ").collect();
    for i in 1..parts.len() {
        let value = parts[i];
        let end = value.find([',', '}']).unwrap_or(value.len());
        if matches(&value[..end]) {
            let mut rebuilt = parts[..i].join(" = ");
            rebuilt.push_str(" = ");
            rebuilt.push_str(with);
            rebuilt.push_str(&value[end..]);
            for rest in &parts[i + 1..] {
                rebuilt.push_str(" = ");
                rebuilt.push_str(rest);
            }
            *line = rebuilt;
            return;
        }
    }
}

thread_local! {
    static FEEDING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this thread is inside [`feed`] (for a panic hook that keeps findings quiet).
pub fn feeding() -> bool {
    FEEDING.with(std::cell::Cell::get)
}

/// Whether an accepted mutant may run: not one that runs programs (`exec`), whose mutated
/// command lines could be anything.
pub fn safe_to_run(scenario: &scenario::Scenario) -> bool {
    !scenario.steps.iter().any(|s| matches!(s.action, scenario::Action::Exec { .. }))
}

/// Feeds one input to `check` and, when accepted, to `derive`; a panic is caught.
pub fn feed(input: &Input) -> Verdict {
    FEEDING.with(|f| f.set(true));
    let outcome =
        catch_unwind(AssertUnwindSafe(|| match scenario::load("fuzz.toml", &input.text, None) {
            Ok(s) => {
                let _ = derive(&s);
                Some(s)
            }
            Err(_) => None,
        }));
    FEEDING.with(|f| f.set(false));
    match outcome {
        Ok(Some(s)) => Verdict::Accepted(Box::new(s)),
        Ok(None) => Verdict::Refused,
        Err(panic) => Verdict::Panicked(
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default(),
        ),
    }
}
