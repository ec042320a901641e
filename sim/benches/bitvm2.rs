//! `cargo bench -p peglab-sim --bench bitvm2` (or `just bench`): what presigning a BitVM2
//! graph costs at deposit time: every input the committee's n-of-n key signs, one MuSig2
//! session (nonces, aggregation, partial signatures, aggregation) each, among 3, 5 and 15
//! verifiers, plus the operator's presignatures and building the graph (its WOTS keys and
//! disprove leaves). Prints medians; asserts nothing.

use std::time::Duration;

const RUNS: usize = 7;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    for n in [3, 5, 15] {
        let (mut builds, mut signs) = (Vec::new(), Vec::new());
        let mut sessions = 0;
        for _ in 0..RUNS {
            let (s, build, sign) = peglab_sim::bench::bitvm2_presign(n);
            sessions = s;
            builds.push(build);
            signs.push(sign);
        }
        println!(
            "BitVM2 graph of {n:>2} verifiers: built in {:>9.2?}; presigned ({sessions} MuSig2 sessions and the operator's 4 signatures) in {:>9.2?}",
            median(builds),
            median(signs)
        );
    }
}
