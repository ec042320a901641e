//! Validating SPV steps: vault issues and redeems, header submissions and relays.

use super::{
    diagnostic::suggest,
    model::*,
    validate::Validator,
    validate_steps::{Names, StepCx},
};

impl Validator<'_> {
    pub(super) fn spv_step(&mut self, kw: &str, cx: &StepCx<'_>, names: &mut Names) -> Action {
        match kw {
            "submit_headers" => {
                let w = cx.step.submit_headers.as_ref().expect("present");
                Action::SubmitHeaders {
                    peg: self.peg_of_kind(
                        &cx.at("submit_headers"),
                        w.peg.as_deref(),
                        cx.pegs,
                        "an spv-vault peg",
                        |k| matches!(k, PegKind::SpvVault(_)),
                    ),
                }
            }
            "relay_headers" => {
                let r = cx.step.relay_headers.as_ref().expect("present");
                let peg = self.peg_of_kind(
                    &cx.at("relay_headers"),
                    r.peg.as_deref(),
                    cx.pegs,
                    "a header-relay peg",
                    |k| matches!(k, PegKind::HeaderRelay(_)),
                );
                let mut headers = Vec::new();
                for (n, hex) in r.headers.iter().enumerate() {
                    match bitcoin::consensus::encode::deserialize_hex(hex) {
                        Ok(h) => headers.push(h),
                        Err(e) => self.report(
                            &cx.at("relay_headers"),
                            format!("header {}: not an 80-byte header in hex: {e}", n + 1),
                            None,
                        ),
                    }
                }
                Action::RelayHeaders { peg, headers }
            }
            kw @ ("issue" | "redeem") => {
                let d =
                    if kw == "issue" { cx.step.issue.as_ref() } else { cx.step.redeem.as_ref() }
                        .expect("present");
                let peg = self.peg_of_kind(
                    &cx.at(kw),
                    d.peg.as_deref(),
                    cx.pegs,
                    "an spv-vault peg",
                    |k| matches!(k, PegKind::SpvVault(_)),
                );
                self.check_actor(&cx.at(kw), &d.from, cx.actors, false);
                let amount = self.amount(&cx.at(kw), &d.amount).unwrap_or_default();
                let name = cx.default_name(kw, &d.name);
                if kw == "issue" {
                    self.define_tx(&cx.at(kw), &name, names);
                    names.issues.push((name.clone(), peg.clone()));
                    Action::Issue { peg, from: d.from.clone(), amount, name }
                } else {
                    if names.requests.iter().any(|(n, _)| *n == name) {
                        self.report(
                            &cx.at(kw),
                            format!("a redeem request called `{name}` already exists"),
                            None,
                        );
                    }
                    names.requests.push((name.clone(), peg.clone()));
                    Action::Redeem { peg, from: d.from.clone(), amount, name }
                }
            }
            "execute_issue" => {
                let e = cx.step.execute_issue.as_ref().expect("present");
                let peg = self.peg_of_kind(
                    &cx.at("execute_issue"),
                    e.peg.as_deref(),
                    cx.pegs,
                    "an spv-vault peg",
                    |k| matches!(k, PegKind::SpvVault(_)),
                );
                if !names.issues.iter().any(|(n, _)| *n == e.deposit) {
                    let help = suggest(&e.deposit, names.issues.iter().map(|(n, _)| n.as_str()));
                    self.report(
                        &cx.at("execute_issue"),
                        format!("no issue called `{}` before this step", e.deposit),
                        help,
                    );
                }
                Action::ExecuteIssue { peg, deposit: e.deposit.clone() }
            }
            kw @ ("vault_pays" | "execute_redeem" | "cancel_redeem") => {
                let r = match kw {
                    "vault_pays" => cx.step.vault_pays.as_ref(),
                    "execute_redeem" => cx.step.execute_redeem.as_ref(),
                    _ => cx.step.cancel_redeem.as_ref(),
                }
                .expect("present");
                let peg = self.peg_of_kind(
                    &cx.at(kw),
                    r.peg.as_deref(),
                    cx.pegs,
                    "an spv-vault peg",
                    |k| matches!(k, PegKind::SpvVault(_)),
                );
                if !names.requests.iter().any(|(n, _)| *n == r.request) {
                    let help = suggest(&r.request, names.requests.iter().map(|(n, _)| n.as_str()));
                    self.report(
                        &cx.at(kw),
                        format!("no redeem request called `{}` before this step", r.request),
                        help,
                    );
                }
                let request = r.request.clone();
                match kw {
                    "vault_pays" => {
                        let name = cx.default_name(kw, &r.name);
                        self.define_tx(&cx.at(kw), &name, names);
                        Action::VaultPays { peg, request, name }
                    }
                    "execute_redeem" => Action::ExecuteRedeem { peg, request },
                    _ => Action::CancelRedeem { peg, request },
                }
            }
            other => unreachable!("`{other}` is not a spv_step keyword"),
        }
    }
}
