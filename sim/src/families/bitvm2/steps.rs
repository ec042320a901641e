//! A BitVM2 peg on the chain: the operator's round and the fee and crowdfunding coins at
//! start, then each step finishes one transaction of the graph (its presigned signatures, the
//! live ones, the WOTS commitments read back from the chain) and submits it.

use bitcoin::{
    Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxOut, Witness,
    hashes::{Hash, sha256},
    key::{Keypair, TapTweak},
    secp256k1::{Message, SecretKey},
    sighash::TapSighashType,
    taproot::{Signature, TaprootSpendInfo},
};

use super::{
    Preset, Spec,
    graph::{self, Anchors, Built, FEE, Graph, Terms, vout},
    musig::Committee,
    presign::{self, Presigned},
    script::{self, STATE},
    verbs::{KeyPathOutput, Step, Twin, Tx},
    wots,
};
use crate::{
    families::truc::{
        Via,
        steps::{anyone, mine_direct, op_true, p2a, spend_anyone},
    },
    family::{PegRun, StepArgs},
    run::{Cx, Event, MadeTx, Outcome, RunError, StepResult, keys::Purpose, stalled},
    scenario::Destination,
};

/// Fee coins for CPFP children, and what each holds.
const FEE_COINS: usize = 12;
const FEE_COIN: Amount = Amount::from_sat(1_000_000);
/// What a child pays for its package.
const CHILD_FEE: Amount = Amount::from_sat(5_000);
/// Crowdfunding coins for challenges.
const CROWD_COINS: usize = 2;
/// What the operator's fronting coin holds beyond a payout (its fee and change).
const FRONTING_MARGIN: Amount = Amount::from_sat(1_000_000);
/// The user's withdrawal UTXO (a P2TR output's dust limit).
const WITHDRAWAL_UTXO: Amount = Amount::from_sat(330);

/// The deposit and its presigned graph.
struct Deposit {
    user: String,
    info: TaprootSpendInfo,
    out: (OutPoint, TxOut),
    graph: Graph,
    /// None when a verifier was offline: MuSig2 n-of-n needs every one of them.
    presigned: Option<Presigned>,
}

/// A BitVM2 peg's running state.
pub(super) struct State {
    peg: String,
    preset: Preset,
    terms: Terms,
    committee: Committee,
    operator: String,
    operator_secret: SecretKey,
    verifiers: Vec<String>,
    council: Vec<String>,
    bridge_amount: Amount,
    challenge_amount: Amount,
    wots_secrets: Vec<Vec<u8>>,
    vault: TaprootSpendInfo,
    operator_spk: ScriptBuf,
    coins: Vec<(OutPoint, TxOut)>,
    crowd: Vec<(OutPoint, TxOut)>,
    collateral: (OutPoint, TxOut),
    kickoff_connector: (OutPoint, TxOut),
    /// The operator's coin for fronting a payout (until it does).
    fronting: Option<(OutPoint, TxOut)>,
    deposit: Option<Deposit>,
}

fn outpoints(tx: &Transaction, script: &ScriptBuf) -> Vec<(OutPoint, TxOut)> {
    outputs_where(tx, |o| &o.script_pubkey == script)
}

fn outputs_where(tx: &Transaction, keep: impl Fn(&TxOut) -> bool) -> Vec<(OutPoint, TxOut)> {
    let txid = tx.compute_txid();
    (tx.output.iter().enumerate())
        .filter(|(_, o)| keep(o))
        .map(|(vout, o)| (OutPoint::new(txid, vout as u32), o.clone()))
        .collect()
}

/// `items`, then the leaf and its control block.
fn leaf_witness(items: Vec<Vec<u8>>, leaf: &ScriptBuf, info: &TaprootSpendInfo) -> Witness {
    crate::tx::taproot::leaf_witness(items, leaf, info)
}

