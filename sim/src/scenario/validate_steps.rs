//! Validating steps and their expectations: one action per step, every name defined before
//! it is used.

use std::str::FromStr;

use bitcoin::{Address, Network};

use super::{diagnostic::suggest, model::*, raw::*, spans::Seg, validate::Validator};
use crate::NodeId;

fn key(k: &str) -> Seg {
    Seg::Key(k.to_owned())
}

/// What step validation needs of a federated peg.
struct Fed {
    members: Vec<String>,
    emergency: Vec<String>,
    powpeg: bool,
}

/// Names of transactions defined so far, with the peg of deposits.
#[derive(Default)]
struct Names {
    txs: Vec<String>,
    deposits: Vec<(String, String)>,
    /// Peg-ins: name, peg, payer.
    peg_ins: Vec<(String, String, String)>,
    /// SPV vault issues and redeem requests: name, peg.
    issues: Vec<(String, String)>,
    requests: Vec<(String, String)>,
    /// Core stakes.
    stakes: Vec<String>,
    /// Babylon delegations.
    delegations: Vec<String>,
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
            let at = |k: &str| {
                let mut p = base.clone();
                p.push(key(k));
                p
            };
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
            let default_name = |kw: &str, given: &Option<String>| {
                given.clone().unwrap_or_else(|| format!("{kw}:{}", i + 1))
            };
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
                Some("submit_headers") => {
                    let w = s.submit_headers.as_ref().expect("present");
                    Action::SubmitHeaders {
                        peg: self.spv_peg(&at("submit_headers"), w.peg.as_deref(), pegs),
                    }
                }
                Some("delegate") => {
                    let d = s.delegate.as_ref().expect("present");
                    let peg = self.babylon_peg(&at("delegate"), d.peg.as_deref(), pegs);
                    let amount = self.amount(&at("delegate"), &d.amount).unwrap_or_default();
                    let name = default_name("delegate", &d.name);
                    self.define_tx(&at("delegate"), &name, &mut names);
                    names.delegations.push(name.clone());
                    Action::Delegate { peg, amount, name }
                }
                Some(kw @ ("withdraw" | "unbond")) => {
                    let (peg_given, delegation) = match (kw, &s.withdraw, &s.unbond) {
                        ("withdraw", Some(w), _) => (w.peg.as_deref(), &w.delegation),
                        (_, _, Some(u)) => (u.peg.as_deref(), &u.delegation),
                        _ => unreachable!("present"),
                    };
                    let peg = self.babylon_peg(&at(kw), peg_given, pegs);
                    if !names.delegations.contains(delegation) {
                        let help =
                            suggest(delegation, names.delegations.iter().map(String::as_str));
                        self.report(
                            &at(kw),
                            format!("no delegation called `{delegation}` before this step"),
                            help,
                        );
                    }
                    let delegation = delegation.clone();
                    if let Some(w) = s.withdraw.as_ref().filter(|_| kw == "withdraw") {
                        let to = self.destination(&at(kw), &w.to, actors);
                        let name = default_name(kw, &w.name);
                        self.define_tx(&at(kw), &name, &mut names);
                        Action::Withdraw { peg, delegation, to, name }
                    } else {
                        let u = s.unbond.as_ref().expect("present");
                        let committee = match pegs.iter().find(|p| p.name == peg).map(|p| &p.kind) {
                            Some(PegKind::Babylon(b)) => b.covenant.clone(),
                            _ => Vec::new(),
                        };
                        for member in &u.covenant {
                            if self.check_actor(&at(kw), member, actors, true)
                                && !committee.contains(member)
                            {
                                self.report(
                                    &at(kw),
                                    format!("`{member}` is not on `{peg}`'s covenant committee"),
                                    None,
                                );
                            }
                        }
                        let name = default_name(kw, &u.name);
                        self.define_tx(&at(kw), &name, &mut names);
                        Action::Unbond { peg, delegation, covenant: u.covenant.clone(), name }
                    }
                }
                Some("vote") => {
                    let v = s.vote.as_ref().expect("present");
                    let peg = self.babylon_peg(&at("vote"), v.peg.as_deref(), pegs);
                    let providers = match pegs.iter().find(|p| p.name == peg).map(|p| &p.kind) {
                        Some(PegKind::Babylon(b)) => b.providers.clone(),
                        _ => Vec::new(),
                    };
                    if !providers.contains(&v.provider) {
                        let help = suggest(&v.provider, providers.iter().map(String::as_str));
                        self.report(
                            &at("vote"),
                            format!("`{}` is not a finality provider of `{peg}`", v.provider),
                            help,
                        );
                    }
                    Action::Vote {
                        peg,
                        provider: v.provider.clone(),
                        height: v.height,
                        block: v.block.clone(),
                    }
                }
                Some("slash") => {
                    let sl = s.slash.as_ref().expect("present");
                    let peg = self.babylon_peg(&at("slash"), sl.peg.as_deref(), pegs);
                    if !names.delegations.contains(&sl.delegation) {
                        let help =
                            suggest(&sl.delegation, names.delegations.iter().map(String::as_str));
                        self.report(
                            &at("slash"),
                            format!("no delegation called `{}` before this step", sl.delegation),
                            help,
                        );
                    }
                    let name = default_name("slash", &sl.name);
                    self.define_tx(&at("slash"), &name, &mut names);
                    Action::Slash { peg, delegation: sl.delegation.clone(), name }
                }
                Some("stake") => {
                    let st = s.stake.as_ref().expect("present");
                    let peg = self.core_peg(&at("stake"), st.peg.as_deref(), pegs);
                    self.check_actor(&at("stake"), &st.from, actors, false);
                    let amount = self.amount(&at("stake"), &st.amount).unwrap_or_default();
                    let lock = parse_duration(&st.lock).unwrap_or_else(|| {
                        self.report(
                            &at("stake"),
                            format!("lock `{}` is not a duration", st.lock),
                            Some("write e.g. \"2h\" or \"3d\"".into()),
                        );
                        0
                    });
                    let name = default_name("stake", &st.name);
                    self.define_tx(&at("stake"), &name, &mut names);
                    names.stakes.push(name.clone());
                    Action::Stake { peg, from: st.from.clone(), amount, lock, name }
                }
                Some("unstake") => {
                    let u = s.unstake.as_ref().expect("present");
                    let peg = self.core_peg(&at("unstake"), u.peg.as_deref(), pegs);
                    if !names.stakes.contains(&u.stake) {
                        let help = suggest(&u.stake, names.stakes.iter().map(String::as_str));
                        self.report(
                            &at("unstake"),
                            format!("no stake called `{}` before this step", u.stake),
                            help,
                        );
                    }
                    let to = self.destination(&at("unstake"), &u.to, actors);
                    let name = default_name("unstake", &u.name);
                    self.define_tx(&at("unstake"), &name, &mut names);
                    Action::Unstake { peg, stake: u.stake.clone(), to, name }
                }
                Some("relay_headers") => {
                    let r = s.relay_headers.as_ref().expect("present");
                    let peg = self.peg_name(&at("relay_headers"), r.peg.as_deref(), pegs);
                    if !matches!(
                        pegs.iter().find(|p| p.name == peg).map(|p| &p.kind),
                        Some(PegKind::HeaderRelay(_))
                    ) {
                        self.report(
                            &at("relay_headers"),
                            format!("`{peg}` is not a header-relay peg"),
                            None,
                        );
                    }
                    let mut headers = Vec::new();
                    for (n, hex) in r.headers.iter().enumerate() {
                        match bitcoin::consensus::encode::deserialize_hex(hex) {
                            Ok(h) => headers.push(h),
                            Err(e) => self.report(
                                &at("relay_headers"),
                                format!("header {}: not an 80-byte header in hex: {e}", n + 1),
                                None,
                            ),
                        }
                    }
                    Action::RelayHeaders { peg, headers }
                }
                Some(kw @ ("issue" | "redeem")) => {
                    let d = if kw == "issue" { s.issue.as_ref() } else { s.redeem.as_ref() }
                        .expect("present");
                    let peg = self.spv_peg(&at(kw), d.peg.as_deref(), pegs);
                    self.check_actor(&at(kw), &d.from, actors, false);
                    let amount = self.amount(&at(kw), &d.amount).unwrap_or_default();
                    let name = default_name(kw, &d.name);
                    if kw == "issue" {
                        self.define_tx(&at(kw), &name, &mut names);
                        names.issues.push((name.clone(), peg.clone()));
                        Action::Issue { peg, from: d.from.clone(), amount, name }
                    } else {
                        if names.requests.iter().any(|(n, _)| *n == name) {
                            self.report(
                                &at(kw),
                                format!("a redeem request called `{name}` already exists"),
                                None,
                            );
                        }
                        names.requests.push((name.clone(), peg.clone()));
                        Action::Redeem { peg, from: d.from.clone(), amount, name }
                    }
                }
                Some("execute_issue") => {
                    let e = s.execute_issue.as_ref().expect("present");
                    let peg = self.spv_peg(&at("execute_issue"), e.peg.as_deref(), pegs);
                    if !names.issues.iter().any(|(n, _)| *n == e.deposit) {
                        let help =
                            suggest(&e.deposit, names.issues.iter().map(|(n, _)| n.as_str()));
                        self.report(
                            &at("execute_issue"),
                            format!("no issue called `{}` before this step", e.deposit),
                            help,
                        );
                    }
                    Action::ExecuteIssue { peg, deposit: e.deposit.clone() }
                }
                Some(kw @ ("vault_pays" | "execute_redeem" | "cancel_redeem")) => {
                    let r = match kw {
                        "vault_pays" => s.vault_pays.as_ref(),
                        "execute_redeem" => s.execute_redeem.as_ref(),
                        _ => s.cancel_redeem.as_ref(),
                    }
                    .expect("present");
                    let peg = self.spv_peg(&at(kw), r.peg.as_deref(), pegs);
                    if !names.requests.iter().any(|(n, _)| *n == r.request) {
                        let help =
                            suggest(&r.request, names.requests.iter().map(|(n, _)| n.as_str()));
                        self.report(
                            &at(kw),
                            format!("no redeem request called `{}` before this step", r.request),
                            help,
                        );
                    }
                    let request = r.request.clone();
                    match kw {
                        "vault_pays" => {
                            let name = default_name(kw, &r.name);
                            self.define_tx(&at(kw), &name, &mut names);
                            Action::VaultPays { peg, request, name }
                        }
                        "execute_redeem" => Action::ExecuteRedeem { peg, request },
                        _ => Action::CancelRedeem { peg, request },
                    }
                }
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

