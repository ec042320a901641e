//! The peg mechanisms peglab models. Each builds its scripts exactly and spends them for real.

pub(crate) mod multisig;