impl State {
    pub(super) fn start(spec: &Spec, peg: &str, cx: &mut Cx<'_>) -> Result<Self, RunError> {
        let committee = spec.committee(cx.keys);
        let operator_secret =
            cx.keys.secret(&spec.operator).expect("validation keeps the operator able to sign");
        let operator = cx.keys.x_only(&spec.operator);
        let wots_secrets: Vec<Vec<u8>> = (1..=spec.program.constants.len())
            .map(|j| {
                let label = format!("peglab/bitvm2/wots/{}/{peg}/{j}", cx.keys.seed());
                sha256::Hash::hash(label.as_bytes()).to_byte_array()[..20].to_vec()
            })
            .collect();
        let wots = wots_secrets.iter().map(|s| wots::public_key(STATE, s)).collect();
        let disprove_internal = match spec.preset {
            Preset::Clementine => script::nums(),
            Preset::BitvmBridge => operator,
        };
        let terms = Terms {
            nofn: committee.key(),
            operator,
            council_threshold: spec.council_threshold,
            council: spec.council_keys(cx.keys),
            timeouts: spec.timeouts,
            connectors: spec.connectors,
            program: spec.program.clone(),
            wots,
            disprove_internal,
        };
        let vault = graph::vault_info(
            cx.secp,
            spec.vault_internal(terms.nofn),
            terms.nofn,
            terms.council_threshold,
            &terms.council,
        );
        let operator_spk = graph::spk(&graph::key_only(cx.secp, operator));
        // The operator's round (its collateral and kickoff connector) and the coin it fronts
        // payouts from, fee coins for CPFP children and the crowd's coins for a challenge: one
        // funding transaction (outputs in this order), mined.
        let crowd_value = spec.challenge_amount + Amount::from_sat(1_000_000);
        let connector_spk = graph::spk(&terms.kickoff_connector(cx.secp));
        let mut outputs = vec![
            (operator_spk.clone(), spec.collateral),
            (connector_spk, terms.kickoff_connector_value()),
            (operator_spk.clone(), spec.bridge_amount + FRONTING_MARGIN),
        ];
        outputs.extend(std::iter::repeat_n((anyone(), FEE_COIN), FEE_COINS));
        // The crowd's coins: anyone-can-spend too (a challenge is crowdfunded: whose coins
        // they are does not matter to the graph), told apart by their value.
        outputs.extend(std::iter::repeat_n((anyone(), crowd_value), CROWD_COINS));
        let round = cx.chain.fund_many(cx.node, &outputs)?;
        cx.txs.insert(format!("{peg}:round"), round.clone());
        cx.chain.mine(cx.node, 1, None)?;
        let output = |vout: u32| {
            (OutPoint::new(round.compute_txid(), vout), round.output[vout as usize].clone())
        };
        let (collateral, kickoff_connector, fronting) = (output(0), output(1), output(2));
        Ok(Self {
            peg: peg.to_owned(),
            preset: spec.preset,
            terms,
            committee,
            operator: spec.operator.clone(),
            operator_secret,
            verifiers: spec.verifiers.clone(),
            council: spec.council.clone(),
            bridge_amount: spec.bridge_amount,
            challenge_amount: spec.challenge_amount,
            wots_secrets,
            vault,
            operator_spk,
            coins: outputs_where(&round, |o| o.script_pubkey == anyone() && o.value == FEE_COIN),
            crowd: outputs_where(&round, |o| o.script_pubkey == anyone() && o.value == crowd_value),
            collateral,
            kickoff_connector,
            fronting: Some(fronting),
            deposit: None,
        })
    }

    /// The operator's key, unless it is offline.
    fn operator_online(&self, cx: &Cx<'_>) -> Result<(), Outcome> {
        match cx.signer(&self.operator) {
            Ok(_) => Ok(()),
            Err(why) => Err(stalled("operator-offline", why.to_string())),
        }
    }

    fn op_sig(
        &self,
        cx: &Cx<'_>,
        built: &Built,
        index: usize,
        leaf: Option<&ScriptBuf>,
    ) -> Vec<u8> {
        presign::operator_sig(
            cx.secp,
            &self.operator_secret,
            built,
            index,
            leaf,
            TapSighashType::Default,
        )
    }

