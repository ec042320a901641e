//! Stacks sBTC (`kind = "sbtc"`): deposits to a two-leaf taproot output (the signers' key, or
//! the depositor after a CSV lock), swept by a t-of-n signer set under one FROST aggregate key
//! into the signers' UTXO; withdrawals requested on Stacks and paid from that UTXO.
//!
//! Sources: stacks-network/sbtc @ a291cdd2 (`sbtc/src/deposits.rs`, `signer/src/bitcoin/utxo.rs`,
//! `signer/src/bitcoin/validation.rs`, `signer/src/request_decider.rs`); the facts and line
//! numbers are in `peg-catalog-2.md` §2.

mod idpack;
mod script;
pub(crate) mod signers;
mod steps;
mod sweep;
mod verbs;

use std::sync::{Arc, OnceLock};

use bitcoin::{
    Amount, ScriptBuf,
    secp256k1::{Secp256k1, Verification},
};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    family::{Code, Family, PegRun, PegSpec, Per, Quantity, StepSpec, Verb, codes},
    lock::{self, Holders, Lock, Slot, Spender, TxShape, Wrap},
    policy::{Policy, SpendPath, Timelocks},
    run::{
        Cx, RunError,
        keys::{KeyBook, Purpose},
    },
    scenario::{Members, Reader},
    tx::taproot::even,
};
use script::{DepositTerms, deposit_info, deposit_script, reclaim_script, user_script};
use signers::Group;
use verbs::{Step, VERBS};

/// The sBTC family.
pub(crate) struct Sbtc;

/// The mainnet signer set: 14 signers, 10 signatures (`signatures_required`).
const MAINNET: (u64, u64) = (14, 10);
/// Blocks the depositor waits to reclaim, by default (the sBTC bridge's regtest default).
const DEFAULT_LOCK: u16 = 12;
/// The depositor's default `max_fee` (Emily's mainnet fixture: 80,000 sat).
const DEFAULT_MAX_FEE: Amount = Amount::from_sat(80_000);
/// The holder name of the aggregate key in spend paths.
pub(crate) const GROUP_KEY: &str = "signers' aggregate key";

