//! The graph's outputs and transactions (Clementine's shapes, peg-catalog-2.md §4.1), built
//! unsigned once the deposit and the operator's round exist, so the committee can presign
//! them all at deposit time; and the BIP341 digests their inputs sign.

use bitcoin::{
    Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, XOnlyPublicKey,
    absolute::LockTime,
    hashes::{Hash, hash160},
    script::PushBytesBuf,
    secp256k1::{Secp256k1, Verification},
    sighash::{Prevouts, SighashCache, TapSighashType},
    taproot::{LeafVersion, TapLeafHash, TaprootSpendInfo},
    transaction::Version,
};

use super::{
    Connectors, Timeouts,
    script::{self, Program},
    watchtower::{Watchtower, WatchtowerTxs},
    wots::PublicKey as WotsKey,
};
use crate::{
    families::truc::steps::{anyone, p2a},
    lock::TxShape,
    run::keys::{KeyBook, Purpose},
};

/// A connector's value in standard mode (a P2TR output's dust limit).
pub(crate) const CONNECTOR: Amount = Amount::from_sat(330);
/// A non-ephemeral anchor (`NON_EPHEMERAL_ANCHOR_AMOUNT`, the P2A dust limit).
pub(crate) const ANCHOR: Amount = Amount::from_sat(240);
/// What the transactions that pay their own way pay.
pub(crate) const FEE: Amount = Amount::from_sat(2_000);

/// Clementine's default nSequence (`DEFAULT_SEQUENCE`: RBF, no lock).
pub(crate) const DEFAULT: Sequence = Sequence::ENABLE_RBF_NO_LOCKTIME;

/// The depositor's 20-byte address on the other side (the hash of its sidechain key: a
/// stand-in for an EVM address).
pub(crate) fn evm_address(keys: &KeyBook, user: &str) -> [u8; 20] {
    let key = keys.user_public(Purpose::Sidechain, user);
    hash160::Hash::hash(&key.inner.serialize()).to_byte_array()
}

/// The deposit output: the committee's deposit leaf and the depositor's take-back leaf.
pub(crate) fn deposit_info<C: Verification>(
    secp: &Secp256k1<C>,
    internal: XOnlyPublicKey,
    nofn: XOnlyPublicKey,
    evm: [u8; 20],
    depositor: XOnlyPublicKey,
    lock: u16,
) -> TaprootSpendInfo {
    let leaves = [script::deposit(nofn, evm), script::timelock(depositor, lock)];
    script::tree(secp, internal, &leaves)
}

/// The vault: the committee's leaf and the council's, under `internal` (NUMS; the committee's
/// key in the reference bridge's connector_0).
pub(crate) fn vault_info<C: Verification>(
    secp: &Secp256k1<C>,
    internal: XOnlyPublicKey,
    nofn: XOnlyPublicKey,
    k: usize,
    council: &[XOnlyPublicKey],
) -> TaprootSpendInfo {
    let leaves = [script::checksig(nofn), script::multisig(k, council)];
    script::tree(secp, internal, &leaves)
}

/// The output script of `info`.
pub(crate) fn spk(info: &TaprootSpendInfo) -> ScriptBuf {
    ScriptBuf::new_p2tr_tweaked(info.output_key())
}

/// A key-path-only P2TR output of `key` (BIP86: no tree).
pub(crate) fn key_only<C: Verification>(
    secp: &Secp256k1<C>,
    key: XOnlyPublicKey,
) -> TaprootSpendInfo {
    TaprootSpendInfo::new_key_spend(secp, key, None)
}

/// An OP_RETURN output of `data`.
pub(crate) fn op_return(data: &[u8]) -> TxOut {
    let data = PushBytesBuf::try_from(data.to_vec()).expect("at most 80 bytes");
    TxOut { value: Amount::ZERO, script_pubkey: ScriptBuf::new_op_return(data) }
}

fn input(previous_output: OutPoint, sequence: Sequence) -> TxIn {
    TxIn { previous_output, sequence, ..TxIn::default() }
}

/// A transaction with the outputs its inputs spend (for digests and fees).
#[derive(Debug, Clone)]
pub(crate) struct Built {
    pub(crate) tx: Transaction,
    pub(crate) prevouts: Vec<TxOut>,
}