    /// Submits `built` (named `name`): alone when it pays its way, else as a package with a
    /// CPFP child spending its anchor; or straight into a block (`mine_direct`).
    fn submit(
        &mut self,
        cx: &mut Cx<'_>,
        name: &str,
        built: &Built,
        via: Via,
        result: &mut StepResult,
    ) -> Result<Outcome, RunError> {
        let tx = &built.tx;
        result.txs.push(MadeTx { name: name.to_owned(), tx: tx.clone(), fee: Some(built.fee()) });
        cx.txs.insert(name.to_owned(), tx.clone());
        if via == Via::MineDirect {
            let txs = std::slice::from_ref(tx);
            return mine_direct(cx, &self.peg, name, txs, &mut result.events);
        }
        let pays_its_way = built.fee().to_sat() >= tx.vsize() as u64;
        let anchor = outpoints(tx, &p2a()).into_iter().next();
        let (Some(anchor), false) = (anchor, pays_its_way) else {
            return cx.broadcast(name, tx);
        };
        let Some(coin) = self.coins.pop() else {
            return Ok(stalled("no-coins", "the peg's fee coins for CPFP children are used up"));
        };
        let mut child = graph::child(anchor, coin, CHILD_FEE).tx;
        child.input[1].witness = Witness::from_slice(&[op_true().to_bytes()]);
        let child_name = format!("{name}:child");
        cx.txs.insert(child_name.clone(), child.clone());
        result.txs.push(MadeTx { name: child_name, tx: child.clone(), fee: Some(CHILD_FEE) });
        let text = format!(
            "{name} pays {} for {} vB: a CPFP child pays for the package",
            built.fee(),
            tx.vsize()
        );
        result.events.push(Event::note(&self.peg, text));
        Ok(match cx.chain.submit_package(cx.node, &[tx.clone(), child])? {
            Ok(()) => Outcome::Accepted,
            Err(rejection) => Outcome::Rejected(rejection),
        })
    }

    /// The WOTS witness items the operator committed for state `j` (1..=k), read from the
    /// kickoff (`j = k`) or the assert on the chain.
    fn committed(
        &self,
        cx: &mut Cx<'_>,
        j: usize,
        graph: &Graph,
    ) -> Result<Option<Vec<Vec<u8>>>, RunError> {
        let k = self.terms.program.constants.len();
        let per = 2 * (STATE.n + STATE.m) as usize;
        let (txid, first) = if j == k {
            (graph.kickoff.tx.compute_txid(), 1)
        } else {
            (graph.assert.tx.compute_txid(), 1 + per * (j - 1))
        };
        let Some(tx) = cx.chain.transaction(cx.node, txid)? else { return Ok(None) };
        let items: Vec<Vec<u8>> = tx.input[0].witness.iter().map(<[u8]>::to_vec).collect();
        Ok(items.get(first..first + per).map(<[Vec<u8>]>::to_vec))
    }

    fn deposit_step(
        &mut self,
        step: &Step,
        cx: &mut Cx<'_>,
        result: &mut StepResult,
    ) -> Result<Outcome, RunError> {
        if self.deposit.is_some() {
            return Ok(stalled("one-deposit", "this peg runs one deposit's graph"));
        }
        let user = step.from.clone().expect("validated");
        let depositor = cx.keys.user_public(Purpose::Staking, &user).inner.x_only_public_key().0;
        let evm = graph::evm_address(cx.keys, &user);
        let internal = match self.preset {
            Preset::Clementine => script::nums(),
            Preset::BitvmBridge => depositor,
        };
        let info = graph::deposit_info(
            cx.secp,
            internal,
            self.terms.nofn,
            evm,
            depositor,
            self.terms.timeouts.user_takes_after,
        );
        let spk = graph::spk(&info);
        let paid = cx.pay(
            &user,
            vec![TxOut { value: self.bridge_amount, script_pubkey: spk.clone() }],
            &step.name,
        )?;
        result.txs.extend(paid.made.clone());
        let Some((outpoint, value)) = paid.paying(&spk) else { return Ok(paid.outcome) };
        let out = (outpoint, TxOut { value, script_pubkey: spk });
        let anchors = Anchors {
            deposit: out.clone(),
            collateral: self.collateral.clone(),
            kickoff_connector: self.kickoff_connector.clone(),
        };
        let graph = Graph::build(
            cx.secp,
            &self.terms,
            &anchors,
            &self.vault,
            &self.operator_spk,
            self.challenge_amount,
        );
        let deposit_leaf = script::deposit(self.terms.nofn, evm);
        let offline: Vec<&str> =
            self.verifiers.iter().filter(|v| cx.signer(v).is_err()).map(String::as_str).collect();
        let presigned = if offline.is_empty() {
            let presigned = presign::presign(
                cx.secp,
                &self.committee,
                &self.operator_secret,
                &self.terms,
                &graph,
                &deposit_leaf,
            );
            result.events.push(Event::note(
                &self.peg,
                format!(
                    "the committee ({} verifiers) presigned the graph: {} MuSig2 sessions (BIP-327), n-of-n; the operator presigned its challenge output (SINGLE|ANYONECANPAY) and the collateral's burns",
                    self.committee.size(),
                    presigned.sessions
                ),
            ));
            Some(presigned)
        } else {
            let text = format!(
                "the committee cannot presign: {} offline, and MuSig2 n-of-n needs every verifier; the deposit stays where it is until the user takes it back",
                offline.join(", ")
            );
            result.events.push(Event::note(&self.peg, text));
            None
        };
        result.events.push(Event::Deposited {
            peg: self.peg.clone(),
            name: step.name.clone(),
            amount: value,
        });
        self.deposit = Some(Deposit { user, info, out, graph, presigned });
        Ok(paid.outcome)
    }

