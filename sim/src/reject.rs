//! Bitcoin Core's reasons for refusing a transaction, as typed values.
//!
//! Bitcoin Core answers `sendrawtransaction` and `testmempoolaccept` with a reason token
//! (`non-BIP68-final`), sometimes a parenthesised script error and sometimes a debug message
//! after a comma: `mempool-script-verify-flag-failed (Signature must be zero for failed
//! CHECK(MULTI)SIG operation), input 0 of ...`. [`Rejection::parse`] turns that text into a
//! [`RejectReason`] while keeping Core's message verbatim for reports.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why Bitcoin Core refused a transaction. One variant per reason peglab knows, plus
/// [`RejectReason::Other`] for any token not (yet) known, so nothing is ever lost.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// `non-BIP68-final`: a relative timelock (CSV / `nSequence`) has not matured yet.
    NonBip68Final,
    /// `non-final`: the transaction's `nLockTime` (CLTV) has not been reached yet.
    NonFinal,
    /// A script failed. `consensus` is true when Core reported it under consensus flags
    /// (`block-` or, before v30, `mandatory-script-verify-flag-failed`), false when the
    /// mempool reported it (`mempool-`, before v30 `non-mandatory-`). Since v30 the mempool
    /// reports every script failure as `mempool-`, so `detail` is what tells failures apart:
    /// Core's script error, such as `Signature must be zero for failed CHECK(MULTI)SIG
    /// operation`.
    ScriptVerifyFlagFailed {
        /// Whether a consensus rule (not just policy) failed.
        consensus: bool,
        /// Bitcoin Core's script error text.
        detail: String,
    },
    /// `bad-txns-inputs-missingorspent`: an input does not exist or is already spent.
    InputsMissingOrSpent,
    /// `bad-txns-premature-spend-of-coinbase`: a coinbase output younger than 100 blocks.
    PrematureSpendOfCoinbase,
    /// `bad-txns-in-belowout`: outputs are worth more than inputs.
    InBelowOut,
    /// `txn-mempool-conflict`: the transaction double-spends one already in the mempool.
    MempoolConflict,
    /// `txn-already-in-mempool` or `txn-already-known`.
    AlreadyInMempool,
    /// `Transaction already in block chain` / `Transaction outputs already in utxo set`.
    AlreadyInChain,
    /// `min relay fee not met`.
    MinRelayFeeNotMet,
    /// `mempool min fee not met`.
    MempoolMinFeeNotMet,
    /// `insufficient fee` (a replacement that does not pay enough).
    InsufficientFee,
    /// `dust`: an output below the dust threshold.
    Dust,
    /// `scriptpubkey`: a non-standard output script.
    NonStandardScriptPubKey,
    /// `bad-txns-nonstandard-inputs`.
    NonStandardInputs,
    /// `bad-witness-nonstandard`.
    NonStandardWitness,
    /// `tx-size-small`.
    TxSizeSmall,
    /// `TRUC-violation`: a version-3 transaction breaks a TRUC rule (its size, its relatives).
    TrucViolation,
    /// `max-fee-exceeded`: the fee is above the node's `maxfeerate` guard.
    MaxFeeExceeded,
    /// Any other reason token, verbatim.
    Other(String),
}

impl RejectReason {
    /// Bitcoin Core's own token for this reason (`non-BIP68-final`, ...). Script failures
    /// give the spelling of current Bitcoin Core.
    pub fn code(&self) -> &str {
        match self {
            Self::NonBip68Final => "non-BIP68-final",
            Self::NonFinal => "non-final",
            Self::ScriptVerifyFlagFailed { consensus: true, .. } => {
                "block-script-verify-flag-failed"
            }
            Self::ScriptVerifyFlagFailed { consensus: false, .. } => {
                "mempool-script-verify-flag-failed"
            }
            Self::InputsMissingOrSpent => "bad-txns-inputs-missingorspent",
            Self::PrematureSpendOfCoinbase => "bad-txns-premature-spend-of-coinbase",
            Self::InBelowOut => "bad-txns-in-belowout",
            Self::MempoolConflict => "txn-mempool-conflict",
            Self::AlreadyInMempool => "txn-already-in-mempool",
            Self::AlreadyInChain => "transaction-already-in-block-chain",
            Self::MinRelayFeeNotMet => "min relay fee not met",
            Self::MempoolMinFeeNotMet => "mempool min fee not met",
            Self::InsufficientFee => "insufficient fee",
            Self::Dust => "dust",
            Self::NonStandardScriptPubKey => "scriptpubkey",
            Self::NonStandardInputs => "bad-txns-nonstandard-inputs",
            Self::NonStandardWitness => "bad-witness-nonstandard",
            Self::TxSizeSmall => "tx-size-small",
            Self::TrucViolation => "TRUC-violation",
            Self::MaxFeeExceeded => "max-fee-exceeded",
            Self::Other(token) => token,
        }
    }