    fn expectations(
        &mut self,
        path: &[Seg],
        e: &RawExpect,
        action: &Action,
        actors: &[Actor],
        pegs: &[Peg],
        names: &Names,
    ) -> Vec<Expectation> {
        let at = |k: &str| {
            let mut p = path.to_vec();
            p.push(key(k));
            p
        };
        let mut out = Vec::new();
        let outcome_keys = [e.accepted.is_some(), e.rejected.is_some(), e.stalled.is_some()];
        if outcome_keys.iter().filter(|on| **on).count() > 1 {
            self.report(path, "expect one outcome: `accepted`, `rejected` or `stalled`", None);
        }
        if outcome_keys.iter().any(|on| *on) && !action.has_outcome() {
            self.report(
                path,
                format!(
                    "a `{}` step makes no transaction to be accepted, rejected or stalled",
                    action.keyword()
                ),
                None,
            );
        }
        match e.accepted {
            Some(true) => out.push(Expectation::Accepted),
            Some(false) => self.report(
                &at("accepted"),
                "`accepted = false` says nothing: write `rejected = \"<reason>\"`",
                None,
            ),
            None => {}
        }
        if let Some(r) = &e.rejected {
            out.push(Expectation::Rejected(r.clone()));
        }
        if let Some(r) = &e.stalled {
            out.push(Expectation::Stalled(r.clone()));
        }
        for (tx, count) in e.confirmations.iter().flatten() {
            self.check_tx(&at("confirmations"), tx, names);
            out.push(Expectation::Confirmations { tx: tx.clone(), count: *count });
        }
        for (actor, amount) in e.balance.iter().flatten() {
            self.check_actor(&at("balance"), actor, actors, false);
            if let Some(amount) = self.amount(&at("balance"), amount) {
                out.push(Expectation::Balance { actor: actor.clone(), amount });
            }
        }
        for (actor, amount) in e.sidechain_balance.iter().flatten() {
            self.check_actor(&at("sidechain_balance"), actor, actors, false);
            if let Some(amount) = self.amount(&at("sidechain_balance"), amount) {
                out.push(Expectation::SidechainBalance { actor: actor.clone(), amount });
            }
        }
        for (peg, amount) in e.shortfall.iter().flatten() {
            // A federated peg (liquid, powpeg) or an spv-vault.
            if !matches!(
                pegs.iter().find(|p| p.name == *peg).map(|p| &p.kind),
                Some(PegKind::SpvVault(_))
            ) {
                self.liquid_peg(&at("shortfall"), Some(peg), pegs);
            }
            if let Some(amount) = self.amount(&at("shortfall"), amount) {
                out.push(Expectation::Shortfall { peg: peg.clone(), amount });
            }
        }
        for (peg, amount) in e.collateral.iter().flatten() {
            self.spv_peg(&at("collateral"), Some(peg), pegs);
            if let Some(amount) = self.amount(&at("collateral"), amount) {
                out.push(Expectation::Collateral { peg: peg.clone(), amount });
            }
        }
        for (actor, amount) in e.reimbursed.iter().flatten() {
            self.check_actor(&at("reimbursed"), actor, actors, false);
            if let Some(amount) = self.amount(&at("reimbursed"), amount) {
                out.push(Expectation::Reimbursed { actor: actor.clone(), amount });
            }
        }
        for (peg, amount) in e.peg_balance.iter().flatten() {
            self.peg_name(&at("peg_balance"), Some(peg), pegs);
            if let Some(amount) = self.amount(&at("peg_balance"), amount) {
                out.push(Expectation::PegBalance { peg: peg.clone(), amount });
            }
        }
        out
    }

