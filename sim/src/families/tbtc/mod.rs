//! Threshold tBTC v2 (`kind = "tbtc"`): deposits to a P2(W)SH script (the wallet's key, or the
//! depositor after a timestamp refund locktime), swept by the wallet into one P2WPKH main UTXO,
//! redeemed from it, moved to other wallets in equal parts. The wallet's key is a threshold
//! ECDSA key of a 100-member group (51 sign); on Bitcoin it is one key, and here one key stands
//! in for it (the group is declared data).
//!
//! Sources: keep-network/tbtc-v2 @ 4a253098 (`solidity/contracts/bridge/{Deposit,DepositSweep,
//! Redemption,MovingFunds}.sol`), keep-core's `EcdsaDkgValidator.sol` (group size and
//! threshold); the facts are in `peg-catalog-2.md` §3.

mod bridge;
mod script;
mod steps;
mod verbs;

use std::sync::Arc;

use bitcoin::{Amount, PublicKey, hashes::Hash};
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
    scenario::{Reader, parse_duration},
    tx::OutputType,
};
use script::{Reveal, deposit_script};
use verbs::{Step, VERBS};

/// The tBTC family.
pub(crate) struct Tbtc;

/// The wallet's signing group (`EcdsaDkgValidator.sol`: groupSize 100, groupThreshold 51).
const GROUP: (u32, u32) = (100, 51);
/// The Bridge's `depositDustThreshold` on mainnet: 0.01 BTC.
const DEPOSIT_DUST: Amount = Amount::from_sat(1_000_000);
/// The Bridge's `depositTxMaxFee`: the most a sweep may charge per deposit, 100,000 sat.
const DEPOSIT_TX_MAX_FEE: Amount = Amount::from_sat(100_000);
/// The Bridge's `txProofDifficultyFactor` on mainnet: proofs carry 6 blocks of work.
const PROOF_DIFFICULTY_FACTOR: u32 = 6;
/// The Bridge's `redemptionTimeout`: 5 days.
const REDEMPTION_TIMEOUT: u32 = 5 * 86_400;
/// A refund's default wait after the deposit (the depositor's choice; the SDK's is 9 months).
const DEFAULT_REFUND_LOCK: &str = "30d";

