//! Liquid (Elements) federated peg: the watchman fedpegscript, pay-to-contract peg-in
//! addresses, the federation's Bitcoin transactions, and the sidechain's claim rules.

pub(crate) mod script;
pub(crate) mod sidechain;
