//! Phase two's state: the file's spans, every problem found so far, the actors and the names
//! defined so far. Top-level keys and actors are read here; pegs and steps in their modules.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    ops::Range,
    str::FromStr,
};

use bitcoin::{Amount, FeeRate};
use schemars::JsonSchema;
use serde::Deserialize;
use toml::{
    Spanned,
    de::{DeTable, DeValue},
};

use super::{
    diagnostic::{Diagnostic, SourceMap, suggest},
    limits,
    model::{Actor, ActorKey, Role, WalletSpec},
    spans::{Seg, render, span_of},
    typed::read,
};

/// The top-level keys other than `actors`, `peg` and `step`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct RawTop {
    /// The format version: 1. Read before anything else.
    #[expect(dead_code, reason = "read and checked before the rest, in `load`")]
    pub(crate) schema: u32,
    /// A one-line title, used in reports and JUnit.
    pub(crate) name: String,
    /// What the scenario shows.
    pub(crate) description: Option<String>,
    /// Keys, wallets and so txids derive from it and each actor's name.
    pub(crate) seed: String,
    /// Connected regtest nodes, numbered from 0 (1 to 8; default 1).
    pub(crate) nodes: Option<u64>,
    /// The fee rate of every transaction the actors make, e.g. "2 sat/vB" (the default).
    pub(crate) fee_rate: Option<String>,
}

/// What an actor is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RoleName {
    /// A BIP84 descriptor wallet, paid by the lab at start.
    User,
    /// A key that signs for pegs.
    Signer,
}

/// An actor: `alice = { role = "user", funds = "2 BTC" }`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct RawActor {
    /// `user` or `signer`.
    pub(crate) role: RoleName,
    /// What the lab pays a user's wallet at start, e.g. "2 BTC".
    pub(crate) funds: Option<String>,
    /// The actor's key, watch-only (it cannot sign): 33 bytes of hex, or an extended public
    /// key with its derivation (`[fingerprint/path]tpub.../0/1`). For a user, its staking and
    /// sidechain key.
    pub(crate) pubkey: Option<String>,
    /// The actor's secret key: 32 bytes of hex, a WIF, or an extended private key with its
    /// derivation (`tprv.../0/1`).
    pub(crate) secret: Option<String>,
    /// A user's wallet: an output descriptor (`wpkh(tprv.../84'/1'/0'/0/*)`). With public keys
    /// only, the wallet receives but cannot pay.
    pub(crate) descriptor: Option<String>,
}

/// Names defined so far: transactions, and records of each kind (peg-ins, delegations, ...)
/// with the peg they belong to. Lookups are hashed: validation is linear in the file's size.
#[derive(Debug, Default)]
pub(crate) struct Names {
    pub(crate) txs: HashSet<String>,
    /// In definition order, for suggestions.
    pub(crate) tx_order: Vec<String>,
    /// Per kind: name -> (peg, note), and the names in definition order.
    #[expect(clippy::type_complexity, reason = "a two-level index, documented here")]
    pub(crate) records: HashMap<&'static str, (HashMap<String, (String, String)>, Vec<String>)>,
}

/// What phase two keeps while it reads a file.
pub(crate) struct Validator<'a> {
    pub(crate) source: SourceMap<'a>,
    pub(crate) root: &'a DeTable<'a>,
    pub(crate) problems: Vec<Diagnostic>,
    pub(crate) actors: BTreeMap<String, Actor>,
    pub(crate) names: Names,
}

/// One key of a path into the file.
pub(crate) fn key(k: &str) -> Seg {
    Seg::Key(k.to_owned())
}

impl<'a> Validator<'a> {
    pub(crate) fn new(source: SourceMap<'a>, root: &'a DeTable<'a>) -> Self {
        Self {
            source,
            root,
            problems: Vec::new(),
            actors: BTreeMap::new(),
            names: Names::default(),
        }
    }

    /// Reports a problem at `path` (at its key, or its nearest ancestor that exists).
    pub(crate) fn report(
        &mut self,
        path: &[Seg],
        message: impl Into<String>,
        help: Option<String>,
    ) {
        let span = span_of(self.root, path);
        self.report_at(span, path, message, help);
    }

    pub(crate) fn report_at(
        &mut self,
        span: Option<Range<usize>>,
        path: &[Seg],
        message: impl Into<String>,
        help: Option<String>,
    ) {
        let mut d = self.source.diagnostic(span, render(path), message);
        d.help = help;
        self.problems.push(d);
    }

    /// The line of the item at `path`.
    pub(crate) fn line_of(&self, path: &[Seg]) -> usize {
        self.source.line_col(span_of(self.root, path).map_or(0, |r| r.start)).0
    }

    /// An amount as people write it ("0.5 BTC", "12000 sat"), at most 21 million BTC.
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

