//! A BitVM2 peg's steps as a scenario writes them. Each step is one transaction of the graph
//! (named as Clementine names it), made by whoever makes it there.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;

use super::Spec;
use crate::{
    families::truc::Via,
    family::{StepSpec, Verb},
    scenario::{Reader, RoleName},
};

/// The graph's transactions a step can make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tx {
    Deposit,
    TakeBack,
    MoveToVault,
    CouncilSweep,
    Payout,
    OptimisticPayout,
    Kickoff,
    Challenge,
    ChallengeTimeout,
    Assert,
    AssertTimeout,
    Disprove,
    DisproveTimeout,
    ReadyToReimburse,
    NextRound,
    KickoffNotFinalized,
    Reimburse,
    KeyPath,
    WotsVector,
    WatchtowerChallenge,
    WatchtowerChallengeTimeout,
    OperatorChallengeAck,
    OperatorChallengeNack,
}

/// `<verb> = { from, claim, wrong_state, leaf, output, vector, twin, via, name }`: the
/// arguments every graph step takes; each verb reads only its own.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Args {
    /// `deposit`: the depositor (a user); `payout`: who is paid.
    from: Option<String>,
    /// `kickoff`: the output the operator claims (default: the program's true output).
    claim: Option<u16>,
    /// `assert`: the intermediate state (1..steps-1) the operator commits off by one.
    wrong_state: Option<usize>,
    /// `disprove`: the step (0..steps-1) whose disprove leaf the verifier runs.
    leaf: Option<usize>,
    /// The watchtower steps: which watchtower (default the peg's first).
    watchtower: Option<String>,
    /// `key_path`: the output spent by its internal key: "deposit" or "disprove-connector".
    output: Option<KeyPathOutput>,
    /// `wots_vector`: the index (0..20) of BitVM's published WOTS vector.
    vector: Option<usize>,
    /// `wots_vector`: an invalid twin of the vector's witness (default none).
    twin: Option<Twin>,
    /// "broadcast" (mempool policy; the default) or "mine_direct" (a cooperative miner).
    via: Option<Via>,
    /// The transaction's name (default `<verb>:<step number>`).
    name: Option<String>,
}

/// An output with a real internal key (the BitVM reference bridge's connectors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum KeyPathOutput {
    /// The deposit (connector_z: the depositor's key in the reference bridge).
    Deposit,
    /// The disprove connector (connector_c: the operator's key in the reference bridge).
    DisproveConnector,
}

/// A WOTS witness changed so it must fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Twin {
    /// The first message digit one higher (its hash unchanged).
    DigitChanged,
    /// A message digit raised by one with its hash advanced one step: the forgery anyone can
    /// make from a public signature; the chain link verifies, the checksum does not.
    ForgedDigit,
    /// A zero digit pushed as `00` instead of the empty item (non-minimal: a policy rule).
    NonMinimalDigit,
}

/// A step as read.
#[derive(Debug)]
pub(crate) struct Step {
    pub(crate) tx: Tx,
    pub(crate) name: String,
    pub(crate) via: Via,
    pub(crate) from: Option<String>,
    pub(crate) claim: Option<u16>,
    pub(crate) wrong_state: Option<usize>,
    pub(crate) leaf: usize,
    pub(crate) output: KeyPathOutput,
    pub(crate) vector: usize,
    pub(crate) twin: Option<Twin>,
    /// The watchtower's index.
    pub(crate) watchtower: usize,
}

macro_rules! verbs {
    ($($name:literal => $tx:ident : $about:literal,)+) => {
        pub(crate) const VERBS: &[Verb] = &[$(Verb {
            name: $name,
            about: $about,
            schema: |g| g.subschema_for::<Args>(),
        },)+];

        fn tx_of(verb: &str) -> Option<Tx> {
            match verb { $($name => Some(Tx::$tx),)+ _ => None }
        }
    };
}

verbs! {
    "deposit" => Deposit: "the user's deposit (deposit leaf: the committee; take-back leaf: the user after `user_takes_after`); the committee presigns the graph: `deposit = { from = \"alice\" }`",
    "take_back" => TakeBack: "the user takes the deposit back through its timelocked leaf",
    "move_to_vault" => MoveToVault: "the presigned move of the deposit to the vault (version 3, 0-sat P2A, CPFP child)",
    "council_sweep" => CouncilSweep: "the security council moves the vault through its multisig leaf, alone",
    "payout" => Payout: "the operator fronts a withdrawal: alice's withdrawal UTXO, signed SINGLE|ANYONECANPAY over her payout, completed with the operator's coin: `payout = { from = \"alice\" }`",
    "optimistic_payout" => OptimisticPayout: "the cooperative withdrawal: alice's SINGLE|ANYONECANPAY withdrawal UTXO and the vault, signed now by every verifier: `optimistic_payout = { from = \"alice\" }`",
    "kickoff" => Kickoff: "the operator claims reimbursement, committing the program's output with WOTS: `kickoff = { claim = 123 }`",
    "challenge" => Challenge: "anyone challenges the kickoff, paying the operator's presigned SINGLE|ANYONECANPAY output",
    "challenge_timeout" => ChallengeTimeout: "the operator finalizes an unchallenged kickoff after the challenge timeout",
    "assert" => Assert: "the operator commits the program's intermediate states with WOTS: `assert = { wrong_state = 2 }` lies about one",
    "assert_timeout" => AssertTimeout: "verifiers burn the collateral of an operator who did not assert in time (presigned)",
    "disprove" => Disprove: "a verifier runs one step's disprove leaf on the committed states, burning the collateral: `disprove = { leaf = 1 }`",
    "disprove_timeout" => DisproveTimeout: "the operator finalizes the kickoff once the disprove window closed",
    "ready_to_reimburse" => ReadyToReimburse: "the operator moves its collateral on, announcing the round's kickoffs are done",
    "next_round" => NextRound: "`operator_reimburse` blocks after ReadyToReimburse, the next round makes the reimburse connector",
    "kickoff_not_finalized" => KickoffNotFinalized: "verifiers burn the new collateral of an operator who moved on before its kickoff was finalized (presigned)",
    "reimburse" => Reimburse: "the operator takes the vault, with the kickoff's and the round's reimburse connectors",
    "key_path" => KeyPath: "the internal key's holder spends an output by key path: `key_path = { output = \"deposit\" }` (the reference bridge's real internal keys)",
    "watchtower_challenge" => WatchtowerChallenge: "a watchtower challenges the kickoff by its key path, committing 144 bytes in an OP_RETURN (standard from Core 30): `watchtower_challenge = { watchtower = \"watchtower-1\" }`",
    "watchtower_challenge_timeout" => WatchtowerChallengeTimeout: "no challenge from the watchtower in time: its outputs spent with the committee's presignatures",
    "operator_challenge_ack" => OperatorChallengeAck: "the operator acknowledges a watchtower's challenge, revealing its preimage",
    "operator_challenge_nack" => OperatorChallengeNack: "no acknowledgement in time: the collateral burned (presigned)",
    "wots_vector" => WotsVector: "locks a coin to a leaf verifying one of BitVM's published WOTS vectors and spends it with the vector's witness, or an invalid twin: `wots_vector = { vector = 0, twin = \"digit-changed\" }`",
}

