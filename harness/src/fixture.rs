//! peglab as a library for another crate's tests (as `bdk_testenv` is for wallets): a
//! [`Fixture`] starts the lab a scenario describes, funds its users, sets its pegs up and runs
//! its first steps; the test then drives the chain ([`Lab`] implements
//! [`peglab_sim::Chain`]: mine, advance time, reorg, partition) and talks to the nodes
//! ([`Lab::rpc`]) around the software it tests. The nodes stop, and their datadirs go, when
//! the fixture is dropped.
//!
//! ```
//! use peglab_harness::Fixture;
//! use peglab_sim::{Chain, NodeId};
//! use serde_json::{Value, json};
//!
//! let toml = r#"
//! schema = 1
//! name = "a 2-of-2 vault"
//! seed = "doctest"
//! [actors]
//! alice = { role = "user", funds = "1 BTC" }
//! carol = { role = "signer" }
//! dave = { role = "signer" }
//! [[peg]]
//! name = "vault"
//! kind = "multisig"
//! signers = ["carol", "dave"]
//! threshold = 2
//! [[step]]
//! deposit = { peg = "vault", from = "alice", amount = "0.5 BTC", name = "dep1" }
//! "#;
//! // The lab, with the first step run: the deposit waits in the mempool.
//! let mut fx = Fixture::up("vault.toml", toml, 1)?;
//! assert!(fx.report().passed);
//! let address = fx.peg("vault").expect("a peg")["address"].as_str().unwrap().to_owned();
//! fx.lab().mine(NodeId::FIRST, 1, None)?;
//! // What the software under test would see: the vault holds the deposit.
//! let scan: Value = fx.lab().rpc(NodeId::FIRST)?.call(
//!     "scantxoutset",
//!     &[json!("start"), json!([format!("addr({address})")])],
//! )?;
//! assert_eq!(scan["total_amount"], json!(0.5));
//! // The members' keys, for the software under test.
//! assert!(fx.key("carol").is_some_and(|wif| wif.starts_with('c')));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use bitcoin::{Network, PrivateKey, secp256k1::Secp256k1};
use peglab_sim::{
    run::{Report, keys::KeyBook},
    scenario::{self, Scenario},
};
use serde_json::Value;

use crate::{Lab, LabError, bitcoind, suite};

/// Why a fixture did not come up.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// No bitcoind was found.
    #[error("no bitcoind: set BITCOIND_EXE, put one on PATH, or run `peglab bitcoind --build`")]
    NoBitcoind,
    /// Looking for bitcoind failed.
    #[error(transparent)]
    Bitcoind(#[from] bitcoind::BitcoindError),
    /// The scenario is not valid: every problem, at file:line:column.
    #[error("{}", .0.join("\n"))]
    Invalid(Vec<String>),
    /// The lab failed to start or to run the steps.
    #[error(transparent)]
    Lab(#[from] LabError),
    /// Running the steps failed.
    #[error("{0}")]
    Run(String),
}

/// A running lab set up as a scenario describes.
#[derive(Debug)]
pub struct Fixture {
    lab: Lab,
    scenario: Scenario,
    report: Report,
    keys: KeyBook,
}

impl Fixture {
    /// Starts the lab `toml` (a scenario, named `file` in diagnostics) describes and runs its
    /// first `steps` steps. Finds bitcoind as `peglab` does, without building it.
    pub fn up(file: &str, toml: &str, steps: usize) -> Result<Self, FixtureError> {
        let scenario = scenario::load(file, toml, None).map_err(|problems| {
            FixtureError::Invalid(problems.iter().map(ToString::to_string).collect())
        })?;
        let exe = bitcoind::locate()?.ok_or(FixtureError::NoBitcoind)?.exe;
        let mut lab = Lab::start(&exe, &suite::lab_options(&scenario))?;
        let report = peglab_sim::run::run_steps(&scenario, &mut lab, steps);
        if let Some(error) = &report.error {
            return Err(FixtureError::Run(error.clone()));
        }
        let keys = KeyBook::new(&Secp256k1::new(), &scenario);
        Ok(Self { lab, scenario, report, keys })
    }

    /// The lab: a [`peglab_sim::Chain`], and each node's [`Lab::rpc`].
    pub fn lab(&mut self) -> &mut Lab {
        &mut self.lab
    }

    /// The scenario.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// What the steps run so far did.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// Where the nodes answer, as `peglab up` prints it.
    pub fn connection(&self) -> Value {
        self.lab.connection()
    }

    /// An actor's secret key as regtest WIF, when the scenario has it.
    pub fn key(&self, actor: &str) -> Option<String> {
        self.keys.secret(actor).map(|sk| PrivateKey::new(sk, Network::Regtest).to_wif())
    }

    /// A peg as `peglab derive` shows it (scripts, addresses, spend paths).
    pub fn peg(&self, name: &str) -> Option<Value> {
        let derived = peglab_sim::derive::derive(&self.scenario);
        derived["pegs"].as_array()?.iter().find(|p| p["name"] == name).cloned()
    }
}
