//! A validated scenario: every name resolved, every parameter possible.

use bitcoin::{Address, Amount, PublicKey, secp256k1::SecretKey};
use serde::Serialize;

use crate::NodeId;

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

/// One step.
#[derive(Debug, Clone)]
pub struct Step {
    /// 1-based position in the file.
    pub index: usize,
    /// Line of its `[[step]]`.
    pub line: usize,
    /// The node it acts on.
    pub node: NodeId,
    /// What it does.
    pub action: Action,
    /// What must hold after it. Empty: the step must simply succeed.
    pub expect: Vec<Expectation>,
    /// A note for the reader, carried into the report.
    pub note: Option<String>,
}

/// Where a payment goes.
#[derive(Debug, Clone)]
pub enum Destination {
    /// A user's wallet (its next address) or a signer's P2WPKH.
    Actor(String),
    /// A regtest address.
    Address(Address),
}

/// What a step does.
#[derive(Debug, Clone)]
pub enum Action {
    /// Mine blocks.
    Mine(u32),
    /// Move the clock forward by seconds (and mine so median-time-past follows).
    AdvanceTime(u32),
    /// Replace the last `depth` blocks, leaving the named transaction out.
    Reorg {
        /// How many blocks.
        depth: u32,
        /// A transaction the new branch leaves out.
        without: Option<String>,
    },
    /// Split the nodes into groups.
    Partition(Vec<Vec<NodeId>>),
    /// Reconnect every node.
    Heal,
    /// Signers stop signing.
    Offline(Vec<String>),
    /// Signers sign again.
    Online(Vec<String>),
    /// A user pays from its wallet.
    Pay {
        /// The user.
        from: String,
        /// Where to.
        to: Destination,
        /// How much.
        amount: Amount,
        /// The transaction's name.
        name: String,
    },
    /// A user pays into a peg.
    Deposit {
        /// The peg.
        peg: String,
        /// The user.
        from: String,
        /// How much.
        amount: Amount,
        /// The transaction's name.
        name: String,
    },
    /// Signers spend a peg's deposit.
    Spend {
        /// The peg.
        peg: String,
        /// The deposit transaction's name.
        deposit: String,
        /// Who signs.
        signers: Vec<String>,
        /// Where to.
        to: Destination,
        /// The transaction's name.
        name: String,
    },
    /// A user pays a Liquid peg-in address (pay-to-contract tweaked for its claim script).
    PegIn {
        /// The peg.
        peg: String,
        /// The user.
        from: String,
        /// How much.
        amount: Amount,
        /// Pay the untweaked federation script instead (an address nobody can claim from).
        untweaked: bool,
        /// PowPeg: name this user's Rootstock address in an `RSKT` OP_RETURN.
        rsk_to: Option<String>,
        /// The transaction's name.
        name: String,
    },
    /// A user claims a peg-in on the sidechain with an SPV proof from the node.
    Claim {
        /// The peg.
        peg: String,
        /// The peg-in transaction's name.
        deposit: String,
        /// Who claims (default: who paid).
        by: String,
    },
    /// A sidechain burn that the federation pays out on Bitcoin.
    PegOut {
        /// The peg.
        peg: String,
        /// The sidechain holder.
        from: String,
        /// How much.
        amount: Amount,
        /// The Bitcoin destination.
        to: Destination,
        /// The transaction's name.
        name: String,
    },
    /// Emergency keys sweep the federation's oldest output through the timelocked branch.
    Recover {
        /// The peg.
        peg: String,
        /// Emergency signers.
        signers: Vec<String>,
        /// Where to.
        to: Destination,
        /// The transaction's name.
        name: String,
    },
    /// PowPeg: the federation releases every queued peg-out in one Bitcoin transaction.
    Batch {
        /// The peg.
        peg: String,
        /// The transaction's name.
        name: String,
    },
    /// The online members move every federation output to a fresh federation output.
    Sweep {
        /// The peg.
        peg: String,
        /// The transaction's name.
        name: String,
    },
    /// Members move every federation output to `to` with no burn behind it.
    Steal {
        /// The peg.
        peg: String,
        /// The colluding members.
        signers: Vec<String>,
        /// Where to.
        to: Destination,
        /// The transaction's name.
        name: String,
    },
    /// The staker pays a Babylon staking output.
    Delegate {
        /// The peg.
        peg: String,
        /// How much.
        amount: Amount,
        /// The transaction's name.
        name: String,
    },
    /// The staker takes a delegation back alone through a timelock leaf (of the staking
    /// output, or of the unbonding output once unbonded).
    Withdraw {
        /// The peg.
        peg: String,
        /// The delegation's name.
        delegation: String,
        /// Where to.
        to: Destination,
        /// The transaction's name.
        name: String,
    },
    /// The staker and covenant members sign the unbonding transaction.
    Unbond {
        /// The peg.
        peg: String,
        /// The delegation's name.
        delegation: String,
        /// The covenant members who sign.
        covenant: Vec<String>,
        /// The transaction's name.
        name: String,
    },
    /// A finality provider signs its vote for a block at a height (EOTS).
    Vote {
        /// The peg.
        peg: String,
        /// The provider.
        provider: String,
        /// The height voted on.
        height: u64,
        /// A label for the block voted for.
        block: String,
    },
    /// Anyone completes a delegation's pre-signed slashing transaction with a provider key
    /// extracted from a double vote.
    Slash {
        /// The peg.
        peg: String,
        /// The delegation's name.
        delegation: String,
        /// The transaction's name.
        name: String,
    },
    /// A user locks BTC in a Core staking output until `lock` seconds past median-time-past.
    Stake {
        /// The peg.
        peg: String,
        /// The user.
        from: String,
        /// How much.
        amount: Amount,
        /// Seconds past the current median-time-past.
        lock: u32,
        /// The transaction's name.
        name: String,
    },
    /// The owner spends a stake back through the CLTV path.
    Unstake {
        /// The peg.
        peg: String,
        /// The stake transaction's name.
        stake: String,
        /// Where to.
        to: Destination,
        /// The transaction's name.
        name: String,
    },
    /// Raw mainnet headers submitted to a header relay.
    RelayHeaders {
        /// The peg.
        peg: String,
        /// The headers, in order.
        headers: Vec<bitcoin::block::Header>,
    },
    /// The relayer submits the node's best chain to the peg's relay.
    SubmitHeaders {
        /// The peg.
        peg: String,
    },
    /// A user pays the vault to issue tokens.
    Issue {
        /// The peg.
        peg: String,
        /// The user.
        from: String,
        /// How much.
        amount: Amount,
        /// The transaction's name.
        name: String,
    },
    /// The issue is proven to the relay: tokens are minted.
    ExecuteIssue {
        /// The peg.
        peg: String,
        /// The issue transaction's name.
        deposit: String,
    },
    /// A user burns tokens and asks the vault to pay BTC.
    Redeem {
        /// The peg.
        peg: String,
        /// The user.
        from: String,
        /// How much.
        amount: Amount,
        /// The request's name.
        name: String,
    },
    /// The vault pays a redeem request, tagged `OP_RETURN <redeem id>`.
    VaultPays {
        /// The peg.
        peg: String,
        /// The request's name.
        request: String,
        /// The transaction's name.
        name: String,
    },
    /// The vault's payment is proven to the relay: the redeem completes.
    ExecuteRedeem {
        /// The peg.
        peg: String,
        /// The request's name.
        request: String,
    },
    /// The redeem period passed unpaid: the user is reimbursed from the vault's collateral.
    CancelRedeem {
        /// The peg.
        peg: String,
        /// The request's name.
        request: String,
    },
    /// Nothing: only the expectations are checked.
    Check,
}

