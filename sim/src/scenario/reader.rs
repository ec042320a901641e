//! What a family reads its tables with: typed parsing (every unknown key and type error at
//! file:line:column) and the checks families share (actors, amounts, names, timelocks).

use std::collections::hash_map::Entry;

use bitcoin::{Address, Amount, Network};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, de::DeserializeOwned};
use toml::{Spanned, de::DeValue};

use super::{
    diagnostic::suggest,
    limits::MAX_MULTISIG_KEYS,
    model::{Actor, ActorKey, Destination, Role},
    spans::Seg,
    typed::read,
    validator::{RoleName, Validator, key},
};

/// Reads one table of a family: a peg's parameters or a step's arguments.
pub(crate) struct Reader<'r, 'a> {
    pub(crate) v: &'r mut Validator<'a>,
    value: Spanned<DeValue<'a>>,
    path: Vec<Seg>,
    what: String,
    /// The step's position (from 0), for default transaction names.
    index: usize,
    peg: String,
}

impl<'r, 'a> Reader<'r, 'a> {
    pub(crate) fn new(
        v: &'r mut Validator<'a>,
        value: Spanned<DeValue<'a>>,
        path: Vec<Seg>,
        what: String,
        index: usize,
        peg: String,
    ) -> Self {
        Self { v, value, path, what, index, peg }
    }

    /// The table as `T`, or `None` with its problems reported.
    pub(crate) fn parse<T: DeserializeOwned>(&mut self) -> Option<T> {
        read(self.v, &self.value, &self.path, &self.what)
    }

    /// The name of the peg this table belongs to.
    pub(crate) fn peg(&self) -> &str {
        &self.peg
    }

    /// The path of one of the table's keys (`""`: the table itself; `a.b`: key `b` of the
    /// inline table at `a`).
    pub(crate) fn at(&self, k: &str) -> Vec<Seg> {
        let mut p = self.path.clone();
        if !k.is_empty() {
            p.extend(k.split('.').map(key));
        }
        p
    }

    /// Reports a problem at one of the table's keys (`""`: the table itself).
    pub(crate) fn report(&mut self, k: &str, message: impl Into<String>, help: Option<String>) {
        let path = self.at(k);
        self.v.report(&path, message, help);
    }

    /// An amount ("0.5 BTC"), reported at `k` when it is not one.
    pub(crate) fn amount(&mut self, k: &str, text: &str) -> Option<Amount> {
        let path = self.at(k);
        self.v.amount(&path, text)
    }

    /// Whether `name` is an actor of that role (`None`: any), reported at `k` when not.
    pub(crate) fn actor(&mut self, k: &str, name: &str, role: Option<RoleName>) -> bool {
        let path = self.at(k);
        self.v.check_actor(&path, name, role)
    }

    /// Whether `name` is a user (it has a wallet).
    pub(crate) fn user(&mut self, k: &str, name: &str) -> bool {
        self.actor(k, name, Some(RoleName::User))
    }

    /// Whether `name` is a user whose wallet can pay (it holds its private keys), reported at
    /// `k` when not.
    pub(crate) fn payer(&mut self, k: &str, name: &str) -> bool {
        if !self.user(k, name) {
            return false;
        }
        let watch_only =
            self.v.actors.get(name).and_then(|a| a.wallet.as_ref()).is_some_and(|w| !w.can_sign);
        if watch_only {
            let message = format!(
                "`{name}`'s wallet descriptor holds no private key: `{name}` cannot pay this step \
                 (give the descriptor with its private keys, or leave it out to derive one)"
            );
            self.report(k, message, None);
        }
        !watch_only
    }

    /// Whether `name`'s own key can sign (the file gave no `pubkey` alone), reported at `k`
    /// when not.
    pub(crate) fn key_signer(&mut self, k: &str, name: &str, what: &str) -> bool {
        let watch_only =
            matches!(self.v.actors.get(name).map(|a| &a.key), Some(ActorKey::Public(_)));
        if watch_only {
            let message = format!(
                "`{name}` is given only a public key: it cannot sign {what} (give it a `secret`, \
                 or leave both out to derive one)"
            );
            self.report(k, message, None);
        }
        !watch_only
    }

    /// Whether `name` is a signer who can sign (a secret key, derived or given), reported at
    /// `k` when not.
    pub(crate) fn signer(&mut self, k: &str, name: &str) -> bool {
        if !self.actor(k, name, Some(RoleName::Signer)) {
            return false;
        }
        self.key_signer(k, name, "this step")
    }

    /// The users defined so far, by name.
    pub(crate) fn users(&self) -> Vec<String> {
        self.v
            .actors
            .values()
            .filter(|a| matches!(a.role, Role::User { .. }))
            .map(|a| a.name.clone())
            .collect()
    }

    /// Whether an actor called `name` exists (nothing reported).
    pub(crate) fn knows_actor(&self, name: &str) -> bool {
        self.v.actors.contains_key(name)
    }

    /// A "did you mean" among the actors' names.
    pub(crate) fn suggest_actor(&self, name: &str) -> Option<String> {
        suggest(name, self.v.actors.keys().map(String::as_str))
    }