impl Spec {
    /// Reads one of the family's steps.
    pub(super) fn read(&self, verb: &'static str, r: &mut Reader<'_, '_>) -> Option<StepSpec> {
        let tx = tx_of(verb)?;
        let a: Args = r.parse()?;
        let allowed: &[&str] = match tx {
            Tx::Deposit | Tx::Payout | Tx::OptimisticPayout => &["from"],
            Tx::Kickoff => &["claim"],
            Tx::Assert => &["wrong_state"],
            Tx::Disprove => &["leaf"],
            Tx::KeyPath => &["output"],
            Tx::WotsVector => &["vector", "twin"],
            Tx::WatchtowerChallenge
            | Tx::WatchtowerChallengeTimeout
            | Tx::OperatorChallengeAck
            | Tx::OperatorChallengeNack => &["watchtower"],
            _ => &[],
        };
        let given = [
            ("from", a.from.is_some()),
            ("claim", a.claim.is_some()),
            ("wrong_state", a.wrong_state.is_some()),
            ("leaf", a.leaf.is_some()),
            ("output", a.output.is_some()),
            ("vector", a.vector.is_some()),
            ("twin", a.twin.is_some()),
            ("watchtower", a.watchtower.is_some()),
        ];
        for (key, _) in given.iter().filter(|(k, g)| *g && !allowed.contains(k)) {
            r.report(key, format!("`{verb}` takes no `{key}`"), None);
        }
        match tx {
            Tx::Deposit | Tx::Payout | Tx::OptimisticPayout => match &a.from {
                Some(from) => {
                    r.actor("from", from, Some(RoleName::User));
                }
                None => r.report("", format!("`{verb}` needs `from` (a user)"), None),
            },
            _ => {}
        }
        let steps = self.program.constants.len();
        if let Some(j) = a.wrong_state
            && (j == 0 || j >= steps)
        {
            let message = format!(
                "wrong_state {j}: the assert commits states 1 to {} (state 0 is the public input, state {steps} the kickoff's claim)",
                steps - 1
            );
            r.report("wrong_state", message, None);
        }
        if let Some(i) = a.leaf
            && i >= steps
        {
            r.report("leaf", format!("leaf {i}: the program has steps 0 to {}", steps - 1), None);
        }
        if tx == Tx::Disprove && a.leaf.is_none() {
            r.report("", "`disprove` needs `leaf` (the step it checks, from 0)", None);
        }
        if let Some(v) = a.vector
            && v >= 21
        {
            r.report("vector", format!("vector {v}: BitVM publishes 21 (0 to 20)"), None);
        }
        let watchtower = if allowed.contains(&"watchtower") {
            match &a.watchtower {
                None if self.watchtowers.is_empty() => {
                    r.report("", format!("`{verb}`: the peg has no `watchtowers`"), None);
                    0
                }
                None => 0,
                Some(name) => {
                    self.watchtowers.iter().position(|w| w == name).unwrap_or_else(|| {
                        let known = self.watchtowers.join(", ");
                        r.report(
                            "watchtower",
                            format!("`{name}` is not one of the peg's watchtowers ({known})"),
                            None,
                        );
                        0
                    })
                }
            }
        } else {
            0
        };
        if tx == Tx::KeyPath && a.output.is_none() {
            r.report("", "`key_path` needs `output`: \"deposit\" or \"disprove-connector\"", None);
        }
        let name = r.name_tx("name", verb, a.name.as_deref());
        r.may_make_tx(&format!("{name}:child"));
        let step = Step {
            tx,
            name: name.clone(),
            via: a.via.unwrap_or(Via::Broadcast),
            from: a.from,
            claim: a.claim,
            wrong_state: a.wrong_state,
            leaf: a.leaf.unwrap_or(0),
            output: a.output.unwrap_or(KeyPathOutput::Deposit),
            vector: a.vector.unwrap_or(0),
            twin: a.twin,
            watchtower,
        };
        Some(StepSpec { args: Arc::new(step), tx: Some(name), judged: true })
    }
}