impl Built {
    pub(crate) fn new(
        version: i32,
        ins: Vec<(OutPoint, Sequence, TxOut)>,
        output: Vec<TxOut>,
    ) -> Self {
        let input = ins.iter().map(|(o, s, _)| input(*o, *s)).collect();
        let prevouts = ins.into_iter().map(|(_, _, p)| p).collect();
        let tx =
            Transaction { version: Version(version), lock_time: LockTime::ZERO, input, output };
        Self { tx, prevouts }
    }

    /// What its inputs are worth.
    pub(crate) fn value_in(&self) -> Amount {
        self.prevouts.iter().map(|p| p.value).sum()
    }

    /// Its fee (inputs less outputs).
    pub(crate) fn fee(&self) -> Amount {
        self.value_in() - self.tx.output.iter().map(|o| o.value).sum()
    }

    /// Output `vout` as an outpoint with what it pays.
    pub(crate) fn out(&self, vout: u32) -> (OutPoint, TxOut) {
        (OutPoint::new(self.tx.compute_txid(), vout), self.tx.output[vout as usize].clone())
    }

    /// The BIP341 digest input `index` signs, through `leaf` (or the key path).
    pub(crate) fn sighash(
        &self,
        index: usize,
        leaf: Option<&ScriptBuf>,
        ty: TapSighashType,
    ) -> [u8; 32] {
        let acp = matches!(
            ty,
            TapSighashType::AllPlusAnyoneCanPay
                | TapSighashType::SinglePlusAnyoneCanPay
                | TapSighashType::NonePlusAnyoneCanPay
        );
        let prevouts = if acp {
            Prevouts::One(index, self.prevouts[index].clone())
        } else {
            Prevouts::All(&self.prevouts)
        };
        let mut cache = SighashCache::new(&self.tx);
        let hash = match leaf {
            Some(script) => cache.taproot_script_spend_signature_hash(
                index,
                &prevouts,
                TapLeafHash::from_script(script, LeafVersion::TapScript),
                ty,
            ),
            None => cache.taproot_key_spend_signature_hash(index, &prevouts, ty),
        };
        hash.expect("the input exists").to_byte_array()
    }
}

/// The kickoff's outputs (Clementine `UtxoVout`; the latest-blockhash output left out, the
/// 36 asserts one).
pub(crate) mod vout {
    pub(crate) const CHALLENGE: u32 = 0;
    pub(crate) const FINALIZER: u32 = 1;
    pub(crate) const REIMBURSE: u32 = 2;
    pub(crate) const DISPROVE: u32 = 3;
    pub(crate) const ASSERT: u32 = 4;

    /// Watchtower `w`'s challenge output.
    pub(crate) const fn watchtower_challenge(w: usize) -> u32 {
        5 + 2 * w as u32
    }

    /// The operator's acknowledgement output for watchtower `w`.
    pub(crate) const fn challenge_ack(w: usize) -> u32 {
        6 + 2 * w as u32
    }
}

/// Everyone's keys, and the parameters the graph is built with.
#[derive(Debug, Clone)]
pub(crate) struct Terms {
    pub(crate) nofn: XOnlyPublicKey,
    pub(crate) operator: XOnlyPublicKey,
    pub(crate) council_threshold: usize,
    pub(crate) council: Vec<XOnlyPublicKey>,
    pub(crate) timeouts: Timeouts,
    pub(crate) connectors: Connectors,
    pub(crate) program: Program,
    /// WOTS keys of the states s_1..s_k.
    pub(crate) wots: Vec<WotsKey>,
    /// The disprove connector's internal key (NUMS, or the operator's in the reference bridge).
    pub(crate) disprove_internal: XOnlyPublicKey,
    pub(crate) watchtowers: Vec<Watchtower>,
}

impl Terms {
    /// A connector's value.
    pub(crate) fn connector(&self) -> Amount {
        match self.connectors {
            Connectors::Standard => CONNECTOR,
            Connectors::Zero => Amount::ZERO,
        }
    }

    /// A fee-paying transaction's anchor.
    pub(crate) fn anchor(&self) -> Amount {
        match self.connectors {
            Connectors::Standard => ANCHOR,
            Connectors::Zero => Amount::ZERO,
        }
    }

    /// The round's kickoff connector leaf: the claim's WOTS signature and the operator's.
    pub(crate) fn kickoff_leaf(&self) -> ScriptBuf {
        script::commit(&self.wots[self.wots.len() - 1..], self.operator)
    }

