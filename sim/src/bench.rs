//! Hooks for `cargo bench` (`sim/benches/frost.rs`): the costly parts of the modelled side,
//! reachable from outside the crate. Not a stable API.

use std::time::{Duration, Instant};

use crate::families::sbtc::signers::Group;

/// A FROST signer set of `n` signers with threshold `t`, from a full DKG: how long the DKG
/// took, and a signing round of the first `t` signers over one digest.
pub fn frost(n: usize, t: u16) -> Result<(Duration, Duration), String> {
    let members: Vec<String> = (1..=n).map(|i| format!("signer-{i}")).collect();
    let began = Instant::now();
    let group = Group::generate(&members, t, "peglab bench")?;
    let dkg = began.elapsed();
    let began = Instant::now();
    group.sign(&members[..usize::from(t)], [7; 32], true)?;
    Ok((dkg, began.elapsed()))
}

/// A BitVM2 graph presigned by a committee of `n` verifiers at deposit time: the MuSig2
/// sessions it took (each both rounds among all `n`), the time to build the graph and the
/// time to presign it.
pub fn bitvm2_presign(n: usize) -> (usize, Duration, Duration) {
    crate::families::bitvm2::presign::bench(n)
}
