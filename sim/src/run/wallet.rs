//! A user's descriptor wallet (`bdk_wallet`), synced block by block through the [`Chain`].

use bdk_wallet::{KeychainKind, Wallet, chain::BlockId, error::CreateTxError};
use bitcoin::{Amount, FeeRate, Network, ScriptBuf, Transaction, TxOut, secp256k1::Secp256k1};
use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};

use super::erased::{DynChain, LabFailure};
use bdk_wallet::descriptor::IntoWalletDescriptor;
use miniscript::{
    descriptor::{KeyMap, KeyMapWrapper},
    psbt::PsbtExt,
};

use super::keys::WalletDescriptors;
use crate::{BlockRef, NodeId};

/// Why a wallet could not pay.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    /// The wallet holds too little: an outcome of the scenario (`stalled`).
    #[error("the wallet holds {available}, {needed} needed")]
    InsufficientFunds {
        /// What the payment needs, fee included.
        needed: Amount,
        /// What the wallet holds.
        available: Amount,
    },
    /// An output is below the dust limit: an outcome of the scenario (`stalled`).
    #[error("an output of {0} is below the dust limit")]
    Dust(Amount),
    /// The wallet failed in a way that is not the scenario's doing: a peglab bug.
    #[error("failed to {what}: {detail}")]
    Broken {
        /// What it tried.
        what: &'static str,
        /// What went wrong.
        detail: String,
    },
    /// The lab failed while the wallet read the chain.
    #[error(transparent)]
    Lab(#[from] LabFailure),
}

fn broken(what: &'static str, detail: impl std::fmt::Display) -> WalletError {
    WalletError::Broken { what, detail: detail.to_string() }
}

/// A user's wallet and the last block it has seen.
#[derive(Debug)]
pub(crate) struct UserWallet {
    wallet: Wallet,
    synced: Option<BlockRef>,
    /// The first block the wallet looked at: it owns nothing older.
    birth: Option<u32>,
    rng: ChaCha20Rng,
    descriptors: WalletDescriptors,
    /// The wallet's secret keys (none for a watch-only descriptor).
    keys: KeyMapWrapper,
}

impl UserWallet {
    pub(crate) fn new(
        descriptors: WalletDescriptors,
        rng_seed: [u8; 32],
    ) -> Result<Self, WalletError> {
        let wallet = Self::fresh(&descriptors)?;
        let secp = Secp256k1::new();
        let mut keymap = KeyMap::new();
        for text in std::iter::once(&descriptors.receive).chain(&descriptors.change) {
            let (_, keys) = text
                .as_str()
                .into_wallet_descriptor(&secp, bitcoin::NetworkKind::Test)
                .map_err(|e| broken("read a wallet descriptor", e))?;
            keymap.extend(keys);
        }
        Ok(Self {
            wallet,
            synced: None,
            birth: None,
            rng: ChaCha20Rng::from_seed(rng_seed),
            descriptors,
            keys: KeyMapWrapper::from(keymap),
        })
    }

    fn fresh(descriptors: &WalletDescriptors) -> Result<Wallet, WalletError> {
        let receive = descriptors.receive.clone();
        let params = match &descriptors.change {
            Some(change) => Wallet::create(receive, change.clone()),
            None => Wallet::create_single(receive),
        };
        params
            .network(Network::Regtest)
            .create_wallet_no_persist()
            .map_err(|e| broken("create a wallet", e))
    }

    /// The next receive address's script.
    pub(crate) fn next_script(&mut self) -> ScriptBuf {
        self.wallet.reveal_next_address(KeychainKind::External).address.script_pubkey()
    }

    /// Confirmed plus unconfirmed.
    pub(crate) fn balance(&self) -> Amount {
        self.wallet.balance().total()
    }

    /// Applies the node's new blocks. The first sync starts at the tip (the wallet is new and
    /// owns nothing older); after a reorg the wallet is rebuilt from that first block.
    pub(crate) fn sync(&mut self, chain: &DynChain<'_>, node: NodeId) -> Result<(), WalletError> {
        let tip = chain.tip(node)?;
        let birth = *self.birth.get_or_insert(tip.height);
        let start = match self.synced {
            Some(seen) if chain.block_at(node, seen.height)? == Some(seen.hash) => seen.height + 1,
            Some(_) => {
                // A reorg: start over from the wallet's birth.
                self.wallet = Self::fresh(&self.descriptors)?;
                birth
            }
            None => birth,
        };
        for height in start..=tip.height {
            let Some(hash) = chain.block_at(node, height)? else { break };
            let block = chain.block(node, hash)?;
            let connected_to = if height == birth {
                // A fresh wallet knows only genesis: anchor the first block there.
                let genesis = chain.block_at(node, 0)?.unwrap_or(block.header.prev_blockhash);
                BlockId { height: 0, hash: genesis }
            } else {
                BlockId { height: height - 1, hash: block.header.prev_blockhash }
            };
            self.wallet
                .apply_block_connected_to(&block, height, connected_to)
                .map_err(|e| broken("apply a block", e))?;
            self.synced = Some(BlockRef { height, hash });
        }
        Ok(())
    }

    /// Notes transactions broadcast in the scenario (the wallet keeps what concerns it).
    pub(crate) fn saw(&mut self, tx: &Transaction, time: u64) {
        self.wallet.apply_unconfirmed_txs([(tx.clone(), time)]);
    }

    /// Builds and signs a payment of `outputs` (in this order, an OP_RETURN among them if
    /// wanted) at `fee_rate`, as a user's wallet does. Returns it with its fee.
    pub(crate) fn pay(
        &mut self,
        outputs: &[TxOut],
        fee_rate: FeeRate,
    ) -> Result<(Transaction, Amount), WalletError> {
        let mut builder = self.wallet.build_tx();
        builder.ordering(bdk_wallet::TxOrdering::Untouched).fee_rate(fee_rate);
        for out in outputs {
            builder.add_recipient(out.script_pubkey.clone(), out.value);
        }
        let mut psbt = builder.finish_with_aux_rand(&mut self.rng).map_err(|e| match e {
            CreateTxError::CoinSelection(e) => {
                WalletError::InsufficientFunds { needed: e.needed, available: e.available }
            }
            CreateTxError::OutputBelowDustLimit(i) => {
                WalletError::Dust(outputs.get(i).map_or(Amount::ZERO, |o| o.value))
            }
            other => broken("build a payment", other),
        })?;
        let fee = psbt.fee().map_err(|e| broken("compute a fee", e))?;
        let secp = Secp256k1::new();
        psbt.sign(&self.keys, &secp)
            .map_err(|(_, errors)| broken("sign a payment", format!("{errors:?}")))?;
        psbt.finalize_mut(&secp)
            .map_err(|errors| broken("finalize a payment", format!("{errors:?}")))?;
        let tx = psbt.extract_tx().map_err(|e| broken("extract a payment", e))?;
        Ok((tx, fee))
    }
}