    fn run(
        &mut self,
        step: &Step,
        cx: &mut Cx<'_>,
        result: &mut StepResult,
    ) -> Result<Outcome, RunError> {
        match step.tx {
            Tx::Deposit => return self.deposit_step(step, cx, result),
            Tx::WotsVector => return self.wots_vector(step, cx, result),
            _ => {}
        }
        let Some(d) = self.deposit.as_ref() else {
            return Ok(stalled("no-deposit", "the peg has no deposit yet"));
        };
        let g = d.graph.clone();
        let p = match (&d.presigned, step.tx) {
            (Some(p), _) => p.clone(),
            // The depositor's own spends need no presignature.
            (None, Tx::TakeBack | Tx::KeyPath) => Presigned::default(),
            (None, _) => {
                let why = "the committee never presigned this deposit's graph (a verifier was offline at deposit)";
                return Ok(stalled("not-presigned", why));
            }
        };
        let t = self.terms.clone();
        let s = cx.secp;
        let needs_operator = matches!(
            step.tx,
            Tx::Kickoff
                | Tx::Payout
                | Tx::ChallengeTimeout
                | Tx::Assert
                | Tx::DisproveTimeout
                | Tx::ReadyToReimburse
                | Tx::NextRound
                | Tx::Reimburse
        );
        if needs_operator && let Err(outcome) = self.operator_online(cx) {
            return Ok(outcome);
        }
        let nofn_leaf = script::checksig(t.nofn);
        let nofn_info = t.nofn_info(s);
        let finalizer = |sig: Vec<u8>| leaf_witness(vec![sig], &nofn_leaf, &nofn_info);
        let built = match step.tx {
            Tx::Deposit | Tx::WotsVector => unreachable!("handled above"),
            Tx::TakeBack => {
                let user = d.user.clone();
                let secret = cx.keys.user_secret(Purpose::Staking, &user).expect("a user's key");
                let depositor =
                    cx.keys.user_public(Purpose::Staking, &user).inner.x_only_public_key().0;
                let leaf = script::timelock(depositor, t.timeouts.user_takes_after);
                let to = cx.script_of(&Destination::Actor(user));
                let mut b = graph::spend(
                    d.out.clone(),
                    Sequence::from_height(t.timeouts.user_takes_after),
                    vec![TxOut { value: d.out.1.value - FEE, script_pubkey: to }],
                );
                let sig =
                    presign::operator_sig(s, &secret, &b, 0, Some(&leaf), TapSighashType::Default);
                b.tx.input[0].witness = leaf_witness(vec![sig], &leaf, &d.info);
                b
            }
            Tx::MoveToVault => {
                let mut b = g.move_to_vault.clone();
                let leaf = script::deposit(t.nofn, graph::evm_address(cx.keys, &d.user));
                b.tx.input[0].witness =
                    leaf_witness(vec![p.get(("move_to_vault", 0))], &leaf, &d.info);
                b
            }
            Tx::CouncilSweep => {
                let leaf = script::multisig(t.council_threshold, &t.council);
                let to = match self.council.first() {
                    Some(first) => cx.script_of(&Destination::Actor(first.clone())),
                    None => {
                        return Ok(stalled(
                            "council-cannot-sign",
                            "the council is the NUMS key: nobody can sign its leaf",
                        ));
                    }
                };
                let vault_out = g.move_to_vault.out(0);
                let mut b = graph::spend(
                    vault_out.clone(),
                    Sequence::ENABLE_RBF_NO_LOCKTIME,
                    vec![TxOut { value: vault_out.1.value - FEE, script_pubkey: to }],
                );
                let mut sigs = Vec::new();
                for name in self.council.iter().rev() {
                    let sig = match cx.signer(name) {
                        Ok(_)
                            if sigs.iter().filter(|s: &&Vec<u8>| !s.is_empty()).count()
                                < t.council_threshold =>
                        {
                            let secret = cx.keys.secret(name).expect("a signer's key");
                            presign::operator_sig(
                                s,
                                &secret,
                                &b,
                                0,
                                Some(&leaf),
                                TapSighashType::Default,
                            )
                        }
                        _ => Vec::new(),
                    };
                    sigs.push(sig);
                }
                if sigs.iter().filter(|s| !s.is_empty()).count() < t.council_threshold {
                    return Ok(stalled(
                        "council-cannot-sign",
                        format!("fewer than {} council members can sign", t.council_threshold),
                    ));
                }
                b.tx.input[0].witness = leaf_witness(sigs, &leaf, &self.vault);
                b
            }
            Tx::Payout => return self.payout(step, cx, result),
            Tx::Kickoff => {
                let k = t.program.constants.len();
                let claim = step.claim.unwrap_or(t.program.trace()[k]);
                let mut b = g.kickoff.clone();
                let leaf = t.kickoff_leaf();
                let mut items = vec![self.op_sig(cx, &b, 0, Some(&leaf))];
                items.extend(wots::sign(STATE, &self.wots_secrets[k - 1], &claim.to_le_bytes()));
                b.tx.input[0].witness = leaf_witness(items, &leaf, &t.kickoff_connector(s));
                result.events.push(Event::note(
                    &self.peg,
                    format!("the operator claims the program's output is {claim} (WOTS-signed)"),
                ));
                b
            }
            Tx::Challenge => {
                let Some(coin) = self.crowd.pop() else {
                    return Ok(stalled("no-coins", "the crowd's coins are used up"));
                };
                let mut b = g.challenge.clone();
                let change = coin.1.value + t.connector() - self.challenge_amount - FEE;
                b.tx.input.push(spend_anyone(coin.0));
                b.tx.output.push(TxOut { value: change, script_pubkey: anyone() });
                b.prevouts.push(coin.1);
                let leaf = script::checksig(t.operator);
                b.tx.input[0].witness =
                    leaf_witness(vec![p.get(("challenge", 0))], &leaf, &t.challenge_info(s));
                b
            }
            Tx::ChallengeTimeout => {
                let mut b = g.challenge_timeout.clone();
                let leaf = script::timelock(t.operator, t.timeouts.challenge);
                let sig = self.op_sig(cx, &b, 0, Some(&leaf));
                b.tx.input[0].witness = leaf_witness(vec![sig], &leaf, &t.challenge_info(s));
                b.tx.input[1].witness = finalizer(p.get(("challenge_timeout", 1)));
                b
            }
            Tx::Assert => {
                let mut states = t.program.trace();
                if let Some(j) = step.wrong_state {
                    states[j] = states[j].wrapping_add(1);
                    result.events.push(Event::note(
                        &self.peg,
                        format!(
                            "the operator commits state {j} as {} (the program gives {})",
                            states[j],
                            t.program.trace()[j]
                        ),
                    ));
                }
                let k = t.program.constants.len();
                let mut b = g.assert.clone();
                let leaf = t.assert_leaf();
                let mut items = vec![self.op_sig(cx, &b, 0, Some(&leaf))];
                // States 1..k-1, each under its own one-time key.
                for (secret, state) in self.wots_secrets.iter().zip(&states[1..k]) {
                    items.extend(wots::sign(STATE, secret, &state.to_le_bytes()));
                }
                b.tx.input[0].witness = leaf_witness(items, &leaf, &t.assert_info(s));
                b
            }
            Tx::AssertTimeout => {
                let mut b = g.assert_timeout.clone();
                let leaf = script::timelock(t.nofn, t.timeouts.assert);
                b.tx.input[0].witness =
                    leaf_witness(vec![p.get(("assert_timeout", 0))], &leaf, &t.assert_info(s));
                b.tx.input[1].witness = finalizer(p.get(("assert_timeout", 1)));
                b.tx.input[2].witness = Witness::from_slice(&[p.get(("assert_timeout", 2))]);
                b
            }
            Tx::Disprove => {
                let i = step.leaf;
                let Some(next) = self.committed(cx, i + 1, &g)? else {
                    return Ok(stalled(
                        "not-yet",
                        format!("state {} is not committed on the chain", i + 1),
                    ));
                };
                let mut items = next;
                if i > 0 {
                    let Some(this) = self.committed(cx, i, &g)? else {
                        return Ok(stalled(
                            "not-yet",
                            format!("state {i} is not committed on the chain"),
                        ));
                    };
                    items.extend(this);
                }
                let mut b = g.disprove.clone();
                let leaf = t.program.disprove_leaf(i, &t.wots);
                b.tx.input[0].witness = leaf_witness(items, &leaf, &t.disprove_info(s));
                b.tx.input[1].witness = Witness::from_slice(&[p.get(("disprove", 1))]);
                result.events.push(Event::note(&self.peg, format!("a verifier runs disprove leaf {i}: s_{} + {} mod 2^16 against the committed s_{}", i, t.program.constants[i], i + 1)));
                b
            }
            Tx::DisproveTimeout => {
                let mut b = g.disprove_timeout.clone();
                let leaf = script::timelock(t.operator, t.timeouts.disprove);
                let sig = self.op_sig(cx, &b, 0, Some(&leaf));
                b.tx.input[0].witness = leaf_witness(vec![sig], &leaf, &t.disprove_info(s));
                b.tx.input[1].witness = finalizer(p.get(("disprove_timeout", 1)));
                b
            }
            Tx::ReadyToReimburse => {
                let mut b = g.ready_to_reimburse.clone();
                let sig = self.op_sig(cx, &b, 0, None);
                b.tx.input[0].witness = Witness::from_slice(&[sig]);
                b
            }
            Tx::NextRound => {
                let mut b = g.next_round.clone();
                let sig = self.op_sig(cx, &b, 0, None);
                b.tx.input[0].witness = Witness::from_slice(&[sig]);
                b
            }
            Tx::KickoffNotFinalized => {
                let mut b = g.kickoff_not_finalized.clone();
                b.tx.input[0].witness = finalizer(p.get(("kickoff_not_finalized", 0)));
                b.tx.input[1].witness = Witness::from_slice(&[p.get(("kickoff_not_finalized", 1))]);
                b
            }
            Tx::Reimburse => {
                let mut b = g.reimburse.clone();
                let sig = self.op_sig(cx, &b, 2, None);
                b.tx.input[0].witness =
                    leaf_witness(vec![p.get(("reimburse", 0))], &nofn_leaf, &self.vault);
                b.tx.input[1].witness = finalizer(p.get(("reimburse", 1)));
                b.tx.input[2].witness = Witness::from_slice(&[sig]);
                b
            }
            Tx::KeyPath => return self.key_path(step, cx, result),
        };
        self.submit(cx, &step.name, &built, step.via, result)
    }

