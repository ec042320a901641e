//! A validated scenario: every name resolved, every parameter possible.

use bitcoin::{Address, Amount, PublicKey, secp256k1::SecretKey};
use serde::Serialize;

mod steps;
pub use steps::*;

/// A scenario ready to run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file it came from, as the user named it.
    pub file: String,
    /// Its name.
    pub name: String,
    /// What it shows.
    pub description: Option<String>,
    /// Keys and wallets derive from this and each actor's name.
    pub seed: String,
    /// How many connected nodes the lab runs.
    pub nodes: usize,
    /// Users and signers, in file order.
    pub actors: Vec<Actor>,
    /// The peg instances.
    pub pegs: Vec<Peg>,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

impl Scenario {
    /// The actor called `name`.
    pub fn actor(&self, name: &str) -> Option<&Actor> {
        self.actors.iter().find(|a| a.name == name)
    }

    /// The peg called `name`.
    pub fn peg(&self, name: &str) -> Option<&Peg> {
        self.pegs.iter().find(|p| p.name == name)
    }
}

/// Someone in a scenario.
#[derive(Debug, Clone)]
pub struct Actor {
    /// Its name, unique in the file.
    pub name: String,
    /// User (with a wallet) or signer.
    pub role: Role,
    /// Where its key comes from.
    pub key: ActorKey,
}

/// What an actor is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// A user with a descriptor wallet, funded by the lab at start.
    User {
        /// What the lab pays the wallet at start.
        funds: Amount,
    },
    /// A signer: a key that signs for pegs.
    Signer,
}

/// Where an actor's key comes from.
#[derive(Debug, Clone)]
pub enum ActorKey {
    /// Derived from the seed and the actor's name.
    Derived,
    /// A public key given in the file: the actor cannot sign.
    Public(PublicKey),
    /// A secret key given in the file.
    Secret(SecretKey),
}

/// A peg instance.
#[derive(Debug, Clone)]
pub struct Peg {
    /// Its name (`peg` when the file has one unnamed peg).
    pub name: String,
    /// Its kind and parameters.
    pub kind: PegKind,
}

/// The kinds of peg, with their parameters.
#[derive(Debug, Clone)]
pub enum PegKind {
    /// A plain k-of-n multisig custody output (`kind = "multisig"`).
    Multisig(MultisigParams),
    /// Liquid's federated peg (`kind = "liquid"`).
    Liquid(LiquidParams),
    /// Rootstock's PowPeg (`kind = "powpeg"`).
    Powpeg(PowpegParams),
    /// A vault bridge proven through a header relay, modelled on Interlay (`kind = "spv-vault"`).
    SpvVault(SpvVaultParams),
    /// A relay seeded with real mainnet headers, checked under mainnet rules
    /// (`kind = "header-relay"`).
    HeaderRelay(HeaderRelayParams),
    /// Core's (Satoshi Plus) CLTV staking (`kind = "core"`).
    Core(CoreParams),
    /// Babylon BTC staking (`kind = "babylon"`).
    Babylon(BabylonParams),
}

/// Parameters of Babylon staking.
#[derive(Debug, Clone)]
pub struct BabylonParams {
    /// The staker: a user whose wallet funds delegations and whose staking key signs.
    pub staker: String,
    /// Finality provider signer names.
    pub providers: Vec<String>,
    /// Covenant committee signer names.
    pub covenant: Vec<String>,
    /// Covenant signatures needed.
    pub quorum: usize,
    /// Blocks before the staker may withdraw alone.
    pub staking_time: u16,
    /// Blocks an unbonding (or slashing-refund) output waits.
    pub unbonding_time: u16,
    /// The unbonding transaction's exact fee.
    pub unbonding_fee: Amount,
    /// Share of the stake a slashing burns.
    pub slashing_rate: f64,
    /// The slashing transaction's fee.
    pub slashing_fee: Amount,
    /// Tag of the identifiable-staking OP_RETURN, if delegations carry one.
    pub tag: Option<[u8; 4]>,
}

/// Parameters of Core staking.
#[derive(Debug, Clone)]
pub struct CoreParams {
    /// What the script locks to after its timelock.
    pub template: CoreTemplate,
    /// P2WSH or P2SH.
    pub output: OutputType,
    /// Core's chain id in the payload (1116 on mainnet).
    pub chain_id: u16,
    /// The validator the stake delegates to.
    pub validator: [u8; 20],
}

