//! Validating steps and their expectations: one action per step, every name defined before
//! it is used.

use std::str::FromStr;

use bitcoin::{Address, Network};

use super::{
    diagnostic::suggest,
    model::*,
    raw::*,
    spans::Seg,
    validate::{Validator, key},
};
use crate::NodeId;

/// One step being validated, with what it may name.
pub(super) struct StepCx<'a> {
    pub(super) step: &'a RawStep,
    /// Index in the file's `[[step]]` list, from 0.
    pub(super) index: usize,
    pub(super) base: Vec<Seg>,
    pub(super) actors: &'a [Actor],
    pub(super) pegs: &'a [Peg],
}

impl StepCx<'_> {
    /// The path of one of the step's keys.
    pub(super) fn at(&self, k: &str) -> Vec<Seg> {
        let mut p = self.base.clone();
        p.push(key(k));
        p
    }

    /// The given transaction name, or `keyword:N` (N counted from 1).
    pub(super) fn default_name(&self, kw: &str, given: &Option<String>) -> String {
        given.clone().unwrap_or_else(|| format!("{kw}:{}", self.index + 1))
    }
}

/// What step validation needs of a federated peg.
pub(super) struct Fed {
    pub(super) members: Vec<String>,
    pub(super) emergency: Vec<String>,
    pub(super) powpeg: bool,
}

/// Names of transactions defined so far, with the peg of deposits.
#[derive(Default)]
pub(super) struct Names {
    pub(super) txs: Vec<String>,
    pub(super) deposits: Vec<(String, String)>,
    /// Peg-ins: name, peg, payer.
    pub(super) peg_ins: Vec<(String, String, String)>,
    /// SPV vault issues and redeem requests: name, peg.
    pub(super) issues: Vec<(String, String)>,
    pub(super) requests: Vec<(String, String)>,
    /// Core stakes.
    pub(super) stakes: Vec<String>,
    /// Babylon delegations.
    pub(super) delegations: Vec<String>,
}