    /// Whether this reason matches what a user wrote in an expectation: Core's token
    /// (`non-BIP68-final`). Any spelling of a script failure (`script-verify-flag-failed`,
    /// `mandatory-...`, `mempool-...`, `block-...`) matches any script failure, since Core's
    /// word for it changed across versions; a parenthesised detail, when written, must match
    /// Core's script error too.
    pub fn matches(&self, written: &str) -> bool {
        let written = written.trim();
        if written.eq_ignore_ascii_case(self.code()) {
            return true;
        }
        let (wanted, _) = Self::parse_token(written);
        match (self, &wanted) {
            (
                Self::ScriptVerifyFlagFailed { detail, .. },
                Self::ScriptVerifyFlagFailed { detail: wanted_detail, .. },
            ) => wanted_detail.is_empty() || wanted_detail == detail,
            (Self::ScriptVerifyFlagFailed { detail, .. }, Self::Other(token))
                if token == "script-verify-flag-failed" =>
            {
                let wanted_detail = written[token.len()..].trim().strip_prefix('(');
                wanted_detail.is_none_or(|d| balanced_prefix(d) == detail)
            }
            _ => wanted == *self,
        }
    }

    /// What a scenario may write in `rejected = "..."`: a reason Bitcoin Core gives, and for
    /// a script failure Core's script error in parentheses (a bare script failure would match
    /// any script error, a signing bug's too). `Err` says what is wrong with it.
    pub fn expected(written: &str) -> Result<Self, String> {
        let written = written.trim();
        let (reason, rest) = Self::parse_token(written);
        let detail = rest.trim().strip_prefix('(').map(balanced_prefix).unwrap_or_default();
        match &reason {
            Self::ScriptVerifyFlagFailed { detail, .. } if detail.is_empty() => Err(bare(written)),
            Self::Other(token) if token == "script-verify-flag-failed" => {
                if detail.is_empty() {
                    Err(bare(written))
                } else {
                    Ok(Self::ScriptVerifyFlagFailed { consensus: false, detail: detail.to_owned() })
                }
            }
            Self::Other(token) => Err(format!(
                "`{token}` is not a reason Bitcoin Core gives (a refusal by the modelled side is \
                 `refused = \"<code>\"`)"
            )),
            _ => Ok(reason),
        }
    }

    /// Parses a reason token (the text before any ` (` or `, `). Returns the reason and the
    /// rest of the message.
    fn parse_token(message: &str) -> (Self, &str) {
        let end = message.find([',', '(']).unwrap_or(message.len());
        let token = message[..end].trim();
        let rest = &message[end..];
        let script_failure = |consensus: bool| {
            let detail = rest.strip_prefix('(').map(balanced_prefix).unwrap_or_default().to_owned();
            Self::ScriptVerifyFlagFailed { consensus, detail }
        };
        let reason = match token {
            "non-BIP68-final" => Self::NonBip68Final,
            "non-final" => Self::NonFinal,
            "mandatory-script-verify-flag-failed" | "block-script-verify-flag-failed" => {
                script_failure(true)
            }
            "non-mandatory-script-verify-flag-failed" | "mempool-script-verify-flag-failed" => {
                script_failure(false)
            }
            "bad-txns-inputs-missingorspent" | "missing-inputs" => Self::InputsMissingOrSpent,
            "bad-txns-premature-spend-of-coinbase" => Self::PrematureSpendOfCoinbase,
            "bad-txns-in-belowout" => Self::InBelowOut,
            "txn-mempool-conflict" => Self::MempoolConflict,
            "txn-already-in-mempool" | "txn-already-known" => Self::AlreadyInMempool,
            "Transaction already in block chain"
            | "Transaction outputs already in utxo set"
            | "transaction-already-in-block-chain" => Self::AlreadyInChain,
            "min relay fee not met" => Self::MinRelayFeeNotMet,
            "mempool min fee not met" => Self::MempoolMinFeeNotMet,
            "insufficient fee" => Self::InsufficientFee,
            "dust" => Self::Dust,
            "scriptpubkey" => Self::NonStandardScriptPubKey,
            "bad-txns-nonstandard-inputs" => Self::NonStandardInputs,
            "bad-witness-nonstandard" => Self::NonStandardWitness,
            "tx-size-small" => Self::TxSizeSmall,
            "TRUC-violation" => Self::TrucViolation,
            "max-fee-exceeded" => Self::MaxFeeExceeded,
            other => Self::Other(other.to_owned()),
        };
        (reason, rest)
    }
}

