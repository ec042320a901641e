//! What is signed at deposit time: the committee's MuSig2 signatures of every input the
//! graph gives the n-of-n key, and the operator's signatures the punishments need (Clementine
//! collects both before it signs the move to the vault).

use std::collections::BTreeMap;

use bitcoin::{
    ScriptBuf,
    key::{Keypair, TapTweak},
    secp256k1::{All, Message, Secp256k1, SecretKey},
    sighash::TapSighashType,
    taproot::{Signature, TapNodeHash},
};

use super::{
    graph::{Built, Graph, Terms},
    musig::Committee,
    script,
};

/// Which input of which transaction.
pub(crate) type Slot = (&'static str, usize);

/// Presigned signatures (BIP341 encoding: 64 bytes, a 65th for a non-default sighash).
#[derive(Debug, Clone, Default)]
pub(crate) struct Presigned {
    pub(crate) sigs: BTreeMap<Slot, Vec<u8>>,
    /// The same, per watchtower.
    pub(crate) watchtowers: Vec<BTreeMap<Slot, Vec<u8>>>,
    /// MuSig2 sessions the committee ran.
    pub(crate) sessions: usize,
}

impl Presigned {
    /// The signature for `slot`.
    pub(crate) fn get(&self, slot: Slot) -> Vec<u8> {
        self.sigs.get(&slot).cloned().expect("every presigned slot is signed at deposit")
    }

    /// The signature for `slot` of watchtower `w`'s transactions.
    pub(crate) fn watchtower(&self, w: usize, slot: Slot) -> Vec<u8> {
        self.watchtowers[w].get(&slot).cloned().expect("every presigned slot is signed at deposit")
    }
}

/// A single key signs input `index` of `built`: through `leaf`, or by its key path (BIP86
/// tweak: no tree) when there is none.
pub(crate) fn single_sig(
    secp: &Secp256k1<All>,
    secret: &SecretKey,
    built: &Built,
    index: usize,
    leaf: Option<&ScriptBuf>,
    ty: TapSighashType,
) -> Vec<u8> {
    match leaf {
        Some(_) => sign(secp, Keypair::from_secret_key(secp, secret), built, index, leaf, ty),
        None => key_path_sig(secp, secret, built, index, None, ty),
    }
}

/// The internal key `secret` signs input `index` of `built` by key path, tweaked with the
/// output's tree (`merkle_root`).
pub(crate) fn key_path_sig(
    secp: &Secp256k1<All>,
    secret: &SecretKey,
    built: &Built,
    index: usize,
    merkle_root: Option<TapNodeHash>,
    ty: TapSighashType,
) -> Vec<u8> {
    let keypair = Keypair::from_secret_key(secp, secret).tap_tweak(secp, merkle_root).to_keypair();
    sign(secp, keypair, built, index, None, ty)
}

fn sign(
    secp: &Secp256k1<All>,
    keypair: Keypair,
    built: &Built,
    index: usize,
    leaf: Option<&ScriptBuf>,
    ty: TapSighashType,
) -> Vec<u8> {
    let digest = Message::from_digest(built.sighash(index, leaf, ty));
    let signature = secp.sign_schnorr_no_aux_rand(&digest, &keypair);
    Signature { signature, sighash_type: ty }.to_vec()
}

/// The committee's MuSig2 signature of each slot (its input, through its leaf), counting the
/// sessions.
fn committee_sigs(
    committee: &Committee,
    slots: &[(Slot, &Built, &ScriptBuf)],
    sessions: &mut usize,
) -> BTreeMap<Slot, Vec<u8>> {
    slots
        .iter()
        .map(|(slot, built, leaf)| {
            *sessions += 1;
            let digest = built.sighash(slot.1, Some(leaf), TapSighashType::Default);
            (*slot, committee.sign(digest).as_ref().to_vec())
        })
        .collect()
}

/// Every presignature of `graph`.
pub(crate) fn presign(
    secp: &Secp256k1<All>,
    committee: &Committee,
    operator: &SecretKey,
    terms: &Terms,
    graph: &Graph,
    deposit_leaf: &ScriptBuf,
) -> Presigned {
    let nofn_leaf = script::checksig(terms.nofn);
    let assert_timeout_leaf = script::timelock(terms.nofn, terms.timeouts.assert);
    let nofn_slots: [(Slot, &Built, &ScriptBuf); 8] = [
        (("move_to_vault", 0), &graph.move_to_vault, deposit_leaf),
        (("challenge_timeout", 1), &graph.challenge_timeout, &nofn_leaf),
        (("assert_timeout", 0), &graph.assert_timeout, &assert_timeout_leaf),
        (("assert_timeout", 1), &graph.assert_timeout, &nofn_leaf),
        (("disprove_timeout", 1), &graph.disprove_timeout, &nofn_leaf),
        (("kickoff_not_finalized", 0), &graph.kickoff_not_finalized, &nofn_leaf),
        (("reimburse", 0), &graph.reimburse, &nofn_leaf),
        (("reimburse", 1), &graph.reimburse, &nofn_leaf),
    ];
    let mut out = Presigned::default();
    out.sigs = committee_sigs(committee, &nofn_slots, &mut out.sessions);
    let challenge_leaf = script::checksig(terms.operator);
    let op = |built: &Built, index, leaf: Option<&ScriptBuf>, ty| {
        single_sig(secp, operator, built, index, leaf, ty)
    };
    let single_acp = TapSighashType::SinglePlusAnyoneCanPay;
    out.sigs.insert(("challenge", 0), op(&graph.challenge, 0, Some(&challenge_leaf), single_acp));
    let all = TapSighashType::Default;
    out.sigs.insert(("assert_timeout", 2), op(&graph.assert_timeout, 2, None, all));
    out.sigs.insert(("disprove", 1), op(&graph.disprove, 1, None, all));
    out.sigs.insert(("kickoff_not_finalized", 1), op(&graph.kickoff_not_finalized, 1, None, all));
    for (w, txs) in graph.watchtowers.iter().enumerate() {
        let [nack_leaf, wait_leaf, _] = terms.challenge_ack_leaves(w);
        let challenge_leaf = script::timelock(terms.nofn, terms.timeouts.watchtower_challenge);
        let slots: [(Slot, &Built, &ScriptBuf); 4] = [
            (("watchtower_challenge_timeout", 0), &txs.timeout, &challenge_leaf),
            (("watchtower_challenge_timeout", 1), &txs.timeout, &wait_leaf),
            (("operator_challenge_nack", 0), &txs.nack, &nack_leaf),
            (("operator_challenge_nack", 1), &txs.nack, &nofn_leaf),
        ];
        let mut sigs = committee_sigs(committee, &slots, &mut out.sessions);
        sigs.insert(("operator_challenge_nack", 2), op(&txs.nack, 2, None, all));
        out.watchtowers.push(sigs);
    }
    out
}

/// For `cargo bench`: presigns a whole graph with a committee of `n` (fixed keys, outpoints
/// and parameters; Clementine's regtest timelocks, a 4-step program), returning how many
/// MuSig2 sessions ran, how long building the graph took (the committee's key aggregation,
/// WOTS keys, leaves, transactions) and how long presigning it.
pub(crate) fn bench(n: usize) -> (usize, std::time::Duration, std::time::Duration) {
    use bitcoin::{Amount, OutPoint, TxOut, Txid, hashes::Hash};

    use super::{CLEMENTINE_REGTEST, Connectors, graph, wots};
    let secp = Secp256k1::new();
    let secret = |i: u8| SecretKey::from_slice(&[i; 32]).expect("a key");
    let members: Vec<SecretKey> = (1..=n as u8).map(secret).collect();
    let began = std::time::Instant::now();
    let committee = Committee::new(&members, "bench");
    let operator = secret(200);
    let op = operator.x_only_public_key(&secp).0;
    let program = script::Program { input: 7, constants: vec![1, 2, 3, 4] };
    let wots: Vec<wots::PublicKey> =
        (1..=4u8).map(|j| wots::public_key(script::STATE, &[j; 20])).collect();
    let terms = Terms {
        nofn: committee.key(),
        operator: op,
        council_threshold: 1,
        council: vec![script::nums()],
        timeouts: CLEMENTINE_REGTEST,
        connectors: Connectors::Standard,
        program,
        wots,
        disprove_internal: script::nums(),
        watchtowers: Vec::new(),
    };
    let coin = |vout, value: u64| {
        let txid = Txid::from_byte_array([9; 32]);
        let out = TxOut { value: Amount::from_sat(value), script_pubkey: ScriptBuf::new() };
        (OutPoint::new(txid, vout), out)
    };
    let anchors = graph::Anchors {
        deposit: coin(0, 1_000_000_000),
        collateral: coin(1, 100_000_000),
        kickoff_connector: coin(2, 1_650),
    };
    let vault = graph::vault_info(&secp, script::nums(), terms.nofn, 1, &terms.council);
    let spk = graph::spk(&graph::key_only(&secp, op));
    let built = Graph::build(&secp, &terms, &anchors, &vault, &spk, Amount::from_sat(200_000_000));
    let leaf = script::deposit(terms.nofn, [0; 20]);
    let building = began.elapsed();
    let began = std::time::Instant::now();
    let presigned = presign(&secp, &committee, &operator, &terms, &built, &leaf);
    (presigned.sessions, building, began.elapsed())
}