/// The owner template of a Core staking script.
#[derive(Debug, Clone)]
pub enum CoreTemplate {
    /// The staker's public key.
    PubKey,
    /// The staker's public key hash.
    PubKeyHash,
    /// A multisig of signer actors.
    Multisig {
        /// Signer names, in key order.
        signers: Vec<String>,
        /// Signatures needed.
        threshold: usize,
    },
}

/// A mainnet header relay's starting point.
#[derive(Debug, Clone)]
pub struct HeaderRelayParams {
    /// The header the relay trusts.
    pub checkpoint: crate::relay::headers::AtHeight,
    /// The first header of the checkpoint's difficulty period, for the next retarget.
    pub period_start: Option<crate::relay::headers::AtHeight>,
}

/// Parameters of an SPV vault bridge.
#[derive(Debug, Clone)]
pub struct SpvVaultParams {
    /// The vault operator: a user whose wallet receives issues and pays redeems.
    pub vault: String,
    /// The vault's collateral, in BTC terms.
    pub collateral: Amount,
    /// How the relay picks its main chain.
    pub fork_choice: crate::relay::store::ForkChoice,
    /// Confirmations on the relay a proof needs.
    pub k: u32,
    /// Whether proofs must come with a coinbase proof (tBTC, BOB).
    pub coinbase_proof: bool,
    /// Relay blocks a vault has to pay a redeem.
    pub redeem_period: u32,
    /// Extra share of a failed redeem the vault's collateral pays (0.1 = 10 %).
    pub punishment: f64,
}

/// Parameters of a Rootstock PowPeg (ERP federation).
#[derive(Debug, Clone)]
pub struct PowpegParams {
    /// Federation member (pegnatory) signer names; M = N/2 + 1 of them sign.
    pub members: Vec<String>,
    /// Emergency (ERP) signer names; K/2 + 1 of them sign after the delay.
    pub emergency: Vec<String>,
    /// Blocks a federation output must age before the ERP keys may spend it.
    pub csv: u16,
    /// Confirmations a peg-in needs to be registered (`btc2RskMinimumAcceptableConfirmations`).
    pub pegin_depth: u32,
    /// P2SH-P2WSH (format 4000) or P2SH (format 3000).
    pub address: OutputType,
    /// A flyover deposit to derive, if the file asks for one.
    pub flyover: Option<Flyover>,
}

/// The inputs of a flyover (fast-mode) deposit address.
#[derive(Debug, Clone)]
pub struct Flyover {
    /// The user's refund address (legacy P2PKH or P2SH).
    pub user_refund: Address,
    /// The liquidity provider's Bitcoin address (legacy P2PKH or P2SH).
    pub lp_btc: Address,
    /// The Liquidity Bridge Contract's Rootstock address.
    pub lbc: [u8; 20],
    /// The hash of the quote's derivation arguments.
    pub arguments_hash: [u8; 32],
}

/// Parameters of a Liquid (Elements watchman) peg.
#[derive(Debug, Clone)]
pub struct LiquidParams {
    /// Member (functionary) signer names, in key order.
    pub members: Vec<String>,
    /// Member signatures needed.
    pub threshold: usize,
    /// Emergency signer names, in key order.
    pub emergency: Vec<String>,
    /// Emergency signatures needed.
    pub emergency_threshold: usize,
    /// Blocks a federation output must age before the emergency keys may spend it.
    pub csv: u16,
    /// Confirmations a peg-in needs (`pegin_min_depth`); claims need two more.
    pub pegin_depth: u32,
    /// Peg-in addresses as P2SH-P2WSH (Liquid's default) or P2WSH.
    pub address: OutputType,
}

/// Parameters of a plain multisig peg.
#[derive(Debug, Clone)]
pub struct MultisigParams {
    /// Signer actor names, in key order.
    pub signers: Vec<String>,
    /// Signatures needed.
    pub threshold: usize,
    /// How the script is wrapped.
    pub output: OutputType,
}

/// How a script is put in an output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutputType {
    /// Native segwit v0 script hash.
    P2wsh,
    /// P2WSH nested in P2SH.
    P2shP2wsh,
    /// Legacy P2SH (Rootstock's format 3000).
    P2sh,
}