impl Action {
    /// The name of the transaction this step makes, if it makes one.
    pub fn tx_name(&self) -> Option<&str> {
        match self {
            Self::Pay { name, .. }
            | Self::Deposit { name, .. }
            | Self::Spend { name, .. }
            | Self::PegIn { name, .. }
            | Self::PegOut { name, .. }
            | Self::Recover { name, .. }
            | Self::Sweep { name, .. }
            | Self::Batch { name, .. }
            | Self::Issue { name, .. }
            | Self::Stake { name, .. }
            | Self::Delegate { name, .. }
            | Self::Withdraw { name, .. }
            | Self::Unbond { name, .. }
            | Self::Slash { name, .. }
            | Self::Unstake { name, .. }
            | Self::VaultPays { name, .. }
            | Self::Steal { name, .. } => Some(name),
            _ => None,
        }
    }

    /// Whether the step has an outcome (accepted, rejected, stalled) to expect.
    pub fn has_outcome(&self) -> bool {
        self.tx_name().is_some()
            || matches!(
                self,
                Self::Claim { .. }
                    | Self::Vote { .. }
                    | Self::SubmitHeaders { .. }
                    | Self::RelayHeaders { .. }
                    | Self::ExecuteIssue { .. }
                    | Self::Redeem { .. }
                    | Self::ExecuteRedeem { .. }
                    | Self::CancelRedeem { .. }
            )
    }