    /// The round's kickoff connector.
    pub(crate) fn kickoff_connector<C: Verification>(&self, s: &Secp256k1<C>) -> TaprootSpendInfo {
        let leaves = [self.kickoff_leaf(), script::timelock(self.operator, 1)];
        script::tree(s, script::nums(), &leaves)
    }

    /// The kickoff connector's value: the kickoff's outputs (at least a standard output).
    pub(crate) fn kickoff_connector_value(&self) -> Amount {
        let per_watchtower = self.watchtower_challenge_value() + self.connector();
        (self.connector() * 5 + per_watchtower * self.watchtowers.len() as u64).max(CONNECTOR)
    }

    pub(crate) fn challenge_info<C: Verification>(&self, s: &Secp256k1<C>) -> TaprootSpendInfo {
        let leaves = [
            script::checksig(self.operator),
            script::timelock(self.operator, self.timeouts.challenge),
        ];
        script::tree(s, script::nums(), &leaves)
    }

    pub(crate) fn nofn_info<C: Verification>(&self, s: &Secp256k1<C>) -> TaprootSpendInfo {
        script::tree(s, script::nums(), &[script::checksig(self.nofn)])
    }

    /// The disprove connector: the operator's timeout leaf, then one disprove leaf per step.
    pub(crate) fn disprove_leaves(&self) -> Vec<ScriptBuf> {
        let mut leaves = vec![script::timelock(self.operator, self.timeouts.disprove)];
        leaves.extend(
            (0..self.program.constants.len()).map(|i| self.program.disprove_leaf(i, &self.wots)),
        );
        leaves
    }

    pub(crate) fn disprove_info<C: Verification>(&self, s: &Secp256k1<C>) -> TaprootSpendInfo {
        script::tree(s, self.disprove_internal, &self.disprove_leaves())
    }

    /// The assert leaf: WOTS signatures of s_1..s_{k-1}, then the operator's.
    pub(crate) fn assert_leaf(&self) -> ScriptBuf {
        script::commit(&self.wots[..self.wots.len() - 1], self.operator)
    }

    pub(crate) fn assert_info<C: Verification>(&self, s: &Secp256k1<C>) -> TaprootSpendInfo {
        let leaves = [script::timelock(self.nofn, self.timeouts.assert), self.assert_leaf()];
        script::tree(s, script::nums(), &leaves)
    }
}

/// The whole graph of one deposit and one kickoff.
#[derive(Debug, Clone)]
pub(crate) struct Graph {
    pub(crate) move_to_vault: Built,
    pub(crate) kickoff: Built,
    pub(crate) challenge: Built,
    pub(crate) challenge_timeout: Built,
    pub(crate) assert: Built,
    pub(crate) assert_timeout: Built,
    pub(crate) disprove: Built,
    pub(crate) disprove_timeout: Built,
    pub(crate) ready_to_reimburse: Built,
    pub(crate) next_round: Built,
    pub(crate) kickoff_not_finalized: Built,
    pub(crate) reimburse: Built,
    pub(crate) watchtowers: Vec<WatchtowerTxs>,
}

/// What the graph spends that exists before it: the deposit and the operator's round.
#[derive(Debug, Clone)]
pub(crate) struct Anchors {
    pub(crate) deposit: (OutPoint, TxOut),
    pub(crate) collateral: (OutPoint, TxOut),
    pub(crate) kickoff_connector: (OutPoint, TxOut),
}