    /// The operator fronts a withdrawal (Clementine `operator.rs`): the user made a small
    /// withdrawal UTXO and signed it with SIGHASH_SINGLE|ANYONECANPAY over the payout output,
    /// so any operator can complete the transaction with its own coin and change.
    fn payout(
        &mut self,
        step: &Step,
        cx: &mut Cx<'_>,
        result: &mut StepResult,
    ) -> Result<Outcome, RunError> {
        let Some(fronting) = self.fronting.clone() else {
            return Ok(stalled("one-deposit", "the operator already fronted this peg's payout"));
        };
        let user = step.from.clone().expect("validated");
        let user_key = cx.keys.user_public(Purpose::Staking, &user).inner.x_only_public_key().0;
        let withdrawal = graph::spk(&graph::key_only(cx.secp, user_key));
        let utxo = TxOut { value: WITHDRAWAL_UTXO, script_pubkey: withdrawal.clone() };
        let paid = cx.pay(&user, vec![utxo.clone()], &format!("{}:utxo", step.name))?;
        result.txs.extend(paid.made.clone());
        let Some((utxo_at, _)) = paid.paying(&withdrawal) else { return Ok(paid.outcome) };
        cx.chain.mine(cx.node, 1, None)?;
        let to = cx.script_of(&Destination::Actor(user.clone()));
        let payout = TxOut { value: self.bridge_amount, script_pubkey: to };
        let anchor = TxOut { value: graph::ANCHOR, script_pubkey: p2a() };
        let change = fronting.1.value + WITHDRAWAL_UTXO - payout.value - anchor.value - FEE;
        let change = TxOut { value: change, script_pubkey: self.operator_spk.clone() };
        let marker = graph::op_return(&self.terms.operator.serialize());
        let dft = Sequence::ENABLE_RBF_NO_LOCKTIME;
        let mut b = Built::new(
            3,
            vec![(utxo_at, dft, utxo), (fronting.0, dft, fronting.1)],
            vec![payout, change, anchor, marker],
        );
        let secret = cx.keys.user_secret(Purpose::Staking, &user).expect("a user's key");
        let single_acp = TapSighashType::SinglePlusAnyoneCanPay;
        let user_sig = presign::operator_sig(cx.secp, &secret, &b, 0, None, single_acp);
        let operator_sig = self.op_sig(cx, &b, 1, None);
        b.tx.input[0].witness = Witness::from_slice(&[user_sig]);
        b.tx.input[1].witness = Witness::from_slice(&[operator_sig]);
        let outcome = self.submit(cx, &step.name, &b, step.via, result)?;
        if matches!(outcome, Outcome::Accepted) {
            self.fronting = None;
            let amount = self.bridge_amount;
            result.events.push(Event::PaidOut { peg: self.peg.clone(), to: user, amount });
        }
        Ok(outcome)
    }

