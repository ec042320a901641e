//! A thin JSON-RPC wrapper over the `bitcoind` crate's client, with typed errors.

use std::fmt;

use serde::de::DeserializeOwned;
use serde_json::Value;

/// What went wrong with one RPC call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RpcError {
    /// Bitcoin Core answered with an error.
    #[error("bitcoind answered error {code}: {message}")]
    Server {
        /// Core's RPC error code (`-26` for a rejected transaction, ...).
        code: i32,
        /// Core's message.
        message: String,
    },
    /// The call did not get an answer (connection refused, node died, bad JSON).
    #[error("no answer from bitcoind: {0}")]
    Transport(String),
}

/// Core's RPC error codes peglab interprets.
pub(crate) mod code {
    /// `RPC_IN_WARMUP`: the node is still starting.
    pub(crate) const IN_WARMUP: i32 = -28;
    /// `RPC_INVALID_ADDRESS_OR_KEY`: no such transaction, block, ...
    pub(crate) const INVALID_ADDRESS_OR_KEY: i32 = -5;
    /// `RPC_INVALID_PARAMETER`: e.g. a block height out of range.
    pub(crate) const INVALID_PARAMETER: i32 = -8;
    /// `RPC_VERIFY_ERROR`: a transaction or block failed validation.
    pub(crate) const VERIFY_ERROR: i32 = -25;
    /// `RPC_VERIFY_REJECTED`: a transaction was rejected by mempool policy or consensus.
    pub(crate) const VERIFY_REJECTED: i32 = -26;
    /// `RPC_VERIFY_ALREADY_IN_UTXO_SET`: the transaction is already confirmed.
    pub(crate) const VERIFY_ALREADY_IN_CHAIN: i32 = -27;
}

/// A JSON-RPC connection to one node.
pub struct Rpc {
    client: bitcoind::Client,
    url: String,
}

impl fmt::Debug for Rpc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rpc").field("url", &self.url).finish()
    }
}

impl Rpc {
    pub(crate) fn new(url: String, user: &str, password: &str) -> Result<Self, RpcError> {
        let auth = bitcoind::client::Auth::UserPass(user.to_owned(), password.to_owned());
        let client = bitcoind::Client::new_with_auth(&url, auth)
            .map_err(|e| RpcError::Transport(e.to_string()))?;
        Ok(Self { client, url })
    }

    /// Calls `method` with `args` and decodes the result.
    /// A client of the node at `url` (a lab `peglab up` started).
    pub fn connect(url: &str, user: &str, password: &str) -> Result<Self, RpcError> {
        Self::new(url.to_owned(), user, password)
    }

    /// The node's RPC URL (`http://127.0.0.1:<port>`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Calls `method`.
    pub fn call<T: DeserializeOwned>(&self, method: &str, args: &[Value]) -> Result<T, RpcError> {
        use bitcoind::client::Error;
        self.client.call(method, args).map_err(|e| match e {
            Error::JsonRpc(jsonrpc::Error::Rpc(rpc)) => {
                RpcError::Server { code: rpc.code, message: rpc.message }
            }
            other => RpcError::Transport(other.to_string()),
        })
    }
}
