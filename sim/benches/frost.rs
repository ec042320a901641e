//! `cargo bench -p peglab-sim --bench frost` (or `just bench`): what sBTC's signer set costs
//! peglab: a FROST DKG among every signer and one signing round at the threshold, at the
//! regtest default (2 of 3) and at sBTC mainnet's size (10 of 14). Prints medians; asserts
//! nothing. One signing round is one input of a sweep.

use std::time::Duration;

const RUNS: usize = 7;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    for (n, t) in [(3, 2), (14, 10)] {
        let mut dkgs = Vec::new();
        let mut rounds = Vec::new();
        for _ in 0..RUNS {
            let (dkg, round) = peglab_sim::bench::frost(n, t).expect("a FROST signer set");
            dkgs.push(dkg);
            rounds.push(round);
        }
        println!(
            "FROST {t} of {n}: DKG {:>9.2?}   signing round at the threshold {:>9.2?}",
            median(dkgs),
            median(rounds)
        );
    }
}