/// `[[peg]] kind = "sbtc"`.
#[derive(Debug, Deserialize, JsonSchema)]
struct Params {
    /// "mainnet": 14 signers, 10 signatures (sBTC mainnet's signer set).
    preset: Option<String>,
    /// Signers: a count (signer-1..) or signer names; each holds one share of the key.
    signers: Option<Members>,
    /// Signatures a signing round needs (default: 70% of the signers, rounded up, as sBTC
    /// deploys it; more than half, as the signer's config requires).
    threshold: Option<u64>,
    /// Blocks a depositor waits before reclaiming an unswept deposit (default 12).
    reclaim_lock: Option<u64>,
    /// The most a deposit lets the signers take as fee, by default (default 80,000 sat).
    max_fee: Option<String>,
    /// The Stacks network of recipients' principals: "mainnet" (default) or "testnet".
    stacks_network: Option<StacksNetwork>,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
enum StacksNetwork {
    /// Principals `SP...` (version 22).
    Mainnet,
    /// Principals `ST...` (version 26).
    Testnet,
}

const QUANTITIES: &[Quantity] = &[
    Quantity {
        key: "peg_balance",
        per: Per::Peg,
        about: "what the signers' UTXO and the swept deposits hold on Bitcoin (unswept deposits are not counted)",
    },
    Quantity {
        key: "shortfall",
        per: Per::Peg,
        about: "sBTC in circulation (and locked in withdrawal requests) less the signers' UTXO, when positive",
    },
    Quantity { key: "sidechain_balance", per: Per::Holder, about: "the holder's sBTC on Stacks" },
];

const STALLS: &[Code] = &[
    Code {
        code: "nothing-to-sweep",
        meaning: "no deposit or withdrawal request the signers would accept now",
    },
    Code {
        code: "missing-signer-utxo",
        meaning: "the signers have no UTXO yet: sBTC's wallet starts with a donation",
    },
    Code {
        code: "signing-round-failed",
        meaning: "fewer signers than the threshold are online: FROST cannot produce a signature",
    },
    Code {
        code: "dkg-needs-every-signer",
        meaning: "a new key's DKG needs every signer of the new set online (dkg_threshold = num_signers)",
    },
    Code { code: "no-deposit", meaning: "the named deposit was never accepted by Bitcoin Core" },
    Code {
        code: "insufficient-sbtc",
        meaning: "the holder's sBTC does not cover the amount and the max fee the request locks",
    },
];

codes! {
    /// Why the sBTC signers or contracts refuse a request (signer/src/bitcoin/validation.rs,
    /// `InputValidationResult`/`WithdrawalValidationResult`; contracts/sbtc-withdrawal.clar).
    pub(crate) enum Refused {
        LockTimeExpiry = "lock-time-expiry": "sBTC signers: the deposit is within DEPOSIT_LOCKTIME_BLOCK_BUFFER (3) blocks of its reclaim lock (tip - height >= lock - 3): sweeping it would race the depositor",
        FeeTooHigh = "fee-too-high": "sBTC signers: the request's share of the sweep's fee is above its max_fee",
        MintAmountBelowDustLimit = "mint-amount-below-dust-limit": "sBTC signers: the deposit less its fee is below 546 sat (DEPOSIT_DUST_LIMIT; sbtc-deposit.clar's dust-limit)",
        TxNotOnBestChain = "tx-not-on-best-chain": "sBTC signers: the deposit transaction is not confirmed on the signers' canonical chain",
        RequestNotFinal = "request-not-final": "sBTC signers: the withdrawal request has fewer than WITHDRAWAL_MIN_CONFIRMATIONS (6) Bitcoin blocks",
        RequestExpired = "request-expired": "sBTC signers: the withdrawal request is within WITHDRAWAL_EXPIRY_BUFFER (6) of WITHDRAWAL_BLOCKS_EXPIRY (24) blocks",
        AmountIsDust = "amount-is-dust": "sbtc-withdrawal.clar: a withdrawal of at most 546 sat (ERR_DUST_LIMIT)",
    }
}

/// A validated sBTC peg.
#[derive(Debug)]
pub(crate) struct Spec {
    peg: String,
    members: Vec<String>,
    threshold: u16,
    lock: u16,
    max_fee: Amount,
    /// The principal version byte of recipients (22 mainnet, 26 testnet).
    stacks_version: u8,
    /// The first signer set's key, from a DKG on the scenario's seed (made on first use).
    group: OnceLock<Result<Group, String>>,
}

impl Spec {
    /// The first signer set, its DKG run once per seed.
    fn group(&self, keys: &KeyBook) -> Result<&Group, String> {
        self.group
            .get_or_init(|| {
                Group::generate(&self.members, self.threshold, &label(keys, &self.peg, 0))
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// The seed of a DKG: the scenario's seed, the peg, the generation.
pub(crate) fn label(keys: &KeyBook, peg: &str, generation: usize) -> String {
    format!("{}/{peg}/dkg-{generation}", keys.seed())
}

/// A user's deposit leaves under `group`'s key.
pub(crate) fn deposit_leaves<C: Verification>(
    secp: &Secp256k1<C>,
    keys: &KeyBook,
    spec_version: u8,
    user: &str,
    max_fee: Amount,
    lock: u16,
    group: &Group,
) -> (ScriptBuf, ScriptBuf) {
    let _ = secp;
    let sidechain = keys.user_public(Purpose::Sidechain, user);
    let hash = bitcoin::hashes::hash160::Hash::hash(&sidechain.inner.serialize());
    let recipient =
        script::standard_principal(spec_version, bitcoin::hashes::Hash::to_byte_array(hash));
    let terms = DepositTerms { max_fee, recipient, signers: group.key };
    let staker = keys.user_public(Purpose::Staking, user).inner.x_only_public_key().0;
    (deposit_script(&terms), reclaim_script(lock, &user_script(&staker)))
}

use bitcoin::hashes::Hash as _;

impl Family for Sbtc {
    fn kind(&self) -> &'static str {
        "sbtc"
    }
    fn about(&self) -> &'static str {
        "Stacks sBTC: taproot deposits (signers' FROST key, or the depositor after a CSV lock) swept by t-of-n signers"
    }
    fn starter(&self) -> &'static str {
        include_str!("../../../../scenarios/sbtc/happy.toml")
    }
    fn verbs(&self) -> &'static [Verb] {
        VERBS
    }
    fn quantities(&self) -> &'static [Quantity] {
        QUANTITIES
    }
    fn refusals(&self) -> &'static [Code] {
        Refused::ALL
    }
    fn stalls(&self) -> &'static [Code] {
        STALLS
    }
    fn peg_schema(&self, g: &mut SchemaGenerator) -> Schema {
        g.subschema_for::<Params>()
    }

    fn read_peg(&self, r: &mut Reader<'_, '_>) -> Option<Arc<dyn PegSpec>> {
        let p: Params = r.parse()?;
        let mainnet = p.preset.as_deref().and_then(|name| r.preset(name, &[("mainnet", ())]));
        let members = match (&p.signers, mainnet) {
            (Some(spec), _) => r.members("signers", spec, "signer"),
            (None, Some(())) => r.members("preset", &Members::Count(MAINNET.0), "signer"),
            (None, None) if p.preset.is_some() => return None,
            (None, None) => {
                r.report(
                    "",
                    "an sbtc peg needs `signers` (a count or signer names), or `preset = \"mainnet\"`",
                    None,
                );
                return None;
            }
        };
        if members.len() < 2 {
            let message =
                format!("a FROST signer set has at least 2 signers, not {}", members.len());
            r.report("signers", message, None);
            return None;
        }
        let n = members.len() as u64;
        let default = match mainnet {
            Some(()) if p.signers.is_none() => MAINNET.1,
            _ => (n * 7).div_ceil(10),
        };
        let threshold =
            r.threshold("threshold", p.threshold.unwrap_or(default), members.len(), "signers");
        if (threshold as u64) * 2 <= n {
            let message = format!(
                "threshold {threshold} of {n}: sBTC's signer requires more than half the signers (signatures_required > num_signers / 2)"
            );
            r.report("threshold", message, None);
        }
        let lock = match p.reclaim_lock {
            Some(lock) => r.csv("reclaim_lock", lock),
            None => DEFAULT_LOCK,
        };
        let max_fee = match &p.max_fee {
            Some(text) => r.amount("max_fee", text).unwrap_or(DEFAULT_MAX_FEE),
            None => DEFAULT_MAX_FEE,
        };
        let stacks_version = match p.stacks_network.unwrap_or(StacksNetwork::Mainnet) {
            StacksNetwork::Mainnet => 22,
            StacksNetwork::Testnet => 26,
        };
        Some(Arc::new(Spec {
            peg: r.peg().to_owned(),
            members,
            threshold: threshold as u16,
            lock,
            max_fee,
            stacks_version,
            group: OnceLock::new(),
        }))
    }
}