fn bare(written: &str) -> String {
    format!(
        "`{written}` matches any script failure, a signing bug's too: add Bitcoin Core's script \
         error in parentheses, e.g. `script-verify-flag-failed (Signature must be zero for failed \
         CHECK(MULTI)SIG operation)`"
    )
}

/// The text of `s` up to the `)` that closes an already-opened parenthesis.
fn balanced_prefix(s: &str) -> &str {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return &s[..i],
            ')' => depth -= 1,
            _ => {}
        }
    }
    s
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ScriptVerifyFlagFailed { detail, .. } => write!(f, "{} ({detail})", self.code()),
            _ => f.write_str(self.code()),
        }
    }
}

/// A refusal by Bitcoin Core: the typed reason and Core's message exactly as it was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// The typed reason.
    pub reason: RejectReason,
    /// Bitcoin Core's message, verbatim.
    pub message: String,
}

impl Rejection {
    /// Reads Bitcoin Core's reject message (from `sendrawtransaction`'s error or
    /// `testmempoolaccept`'s `reject-reason`).
    pub fn parse(message: &str) -> Self {
        let (reason, _) = RejectReason::parse_token(message);
        Self { reason, message: message.to_owned() }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_tokens() {
        assert_eq!(Rejection::parse("non-BIP68-final").reason, RejectReason::NonBip68Final);
        assert_eq!(Rejection::parse("non-final").reason, RejectReason::NonFinal);
        assert_eq!(
            Rejection::parse("bad-txns-inputs-missingorspent").reason,
            RejectReason::InputsMissingOrSpent
        );
        assert_eq!(
            Rejection::parse("min relay fee not met, 100 < 141").reason,
            RejectReason::MinRelayFeeNotMet
        );
    }

    #[test]
    fn parses_script_failures_in_old_and_new_spellings() {
        let new = Rejection::parse(
            "mempool-script-verify-flag-failed (Signature must be zero for failed CHECK(MULTI)SIG operation), input 0 of 1a2b",
        );
        assert_eq!(
            new.reason,
            RejectReason::ScriptVerifyFlagFailed {
                consensus: false,
                detail: "Signature must be zero for failed CHECK(MULTI)SIG operation".to_owned()
            }
        );
        let old = Rejection::parse(
            "mandatory-script-verify-flag-failed (Script evaluated without error but finished with a false/empty top stack element)",
        );
        assert_eq!(
            old.reason,
            RejectReason::ScriptVerifyFlagFailed {
                consensus: true,
                detail: "Script evaluated without error but finished with a false/empty top stack element"
                    .to_owned()
            }
        );
        assert!(old.reason.matches("mandatory-script-verify-flag-failed"));
        assert!(old.reason.matches("block-script-verify-flag-failed"));
        assert!(old.reason.matches("script-verify-flag-failed"));
        assert!(new.reason.matches("mandatory-script-verify-flag-failed"));
        assert!(new.reason.matches(
            "script-verify-flag-failed (Signature must be zero for failed CHECK(MULTI)SIG operation)"
        ));
        assert!(!new.reason.matches("script-verify-flag-failed (Invalid Schnorr signature)"));
        assert!(
            !new.reason.matches("mempool-script-verify-flag-failed (Invalid Schnorr signature)")
        );
        assert!(!old.reason.matches("non-final"));
    }

    #[test]
    fn expectations_name_core_reasons_with_script_errors() {
        assert_eq!(RejectReason::expected("non-BIP68-final"), Ok(RejectReason::NonBip68Final));
        assert!(RejectReason::expected("script-verify-flag-failed").is_err());
        assert!(RejectReason::expected("mandatory-script-verify-flag-failed").is_err());
        assert!(RejectReason::expected("insufficient-depth").is_err());
        let with = RejectReason::expected("script-verify-flag-failed (Invalid Schnorr signature)");
        assert_eq!(
            with,
            Ok(RejectReason::ScriptVerifyFlagFailed {
                consensus: false,
                detail: "Invalid Schnorr signature".into()
            })
        );
        assert!(
            RejectReason::expected("mempool-script-verify-flag-failed (Invalid Schnorr signature)")
                .is_ok()
        );
    }

    #[test]
    fn keeps_unknown_tokens() {
        let r = Rejection::parse("some-new-reason, with details");
        assert_eq!(r.reason, RejectReason::Other("some-new-reason".to_owned()));
        assert_eq!(r.message, "some-new-reason, with details");
        assert!(r.reason.matches("some-new-reason"));
    }
}