    /// The internal key's holder spends an output by key path (the reference bridge's real
    /// internal keys); under NUMS nobody can.
    fn key_path(
        &mut self,
        step: &Step,
        cx: &mut Cx<'_>,
        result: &mut StepResult,
    ) -> Result<Outcome, RunError> {
        let d = self.deposit.as_ref().expect("checked by run");
        if self.preset == Preset::Clementine {
            return Ok(stalled(
                "nums-key-path",
                "the output's internal key is the NUMS point (Clementine's UNSPENDABLE_XONLY_PUBKEY): nobody holds it",
            ));
        }
        let (from, info, secret, outputs) = match step.output {
            KeyPathOutput::Deposit => {
                let secret = cx.keys.user_secret(Purpose::Staking, &d.user).expect("a user's key");
                let to = cx.script_of(&Destination::Actor(d.user.clone()));
                let outputs = vec![TxOut { value: d.out.1.value - FEE, script_pubkey: to }];
                (d.out.clone(), d.info.clone(), secret, outputs)
            }
            KeyPathOutput::DisproveConnector => {
                let from = d.graph.kickoff.out(vout::DISPROVE);
                let info = self.terms.disprove_info(cx.secp);
                (from, info, self.operator_secret, vec![graph::op_return(b"peglab")])
            }
        };
        let mut b = graph::spend(from, Sequence::ENABLE_RBF_NO_LOCKTIME, outputs);
        let keypair = Keypair::from_secret_key(cx.secp, &secret)
            .tap_tweak(cx.secp, info.merkle_root())
            .to_keypair();
        let digest = Message::from_digest(b.sighash(0, None, TapSighashType::Default));
        let signature = cx.secp.sign_schnorr_no_aux_rand(&digest, &keypair);
        let sig = Signature { signature, sighash_type: TapSighashType::Default }.to_vec();
        b.tx.input[0].witness = Witness::from_slice(&[sig]);
        self.submit(cx, &step.name, &b, step.via, result)
    }

