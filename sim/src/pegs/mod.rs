//! The peg mechanisms peglab models. Each builds its scripts exactly and spends them for real.

pub(crate) mod babylon;
pub(crate) mod core;
pub(crate) mod federation;
pub(crate) mod liquid;
pub(crate) mod multisig;
pub(crate) mod powpeg;
pub(crate) mod sign;

/// One way to spend a peg's output: who must sign, and when. The trust analysis builds on
/// these.
#[derive(Debug, serde::Serialize)]
pub(crate) struct SpendPath {
    pub(crate) name: String,
    pub(crate) keys: Vec<String>,
    pub(crate) threshold: usize,
    pub(crate) timelock: Option<String>,
}