impl PegSpec for Spec {
    fn family(&self) -> &'static dyn Family {
        &Sbtc
    }

    fn read_step(&self, verb: &'static str, r: &mut Reader<'_, '_>) -> Option<StepSpec> {
        self.read(verb, r)
    }

    fn derive(&self, keys: &KeyBook, _: &[&StepSpec]) -> Value {
        let secp = Secp256k1::verification_only();
        let group = match self.group(keys) {
            Ok(group) => group,
            Err(e) => return json!({ "error": format!("the DKG failed: {e}") }),
        };
        let wallet = group.script_pubkey(&secp);
        json!({
            "aggregate_key": group.key.to_string(),
            "signers_script_pubkey": wallet.to_hex_string(),
            "group": {
                "members": group.members,
                "n": group.members.len(),
                "threshold": group.threshold,
                "scheme": "FROST (RFC 9591), secp256k1 with BIP340 challenges (frost-secp256k1-tr); sBTC runs WSTS, its weighted form",
                "declared": "the script holds one key: who holds its shares, and how many must sign, is declared here, not provable from the script",
            },
            "reclaim_lock_blocks": self.lock,
            "max_fee_sat": self.max_fee.to_sat(),
            "sweep_marker": "OP_RETURN 'T3' 0x01 || idpack(withdrawal ids)",
            "deposit_leaf": "<max_fee (8, BE) || recipient principal> OP_DROP <aggregate key> OP_CHECKSIG",
            "reclaim_leaf": "<lock> OP_CHECKSEQUENCEVERIFY OP_DROP <depositor key> OP_CHECKSIG",
        })
    }

    fn locks(&self, keys: &KeyBook) -> Vec<Lock> {
        let secp = Secp256k1::new();
        let Ok(group) = self.group(keys) else { return Vec::new() };
        let group_pk = even(group.key);
        let group_holder = (GROUP_KEY.to_owned(), Some(group.secret()));
        let mut locks = Vec::new();
        // The signers' UTXO: the key path of P tweaked with no tree.
        let info = bitcoin::taproot::TaprootSpendInfo::new_key_spend(&secp, group.key, None);
        let template = lock::Template::new(
            Wrap::KeyPath(Box::new(info)),
            vec![Slot::Sig(group_pk)],
            Timelocks::default(),
        );
        let paths =
            vec![SpendPath::new("signers' key path", "signers' UTXO", Policy::pk(GROUP_KEY))];
        locks.push(Lock::new(
            "signers' UTXO",
            group.script_pubkey(&secp),
            paths,
            Spender::Templates(vec![template]),
            Holders::from([(group_pk, group_holder.clone())]),
        ));
        for user in keys.users() {
            let (deposit, reclaim) = deposit_leaves(
                &secp,
                keys,
                self.stacks_version,
                user,
                self.max_fee,
                self.lock,
                group,
            );
            let info = deposit_info(&secp, &deposit, &reclaim);
            let spk = script::deposit_script_pubkey(&secp, &deposit, &reclaim);
            let user_pk =
                even(keys.user_public(Purpose::Staking, user).inner.x_only_public_key().0);
            let older = Timelocks { blocks_old: u32::from(self.lock), ..Timelocks::default() };
            let templates = vec![
                lock::Template::new(
                    Wrap::Leaf(deposit, Box::new(info.clone())),
                    vec![Slot::Sig(group_pk)],
                    Timelocks::default(),
                ),
                lock::Template::new(
                    Wrap::Leaf(reclaim, Box::new(info)),
                    vec![Slot::Sig(user_pk)],
                    older,
                ),
            ];
            let coins = format!("{user}'s deposit");
            let paths = vec![
                SpendPath::new("signers sweep it", &coins, Policy::pk(GROUP_KEY)),
                SpendPath::new(
                    "depositor reclaims after the lock",
                    &coins,
                    Policy::pk(user).after_blocks(self.lock),
                ),
            ];
            let user_sk = keys.user_secret(Purpose::Staking, user);
            let holders = Holders::from([
                (group_pk, group_holder.clone()),
                (user_pk, (user.to_owned(), user_sk)),
            ]);
            locks.push(Lock::new(&coins, spk, paths, Spender::Templates(templates), holders));
        }
        locks
    }

    fn transactions(&self) -> Vec<TxShape> {
        vec![
            TxShape::new(
                "deposit",
                "the depositor's wallet",
                "the deposit output (P2TR, NUMS key, deposit and reclaim leaves)",
                "the depositor",
            ),
            TxShape::new(
                "sweep",
                "the signers' UTXO (key path, nSequence 0), then deposits (deposit leaf)",
                "the new signers' UTXO, OP_RETURN 'T3' 0x01 || idpack(withdrawal ids), then withdrawals",
                "a FROST round of the online signers (threshold), one BIP340 signature per input",
            ),
            TxShape::new(
                "reclaim",
                "a deposit (reclaim leaf)",
                "anyone the depositor names",
                "the depositor, once the deposit is `lock` blocks old",
            ),
        ]
    }

    fn analysis(&self, peg: &str) -> Vec<String> {
        vec![format!(
            "{peg}: {} of {} signers move every swept coin at once (the signers' UTXO has only a key path: no delay, no recovery leaf); a depositor's only exit is reclaiming an unswept deposit after {} blocks",
            self.threshold,
            self.members.len(),
            self.lock
        )]
    }

    fn key_groups(&self) -> Vec<crate::trust::KeyGroup> {
        vec![crate::trust::KeyGroup {
            holder: GROUP_KEY.to_owned(),
            members: self.members.len() as u32,
            threshold: u32::from(self.threshold),
            scheme: "FROST here; WSTS in sBTC".into(),
        }]
    }

    fn declared_trust(&self) -> Vec<String> {
        vec![
            "sBTC is minted by the signers' Stacks principal alone (complete-deposit-wrapper): no SPV proof of the deposit".into(),
            "key rotation takes effect at once: no exit window (L2BEAT-style: none, bad)".into(),
        ]
    }

    fn start(&self, peg: &str, cx: &mut Cx<'_>) -> Result<Box<dyn PegRun>, RunError> {
        let group = self
            .group(cx.keys)
            .map_err(|e| RunError::Model(format!("{peg}: the DKG failed: {e}")))?;
        Ok(Box::new(steps::State::new(peg, self, group.clone())))
    }
}