    /// One of BitVM's published WOTS vectors on regtest: a coin locked to a leaf verifying
    /// its public key, spent with its witness or an invalid twin.
    fn wots_vector(
        &mut self,
        step: &Step,
        cx: &mut Cx<'_>,
        result: &mut StepResult,
    ) -> Result<Outcome, RunError> {
        let vectors: Vec<serde_json::Value> =
            serde_json::from_str(WOTS_VECTORS).expect("the vectors parse");
        let v = &vectors[step.vector];
        let hex = |text: &str| -> Vec<u8> {
            (0..text.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
                .collect()
        };
        let message_len = v["message"].as_str().expect("a message").len() / 2;
        let ps = wots::Params::for_bytes(message_len as u32);
        let public: wots::PublicKey = v["publicKey"]
            .as_array()
            .expect("keys")
            .iter()
            .map(|h| hex(h.as_str().expect("hex")).try_into().expect("20 bytes"))
            .collect();
        let mut items: Vec<Vec<u8>> = v["witness"]
            .as_array()
            .expect("items")
            .iter()
            .map(|h| hex(h.as_str().expect("hex")))
            .collect();
        match step.twin {
            None => {}
            Some(Twin::DigitChanged) => {
                let d = items[1].first().copied().unwrap_or(0);
                items[1] = if d == 15 { vec![14] } else { vec![d + 1] };
            }
            Some(Twin::ForgedDigit) => {
                // The first message digit below 15: one more hash makes its link verify.
                let i = (1..items.len())
                    .step_by(2)
                    .find(|&i| items[i].first().copied().unwrap_or(0) < 15)
                    .expect("a digit below 15");
                let d = items[i].first().copied().unwrap_or(0);
                items[i] = vec![d + 1];
                items[i - 1] =
                    bitcoin::hashes::hash160::Hash::hash(&items[i - 1]).to_byte_array().to_vec();
            }
            Some(Twin::NonMinimalDigit) => {
                if let Some(zero) = (1..items.len()).step_by(2).find(|&i| items[i].is_empty()) {
                    items[zero] = vec![0];
                }
            }
        }
        let leaf =
            wots::drop_digits(wots::verify(bitcoin::script::Builder::new(), ps, &public), ps)
                .push_opcode(bitcoin::opcodes::OP_TRUE)
                .into_script();
        let info = script::tree(cx.secp, script::nums(), std::slice::from_ref(&leaf));
        let lock = graph::spk(&info);
        let funding = cx.chain.fund(cx.node, &lock, Amount::from_sat(100_000))?;
        cx.txs.insert(format!("{}:lock", step.name), funding.tx.clone());
        cx.chain.mine(cx.node, 1, None)?;
        let mut b = graph::spend(
            (funding.outpoint, funding.txout.clone()),
            Sequence::ENABLE_RBF_NO_LOCKTIME,
            vec![TxOut { value: funding.txout.value - FEE, script_pubkey: anyone() }],
        );
        b.tx.input[0].witness = leaf_witness(items, &leaf, &info);
        result.events.push(Event::note(
            &self.peg,
            format!(
                "BitVM WOTS vector {} ({message_len}-byte message {}): {} bytes of leaf",
                step.vector,
                v["message"].as_str().unwrap_or(""),
                leaf.len()
            ),
        ));
        self.submit(cx, &step.name, &b, step.via, result)
    }
}

/// BitVM/BitVM `bitvm/wots-test-vectors.json` @ 23c6cdf6.
const WOTS_VECTORS: &str = include_str!("testdata/wots-test-vectors.json");

impl PegRun for State {
    fn step(&mut self, args: &dyn StepArgs, cx: &mut Cx<'_>) -> Result<StepResult, RunError> {
        let step = args.as_any().downcast_ref::<Step>().expect("a bitvm2 step");
        let how = match step.via {
            Via::Broadcast => "",
            Via::MineDirect => ", mined directly",
        };
        let mut result = StepResult::new(format!("{} {}{how}", self.peg, describe(step.tx)));
        let outcome = self.run(step, cx, &mut result)?;
        Ok(result.ended(outcome))
    }

    fn measure(&self, _: &str, _: Option<&str>, _: &mut Cx<'_>) -> Result<Amount, RunError> {
        Ok(Amount::ZERO)
    }
}

fn describe(tx: Tx) -> &'static str {
    match tx {
        Tx::Deposit => "deposit (the committee presigns the graph)",
        Tx::TakeBack => "the user takes the deposit back",
        Tx::MoveToVault => "move to the vault",
        Tx::CouncilSweep => "the council moves the vault",
        Tx::Payout => "the operator fronts the payout",
        Tx::Kickoff => "kickoff",
        Tx::Challenge => "challenge",
        Tx::ChallengeTimeout => "challenge timeout",
        Tx::Assert => "assert",
        Tx::AssertTimeout => "assert timeout (collateral burned)",
        Tx::Disprove => "disprove",
        Tx::DisproveTimeout => "disprove timeout",
        Tx::ReadyToReimburse => "ready to reimburse",
        Tx::NextRound => "next round",
        Tx::KickoffNotFinalized => "kickoff not finalized (collateral burned)",
        Tx::Reimburse => "reimburse the operator",
        Tx::KeyPath => "key-path spend",
        Tx::WotsVector => "WOTS vector",
    }
}