impl Graph {
    /// Builds every transaction, unsigned.
    pub(crate) fn build<C: Verification>(
        s: &Secp256k1<C>,
        t: &Terms,
        at: &Anchors,
        vault: &TaprootSpendInfo,
        operator_spk: &ScriptBuf,
        challenge_amount: Amount,
    ) -> Self {
        let c = t.connector();
        let out =
            |value: Amount, info: &TaprootSpendInfo| TxOut { value, script_pubkey: spk(info) };
        let anchor = |value: Amount| TxOut { value, script_pubkey: p2a() };
        let (deposit, deposit_out) = at.deposit.clone();
        let move_to_vault = Built::new(
            3,
            vec![(deposit, DEFAULT, deposit_out.clone())],
            vec![out(deposit_out.value, vault), anchor(Amount::ZERO)],
        );
        let nofn = t.nofn_info(s);
        let mut kickoff_data = move_to_vault.tx.compute_txid().to_byte_array().to_vec();
        kickoff_data.extend(t.operator.serialize());
        let (k_in, k_out) = at.kickoff_connector.clone();
        let kickoff = Built::new(
            3,
            vec![(k_in, DEFAULT, k_out)],
            vec![
                out(c, &t.challenge_info(s)),
                out(c, &nofn),
                out(c, &nofn),
                out(c, &t.disprove_info(s)),
                out(c, &t.assert_info(s)),
            ]
            .into_iter()
            .chain((0..t.watchtowers.len()).flat_map(|w| {
                [
                    out(t.watchtower_challenge_value(), &t.watchtower_challenge_info(s, w)),
                    out(c, &t.challenge_ack_info(s, w)),
                ]
            }))
            .chain([op_return(&kickoff_data), anchor(Amount::ZERO)])
            .collect(),
        );
        let k = |vout| kickoff.out(vout);
        let seq = |blocks: u16| Sequence::from_height(blocks);
        let with = |(o, p): (OutPoint, TxOut), s: Sequence| (o, s, p);
        let challenge = Built::new(
            3,
            vec![with(k(vout::CHALLENGE), DEFAULT)],
            vec![TxOut { value: challenge_amount, script_pubkey: operator_spk.clone() }],
        );
        let burn = vec![anchor(t.anchor())];
        let challenge_timeout = Built::new(
            3,
            vec![
                with(k(vout::CHALLENGE), seq(t.timeouts.challenge)),
                with(k(vout::FINALIZER), DEFAULT),
            ],
            burn.clone(),
        );
        let assert = Built::new(
            3,
            vec![with(k(vout::ASSERT), DEFAULT)],
            vec![anchor(t.anchor()), op_return(&[])],
        );
        let collateral = with(at.collateral.clone(), DEFAULT);
        let assert_timeout = Built::new(
            3,
            vec![
                with(k(vout::ASSERT), seq(t.timeouts.assert)),
                with(k(vout::FINALIZER), DEFAULT),
                collateral.clone(),
            ],
            burn.clone(),
        );
        // Version 2 (Clementine's Disprove): its anchor must not be ephemeral.
        let disprove = Built::new(
            2,
            vec![with(k(vout::DISPROVE), DEFAULT), collateral.clone()],
            vec![anchor(ANCHOR)],
        );
        let disprove_timeout = Built::new(
            3,
            vec![
                with(k(vout::DISPROVE), seq(t.timeouts.disprove)),
                with(k(vout::FINALIZER), DEFAULT),
            ],
            burn.clone(),
        );
        // ReadyToReimburse moves the collateral on; the next round may spend it only
        // `operator_reimburse` blocks later, the window in which an unfinalized kickoff is
        // punished by burning it (KickoffNotFinalized).
        let operator = at.collateral.1.script_pubkey.clone();
        let ready_to_reimburse = Built::new(
            3,
            vec![collateral],
            vec![
                TxOut {
                    value: at.collateral.1.value - t.anchor() - FEE,
                    script_pubkey: operator.clone(),
                },
                anchor(t.anchor()),
            ],
        );
        let ready = ready_to_reimburse.out(0);
        let next_round = Built::new(
            3,
            vec![with(ready.clone(), seq(t.timeouts.operator_reimburse))],
            vec![
                TxOut {
                    value: ready.1.value - c - t.anchor() - FEE,
                    script_pubkey: operator.clone(),
                },
                TxOut { value: c, script_pubkey: operator },
                anchor(t.anchor()),
            ],
        );
        let kickoff_not_finalized = Built::new(
            3,
            vec![with(k(vout::FINALIZER), DEFAULT), with(ready, DEFAULT)],
            burn.clone(),
        );
        let watchtowers = (0..t.watchtowers.len())
            .map(|w| WatchtowerTxs::build(t, &kickoff, w, &at.collateral, burn.clone()))
            .collect();
        let vault_out = move_to_vault.out(0);
        let reimburse = Built::new(
            3,
            vec![
                with(vault_out.clone(), DEFAULT),
                with(k(vout::REIMBURSE), DEFAULT),
                with(next_round.out(1), DEFAULT),
            ],
            vec![
                TxOut { value: vault_out.1.value, script_pubkey: operator_spk.clone() },
                anchor(t.anchor()),
            ],
        );
        Self {
            move_to_vault,
            kickoff,
            challenge,
            challenge_timeout,
            assert,
            assert_timeout,
            disprove,
            disprove_timeout,
            ready_to_reimburse,
            next_round,
            kickoff_not_finalized,
            reimburse,
            watchtowers,
        }
    }
}

