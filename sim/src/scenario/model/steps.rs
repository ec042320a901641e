//! A validated scenario's steps: what each does and what must hold after it.

use bitcoin::{Address, Amount};
use serde::Serialize;

use crate::NodeId;

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
