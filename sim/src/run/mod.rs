//! The step interpreter: runs a [`Scenario`] against a [`Chain`] and reports.
//!
//! An unmet expectation is a result in the [`Report`], not an error; `Err` is for the lab
//! itself failing.

mod babylon;
mod core;
mod expect;
mod federated;
mod keys;
mod report;
mod spv;
mod steps;
mod wallet;

use std::collections::{BTreeMap, BTreeSet};

use bitcoin::{
    Amount, OutPoint, PublicKey, Transaction,
    hashes::{Hash, sha256},
    secp256k1::{All, Secp256k1, SecretKey},
};

pub use report::{ExpectationReport, Report, StepReport, TxReport};

use crate::{
    Chain, NodeId, Rejection,
    pegs::{
        federation::{Custody, Federation},
        liquid::{script::Watchman, sidechain::CLAIM_LEEWAY},
        multisig::Multisig,
        powpeg::script::Erp,
    },
    relay::store::Relay,
    scenario::{PegKind, Role, Scenario},
};
use wallet::UserWallet;

/// Why a run could not go on.
#[derive(Debug, thiserror::Error)]
pub enum RunError<E: std::error::Error + 'static> {
    /// The chain (the lab) failed.
    #[error(transparent)]
    Chain(E),
    /// A wallet failed in a way that is not the scenario's doing.
    #[error("wallet failed: {0}")]
    Wallet(String),
}

/// How a transaction-making step ended.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    /// No transaction was involved.
    None,
    /// Bitcoin Core accepted it.
    Accepted,
    /// Bitcoin Core refused it.
    Rejected(Rejection),
    /// It could not be made; the code says why (`quorum`, `insufficient-funds`).
    Stalled { code: &'static str, why: String },
    /// The modelled side refused it (a claim without enough depth, ...).
    ModelRejected { code: &'static str, why: String },
}

/// A multisig peg's modelled state.
#[derive(Debug)]
pub(crate) struct MultisigState {
    pub(crate) multisig: Multisig,
    pub(crate) signers: Vec<String>,
    /// Deposits the peg holds: name, outpoint, value.
    pub(crate) deposits: Vec<(String, OutPoint, Amount)>,
}

/// Everything a run keeps between steps.
pub(crate) struct Run<'a, C: Chain> {
    pub(crate) scenario: &'a Scenario,
    pub(crate) chain: &'a mut C,
    pub(crate) secp: Secp256k1<All>,
    pub(crate) wallets: BTreeMap<String, UserWallet>,
    pub(crate) signers: BTreeMap<String, (PublicKey, Option<SecretKey>)>,
    pub(crate) offline: BTreeSet<String>,
    pub(crate) multisigs: BTreeMap<String, MultisigState>,
    pub(crate) liquids: BTreeMap<String, federated::FederatedState>,
    pub(crate) spvs: BTreeMap<String, spv::SpvState>,
    pub(crate) header_relays: BTreeMap<String, spv::HeaderRelayState>,
    pub(crate) cores: BTreeMap<String, core::CoreState>,
    pub(crate) babylons: BTreeMap<String, babylon::BabylonState>,
    pub(crate) txs: BTreeMap<String, Transaction>,
    /// A counter for "last seen" times of unconfirmed transactions.
    pub(crate) seen: u64,
}

/// Runs `scenario` on `chain`. Lab failures end the run early and are reported in
/// [`Report::error`], with the steps so far.
pub fn run<C: Chain>(scenario: &Scenario, chain: &mut C) -> Report {
    let mut report = Report::failed(scenario, String::new());
    report.error = None;
    let mut run = match Run::setup(scenario, chain) {
        Ok(run) => run,
        Err(e) => return Report::failed(scenario, format!("failed to set up the scenario: {e}")),
    };
    report.analysis = run.spvs.iter().flat_map(|(name, state)| state.analysis(name)).collect();
    for step in &scenario.steps {
        match run.step(step) {
            Ok(step_report) => report.steps.push(step_report),
            Err(e) => {
                report.error = Some(format!("step {} (line {}): {e}", step.index, step.line));
                return report;
            }
        }
    }
    report.passed = report.steps.iter().all(|s| s.passed);
    report
}

