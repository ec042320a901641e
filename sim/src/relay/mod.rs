//! SPV relays: what a bridge contract that stores Bitcoin headers checks. For now the header
//! chain rules (`headers`); fork choice, inclusion proofs and the vault bridge build on them.

pub mod headers;
pub mod store;