/// `[[peg]] kind = "tbtc"`.
#[derive(Debug, Deserialize, JsonSchema)]
struct Params {
    /// The signer whose key stands in for the wallet's threshold ECDSA key (default
    /// `wallet`, made from the seed).
    wallet: Option<String>,
    /// Deposit outputs: "p2wsh" (default) or "p2sh".
    output: Option<Output>,
    /// How long after the deposit its depositor may take it back (default "30d").
    refund_lock: Option<String>,
    /// The smallest deposit the Bridge reveals (default 0.01 BTC, mainnet's).
    deposit_dust: Option<String>,
    /// Blocks of work a proof to the Bridge carries, at the relay's epoch difficulty
    /// (`txProofDifficultyFactor`; default 6, mainnet's).
    proof_difficulty_factor: Option<u32>,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
enum Output {
    /// Native segwit.
    P2wsh,
    /// Legacy P2SH.
    P2sh,
}

const QUANTITIES: &[Quantity] = &[
    Quantity {
        key: "peg_balance",
        per: Per::Peg,
        about: "what the wallet's main UTXO (and the wallets it moved funds to) hold",
    },
    Quantity {
        key: "shortfall",
        per: Per::Peg,
        about: "tBTC in circulation and in pending redemptions less what the wallets hold, when positive",
    },
    Quantity {
        key: "sidechain_balance",
        per: Per::Holder,
        about: "the holder's tBTC (Bank balance) on Ethereum",
    },
];

const STALLS: &[Code] = &[
    Code { code: "no-deposit", meaning: "the named deposit was never accepted by Bitcoin Core" },
    Code { code: "no-main-utxo", meaning: "the wallet has no main UTXO yet (nothing swept)" },
    Code { code: "insufficient-tbtc", meaning: "the holder's tBTC does not cover the redemption" },
    Code {
        code: "no-such-tx",
        meaning: "the named transaction is not one the wallet made, or Bitcoin Core did not accept it",
    },
];

static REFUSALS: std::sync::LazyLock<Vec<Code>> = std::sync::LazyLock::new(|| {
    crate::relay::store::Fault::ALL.iter().chain(Refused::ALL).copied().collect()
});

codes! {
    /// Why the Bridge reverts, in its `require` strings (keep-network/tbtc-v2 @ 4a253098).
    pub(crate) enum Refused {
        DepositAmountTooSmall = "deposit-amount-too-small": "Bridge (Deposit.sol): \"Deposit amount too small\": below depositDustThreshold",
        DepositAlreadySwept = "deposit-already-swept": "Bridge (DepositSweep.sol): \"Deposit already swept\"",
        SweepSingleOutput = "sweep-transaction-must-have-a-single-output": "Bridge (DepositSweep.sol): \"Sweep transaction must have a single output\"",
        SweepNoDeposit = "sweep-transaction-must-process-at-least-one-deposit": "Bridge (DepositSweep.sol): \"Sweep transaction must process at least one deposit\"",
        FeeTooHigh = "transaction-fee-is-too-high": "Bridge: \"Transaction fee is too high\": a sweep's fee per deposit above depositTxMaxFee (100,000 sat)",
        SingleInput = "outbound-transaction-must-have-a-single-input": "Bridge (Redemption.sol): \"Outbound transaction must have a single input\": a redemption or moving-funds transaction spends the main UTXO alone",
        NotEvenly = "transaction-amount-is-not-distributed-evenly": "Bridge (MovingFunds.sol): \"Transaction amount is not distributed evenly\"",
        NonRequested = "output-is-a-non-requested-redemption": "Bridge (Redemption.sol): \"Output is a non-requested redemption\": a transaction spending the main UTXO pays someone nobody asked it to",
        AlreadyProven = "transaction-already-proven": "Bridge: the transaction's inputs are marked spent (\"Deposit already swept\", a spent main UTXO)",
        ChallengeDefeated = "fraud-challenge-defeated": "Bridge (Fraud.sol defeatFraudChallenge): the wallet revealed the preimage of a transaction proven in the Bridge: its inputs were spent honestly",
        NotTimedOut = "redemption-request-has-not-timed-out": "Bridge (Redemption.sol): \"Redemption request has not timed out\" (redemptionTimeout: 5 days)",
        NoRedemption = "redemption-request-does-not-exist": "Bridge (Redemption.sol): \"Redemption request does not exist\" (never made, paid, or timed out)",
    }
}

/// A validated tBTC peg.
#[derive(Debug)]
pub(crate) struct Spec {
    wallet: String,
    output: OutputType,
    refund_lock: u32,
    deposit_dust: Amount,
    proof_factor: u32,
}

/// A user's reveal to a wallet, the refund locktime given.
pub(crate) fn reveal(
    keys: &KeyBook,
    user: &str,
    wallet: &PublicKey,
    locktime: u32,
    extra: Option<[u8; 32]>,
    salt: &str,
) -> Reveal {
    let refund = keys.user_public(Purpose::Staking, user);
    let address =
        crate::families::powpeg::rsk::address(&keys.user_public(Purpose::Sidechain, user));
    let blinding =
        bitcoin::hashes::sha256::Hash::hash(format!("{}/{user}/{salt}", keys.seed()).as_bytes());
    Reveal {
        depositor: address,
        extra_data: extra,
        blinding_factor: blinding.to_byte_array()[..8].try_into().expect("8 bytes"),
        wallet_pkh: wallet.pubkey_hash().to_byte_array(),
        refund_pkh: refund.pubkey_hash().to_byte_array(),
        refund_locktime: locktime,
    }
}

impl Family for Tbtc {
    fn kind(&self) -> &'static str {
        "tbtc"
    }
    fn about(&self) -> &'static str {
        "Threshold tBTC v2: P2(W)SH deposits (the wallet's key, or the depositor after a timestamp) swept into one main UTXO"
    }
    fn starter(&self) -> &'static str {
        include_str!("../../../../scenarios/tbtc/happy.toml")
    }
    fn verbs(&self) -> &'static [Verb] {
        VERBS
    }
    fn quantities(&self) -> &'static [Quantity] {
        QUANTITIES
    }
    fn refusals(&self) -> &'static [Code] {
        &REFUSALS
    }
    fn stalls(&self) -> &'static [Code] {
        STALLS
    }
    fn peg_schema(&self, g: &mut SchemaGenerator) -> Schema {
        g.subschema_for::<Params>()
    }

    fn read_peg(&self, r: &mut Reader<'_, '_>) -> Option<Arc<dyn PegSpec>> {
        let p: Params = r.parse()?;
        let wallet = match p.wallet {
            Some(name) => {
                r.signer("wallet", &name);
                name
            }
            None => {
                r.ensure_signer("wallet");
                "wallet".to_owned()
            }
        };
        let output = match p.output.unwrap_or(Output::P2wsh) {
            Output::P2wsh => OutputType::P2wsh,
            Output::P2sh => OutputType::P2sh,
        };
        let text = p.refund_lock.as_deref().unwrap_or(DEFAULT_REFUND_LOCK);
        let refund_lock = parse_duration(text).unwrap_or_else(|| {
            let help = Some("write e.g. \"2h\" or \"30d\"".into());
            r.report("refund_lock", format!("`{text}` is not a duration"), help);
            0
        });
        let deposit_dust = match &p.deposit_dust {
            Some(text) => r.amount("deposit_dust", text).unwrap_or(DEPOSIT_DUST),
            None => DEPOSIT_DUST,
        };
        let proof_factor = p.proof_difficulty_factor.unwrap_or(PROOF_DIFFICULTY_FACTOR);
        if !(1..=1000).contains(&proof_factor) {
            let message = format!("{proof_factor} is impossible: 1 to 1000 blocks of work");
            r.report("proof_difficulty_factor", message, None);
        }
        Some(Arc::new(Spec { wallet, output, refund_lock, deposit_dust, proof_factor }))
    }
}

