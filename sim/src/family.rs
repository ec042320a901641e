//! What a peg family is: the one trait every family implements, and the small types it
//! declares itself with. The registry of families is [`crate::families::ALL`].
//!
//! A family brings, in one folder under `families/`: its typed parameters and their
//! validation ([`Family::read_peg`]), its steps ([`PegSpec::read_step`], [`PegRun::step`]), the
//! quantities its expectations measure, its refusal and stall codes, what `peglab derive`
//! shows and its spend paths as policy trees ([`PegSpec::derive`], [`PegSpec::paths`]). The
//! generic core (actors, wallets, the chain, generic steps and expectations, the report)
//! never names a family.

use std::{any::Any, fmt::Debug, sync::Arc};

use bitcoin::Amount;
use schemars::{Schema, SchemaGenerator};
use serde_json::Value;

use crate::{
    lock::{Lock, TxShape},
    run::{Cx, RunError, StepResult, keys::KeyBook},
    scenario::Reader,
};

/// A peg family: a kind of peg (`kind = "liquid"`).
pub(crate) trait Family: Sync + 'static {
    /// Its `kind` in scenario files.
    fn kind(&self) -> &'static str;
    /// One line: what it models.
    fn about(&self) -> &'static str;
    /// A commented starter scenario (`peglab new KIND`).
    fn starter(&self) -> &'static str;
    /// The steps it adds, with their argument schemas.
    fn verbs(&self) -> &'static [Verb];
    /// The quantities its expectations can measure (`peg_balance`, `shortfall`, ...).
    fn quantities(&self) -> &'static [Quantity] {
        &[]
    }
    /// The codes its modelled side refuses with (`refused = "..."`).
    fn refusals(&self) -> &'static [Code] {
        &[]
    }
    /// The codes its steps stall with (`stalled = "..."`): nobody judged, the step could not
    /// be made.
    fn stalls(&self) -> &'static [Code] {
        &[]
    }
    /// The JSON Schema of its peg table (without `name` and `kind`).
    fn peg_schema(&self, generator: &mut SchemaGenerator) -> Schema;
    /// Reads and validates a peg table of this kind; every problem goes to the reader.
    fn read_peg(&self, reader: &mut Reader<'_, '_>) -> Option<Arc<dyn PegSpec>>;
}

/// A step a family adds.
#[derive(Debug, Clone, Copy)]
pub struct Verb {
    /// Its keyword (`peg_in`).
    pub name: &'static str,
    /// One line for SCHEMA.md and the JSON Schema.
    pub about: &'static str,
    /// The schema of its argument table (without `peg`).
    pub schema: fn(&mut SchemaGenerator) -> Schema,
}

/// A code a family's outcome can carry, with what it means (and whose name it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    /// The code (`pegin-needs-more-confirmations`).
    pub code: &'static str,
    /// What it means, naming the upstream rule.
    pub meaning: &'static str,
}

/// Whose a quantity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Per {
    /// `peg_balance = { vault = "1 BTC" }`: one value per peg.
    Peg,
    /// `sidechain_balance = { alice = "1 BTC" }`: one value per holder, summed over the pegs
    /// that measure it.
    Holder,
}

/// Something an expectation can measure on a peg.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Quantity {
    /// Its key in `expect`.
    pub(crate) key: &'static str,
    /// Keyed by peg or by holder.
    pub(crate) per: Per,
    /// What it is.
    pub(crate) about: &'static str,
}

/// A validated peg of some family.
pub(crate) trait PegSpec: Debug + Send + Sync {
    /// Its family.
    fn family(&self) -> &'static dyn Family;
    /// Reads and validates one of its family's steps.
    fn read_step(&self, verb: &'static str, reader: &mut Reader<'_, '_>) -> Option<StepSpec>;
    /// What `peglab derive` shows of it (scripts, addresses, parameters), given its steps.
    fn derive(&self, keys: &KeyBook, steps: &[&StepSpec]) -> Value;
    /// Where it locks coins on Bitcoin, with every way to spend them (the spend paths
    /// `peglab derive` prints, each a policy tree checked against the script).
    fn locks(&self, keys: &KeyBook) -> Vec<Lock>;
    /// The transactions it pre-signs or builds, for `peglab derive`.
    fn transactions(&self) -> Vec<TxShape> {
        Vec::new()
    }
    /// What the model says before any step (security arithmetic and the like).
    fn analysis(&self, _peg: &str) -> Vec<String> {
        Vec::new()
    }
    /// Keys that stand for a group off chain (a FROST, MuSig2 or threshold-ECDSA key): which
    /// holder name in its spend paths, and the group as declared. `peglab explain` counts them.
    fn key_groups(&self) -> Vec<crate::trust::KeyGroup> {
        Vec::new()
    }
    /// The holder name of a committee that signs only at setup and deletes its key (an
    /// optimistic bridge's n-of-n): `explain` grades stealing through it as a challenge game.
    fn presigners(&self) -> Option<&'static str> {
        None
    }
    /// Trust no script shows (a bridge contract, a relay, an attestation), for `explain`:
    /// always labelled declared.
    fn declared_trust(&self) -> Vec<String> {
        Vec::new()
    }
    /// Its running state, set up on the chain (after users are funded).
    fn start(&self, peg: &str, cx: &mut Cx<'_>) -> Result<Box<dyn PegRun>, RunError>;
}

/// A family step as read: its typed arguments and the transaction it names, if any.
#[derive(Debug, Clone)]
pub(crate) struct StepSpec {
    /// The family's own typed arguments (downcast by its [`PegRun::step`]).
    pub(crate) args: Arc<dyn StepArgs>,
    /// The name of the transaction the step makes.
    pub(crate) tx: Option<String>,
    /// Whether the step has an outcome an expectation may state (accepted, rejected,
    /// refused, stalled); a step with one and no expectation must be accepted.
    pub(crate) judged: bool,
}

/// A family's typed step arguments.
pub(crate) trait StepArgs: Debug + Send + Sync + Any {
    /// For downcasting.
    fn as_any(&self) -> &dyn Any;
}

impl<T: Debug + Send + Sync + Any> StepArgs for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A peg's running state.
pub(crate) trait PegRun: Send {
    /// Executes one of its steps.
    fn step(&mut self, args: &dyn StepArgs, cx: &mut Cx<'_>) -> Result<StepResult, RunError>;
    /// Measures one of its family's quantities (for a holder, when keyed by holder).
    fn measure(&self, key: &str, holder: Option<&str>, cx: &mut Cx<'_>)
    -> Result<Amount, RunError>;
    /// After the chain changed under it (reorg, partition, heal): what the model notices.
    fn chain_changed(&mut self, _cx: &mut Cx<'_>) -> Result<Vec<crate::run::Event>, RunError> {
        Ok(Vec::new())
    }
}

/// Declares a family's codes as a typed enum with their strings and meanings:
///
/// ```ignore
/// codes! {
///     /// Why Elements refuses a claim.
///     pub(crate) enum Refused {
///         NeedsMoreConfirmations = "pegin-needs-more-confirmations": "Elements: ...",
///     }
/// }
/// ```
macro_rules! codes {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($variant:ident = $code:literal : $meaning:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name { $($variant,)+ }

        impl $name {
            /// Every code, for validation and SCHEMA.md.
            $vis const ALL: &'static [$crate::family::Code] =
                &[$($crate::family::Code { code: $code, meaning: $meaning },)+];

            /// The code's string.
            $vis fn code(self) -> &'static str {
                match self { $(Self::$variant => $code,)+ }
            }
        }
    };
}
pub(crate) use codes;
