//! Rootstock's PowPeg: the ERP federation redeem script, Rootstock addresses and `RSKT` peg-in
//! instructions. The bridge's rules live in the run (`run/federated.rs`).

pub(crate) mod flyover;
pub(crate) mod rsk;
pub(crate) mod script;