/// A transaction paying `outputs` from one input, version 2 (the user's and the council's
/// own spends).
pub(crate) fn spend(from: (OutPoint, TxOut), sequence: Sequence, outputs: Vec<TxOut>) -> Built {
    Built::new(2, vec![(from.0, sequence, from.1)], outputs)
}

/// A version-3 CPFP child: the parent's anchor and a fee coin, paying `fee` for both.
pub(crate) fn child(anchor: (OutPoint, TxOut), coin: (OutPoint, TxOut), fee: Amount) -> Built {
    let value = anchor.1.value + coin.1.value - fee;
    Built::new(
        3,
        vec![(anchor.0, Sequence::MAX, anchor.1), (coin.0, Sequence::MAX, coin.1)],
        vec![TxOut { value, script_pubkey: anyone() }],
    )
}

/// The transactions `peglab derive` lists.
pub(crate) fn shapes() -> Vec<TxShape> {
    let t = |name, spends, pays, signed| TxShape::new(name, spends, pays, signed);
    vec![
        t(
            "deposit",
            "the user's wallet",
            "P2TR (NUMS): deposit leaf (nofn), take-back leaf (depositor after user_takes_after)",
            "the user",
        ),
        t(
            "move_to_vault",
            "the deposit (deposit leaf), v3",
            "the vault (nofn leaf, council leaf), a 0-sat P2A",
            "nofn, presigned",
        ),
        t(
            "round",
            "the operator's coins",
            "the collateral (operator's key path), the kickoff connector (WOTS claim + operator)",
            "the operator",
        ),
        t(
            "kickoff",
            "the kickoff connector (WOTS claim), v3",
            "challenge, finalizer, reimburse, disprove and assert connectors, OP_RETURN <move txid, operator>, P2A",
            "the operator",
        ),
        t(
            "challenge",
            "the challenge connector (operator, SINGLE|ANYONECANPAY) and anyone's coins, v3",
            "challenge_amount to the operator",
            "operator presigned, the challengers",
        ),
        t(
            "challenge_timeout",
            "challenge connector (operator after `challenge`), finalizer (nofn)",
            "P2A",
            "the operator, nofn presigned",
        ),
        t(
            "assert",
            "the assert connector (WOTS s_1..s_{k-1} + operator), v3",
            "P2A, OP_RETURN (padding: 65 bytes)",
            "the operator",
        ),
        t(
            "assert_timeout",
            "assert connector (nofn after `assert`), finalizer, collateral",
            "P2A: the collateral burned",
            "nofn and the operator, presigned",
        ),
        t(
            "disprove",
            "the disprove connector (one step's leaf), collateral, v2",
            "a 240-sat P2A: the collateral burned",
            "the witness of the failing step; the operator presigned the collateral",
        ),
        t(
            "disprove_timeout",
            "disprove connector (operator after `disprove`), finalizer",
            "P2A",
            "the operator, nofn presigned",
        ),
        t(
            "next_round",
            "the collateral (operator's key path)",
            "the collateral, the reimburse connector, P2A",
            "the operator",
        ),
        t(
            "kickoff_not_finalized",
            "finalizer (nofn), the next round's collateral",
            "P2A: the collateral burned",
            "nofn and the operator, presigned",
        ),
        t(
            "reimburse",
            "the vault (nofn), the kickoff's reimburse connector (nofn), the round's (operator)",
            "bridge_amount to the operator, P2A",
            "nofn presigned, the operator",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use bitcoin::secp256k1::SecretKey;
    use miniscript::Descriptor;

    use super::*;

    /// The vault is what a miniscript descriptor of the same policy gives (Clementine checks
    /// its `Multisig` the same way, against Core's `tr(NUMS, multi_a(...))`, in
    /// `core/src/builder/script.rs`).
    #[test]
    fn the_vault_is_the_descriptor_of_its_two_leaves() {
        let secp = Secp256k1::new();
        let key = |i: u8| SecretKey::from_slice(&[i; 32]).unwrap().x_only_public_key(&secp).0;
        let (nofn, c1, c2) = (key(1), key(2), key(3));
        let ours = spk(&vault_info(&secp, script::nums(), nofn, 1, &[c1, c2]));
        let text = format!("tr({},{{pk({nofn}),multi_a(1,{c1},{c2})}})", script::NUMS);
        let descriptor = Descriptor::<XOnlyPublicKey>::from_str(&text).unwrap();
        assert_eq!(ours, descriptor.script_pubkey());
    }
}