impl Validator<'_> {
    pub(crate) fn steps(
        &mut self,
        raw: &[RawStep],
        actors: &[Actor],
        pegs: &[Peg],
        nodes: usize,
    ) -> Vec<Step> {
        let mut names = Names::default();
        let mut steps = Vec::new();
        for (i, s) in raw.iter().enumerate() {
            let base = vec![key("step"), Seg::Index(i)];
            let cx = StepCx { step: s, index: i, base: base.clone(), actors, pegs };
            let at = |k: &str| cx.at(k);
            let line = self
                .source
                .line_col(super::spans::span_of(self.root, &base).map_or(0, |r| r.start))
                .0;
            let present: Vec<&str> = [
                ("mine", s.mine.is_some()),
                ("advance_time", s.advance_time.is_some()),
                ("reorg", s.reorg.is_some()),
                ("partition", s.partition.is_some()),
                ("heal", s.heal.is_some()),
                ("offline", s.offline.is_some()),
                ("online", s.online.is_some()),
                ("pay", s.pay.is_some()),
                ("deposit", s.deposit.is_some()),
                ("spend", s.spend.is_some()),
                ("peg_in", s.peg_in.is_some()),
                ("claim", s.claim.is_some()),
                ("peg_out", s.peg_out.is_some()),
                ("recover", s.recover.is_some()),
                ("sweep", s.sweep.is_some()),
                ("batch", s.batch.is_some()),
                ("submit_headers", s.submit_headers.is_some()),
                ("relay_headers", s.relay_headers.is_some()),
                ("stake", s.stake.is_some()),
                ("delegate", s.delegate.is_some()),
                ("withdraw", s.withdraw.is_some()),
                ("unbond", s.unbond.is_some()),
                ("vote", s.vote.is_some()),
                ("slash", s.slash.is_some()),
                ("unstake", s.unstake.is_some()),
                ("issue", s.issue.is_some()),
                ("execute_issue", s.execute_issue.is_some()),
                ("redeem", s.redeem.is_some()),
                ("vault_pays", s.vault_pays.is_some()),
                ("execute_redeem", s.execute_redeem.is_some()),
                ("cancel_redeem", s.cancel_redeem.is_some()),
                ("steal", s.steal.is_some()),
            ]
            .into_iter()
            .filter_map(|(k, on)| on.then_some(k))
            .collect();
            if present.len() > 1 {
                self.report(
                    &base,
                    format!("a step does one thing; this one has {}", present.join(" and ")),
                    None,
                );
                continue;
            }
            if present.is_empty() && s.expect.is_none() {
                self.report(
                    &base,
                    "an empty step: give it an action (`mine`, `pay`, ...) or an `expect`",
                    None,
                );
                continue;
            }
            let node = s.node.unwrap_or(0);
            if node >= nodes {
                self.report(&at("node"), format!("node {node} does not exist: the scenario runs {nodes} node(s), numbered from 0"), None);
            }
            let default_name = |kw: &str, given: &Option<String>| cx.default_name(kw, given);
            let action = match present.first().copied() {
                None => Action::Check,
                Some("mine") => Action::Mine(s.mine.unwrap_or_default()),
                Some("advance_time") => {
                    match parse_duration(s.advance_time.as_deref().unwrap_or_default()) {
                        Some(secs) => Action::AdvanceTime(secs),
                        None => {
                            self.report(
                                &at("advance_time"),
                                "not a duration",
                                Some("write e.g. \"90s\", \"30m\", \"2h\" or \"3d\"".into()),
                            );
                            continue;
                        }
                    }
                }
                Some("reorg") => {
                    let r = s.reorg.as_ref().expect("present");
                    if r.depth == 0 {
                        self.report(&at("reorg"), "a reorg replaces at least one block", None);
                    }
                    if let Some(tx) = &r.without {
                        self.check_tx(&at("reorg"), tx, &names);
                    }
                    Action::Reorg { depth: r.depth, without: r.without.clone() }
                }
                Some("partition") => {
                    let groups = s.partition.clone().unwrap_or_default();
                    for n in groups.iter().flatten() {
                        if *n >= nodes {
                            self.report(
                                &at("partition"),
                                format!(
                                    "node {n} does not exist: the scenario runs {nodes} node(s)"
                                ),
                                None,
                            );
                        }
                    }
                    Action::Partition(
                        groups.into_iter().map(|g| g.into_iter().map(NodeId).collect()).collect(),
                    )
                }
                Some("heal") => Action::Heal,
                Some(kw @ ("offline" | "online")) => {
                    let who = if kw == "offline" { s.offline.clone() } else { s.online.clone() }
                        .unwrap_or_default();
                    for w in &who {
                        self.check_actor(&at(kw), w, actors, true);
                    }
                    if kw == "offline" { Action::Offline(who) } else { Action::Online(who) }
                }
                Some("pay") => {
                    let p = s.pay.as_ref().expect("present");
                    self.check_actor(&at("pay"), &p.from, actors, false);
                    let to = self.destination(&at("pay"), &p.to, actors);
                    let amount = self.amount(&at("pay"), &p.amount);
                    let name = default_name("pay", &p.name);
                    self.define_tx(&at("pay"), &name, &mut names);
                    Action::Pay {
                        from: p.from.clone(),
                        to,
                        amount: amount.unwrap_or_default(),
                        name,
                    }
                }
                Some("deposit") => {
                    let d = s.deposit.as_ref().expect("present");
                    let peg = self.peg_name(&at("deposit"), d.peg.as_deref(), pegs);
                    self.check_actor(&at("deposit"), &d.from, actors, false);
                    let amount = self.amount(&at("deposit"), &d.amount);
                    let name = default_name("deposit", &d.name);
                    self.define_tx(&at("deposit"), &name, &mut names);
                    names.deposits.push((name.clone(), peg.clone()));
                    Action::Deposit {
                        peg,
                        from: d.from.clone(),
                        amount: amount.unwrap_or_default(),
                        name,
                    }
                }
                Some("spend") => {
                    let sp = s.spend.as_ref().expect("present");
                    let peg = self.peg_name(&at("spend"), sp.peg.as_deref(), pegs);
                    match names.deposits.iter().find(|(n, _)| *n == sp.deposit) {
                        Some((_, p)) if *p != peg => self.report(
                            &at("spend"),
                            format!("`{}` is a deposit to `{p}`, not to `{peg}`", sp.deposit),
                            None,
                        ),
                        Some(_) => {}
                        None => {
                            let help = suggest(
                                &sp.deposit,
                                names.deposits.iter().map(|(n, _)| n.as_str()),
                            );
                            self.report(
                                &at("spend"),
                                format!("no deposit called `{}` before this step", sp.deposit),
                                help,
                            );
                        }
                    }
                    if let Some(Peg { kind: PegKind::Multisig(m), .. }) =
                        pegs.iter().find(|p| p.name == peg)
                    {
                        for signer in &sp.signers {
                            if self.check_actor(&at("spend"), signer, actors, true)
                                && !m.signers.contains(signer)
                            {
                                self.report(
                                    &at("spend"),
                                    format!("`{signer}` is not a signer of `{peg}`"),
                                    None,
                                );
                            }
                        }
                    }
                    let to = self.destination(&at("spend"), &sp.to, actors);
                    let name = default_name("spend", &sp.name);
                    self.define_tx(&at("spend"), &name, &mut names);
                    Action::Spend {
                        peg,
                        deposit: sp.deposit.clone(),
                        signers: sp.signers.clone(),
                        to,
                        name,
                    }
                }
                Some("peg_in") => {
                    let p = s.peg_in.as_ref().expect("present");
                    let (peg, fed) = self.liquid_peg(&at("peg_in"), p.peg.as_deref(), pegs);
                    self.check_actor(&at("peg_in"), &p.from, actors, false);
                    if let Some(to) = &p.rsk_to {
                        self.check_actor(&at("peg_in"), to, actors, false);
                        if fed.as_ref().is_some_and(|f| !f.powpeg) {
                            self.report(
                                &at("peg_in"),
                                "`rsk_to` names a Rootstock destination: only a powpeg has one",
                                None,
                            );
                        }
                    }
                    if p.untweaked.is_some() && fed.as_ref().is_some_and(|f| f.powpeg) {
                        self.report(&at("peg_in"), "`untweaked` is about Liquid's tweaked addresses: a powpeg has one address", None);
                    }
                    let amount = self.amount(&at("peg_in"), &p.amount).unwrap_or_default();
                    let name = default_name("peg_in", &p.name);
                    self.define_tx(&at("peg_in"), &name, &mut names);
                    names.peg_ins.push((name.clone(), peg.clone(), p.from.clone()));
                    Action::PegIn {
                        peg,
                        from: p.from.clone(),
                        amount,
                        untweaked: p.untweaked.unwrap_or(false),
                        rsk_to: p.rsk_to.clone(),
                        name,
                    }
                }
                Some("claim") => {
                    let c = s.claim.as_ref().expect("present");
                    let (peg, _) = self.liquid_peg(&at("claim"), c.peg.as_deref(), pegs);
                    let payer = names
                        .peg_ins
                        .iter()
                        .find(|(n, _, _)| *n == c.deposit)
                        .map(|(_, _, from)| from.clone());
                    if payer.is_none() {
                        let help =
                            suggest(&c.deposit, names.peg_ins.iter().map(|(n, _, _)| n.as_str()));
                        self.report(
                            &at("claim"),
                            format!("no peg-in called `{}` before this step", c.deposit),
                            help,
                        );
                    }
                    let by = c.by.clone().or(payer).unwrap_or_default();
                    if c.by.is_some() {
                        self.check_actor(&at("claim"), &by, actors, false);
                    }
                    Action::Claim { peg, deposit: c.deposit.clone(), by }
                }
                Some("peg_out") => {
                    let p = s.peg_out.as_ref().expect("present");
                    let (peg, fed) = self.liquid_peg(&at("peg_out"), p.peg.as_deref(), pegs);
                    self.check_actor(&at("peg_out"), &p.from, actors, false);
                    let amount = self.amount(&at("peg_out"), &p.amount).unwrap_or_default();
                    let to = self.destination(&at("peg_out"), &p.to, actors);
                    let name = default_name("peg_out", &p.name);
                    if fed.as_ref().is_some_and(|f| f.powpeg) {
                        // A PowPeg queues the request; the Bitcoin transaction is a `batch`'s.
                        if p.name.is_some() {
                            self.report(&at("peg_out"), "a PowPeg peg-out only queues a request: name the `batch` that pays it", None);
                        }
                    } else {
                        self.define_tx(&at("peg_out"), &name, &mut names);
                    }
                    Action::PegOut { peg, from: p.from.clone(), amount, to, name }
                }
                Some(kw @ ("recover" | "steal")) => {
                    let r = if kw == "recover" { s.recover.as_ref() } else { s.steal.as_ref() }
                        .expect("present");
                    let (peg, fed) = self.liquid_peg(&at(kw), r.peg.as_deref(), pegs);
                    for signer in &r.signers {
                        let allowed = fed
                            .as_ref()
                            .map(|p| if kw == "recover" { &p.emergency } else { &p.members });
                        if self.check_actor(&at(kw), signer, actors, true)
                            && allowed.is_some_and(|a| !a.contains(signer))
                        {
                            let role =
                                if kw == "recover" { "an emergency key" } else { "a member" };
                            self.report(
                                &at(kw),
                                format!("`{signer}` is not {role} of `{peg}`"),
                                None,
                            );
                        }
                    }
                    let to = self.destination(&at(kw), &r.to, actors);
                    let name = default_name(kw, &r.name);
                    self.define_tx(&at(kw), &name, &mut names);
                    let signers = r.signers.clone();
                    if kw == "recover" {
                        Action::Recover { peg, signers, to, name }
                    } else {
                        Action::Steal { peg, signers, to, name }
                    }
                }
                Some("sweep") => {
                    let w = s.sweep.as_ref().expect("present");
                    let (peg, _) = self.liquid_peg(&at("sweep"), w.peg.as_deref(), pegs);
                    let name = default_name("sweep", &w.name);
                    self.define_tx(&at("sweep"), &name, &mut names);
                    Action::Sweep { peg, name }
                }
                Some("batch") => {
                    let w = s.batch.as_ref().expect("present");
                    let (peg, fed) = self.liquid_peg(&at("batch"), w.peg.as_deref(), pegs);
                    if fed.as_ref().is_some_and(|f| !f.powpeg) {
                        self.report(
                            &at("batch"),
                            "a liquid peg pays each peg-out at once: `batch` is a PowPeg's",
                            None,
                        );
                    }
                    let name = default_name("batch", &w.name);
                    self.define_tx(&at("batch"), &name, &mut names);
                    Action::Batch { peg, name }
                }
                Some(
                    kw @ ("delegate" | "withdraw" | "unbond" | "vote" | "slash" | "stake"
                    | "unstake"),
                ) => self.staking_step(kw, &cx, &mut names),
                Some(
                    kw @ ("submit_headers" | "relay_headers" | "issue" | "redeem" | "execute_issue"
                    | "vault_pays" | "execute_redeem" | "cancel_redeem"),
                ) => self.spv_step(kw, &cx, &mut names),
                Some(other) => unreachable!("step keyword {other} is listed above"),
            };
            let expect = match &s.expect {
                Some(e) => self.expectations(&at("expect"), e, &action, actors, pegs, &names),
                None => Vec::new(),
            };
            steps.push(Step {
                index: i + 1,
                line,
                node: NodeId(node),
                action,
                expect,
                note: s.note.clone(),
            });
        }
        steps
    }

    pub(super) fn destination(&mut self, path: &[Seg], to: &str, actors: &[Actor]) -> Destination {
        if actors.iter().any(|a| a.name == to) {
            return Destination::Actor(to.to_owned());
        }
        match Address::from_str(to).map(|a| a.require_network(Network::Regtest)) {
            Ok(Ok(address)) => Destination::Address(address),
            Ok(Err(_)) => {
                self.report(
                    path,
                    format!("`{to}` is not a regtest address: peglab only pays on regtest"),
                    None,
                );
                Destination::Actor(to.to_owned())
            }
            Err(_) => {
                let help = suggest(to, actors.iter().map(|a| a.name.as_str()));
                self.report(path, format!("`{to}` is neither an actor nor an address"), help);
                Destination::Actor(to.to_owned())
            }
        }
    }

    pub(super) fn peg_name(&mut self, path: &[Seg], given: Option<&str>, pegs: &[Peg]) -> String {
        match given {
            Some(name) if pegs.iter().any(|p| p.name == name) => name.to_owned(),
            Some(name) => {
                let help = suggest(name, pegs.iter().map(|p| p.name.as_str()));
                self.report(path, format!("unknown peg `{name}`"), help);
                name.to_owned()
            }
            None if pegs.len() == 1 => pegs[0].name.clone(),
            None => {
                self.report(path, format!("name the peg: the scenario has {}", pegs.len()), None);
                String::new()
            }
        }
    }

    /// The named (or only) peg, which must be `what` ("a babylon peg"), as `is_kind` tells.
    pub(super) fn peg_of_kind(
        &mut self,
        path: &[Seg],
        given: Option<&str>,
        pegs: &[Peg],
        what: &str,
        is_kind: fn(&PegKind) -> bool,
    ) -> String {
        let name = self.peg_name(path, given, pegs);
        if let Some(peg) = pegs.iter().find(|p| p.name == name)
            && !is_kind(&peg.kind)
        {
            self.report(path, format!("`{name}` is not {what}"), None);
        }
        name
    }

    /// The named (or only) peg, which must be a federated one (liquid or powpeg): its name,
    /// its members and emergency keys, and whether it is a PowPeg.
    pub(super) fn liquid_peg(
        &mut self,
        path: &[Seg],
        given: Option<&str>,
        pegs: &[Peg],
    ) -> (String, Option<Fed>) {
        let name = self.peg_name(path, given, pegs);
        match pegs.iter().find(|p| p.name == name).map(|p| &p.kind) {
            Some(PegKind::Liquid(l)) => (
                name,
                Some(Fed {
                    members: l.members.clone(),
                    emergency: l.emergency.clone(),
                    powpeg: false,
                }),
            ),
            Some(PegKind::Powpeg(r)) => (
                name,
                Some(Fed {
                    members: r.members.clone(),
                    emergency: r.emergency.clone(),
                    powpeg: true,
                }),
            ),
            Some(
                PegKind::Multisig(_)
                | PegKind::SpvVault(_)
                | PegKind::HeaderRelay(_)
                | PegKind::Core(_)
                | PegKind::Babylon(_),
            ) => {
                let message = format!(
                    "`{name}` is not a federated peg: this step needs a liquid or powpeg peg"
                );
                self.report(path, message, None);
                (name, None)
            }
            None => (name, None),
        }
    }

    pub(super) fn define_tx(&mut self, path: &[Seg], name: &str, names: &mut Names) {
        if names.txs.iter().any(|n| n == name) {
            self.report(path, format!("a transaction called `{name}` already exists"), None);
        }
        names.txs.push(name.to_owned());
    }

    pub(super) fn check_tx(&mut self, path: &[Seg], name: &str, names: &Names) {
        if !names.txs.iter().any(|n| n == name) {
            let help = suggest(name, names.txs.iter().map(String::as_str));
            self.report(path, format!("no transaction called `{name}` before this step"), help);
        }
    }
}

/// `"90s"`, `"30m"`, `"2h"`, `"3d"` as seconds.
pub(crate) fn parse_duration(text: &str) -> Option<u32> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = text.split_at(split);
    let n: u32 = n.parse().ok()?;
    let factor = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(factor)
}
