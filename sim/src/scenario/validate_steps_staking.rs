//! Validating staking steps: Babylon delegations, votes and slashing; Core stakes.

use super::{
    diagnostic::suggest,
    model::*,
    validate::Validator,
    validate_steps::{Names, StepCx, parse_duration},
};

impl Validator<'_> {
    pub(super) fn staking_step(&mut self, kw: &str, cx: &StepCx<'_>, names: &mut Names) -> Action {
        match kw {
            "delegate" => {
                let d = cx.step.delegate.as_ref().expect("present");
                let peg = self.peg_of_kind(
                    &cx.at("delegate"),
                    d.peg.as_deref(),
                    cx.pegs,
                    "a babylon peg",
                    |k| matches!(k, PegKind::Babylon(_)),
                );
                let amount = self.amount(&cx.at("delegate"), &d.amount).unwrap_or_default();
                let name = cx.default_name("delegate", &d.name);
                self.define_tx(&cx.at("delegate"), &name, names);
                names.delegations.push(name.clone());
                Action::Delegate { peg, amount, name }
            }
            kw @ ("withdraw" | "unbond") => {
                let (peg_given, delegation) = match (kw, &cx.step.withdraw, &cx.step.unbond) {
                    ("withdraw", Some(w), _) => (w.peg.as_deref(), &w.delegation),
                    (_, _, Some(u)) => (u.peg.as_deref(), &u.delegation),
                    _ => unreachable!("present"),
                };
                let peg = self.peg_of_kind(&cx.at(kw), peg_given, cx.pegs, "a babylon peg", |k| {
                    matches!(k, PegKind::Babylon(_))
                });
                if !names.delegations.contains(delegation) {
                    let help = suggest(delegation, names.delegations.iter().map(String::as_str));
                    self.report(
                        &cx.at(kw),
                        format!("no delegation called `{delegation}` before this step"),
                        help,
                    );
                }
                let delegation = delegation.clone();
                if let Some(w) = cx.step.withdraw.as_ref().filter(|_| kw == "withdraw") {
                    let to = self.destination(&cx.at(kw), &w.to, cx.actors);
                    let name = cx.default_name(kw, &w.name);
                    self.define_tx(&cx.at(kw), &name, names);
                    Action::Withdraw { peg, delegation, to, name }
                } else {
                    let u = cx.step.unbond.as_ref().expect("present");
                    let committee = match cx.pegs.iter().find(|p| p.name == peg).map(|p| &p.kind) {
                        Some(PegKind::Babylon(b)) => b.covenant.clone(),
                        _ => Vec::new(),
                    };
                    for member in &u.covenant {
                        if self.check_actor(&cx.at(kw), member, cx.actors, true)
                            && !committee.contains(member)
                        {
                            self.report(
                                &cx.at(kw),
                                format!("`{member}` is not on `{peg}`'s covenant committee"),
                                None,
                            );
                        }
                    }
                    let name = cx.default_name(kw, &u.name);
                    self.define_tx(&cx.at(kw), &name, names);
                    Action::Unbond { peg, delegation, covenant: u.covenant.clone(), name }
                }
            }
            "vote" => {
                let v = cx.step.vote.as_ref().expect("present");
                let peg = self.peg_of_kind(
                    &cx.at("vote"),
                    v.peg.as_deref(),
                    cx.pegs,
                    "a babylon peg",
                    |k| matches!(k, PegKind::Babylon(_)),
                );
                let providers = match cx.pegs.iter().find(|p| p.name == peg).map(|p| &p.kind) {
                    Some(PegKind::Babylon(b)) => b.providers.clone(),
                    _ => Vec::new(),
                };
                if !providers.contains(&v.provider) {
                    let help = suggest(&v.provider, providers.iter().map(String::as_str));
                    self.report(
                        &cx.at("vote"),
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
            "slash" => {
                let sl = cx.step.slash.as_ref().expect("present");
                let peg = self.peg_of_kind(
                    &cx.at("slash"),
                    sl.peg.as_deref(),
                    cx.pegs,
                    "a babylon peg",
                    |k| matches!(k, PegKind::Babylon(_)),
                );
                if !names.delegations.contains(&sl.delegation) {
                    let help =
                        suggest(&sl.delegation, names.delegations.iter().map(String::as_str));
                    self.report(
                        &cx.at("slash"),
                        format!("no delegation called `{}` before this step", sl.delegation),
                        help,
                    );
                }
                let name = cx.default_name("slash", &sl.name);
                self.define_tx(&cx.at("slash"), &name, names);
                Action::Slash { peg, delegation: sl.delegation.clone(), name }
            }
            "stake" => {
                let st = cx.step.stake.as_ref().expect("present");
                let peg = self.peg_of_kind(
                    &cx.at("stake"),
                    st.peg.as_deref(),
                    cx.pegs,
                    "a core peg",
                    |k| matches!(k, PegKind::Core(_)),
                );
                self.check_actor(&cx.at("stake"), &st.from, cx.actors, false);
                let amount = self.amount(&cx.at("stake"), &st.amount).unwrap_or_default();
                let lock = parse_duration(&st.lock).unwrap_or_else(|| {
                    self.report(
                        &cx.at("stake"),
                        format!("lock `{}` is not a duration", st.lock),
                        Some("write e.g. \"2h\" or \"3d\"".into()),
                    );
                    0
                });
                let name = cx.default_name("stake", &st.name);
                self.define_tx(&cx.at("stake"), &name, names);
                names.stakes.push(name.clone());
                Action::Stake { peg, from: st.from.clone(), amount, lock, name }
            }
            "unstake" => {
                let u = cx.step.unstake.as_ref().expect("present");
                let peg = self.peg_of_kind(
                    &cx.at("unstake"),
                    u.peg.as_deref(),
                    cx.pegs,
                    "a core peg",
                    |k| matches!(k, PegKind::Core(_)),
                );
                if !names.stakes.contains(&u.stake) {
                    let help = suggest(&u.stake, names.stakes.iter().map(String::as_str));
                    self.report(
                        &cx.at("unstake"),
                        format!("no stake called `{}` before this step", u.stake),
                        help,
                    );
                }
                let to = self.destination(&cx.at("unstake"), &u.to, cx.actors);
                let name = cx.default_name("unstake", &u.name);
                self.define_tx(&cx.at("unstake"), &name, names);
                Action::Unstake { peg, stake: u.stake.clone(), to, name }
            }
            other => unreachable!("`{other}` is not a staking_step keyword"),
        }
    }
}