    /// The step's keyword in the file.
    pub fn keyword(&self) -> &'static str {
        match self {
            Self::Mine(_) => "mine",
            Self::AdvanceTime(_) => "advance_time",
            Self::Reorg { .. } => "reorg",
            Self::Partition(_) => "partition",
            Self::Heal => "heal",
            Self::Offline(_) => "offline",
            Self::Online(_) => "online",
            Self::Pay { .. } => "pay",
            Self::Deposit { .. } => "deposit",
            Self::Spend { .. } => "spend",
            Self::PegIn { .. } => "peg_in",
            Self::Claim { .. } => "claim",
            Self::PegOut { .. } => "peg_out",
            Self::Recover { .. } => "recover",
            Self::Sweep { .. } => "sweep",
            Self::Batch { .. } => "batch",
            Self::SubmitHeaders { .. } => "submit_headers",
            Self::RelayHeaders { .. } => "relay_headers",
            Self::Stake { .. } => "stake",
            Self::Delegate { .. } => "delegate",
            Self::Withdraw { .. } => "withdraw",
            Self::Unbond { .. } => "unbond",
            Self::Vote { .. } => "vote",
            Self::Slash { .. } => "slash",
            Self::Unstake { .. } => "unstake",
            Self::Issue { .. } => "issue",
            Self::ExecuteIssue { .. } => "execute_issue",
            Self::Redeem { .. } => "redeem",
            Self::VaultPays { .. } => "vault_pays",
            Self::ExecuteRedeem { .. } => "execute_redeem",
            Self::CancelRedeem { .. } => "cancel_redeem",
            Self::Steal { .. } => "steal",
            Self::Check => "expect",
        }
    }
}

/// Something that must hold after a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expectation {
    /// The step's transaction was accepted.
    Accepted,
    /// The step's transaction was rejected with this reason.
    Rejected(String),
    /// The step's transaction could not be made (e.g. `quorum`).
    Stalled(String),
    /// A named transaction has exactly this many confirmations.
    Confirmations {
        /// The transaction's name.
        tx: String,
        /// How many.
        count: u32,
    },
    /// A user's wallet holds exactly this (confirmed plus unconfirmed).
    Balance {
        /// The user.
        actor: String,
        /// How much.
        amount: Amount,
    },
    /// A sidechain holder has exactly this (Liquid's L-BTC).
    SidechainBalance {
        /// The holder.
        actor: String,
        /// How much.
        amount: Amount,
    },
    /// What the peg owes on its side minus what it holds on Bitcoin, when positive.
    Shortfall {
        /// The peg.
        peg: String,
        /// How much.
        amount: Amount,
    },
    /// An SPV vault's remaining collateral.
    Collateral {
        /// The peg.
        peg: String,
        /// How much.
        amount: Amount,
    },
    /// What a user has been paid from vault collateral for failed redeems.
    Reimbursed {
        /// The user.
        actor: String,
        /// How much.
        amount: Amount,
    },
    /// A peg holds exactly this in unspent deposits.
    PegBalance {
        /// The peg.
        peg: String,
        /// How much.
        amount: Amount,
    },
}
