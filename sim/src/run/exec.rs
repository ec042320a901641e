//! `exec` steps: the user's own program runs beside the lab. The lab's harness adds where the
//! nodes answer; here the program also gets every actor's keys, every user's fresh address
//! on request (`{address:<actor>}`) and every peg's scripts and addresses, as `PEGLAB_*`
//! variables. Its exit status is the step's outcome: the program judged it.

use std::time::Duration;

use bitcoin::{Address, Network, PrivateKey};
use serde_json::Value;

use super::{Event, Outcome, Run, RunError, StepResult, refused, step_cx};
use crate::{NodeId, chain::ExecRequest, scenario::Destination};

/// How many lines of each pipe the step's report shows.
const SHOWN_LINES: usize = 20;

/// `name` as the tail of an environment variable: upper case, `_` for anything else.
pub(crate) fn env_name(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' })
        .collect()
}

impl Run<'_, '_> {
    /// Every actor's keys and every peg's scripts and addresses, as variables.
    fn scenario_vars(&self) -> Vec<(String, String)> {
        let mut vars = vec![
            ("PEGLAB_SCENARIO".to_owned(), self.scenario.file.clone()),
            ("PEGLAB_SEED".to_owned(), self.keys.seed().to_owned()),
        ];
        for name in self.keys.names() {
            let tail = env_name(name);
            vars.push((format!("PEGLAB_PUBKEY_{tail}"), self.keys.public(name).to_string()));
            if let Some(secret) = self.keys.secret(name) {
                let wif = PrivateKey::new(secret, Network::Regtest).to_wif();
                vars.push((format!("PEGLAB_KEY_{tail}"), wif));
            }
        }
        let derived = crate::derive::derive(self.scenario);
        for peg in derived["pegs"].as_array().into_iter().flatten() {
            let Some(name) = peg["name"].as_str() else { continue };
            let tail = env_name(name);
            for key in ["address", "descriptor", "script_pubkey", "witness_script", "redeem_script"]
            {
                if let Some(Value::String(text)) = peg.get(key) {
                    vars.push((format!("PEGLAB_PEG_{tail}_{}", env_name(key)), text.clone()));
                }
            }
        }
        vars
    }

    /// `value` with each `{address:<actor>}` replaced by a fresh address of the actor.
    fn fill(&mut self, node: NodeId, value: &str) -> String {
        let mut out = String::new();
        let mut rest = value;
        while let Some(start) = rest.find("{address:") {
            let after = &rest[start + "{address:".len()..];
            let Some(end) = after.find('}') else { break };
            out.push_str(&rest[..start]);
            let mut cx = step_cx!(self, node);
            let script = cx.script_of(&Destination::Actor(after[..end].to_owned()));
            match Address::from_script(&script, Network::Regtest) {
                Ok(address) => out.push_str(&address.to_string()),
                Err(_) => out.push_str(&script.to_hex_string()),
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }

    pub(super) fn exec(
        &mut self,
        node: NodeId,
        cmd: &[String],
        env: &[(String, String)],
        timeout: u32,
    ) -> Result<StepResult, RunError> {
        let mut vars = self.scenario_vars();
        for (k, v) in env {
            let filled = self.fill(node, v);
            vars.push((k.clone(), filled));
        }
        let dir = std::path::Path::new(&self.scenario.file)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| std::path::PathBuf::from("."), std::path::Path::to_path_buf);
        let request = ExecRequest {
            node,
            cmd: cmd.to_vec(),
            env: vars,
            dir,
            timeout: Duration::from_secs(u64::from(timeout)),
        };
        let ended = self.chain.exec(&request)?;
        let mut result = StepResult::new(format!("run `{}`", cmd.join(" ")));
        for (pipe, text) in [("stdout", &ended.stdout), ("stderr", &ended.stderr)] {
            for line in tail(text) {
                result.events.push(Event::note("program", format!("{pipe}: {line}")));
            }
        }
        let said = || {
            let mut lines = tail(&ended.stderr);
            if lines.is_empty() {
                lines = tail(&ended.stdout);
            }
            if lines.is_empty() { String::new() } else { format!(": {}", lines.join(" | ")) }
        };
        let outcome = if let Some(why) = &ended.not_started {
            refused("program-not-started", why.clone())
        } else if ended.timed_out {
            refused("program-timed-out", format!("killed after {timeout} s{}", said()))
        } else {
            match ended.status {
                Some(0) => Outcome::Accepted,
                Some(code) => refused("program-failed", format!("exit status {code}{}", said())),
                None => refused("program-failed", format!("killed by a signal{}", said())),
            }
        };
        result.events.push(Event::note("program", format!("ran {} ms", ended.millis)));
        Ok(result.ended(outcome))
    }
}

/// The last lines of a pipe.
fn tail(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(SHOWN_LINES)..].iter().map(|l| (*l).to_owned()).collect()
}
