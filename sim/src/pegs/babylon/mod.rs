//! Babylon BTC staking: the staking, unbonding and slashing scripts and outputs.

pub(crate) mod adaptor;
mod bip340;
pub(crate) mod eots;
pub(crate) mod script;
pub(crate) mod spend;
