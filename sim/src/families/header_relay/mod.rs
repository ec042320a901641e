//! A relay seeded with real mainnet headers (`kind = "header-relay"`): batches of headers
//! checked as a relay contract checks them, under mainnet rules (linkage, proof of work, the
//! difficulty rule across retargets). It holds no coins: it is the SPV part of a bridge.

use std::sync::Arc;

use bitcoin::{Amount, block::Header, consensus::encode::deserialize_hex};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    family::{Code, Family, PegRun, PegSpec, StepArgs, StepSpec, Verb, codes},
    lock::Lock,
    relay::headers::{AtHeight, HeaderFault, verify_run},
    run::{Cx, Event, Outcome, RunError, StepResult, keys::KeyBook, refused},
    scenario::Reader,
};

/// The header relay family.
pub(crate) struct HeaderRelay;

/// The highest checkpoint height a relay takes: far beyond mainnet's, and far from the end of
/// 32-bit heights.
const MAX_HEIGHT: u32 = 100_000_000;
/// Most headers one batch may carry.
const MAX_BATCH: usize = 10_000;

/// `[[peg]] kind = "header-relay"`.
#[derive(Debug, Deserialize, JsonSchema)]
struct Params {
    /// The mainnet header the relay trusts, as HEIGHT:HEADERHEX.
    checkpoint: String,
    /// The first header of the checkpoint's difficulty period (HEIGHT:HEADERHEX), needed for
    /// the next retarget.
    period_start: Option<String>,
}

/// `relay_headers = { headers }`.
#[derive(Debug, Deserialize, JsonSchema)]
struct RelayArgs {
    /// Raw 80-byte headers in hex, in order.
    headers: Vec<String>,
}

codes! {
    /// Why a relay contract refuses a batch of mainnet headers (the first bad header reverts it).
    pub(crate) enum Refused {
        BadLinkage = "bad-linkage": "a header does not name the previous header's hash",
        WrongTarget = "wrong-target": "a header's nBits is not what the difficulty rule requires",
        InsufficientWork = "insufficient-work": "a header's hash does not meet the target its nBits states",
        AbovePowLimit = "above-pow-limit": "a header's target is easier than the network's limit",
        MissingPeriodStart = "missing-period-start": "a retarget needs the first header of the ending period",
    }
}

const VERBS: &[Verb] = &[Verb {
    name: "relay_headers",
    about: "submit a batch of real mainnet headers: `relay_headers = { headers = [\"<160 hex>\"] }`",
    schema: |g| g.subschema_for::<RelayArgs>(),
}];

#[derive(Debug)]
struct Spec {
    checkpoint: AtHeight,
    period_start: Option<AtHeight>,
}

#[derive(Debug)]
struct Batch(Vec<Header>);

/// `HEIGHT:HEADERHEX`, with the height bounded.
pub(crate) fn at_height(text: &str) -> Result<AtHeight, String> {
    let (height, hex) =
        text.split_once(':').ok_or_else(|| format!("`{text}` is not HEIGHT:HEADERHEX"))?;
    let height: u32 = height.trim().parse().map_err(|_| format!("`{height}` is not a height"))?;
    if height > MAX_HEIGHT {
        return Err(format!(
            "height {height} is beyond any chain a relay checks (at most {MAX_HEIGHT})"
        ));
    }
    let header =
        deserialize_hex(hex.trim()).map_err(|e| format!("not an 80-byte header in hex: {e}"))?;
    Ok(AtHeight { height, header })
}

impl Family for HeaderRelay {
    fn kind(&self) -> &'static str {
        "header-relay"
    }
    fn about(&self) -> &'static str {
        "a relay seeded with real mainnet headers, checking batches under mainnet rules"
    }
    fn starter(&self) -> &'static str {
        include_str!("../../../../scenarios/header-relay/mainnet_headers.toml")
    }
    fn verbs(&self) -> &'static [Verb] {
        VERBS
    }
    fn refusals(&self) -> &'static [Code] {
        Refused::ALL
    }
    fn peg_schema(&self, g: &mut SchemaGenerator) -> Schema {
        g.subschema_for::<Params>()
    }
    fn read_peg(&self, r: &mut Reader<'_, '_>) -> Option<Arc<dyn PegSpec>> {
        let p: Params = r.parse()?;
        let checkpoint = at_height(&p.checkpoint).map_err(|m| r.report("checkpoint", m, None)).ok();
        let period_start = match p.period_start.as_deref().map(at_height) {
            Some(Ok(start)) => Some(start),
            Some(Err(m)) => {
                r.report("period_start", m, None);
                None
            }
            None => None,
        };
        if let (Some(c), Some(s)) = (&checkpoint, &period_start)
            && (s.height > c.height || !s.height.is_multiple_of(2016))
        {
            r.report("period_start", "the period start is the first header (a multiple of 2016) of the checkpoint's period, at or below it", None);
        }
        Some(Arc::new(Spec { checkpoint: checkpoint?, period_start }))
    }
}