impl<'a, C: Chain> Run<'a, C> {
    fn setup(scenario: &'a Scenario, chain: &'a mut C) -> Result<Self, RunError<C::Error>> {
        let secp = Secp256k1::new();
        let mut signers = BTreeMap::new();
        let mut wallets = BTreeMap::new();
        for actor in &scenario.actors {
            match actor.role {
                Role::Signer => {
                    let pk = keys::public_key(&secp, &scenario.seed, actor);
                    signers
                        .insert(actor.name.clone(), (pk, keys::secret_key(&scenario.seed, actor)));
                }
                Role::User { .. } => {
                    let rng_seed = sha256::Hash::hash(
                        format!("peglab/v1/rng/{}/{}", scenario.seed, actor.name).as_bytes(),
                    );
                    let wallet = UserWallet::new(
                        keys::wallet_master(&scenario.seed, &actor.name),
                        rng_seed.to_byte_array(),
                    )
                    .map_err(RunError::Wallet)?;
                    wallets.insert(actor.name.clone(), wallet);
                }
            }
        }
        let (mut multisigs, mut liquids) = (BTreeMap::new(), BTreeMap::new());
        let mut header_relays = BTreeMap::new();
        let mut cores = BTreeMap::new();
        for peg in &scenario.pegs {
            let keys = |names: &[String]| names.iter().map(|s| signers[s].0).collect::<Vec<_>>();
            match &peg.kind {
                PegKind::Multisig(params) => {
                    let multisig = Multisig::new(params, keys(&params.signers));
                    let state = MultisigState {
                        multisig,
                        signers: params.signers.clone(),
                        deposits: Vec::new(),
                    };
                    multisigs.insert(peg.name.clone(), state);
                }
                PegKind::Liquid(params) => {
                    let watchman = Watchman::of(params, |n| signers[n].0);
                    let custody = Custody::Watchman(watchman);
                    let claim_depth = params.pegin_depth + CLAIM_LEEWAY;
                    let state = federated_state(
                        custody,
                        params.address,
                        &params.members,
                        claim_depth,
                        false,
                    );
                    liquids.insert(peg.name.clone(), state);
                }
                PegKind::SpvVault(_) | PegKind::Babylon(_) => {} // set up once the run exists
                PegKind::Core(params) => {
                    cores.insert(peg.name.clone(), core::CoreState::new(params.clone()));
                }
                PegKind::HeaderRelay(params) => {
                    let state = spv::HeaderRelayState {
                        tip: params.checkpoint,
                        period_start: params.period_start,
                    };
                    header_relays.insert(peg.name.clone(), state);
                }
                PegKind::Powpeg(params) => {
                    let erp = Erp {
                        members: keys(&params.members),
                        emergency: keys(&params.emergency),
                        csv: params.csv,
                    };
                    let state = federated_state(
                        Custody::Erp(erp),
                        params.address,
                        &params.members,
                        params.pegin_depth,
                        true,
                    );
                    liquids.insert(peg.name.clone(), state);
                }
            }
        }
        let mut run = Self {
            scenario,
            chain,
            secp,
            wallets,
            signers,
            offline: BTreeSet::new(),
            multisigs,
            liquids,
            spvs: BTreeMap::new(),
            header_relays,
            cores,
            babylons: BTreeMap::new(),
            txs: BTreeMap::new(),
            seen: 0,
        };
        run.fund_users()?;
        run.start_relays()?;
        for peg in &scenario.pegs {
            if let PegKind::Babylon(params) = &peg.kind {
                let delegation = run.babylon_delegation(params);
                let state = babylon::BabylonState {
                    params: params.clone(),
                    delegation,
                    records: Vec::new(),
                    votes: BTreeMap::new(),
                    extracted: BTreeMap::new(),
                };
                run.babylons.insert(peg.name.clone(), state);
            }
        }
        Ok(run)
    }