impl PegSpec for Spec {
    fn family(&self) -> &'static dyn Family {
        &Tbtc
    }

    fn read_step(&self, verb: &'static str, r: &mut Reader<'_, '_>) -> Option<StepSpec> {
        self.read(verb, r)
    }

    fn derive(&self, keys: &KeyBook, _: &[&StepSpec]) -> Value {
        let wallet = keys.public(&self.wallet);
        json!({
            "wallet_pubkey": wallet.to_string(),
            "wallet_pubkey_hash": wallet.pubkey_hash().to_string(),
            "group": {
                "stands_in": self.wallet,
                "size": GROUP.0,
                "threshold": GROUP.1,
                "scheme": "threshold ECDSA (tBTC's wallets; keep-core EcdsaDkgValidator: groupSize 100, groupThreshold 51)",
                "declared": "on Bitcoin the wallet is one ECDSA key: one key stands in for it here; who holds it, and how many must sign, is declared, not provable from the script",
            },
            "output": self.output,
            "refund_lock_seconds": self.refund_lock,
            "deposit_dust_sat": self.deposit_dust.to_sat(),
            "deposit_tx_max_fee_sat": DEPOSIT_TX_MAX_FEE.to_sat(),
            "tx_proof_difficulty_factor": self.proof_factor,
            "redemption_timeout_seconds": REDEMPTION_TIMEOUT,
            "script_template": "<depositor> DROP [<extra data> DROP] <blinding factor> DROP DUP HASH160 <wallet PKH> EQUAL IF CHECKSIG ELSE DUP HASH160 <refund PKH> EQUALVERIFY <locktime> CLTV DROP CHECKSIG ENDIF",
            "layers": [{
                "name": "Mezo",
                "over": "tBTC",
                "adds": "Mezo's bridge validators (2/3 of them) on top of tBTC's own trust; declared, nothing of it is on Bitcoin",
            }],
        })
    }

    fn locks(&self, keys: &KeyBook) -> Vec<Lock> {
        let wallet = keys.public(&self.wallet);
        let locktime = crate::chain::LAB_EPOCH as u32;
        let mut locks = Vec::new();
        // The wallet's main UTXO: P2WPKH to the wallet's one key.
        if let Ok(descriptor) = miniscript::Descriptor::new_wpkh(wallet) {
            let lock = crate::lock::DescriptorLock::new(descriptor);
            let holders =
                Holders::from([(wallet, (self.wallet.clone(), keys.secret(&self.wallet)))]);
            let coins = "the wallet's main UTXO";
            let paths = lock.paths(&holders, coins, &["wallet's key".to_owned()]);
            let spk = lock.descriptor.script_pubkey();
            locks.push(Lock::new(coins, spk, paths, Spender::Descriptor(Box::new(lock)), holders));
        }
        for user in keys.users() {
            let reveal = reveal(keys, user, &wallet, locktime, None, "lock");
            let script = deposit_script(&reveal);
            let refund = keys.user_public(Purpose::Staking, user);
            let templates = vec![
                lock::Template::new(
                    Wrap::Script(script.clone(), self.output),
                    vec![Slot::Sig(wallet), Slot::Push(wallet.to_bytes())],
                    Timelocks::default(),
                ),
                lock::Template::new(
                    Wrap::Script(script.clone(), self.output),
                    vec![Slot::Sig(refund), Slot::Push(refund.to_bytes())],
                    Timelocks { time: Some(locktime), ..Timelocks::default() },
                ),
            ];
            let coins = format!("{user}'s deposit");
            let paths = vec![
                SpendPath::new("the wallet sweeps it", &coins, Policy::pk(self.wallet.clone())),
                SpendPath::new(
                    "the depositor's refund after the locktime",
                    &coins,
                    Policy::and(vec![Policy::pk(user), Policy::AfterTime { time: None }]),
                ),
            ];
            let holders = Holders::from([
                (wallet, (self.wallet.clone(), keys.secret(&self.wallet))),
                (refund, (user.to_owned(), keys.user_secret(Purpose::Staking, user))),
            ]);
            let spk = crate::tx::script_pubkey(&script, self.output);
            locks.push(Lock::new(&coins, spk, paths, Spender::Templates(templates), holders));
        }
        locks
    }

    fn transactions(&self) -> Vec<TxShape> {
        vec![
            TxShape::new(
                "deposit",
                "the depositor's wallet",
                "the deposit script (P2WSH or P2SH)",
                "the depositor",
            ),
            TxShape::new(
                "sweep",
                "the main UTXO and revealed deposits",
                "exactly one P2WPKH output to the wallet",
                "the wallet (threshold ECDSA)",
            ),
            TxShape::new(
                "redemption",
                "the main UTXO alone",
                "the redeemer, and at most one change output to the wallet",
                "the wallet",
            ),
            TxShape::new(
                "moving funds",
                "the main UTXO alone",
                "the target wallets, in equal parts",
                "the wallet",
            ),
            TxShape::new(
                "refund",
                "a deposit",
                "anyone the depositor names",
                "the depositor, once median-time-past passes the refund locktime",
            ),
        ]
    }

    fn analysis(&self, peg: &str) -> Vec<String> {
        vec![format!(
            "{peg}: {} of {} operators sign as the wallet (threshold ECDSA: one key on Bitcoin); an unswept deposit returns to its depositor after {} s, but the wallet may still sweep it until the refund is mined",
            GROUP.1, GROUP.0, self.refund_lock
        )]
    }

    fn key_groups(&self) -> Vec<crate::trust::KeyGroup> {
        vec![crate::trust::KeyGroup {
            holder: self.wallet.clone(),
            members: GROUP.0,
            threshold: GROUP.1,
            scheme: "threshold ECDSA".into(),
        }]
    }

    fn declared_trust(&self) -> Vec<String> {
        vec![
            "tBTC is minted by the Bridge contract on an SPV proof (LightRelay, txProofDifficultyFactor blocks of work)".into(),
            "a theft is punished by slashing the operators' T stake: no BTC comes back".into(),
            "Mezo, built on tBTC, adds 2/3 of its bridge validators (Ethereum attestation)".into(),
        ]
    }

    fn start(&self, peg: &str, cx: &mut Cx<'_>) -> Result<Box<dyn PegRun>, RunError> {
        // The LightRelay knows one thing: the current epoch's difficulty.
        let tip = cx.chain.tip(cx.node)?;
        let header = cx.chain.header(cx.node, tip.hash)?;
        let relay = crate::relay::store::Relay::new(
            crate::relay::store::ForkChoice::TbtcLightRelay,
            self.proof_factor,
            tip.height,
            header,
        );
        Ok(Box::new(steps::State::new(peg, self, relay)))
    }
}
