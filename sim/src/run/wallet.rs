//! A user's descriptor wallet (`bdk_wallet`), synced block by block through the [`Chain`].

use bdk_wallet::{KeychainKind, Wallet, chain::BlockId};
use bitcoin::{
    Amount, FeeRate, Network, ScriptBuf, Transaction, bip32::Xpriv, secp256k1::Secp256k1,
};
use miniscript::psbt::PsbtExt;
use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};

use crate::{BlockRef, Chain, NodeId};

use super::RunError;

/// Fee rate of user payments.
const USER_FEE_RATE: FeeRate = FeeRate::from_sat_per_kwu(500);

/// A user's wallet and the last block it has seen.
#[derive(Debug)]
pub(crate) struct UserWallet {
    wallet: Wallet,
    synced: Option<BlockRef>,
    /// The first block the wallet looked at: it owns nothing older.
    birth: Option<u32>,
    rng: ChaCha20Rng,
    master: Xpriv,
    descriptors: (String, String),
}

impl UserWallet {
    pub(crate) fn new(master: Xpriv, rng_seed: [u8; 32]) -> Result<Self, String> {
        let descriptors = super::keys::wallet_descriptors(&master);
        let wallet = Self::fresh(&descriptors)?;
        Ok(Self {
            wallet,
            synced: None,
            birth: None,
            rng: ChaCha20Rng::from_seed(rng_seed),
            master,
            descriptors,
        })
    }

    fn fresh(descriptors: &(String, String)) -> Result<Wallet, String> {
        Wallet::create(descriptors.0.clone(), descriptors.1.clone())
            .network(Network::Regtest)
            .create_wallet_no_persist()
            .map_err(|e| e.to_string())
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
    pub(crate) fn sync<C: Chain>(
        &mut self,
        chain: &C,
        node: NodeId,
    ) -> Result<(), RunError<C::Error>> {
        let tip = chain.tip(node).map_err(RunError::Chain)?;
        let birth = *self.birth.get_or_insert(tip.height);
        let start = match self.synced {
            Some(seen)
                if chain.block_at(node, seen.height).map_err(RunError::Chain)?
                    == Some(seen.hash) =>
            {
                seen.height + 1
            }
            Some(_) => {
                // A reorg: start over from the wallet's birth. The chain is short.
                self.wallet = Self::fresh(&self.descriptors).map_err(RunError::Wallet)?;
                birth
            }
            None => birth,
        };
        for height in start..=tip.height {
            let Some(hash) = chain.block_at(node, height).map_err(RunError::Chain)? else { break };
            let block = chain.block(node, hash).map_err(RunError::Chain)?;
            let connected_to = if height == birth {
                // A fresh wallet knows only genesis: anchor the first block there.
                let genesis = chain
                    .block_at(node, 0)
                    .map_err(RunError::Chain)?
                    .unwrap_or(block.header.prev_blockhash);
                BlockId { height: 0, hash: genesis }
            } else {
                BlockId { height: height - 1, hash: block.header.prev_blockhash }
            };
            self.wallet
                .apply_block_connected_to(&block, height, connected_to)
                .map_err(|e| RunError::Wallet(e.to_string()))?;
            self.synced = Some(BlockRef { height, hash });
        }
        Ok(())
    }

    /// Notes transactions broadcast in the scenario (the wallet keeps what concerns it).
    pub(crate) fn saw(&mut self, tx: &Transaction, time: u64) {
        self.wallet.apply_unconfirmed_txs([(tx.clone(), time)]);
    }

    /// Builds and signs a payment of `amount` to `script`, as a user's wallet does.
    /// With `data`, the payment also carries one OP_RETURN output holding it.
    pub(crate) fn pay(
        &mut self,
        script: ScriptBuf,
        amount: Amount,
        data: Option<Vec<u8>>,
    ) -> Result<Transaction, String> {
        let mut builder = self.wallet.build_tx();
        builder.add_recipient(script, amount).fee_rate(USER_FEE_RATE);
        if let Some(data) = data {
            let push = bitcoin::script::PushBytesBuf::try_from(data).map_err(|e| e.to_string())?;
            builder.add_data(&push);
        }
        let mut psbt = builder.finish_with_aux_rand(&mut self.rng).map_err(|e| e.to_string())?;
        let secp = Secp256k1::new();
        psbt.sign(&self.master, &secp)
            .map_err(|(_, errors)| format!("failed to sign: {errors:?}"))?;
        psbt.finalize_mut(&secp).map_err(|errors| format!("failed to finalize: {errors:?}"))?;
        psbt.extract_tx().map_err(|e| e.to_string())
    }
}