impl PegSpec for Spec {
    fn family(&self) -> &'static dyn Family {
        &HeaderRelay
    }

    fn read_step(&self, _: &'static str, r: &mut Reader<'_, '_>) -> Option<StepSpec> {
        let a: RelayArgs = r.parse()?;
        if a.headers.is_empty() || a.headers.len() > MAX_BATCH {
            r.report("headers", format!("a batch has 1 to {MAX_BATCH} headers"), None);
        }
        let mut headers = Vec::new();
        for (n, hex) in a.headers.iter().enumerate() {
            match deserialize_hex::<Header>(hex) {
                Ok(h) => headers.push(h),
                Err(e) => r.report(
                    "headers",
                    format!("header {}: not an 80-byte header in hex: {e}", n + 1),
                    None,
                ),
            }
        }
        Some(StepSpec { args: Arc::new(Batch(headers)), tx: None, judged: true })
    }

    fn derive(&self, _: &KeyBook, _: &[&StepSpec]) -> Value {
        json!({
            "checkpoint_height": self.checkpoint.height,
            "checkpoint_hash": self.checkpoint.header.block_hash().to_string(),
        })
    }

    fn locks(&self, _: &KeyBook) -> Vec<Lock> {
        Vec::new()
    }

    fn start(&self, peg: &str, _: &mut Cx<'_>) -> Result<Box<dyn PegRun>, RunError> {
        Ok(Box::new(State {
            peg: peg.to_owned(),
            tip: self.checkpoint,
            period_start: self.period_start,
        }))
    }
}

/// A relay's tip and the first header of its period.
struct State {
    peg: String,
    tip: AtHeight,
    period_start: Option<AtHeight>,
}

impl PegRun for State {
    fn step(&mut self, args: &dyn StepArgs, _: &mut Cx<'_>) -> Result<StepResult, RunError> {
        let Batch(headers) = args.as_any().downcast_ref::<Batch>().expect("a header batch");
        let result = StepResult::new(format!("{} mainnet header(s) submitted", headers.len()));
        match verify_run(bitcoin::Network::Bitcoin, self.tip, self.period_start, headers) {
            Ok(run) => {
                for (i, header) in headers.iter().enumerate() {
                    let height = self.tip.height + 1 + i as u32;
                    if height.is_multiple_of(2016) {
                        self.period_start = Some(AtHeight { height, header: *header });
                    }
                }
                self.tip = run.tip;
                let mut result = result;
                let text = format!(
                    "relay accepted {} mainnet header(s) ({} retarget(s)); tip {} at height {}",
                    run.count, run.retargets, run.tip_hash, run.tip.height
                );
                result.events.push(Event::note(&self.peg, text));
                Ok(result.ended(Outcome::Accepted))
            }
            Err(bad) => {
                let code = match bad.fault {
                    HeaderFault::Linkage { .. } => Refused::BadLinkage,
                    HeaderFault::WrongTarget { .. } => Refused::WrongTarget,
                    HeaderFault::InsufficientWork { .. } => Refused::InsufficientWork,
                    HeaderFault::AbovePowLimit => Refused::AbovePowLimit,
                    HeaderFault::MissingPeriodStart { .. } => Refused::MissingPeriodStart,
                };
                let why =
                    format!("header {} (height {}): {}", bad.index + 1, bad.height, bad.fault);
                Ok(result.ended(refused(code.code(), why)))
            }
        }
    }

    fn measure(&self, _: &str, _: Option<&str>, _: &mut Cx<'_>) -> Result<Amount, RunError> {
        Ok(Amount::ZERO)
    }
}