    /// Makes `name` a signer with a key derived from the seed, unless the file defines it.
    pub(crate) fn ensure_signer(&mut self, name: &str) {
        self.v.actors.entry(name.to_owned()).or_insert_with(|| Actor {
            name: name.to_owned(),
            role: Role::Signer,
            key: ActorKey::Derived,
            wallet: None,
        });
    }

    /// The actor holding `pk` (one given that key in the file), else a new watch-only signer
    /// `<prefix>-<index>` holding it: the keys of a script given as bytes.
    pub(crate) fn key_holder(
        &mut self,
        pk: &bitcoin::PublicKey,
        prefix: &str,
        index: usize,
    ) -> String {
        let secp = bitcoin::secp256k1::Secp256k1::signing_only();
        let holds = |a: &Actor| match &a.key {
            ActorKey::Public(given) => given == pk,
            ActorKey::Secret(sk) => bitcoin::PublicKey::new(sk.public_key(&secp)) == *pk,
            ActorKey::Derived => false,
        };
        if let Some(actor) = self.v.actors.values().find(|a| holds(a)) {
            return actor.name.clone();
        }
        let mut name = format!("{prefix}-{index}");
        if self.v.actors.contains_key(&name) {
            name = format!("{name}-{}", &pk.to_string()[2..10]);
        }
        let actor = Actor {
            name: name.clone(),
            role: Role::Signer,
            key: ActorKey::Public(*pk),
            wallet: None,
        };
        self.v.actors.insert(name.clone(), actor);
        name
    }

    /// A federation's signers: a count (`members = 5` makes `<prefix>-1`..`<prefix>-5`, kept
    /// when the file defines them) or a list of signer names; 1 to 20 of them, checked before
    /// any name is made.
    pub(crate) fn members(&mut self, k: &str, spec: &Members, prefix: &str) -> Vec<String> {
        let count = match spec {
            Members::Count(n) => *n,
            Members::Names(names) => names.len() as u64,
        };
        if count == 0 || count > MAX_MULTISIG_KEYS as u64 {
            let message = format!("a federation has 1 to {MAX_MULTISIG_KEYS} keys, not {count}");
            self.report(k, message, None);
            return Vec::new();
        }
        match spec {
            Members::Names(names) => {
                let mut seen = std::collections::HashSet::new();
                for n in names {
                    if self.actor(k, n, Some(RoleName::Signer)) && !seen.insert(n.as_str()) {
                        self.report(k, format!("`{n}` is named twice"), None);
                    }
                }
                names.clone()
            }
            Members::Count(n) => (1..=*n)
                .map(|i| {
                    let name = format!("{prefix}-{i}");
                    self.v.actors.entry(name.clone()).or_insert_with(|| Actor {
                        name: name.clone(),
                        role: Role::Signer,
                        key: ActorKey::Derived,
                        wallet: None,
                    });
                    name
                })
                .collect(),
        }
    }

    /// `k` of `n`: reported unless 1 <= k <= n.
    pub(crate) fn threshold(&mut self, key: &str, k: u64, n: usize, of: &str) -> usize {
        if k == 0 || k > n as u64 {
            self.report(key, format!("threshold {k} is impossible with {n} {of}"), None);
            return n.max(1);
        }
        k as usize
    }

    /// A relative timelock in blocks: 1 to 65535.
    pub(crate) fn csv(&mut self, k: &str, value: u64) -> u16 {
        match u16::try_from(value) {
            Ok(csv) if csv > 0 => csv,
            _ => {
                let message =
                    format!("{value} is impossible: a relative timelock in blocks is 1 to 65535");
                self.report(k, message, None);
                1
            }
        }
    }

    /// Looks up `name` in `presets`, reporting an unknown name with the known ones.
    pub(crate) fn preset<T: Clone>(&mut self, name: &str, presets: &[(&str, T)]) -> Option<T> {
        if let Some((_, value)) = presets.iter().find(|(known, _)| *known == name) {
            return Some(value.clone());
        }
        let known: Vec<&str> = presets.iter().map(|(known, _)| *known).collect();
        let help = suggest(name, known.iter().copied());
        self.report(
            "preset",
            format!("unknown preset `{name}`; known: {}", known.join(", ")),
            help,
        );
        None
    }

    /// Where a payment goes: an actor, or a regtest address.
    pub(crate) fn destination(&mut self, k: &str, to: &str) -> Destination {
        if self.v.actors.contains_key(to) {
            return Destination::Actor(to.to_owned());
        }
        match to.parse::<Address<_>>().map(|a| a.require_network(Network::Regtest)) {
            Ok(Ok(address)) => Destination::Address(address),
            Ok(Err(_)) => {
                let message =
                    format!("`{to}` is not a regtest address: peglab only pays on regtest");
                self.report(k, message, None);
                Destination::Actor(to.to_owned())
            }
            Err(_) => {
                let help = suggest(to, self.v.actors.keys().map(String::as_str));
                self.report(k, format!("`{to}` is neither an actor nor an address"), help);
                Destination::Actor(to.to_owned())
            }
        }
    }