    /// Starts each SPV vault's relay at the node's current tip.
    fn start_relays(&mut self) -> Result<(), RunError<C::Error>> {
        for peg in &self.scenario.pegs {
            let PegKind::SpvVault(params) = &peg.kind else { continue };
            let tip = self.chain.tip(NodeId::FIRST).map_err(RunError::Chain)?;
            let header = self.chain.header(NodeId::FIRST, tip.hash).map_err(RunError::Chain)?;
            let relay = Relay::new(params.fork_choice, tip.height, header);
            let vault = self.wallets.get_mut(&params.vault).expect("the vault is a user");
            let state = spv::SpvState::new(params.clone(), relay, vault.next_script());
            self.spvs.insert(peg.name.clone(), state);
        }
        Ok(())
    }

    /// Pays each user's starting funds from the lab's coins and confirms them.
    fn fund_users(&mut self) -> Result<(), RunError<C::Error>> {
        let mut funded = false;
        for actor in &self.scenario.actors {
            if let Role::User { funds } = actor.role
                && funds > Amount::ZERO
            {
                let wallet = self.wallets.get_mut(&actor.name).expect("every user has a wallet");
                let script = wallet.next_script();
                self.chain.fund(NodeId::FIRST, &script, funds).map_err(RunError::Chain)?;
                funded = true;
            }
        }
        if funded {
            self.chain.mine(NodeId::FIRST, 1, None).map_err(RunError::Chain)?;
        }
        Ok(())
    }
}

fn federated_state(
    custody: Custody,
    address: crate::scenario::OutputType,
    members: &[String],
    claim_depth: u32,
    powpeg: bool,
) -> federated::FederatedState {
    federated::FederatedState {
        federation: Federation { custody, address, utxos: Vec::new() },
        sidechain: Default::default(),
        pegins: Vec::new(),
        members: members.to_vec(),
        claim_depth,
        powpeg,
        queue: Vec::new(),
    }
}

/// Signer public keys and users' public receive descriptors, as a run derives them.
pub(crate) fn keys_for_derive(
    secp: &Secp256k1<All>,
    scenario: &Scenario,
) -> (BTreeMap<String, PublicKey>, BTreeMap<String, String>) {
    let mut signers = BTreeMap::new();
    let mut users = BTreeMap::new();
    for actor in &scenario.actors {
        match actor.role {
            Role::Signer => {
                signers.insert(actor.name.clone(), keys::public_key(secp, &scenario.seed, actor));
            }
            Role::User { .. } => {
                let (receive, _) =
                    keys::wallet_descriptors(&keys::wallet_master(&scenario.seed, &actor.name));
                let public = bdk_wallet::descriptor::IntoWalletDescriptor::into_wallet_descriptor(
                    receive.as_str(),
                    secp,
                    bitcoin::NetworkKind::Test,
                )
                .map(|(d, _)| d.to_string())
                .unwrap_or_default();
                users.insert(actor.name.clone(), public);
            }
        }
    }
    (signers, users)
}

/// A user's sidechain claim script, as a run derives it.
pub(crate) fn claim_script_for_derive(
    secp: &Secp256k1<All>,
    seed: &str,
    user: &str,
) -> bitcoin::ScriptBuf {
    keys::claim_script(secp, seed, user)
}

/// A user's staking key (x-only), as a run derives it.
pub(crate) fn staking_key_for_derive(
    secp: &Secp256k1<All>,
    seed: &str,
    user: &str,
) -> bitcoin::XOnlyPublicKey {
    keys::staking_key(seed, user).x_only_public_key(secp).0
}
