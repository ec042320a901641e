//! Phase two: a raw scenario becomes a [`Scenario`] with every name resolved, or a list of
//! every problem found.

use std::{collections::BTreeSet, str::FromStr};

use bitcoin::{Amount, PublicKey, secp256k1::SecretKey};
use toml::de::DeTable;

use super::{
    diagnostic::{Diagnostic, SourceMap, suggest},
    model::*,
    raw::*,
    spans::{Seg, render, span_of},
};

/// Most nodes a scenario may ask for.
const MAX_NODES: usize = 8;
/// `OP_CHECKMULTISIG` in P2WSH takes at most 20 keys.
const MAX_MULTISIG_KEYS: usize = 20;
const PEG_KINDS: &[&str] =
    &["multisig", "liquid", "powpeg", "spv-vault", "header-relay", "core", "babylon"];

pub(crate) struct Validator<'a> {
    pub(crate) source: SourceMap<'a>,
    pub(crate) root: &'a DeTable<'a>,
    pub(crate) problems: Vec<Diagnostic>,
}

/// One key of a path into the file.
pub(super) fn key(k: &str) -> Seg {
    Seg::Key(k.to_owned())
}

impl Validator<'_> {
    pub(crate) fn report(
        &mut self,
        path: &[Seg],
        message: impl Into<String>,
        help: Option<String>,
    ) {
        let span = span_of(self.root, path);
        let mut d = self.source.diagnostic(span, render(path), message);
        d.help = help;
        self.problems.push(d);
    }

    /// Looks up `preset` in `table` (name, value), reporting an unknown name with the known ones.
    pub(crate) fn preset<T: Clone>(
        &mut self,
        preset: Option<&str>,
        at: &[Seg],
        table: &[(&str, T)],
    ) -> Option<T> {
        let name = preset?;
        if let Some((_, value)) = table.iter().find(|(known, _)| *known == name) {
            return Some(value.clone());
        }
        let known: Vec<&str> = table.iter().map(|(known, _)| *known).collect();
        let help = suggest(name, known.iter().copied());
        self.report(at, format!("unknown preset `{name}`; known: {}", known.join(", ")), help);
        None
    }

    pub(crate) fn amount(&mut self, path: &[Seg], text: &str) -> Option<Amount> {
        match Amount::from_str(text.trim()) {
            Ok(a) if a <= Amount::MAX_MONEY => Some(a),
            Ok(_) => {
                self.report(path, format!("`{text}` is more than 21 million BTC"), None);
                None
            }
            Err(e) => {
                self.report(
                    path,
                    format!("`{text}` is not an amount: {e}"),
                    Some("write it as people do: \"0.5 BTC\" or \"12000 sat\"".into()),
                );
                None
            }
        }
    }

    pub(crate) fn scenario(
        mut self,
        raw: RawScenario,
        file: &str,
    ) -> Result<Scenario, Vec<Diagnostic>> {
        let RawScenario { top, actors: raw_actors, peg: raw_pegs, step: raw_steps } = raw;
        if top.name.trim().is_empty() {
            self.report(&[key("name")], "the name is empty", None);
        }
        if top.seed.is_empty() {
            self.report(&[key("seed")], "the seed is empty", None);
        }
        let nodes = top.nodes.unwrap_or(1);
        if !(1..=MAX_NODES).contains(&nodes) {
            self.report(
                &[key("nodes")],
                format!("a lab runs 1 to {MAX_NODES} nodes, not {nodes}"),
                None,
            );
        }
        let mut actors = self.actors(&raw_actors);
        let pegs = self.pegs(&raw_pegs, &mut actors);
        let steps = self.steps(&raw_steps, &actors, &pegs, nodes);
        if self.problems.is_empty() {
            Ok(Scenario {
                file: file.to_owned(),
                name: top.name,
                description: top.description,
                seed: top.seed,
                nodes,
                actors,
                pegs,
                steps,
            })
        } else {
            Err(self.problems)
        }
    }

    fn actors(&mut self, raw: &std::collections::BTreeMap<String, RawActor>) -> Vec<Actor> {
        let mut actors = Vec::new();
        for (name, a) in raw {
            let path = [key("actors"), key(name)];
            let at = |k: &str| [key("actors"), key(name), key(k)];
            let role = match a.role.as_str() {
                "user" => {
                    if a.pubkey.is_some() || a.secret.is_some() {
                        let k = if a.pubkey.is_some() { "pubkey" } else { "secret" };
                        self.report(
                            &at(k),
                            "a user's keys come from its wallet; only signers take explicit keys",
                            None,
                        );
                    }
                    let funds = match &a.funds {
                        Some(text) => self.amount(&at("funds"), text).unwrap_or(Amount::ZERO),
                        None => Amount::ZERO,
                    };
                    Role::User { funds }
                }
                "signer" => {
                    if a.funds.is_some() {
                        self.report(
                            &at("funds"),
                            "a signer has no wallet to fund; make it a user",
                            None,
                        );
                    }
                    Role::Signer
                }
                other => {
                    let help = suggest(other, ["user", "signer"]);
                    self.report(
                        &at("role"),
                        format!("unknown role `{other}`; an actor is a `user` or a `signer`"),
                        help,
                    );
                    continue;
                }
            };
            let key = match (&a.pubkey, &a.secret) {
                (Some(_), Some(_)) => {
                    self.report(&path, "give either `pubkey` or `secret`, not both", None);
                    ActorKey::Derived
                }
                (Some(hex), None) => match PublicKey::from_str(hex) {
                    Ok(pk) => ActorKey::Public(pk),
                    Err(e) => {
                        self.report(&at("pubkey"), format!("not a public key: {e}"), None);
                        ActorKey::Derived
                    }
                },
                (None, Some(hex)) => match SecretKey::from_str(hex) {
                    Ok(sk) => ActorKey::Secret(sk),
                    Err(e) => {
                        self.report(&at("secret"), format!("not a secret key: {e}"), None);
                        ActorKey::Derived
                    }
                },
                (None, None) => ActorKey::Derived,
            };
            actors.push(Actor { name: name.clone(), role, key });
        }
        actors
    }

    /// Reports `name` unless it is an actor with the wanted role.
    pub(crate) fn check_actor(
        &mut self,
        path: &[Seg],
        name: &str,
        actors: &[Actor],
        signer: bool,
    ) -> bool {
        let role = if signer { "signer" } else { "user" };
        match actors.iter().find(|a| a.name == name) {
            Some(a) if matches!(a.role, Role::Signer) == signer => true,
            Some(_) => {
                self.report(path, format!("`{name}` is not a {role}"), None);
                false
            }
            None => {
                let help = suggest(name, actors.iter().map(|a| a.name.as_str()));
                self.report(path, format!("unknown actor `{name}`"), help);
                false
            }
        }
    }

    fn pegs(&mut self, raw: &[RawPeg], actors: &mut Vec<Actor>) -> Vec<Peg> {
        let mut pegs: Vec<Peg> = Vec::new();
        for (i, p) in raw.iter().enumerate() {
            let at = |k: &str| vec![key("peg"), Seg::Index(i), key(k)];
            let name = match (&p.name, raw.len()) {
                (Some(n), _) => n.clone(),
                (None, 1) => "peg".to_owned(),
                (None, _) => {
                    self.report(
                        &[key("peg"), Seg::Index(i)],
                        "with several pegs, each needs a `name`",
                        None,
                    );
                    format!("peg{}", i + 1)
                }
            };
            if pegs.iter().any(|other| other.name == name) {
                self.report(&at("name"), format!("two pegs are called `{name}`"), None);
            }
            let kind = match p.kind.as_str() {
                "multisig" => {
                    let signers = p.signers.clone().unwrap_or_default();
                    if signers.is_empty() {
                        self.report(
                            &at("signers"),
                            "a multisig peg needs at least one signer",
                            None,
                        );
                    }
                    let mut seen = BTreeSet::new();
                    for s in &signers {
                        if self.check_actor(&at("signers"), s, &*actors, true) && !seen.insert(s) {
                            self.report(&at("signers"), format!("`{s}` is named twice"), None);
                        }
                    }
                    if signers.len() > MAX_MULTISIG_KEYS {
                        self.report(
                            &at("signers"),
                            format!(
                                "OP_CHECKMULTISIG takes at most {MAX_MULTISIG_KEYS} keys, not {}",
                                signers.len()
                            ),
                            None,
                        );
                    }
                    let threshold = p.threshold.unwrap_or(signers.len());
                    if threshold == 0 || threshold > signers.len() {
                        self.report(
                            &at("threshold"),
                            format!(
                                "threshold {threshold} is impossible with {} signers",
                                signers.len()
                            ),
                            None,
                        );
                    }
                    let output = match p.output.as_deref().unwrap_or("p2wsh") {
                        "p2wsh" => OutputType::P2wsh,
                        "p2sh-p2wsh" => OutputType::P2shP2wsh,
                        other => {
                            let help = suggest(other, ["p2wsh", "p2sh-p2wsh"]);
                            self.report(
                                &at("output"),
                                format!(
                                    "unknown output type `{other}`; use `p2wsh` or `p2sh-p2wsh`"
                                ),
                                help,
                            );
                            OutputType::P2wsh
                        }
                    };
                    PegKind::Multisig(MultisigParams { signers, threshold, output })
                }
                "liquid" => PegKind::Liquid(self.liquid(p, &at, actors)),
                "powpeg" => PegKind::Powpeg(self.powpeg(p, &at, actors)),
                "spv-vault" => PegKind::SpvVault(self.spv_vault(p, &at, actors)),
                "core" => PegKind::Core(self.core(p, &at, &name, actors)),
                "babylon" => PegKind::Babylon(self.babylon(p, &at, actors)),
                "header-relay" => match self.header_relay(p, &at) {
                    Some(params) => PegKind::HeaderRelay(params),
                    None => continue,
                },
                other => {
                    let help = suggest(other, PEG_KINDS.iter().copied());
                    self.report(
                        &at("kind"),
                        format!(
                            "unknown peg kind `{other}`; known kinds: {}",
                            PEG_KINDS.join(", ")
                        ),
                        help,
                    );
                    continue;
                }
            };
            pegs.push(Peg { name, kind });
        }
        pegs
    }
}
