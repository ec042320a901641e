# peglab's recipes: what people and CI run. `just --list` shows them.

peglab := "cargo run --quiet --bin peglab --"

# List the recipes.
default:
    @just --list

# Show the bitcoind in use, building it from source into the cache if there is none (once).
bitcoind:
    {{peglab}} bitcoind --build

# Run the scenario suite: every file under scenarios/, each on its own node.
suite *ARGS: bitcoind
    {{peglab}} run scenarios --jobs 2 {{ARGS}}

# Run the tests: unit tests, the harness against real regtest nodes, the CLI.
test: bitcoind
    cargo nextest run --workspace --no-fail-fast
    cargo test --doc --workspace

# Formatting and lints, as CI checks them.
check:
    cargo fmt --check
    cargo clippy --all-targets -- -D warnings

# peglab beside bare bitcoind: node start and stop, cost per mined block, a small scenario,
# Liquid v1, the suite at --jobs 2, and 64,000 blocks of Babylon's mainnet staking time.
# Also FROST (sBTC's signers): a DKG and a signing round at 2 of 3 and at 10 of 14.
bench: bitcoind
    cargo bench -p peglab-harness --bench node
    cargo bench -p peglab-harness --bench scenarios
    cargo bench -p peglab-sim --bench frost
    cargo bench -p peglab-sim --bench bitvm2

# Everything CI runs.
ci: check test

# Fuzz the scenario parser: a million inputs (mutants of the suite, generated files) on every
# core, then 200 accepted mutants run against real nodes. Crashing inputs go to fuzz-crashes/.
fuzz INPUTS="1000000" RUNS="200": bitcoind
    cargo run --release -p peglab-tests --bin peglab-fuzz -- --inputs {{INPUTS}} --run {{RUNS}}

# Run the suite ROUNDS times in one process at --jobs 2 and check nothing piles up between
# rounds (file descriptors, threads, memory, datadirs, bitcoind processes).
soak ROUNDS="50": bitcoind
    cargo run --release -p peglab-tests --bin peglab-soak -- --rounds {{ROUNDS}}