    fn destination(&mut self, path: &[Seg], to: &str, actors: &[Actor]) -> Destination {
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

    fn peg_name(&mut self, path: &[Seg], given: Option<&str>, pegs: &[Peg]) -> String {
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

    /// The named (or only) peg, which must be a babylon peg.
    fn babylon_peg(&mut self, path: &[Seg], given: Option<&str>, pegs: &[Peg]) -> String {
        let name = self.peg_name(path, given, pegs);
        if let Some(kind) = pegs.iter().find(|p| p.name == name).map(|p| &p.kind)
            && !matches!(kind, PegKind::Babylon(_))
        {
            self.report(path, format!("`{name}` is not a babylon peg"), None);
        }
        name
    }

    /// The named (or only) peg, which must be a core peg.
    fn core_peg(&mut self, path: &[Seg], given: Option<&str>, pegs: &[Peg]) -> String {
        let name = self.peg_name(path, given, pegs);
        if let Some(kind) = pegs.iter().find(|p| p.name == name).map(|p| &p.kind)
            && !matches!(kind, PegKind::Core(_))
        {
            self.report(path, format!("`{name}` is not a core peg"), None);
        }
        name
    }

    /// The named (or only) peg, which must be an spv-vault.
    fn spv_peg(&mut self, path: &[Seg], given: Option<&str>, pegs: &[Peg]) -> String {
        let name = self.peg_name(path, given, pegs);
        if let Some(kind) = pegs.iter().find(|p| p.name == name).map(|p| &p.kind)
            && !matches!(kind, PegKind::SpvVault(_))
        {
            self.report(path, format!("`{name}` is not an spv-vault peg"), None);
        }
        name
    }

    /// The named (or only) peg, which must be a federated one (liquid or powpeg): its name,
    /// its members and emergency keys, and whether it is a PowPeg.
    fn liquid_peg(
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

    fn define_tx(&mut self, path: &[Seg], name: &str, names: &mut Names) {
        if names.txs.iter().any(|n| n == name) {
            self.report(path, format!("a transaction called `{name}` already exists"), None);
        }
        names.txs.push(name.to_owned());
    }

    fn check_tx(&mut self, path: &[Seg], name: &str, names: &Names) {
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