    /// The transaction's name (given, or `<verb>:<step number>`), defined now: reported when
    /// a transaction of that name exists already.
    pub(crate) fn name_tx(&mut self, k: &str, verb: &str, given: Option<&str>) -> String {
        let name = given.map_or_else(|| format!("{verb}:{}", self.index + 1), str::to_owned);
        let path = self.at(k);
        define_tx(self.v, &path, &name);
        name
    }

    /// Defines `name` as a transaction a step may make (a refund the modelled side decides
    /// on), once: later steps may name it.
    pub(crate) fn may_make_tx(&mut self, name: &str) {
        if self.v.names.txs.insert(name.to_owned()) {
            self.v.names.tx_order.push(name.to_owned());
        }
    }

    /// The given name or `<verb>:<step number>`, without defining a transaction.
    pub(crate) fn default_name(&self, verb: &str, given: Option<&str>) -> String {
        given.map_or_else(|| format!("{verb}:{}", self.index + 1), str::to_owned)
    }

    /// Records `name` as a `record` (a peg-in, a delegation) of this peg.
    pub(crate) fn define(&mut self, record: &'static str, k: &str, name: &str) {
        self.define_with(record, k, name, "");
    }

    /// Records `name` as a `record` of this peg, with a note for later steps (a peg-in's
    /// payer).
    pub(crate) fn define_with(&mut self, record: &'static str, k: &str, name: &str, note: &str) {
        let peg = self.peg.clone();
        let (map, order) = self.v.names.records.entry(record).or_default();
        match map.entry(name.to_owned()) {
            Entry::Occupied(_) => {
                self.report(k, format!("a {record} called `{name}` already exists"), None)
            }
            Entry::Vacant(e) => {
                e.insert((peg, note.to_owned()));
                order.push(name.to_owned());
            }
        }
    }

    /// The peg (and note) of the `record` called `name`, without reporting anything.
    pub(crate) fn lookup(&self, record: &'static str, name: &str) -> Option<(String, String)> {
        self.v.names.records.get(record).and_then(|(map, _)| map.get(name)).cloned()
    }

    /// The peg of the `record` called `name`, reported at `k` when none was defined before.
    pub(crate) fn find(&mut self, record: &'static str, k: &str, name: &str) -> Option<String> {
        let found = self.lookup(record, name).map(|(peg, _)| peg);
        if found.is_none() {
            let names = self.v.names.records.get(record).map(|(_, order)| order.as_slice());
            let help = suggest(name, names.unwrap_or_default().iter().map(String::as_str));
            self.report(k, format!("no {record} called `{name}` before this step"), help);
        }
        found
    }

    /// Whether a transaction called `name` was defined before, reported at `k` when not.
    pub(crate) fn require_tx(&mut self, k: &str, name: &str) -> bool {
        let path = self.at(k);
        require_tx(self.v, &path, name)
    }

    /// `N` bytes of hex (an optional `0x` prefix allowed).
    pub(crate) fn hex<const N: usize>(&mut self, k: &str, text: &str) -> Option<[u8; N]> {
        let hex = text.strip_prefix("0x").unwrap_or(text);
        match <[u8; N] as bitcoin::hex::FromHex>::from_hex(hex) {
            Ok(bytes) => Some(bytes),
            Err(e) => {
                self.report(k, format!("`{text}` is not {N} bytes of hex: {e}"), None);
                None
            }
        }
    }
}

/// Defines a transaction name, reporting a duplicate.
pub(crate) fn define_tx(v: &mut Validator<'_>, path: &[Seg], name: &str) {
    if !v.names.txs.insert(name.to_owned()) {
        v.report(path, format!("a transaction called `{name}` already exists"), None);
    } else {
        v.names.tx_order.push(name.to_owned());
    }
}

/// Whether a transaction called `name` exists, reported at `path` when not.
pub(crate) fn require_tx(v: &mut Validator<'_>, path: &[Seg], name: &str) -> bool {
    if v.names.txs.contains(name) {
        return true;
    }
    let help = suggest(name, v.names.tx_order.iter().map(String::as_str));
    v.report(path, format!("no transaction called `{name}` before this step"), help);
    false
}

/// Signers of a federation: a count (named `member-1`, `member-2`, ...) or signer names.
#[derive(Debug, Clone)]
pub(crate) enum Members {
    Count(u64),
    Names(Vec<String>),
}

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number of members or a list of signer names")
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Members, E> {
                u64::try_from(n)
                    .map(Members::Count)
                    .map_err(|_| E::custom("a count cannot be negative"))
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Members, E> {
                Ok(Members::Count(n))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Members, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = seq.next_element()? {
                    names.push(name);
                }
                Ok(Members::Names(names))
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl JsonSchema for Members {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Members".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "a number of signers (named <prefix>-1, <prefix>-2, ...) or a list of signer names",
            "anyOf": [
                { "type": "integer", "minimum": 1, "maximum": 20 },
                { "type": "array", "items": { "type": "string" }, "minItems": 1, "maxItems": 20 }
            ]
        })
    }
}