    /// Reads the top-level keys; returns the raw top, the node count and the fee rate.
    pub(crate) fn top(&mut self, top: &Spanned<DeValue<'a>>) -> Option<(RawTop, usize, FeeRate)> {
        let raw: RawTop = read(self, top, &[], "a scenario file")?;
        if raw.name.trim().is_empty() {
            self.report(&[key("name")], "the name is empty", None);
        }
        if raw.seed.is_empty() {
            self.report(&[key("seed")], "the seed is empty", None);
        }
        let nodes = raw.nodes.unwrap_or(1);
        let nodes = match usize::try_from(nodes) {
            Ok(n) if (1..=limits::MAX_NODES).contains(&n) => n,
            _ => {
                let message = format!("a lab runs 1 to {} nodes, not {nodes}", limits::MAX_NODES);
                self.report(&[key("nodes")], message, None);
                1
            }
        };
        let fee_rate = match raw.fee_rate.as_deref() {
            None => limits::DEFAULT_FEE_RATE,
            Some(text) => match super::units::fee_rate(text) {
                Ok(rate) => rate,
                Err(message) => {
                    let help = Some("write it as \"2 sat/vB\"".to_owned());
                    self.report(&[key("fee_rate")], message, help);
                    limits::DEFAULT_FEE_RATE
                }
            },
        };
        Some((raw, nodes, fee_rate))
    }

    /// Reads `[actors]`.
    pub(crate) fn actors(&mut self, table: &DeTable<'a>) {
        if table.len() > limits::MAX_ACTORS {
            let message = format!("a scenario has at most {} actors", limits::MAX_ACTORS);
            self.report(&[key("actors")], message, None);
            return;
        }
        let mut total = Amount::ZERO;
        for (name, value) in table {
            let name = name.get_ref().to_string();
            let path = [key("actors"), key(&name)];
            let Some(raw) = read::<RawActor>(self, value, &path, "an actor") else { continue };
            let at = |k: &str| [key("actors"), key(&name), key(k)];
            let role = match raw.role {
                RoleName::User => {
                    let funds = match &raw.funds {
                        Some(text) => self.amount(&at("funds"), text).unwrap_or(Amount::ZERO),
                        None => Amount::ZERO,
                    };
                    if funds > Amount::ZERO && funds < limits::MIN_FUNDS {
                        let message = format!(
                            "funds of {funds} are below the dust limit of the wallet's P2WPKH \
                             ({}): the lab cannot pay them",
                            limits::MIN_FUNDS
                        );
                        self.report(&at("funds"), message, None);
                    }
                    total = total.checked_add(funds).unwrap_or(Amount::MAX);
                    Role::User { funds }
                }
                RoleName::Signer => {
                    for k in ["funds", "descriptor"] {
                        let given = if k == "funds" {
                            raw.funds.is_some()
                        } else {
                            raw.descriptor.is_some()
                        };
                        if given {
                            let message =
                                format!("a signer has no wallet (no `{k}`); make it a user");
                            self.report(&at(k), message, None);
                        }
                    }
                    Role::Signer
                }
            };
            let actor_key = self.actor_key(&name, &raw);
            let wallet =
                raw.descriptor.as_deref().and_then(
                    |text| match super::actor_keys::wallet_descriptor(text) {
                        Ok(can_sign) => {
                            Some(WalletSpec { descriptor: text.trim().to_owned(), can_sign })
                        }
                        Err(message) => {
                            self.report(&at("descriptor"), message, None);
                            None
                        }
                    },
                );
            self.actors.insert(name.clone(), Actor { name, role, key: actor_key, wallet });
        }
        if total > limits::MAX_TOTAL_FUNDS {
            let message = format!(
                "the users' funds add up to {total}; a lab pays at most {} (regtest's whole supply \
                 is about 15,000 BTC)",
                limits::MAX_TOTAL_FUNDS
            );
            self.report(&[key("actors")], message, None);
        }
    }

    fn actor_key(&mut self, name: &str, raw: &RawActor) -> ActorKey {
        let at = |k: &str| [key("actors"), key(name), key(k)];
        match (&raw.pubkey, &raw.secret) {
            (Some(_), Some(_)) => {
                let message = "give either `pubkey` or `secret`, not both";
                self.report(&[key("actors"), key(name)], message, None);
                ActorKey::Derived
            }
            (Some(text), None) => match super::actor_keys::public_key(text) {
                Ok(pk) => ActorKey::Public(pk),
                Err(message) => {
                    self.report(&at("pubkey"), message, None);
                    ActorKey::Derived
                }
            },
            (None, Some(text)) => match super::actor_keys::secret_key(text) {
                Ok(sk) => ActorKey::Secret(sk),
                Err(message) => {
                    self.report(&at("secret"), message, None);
                    ActorKey::Derived
                }
            },
            (None, None) => ActorKey::Derived,
        }
    }

    /// Reports `name` at `path` unless it is an actor with the wanted role (`None`: any).
    pub(crate) fn check_actor(&mut self, path: &[Seg], name: &str, role: Option<RoleName>) -> bool {
        let found = self.actors.get(name).map(|a| match a.role {
            Role::User { .. } => RoleName::User,
            Role::Signer => RoleName::Signer,
        });
        match (found, role) {
            (Some(r), Some(want)) if r != want => {
                let what = if want == RoleName::User { "a user" } else { "a signer" };
                self.report(path, format!("`{name}` is not {what}"), None);
                false
            }
            (Some(_), _) => true,
            (None, _) => {
                let help = suggest(name, self.actors.keys().map(String::as_str));
                self.report(path, format!("unknown actor `{name}`"), help);
                false
            }
        }
    }
}
