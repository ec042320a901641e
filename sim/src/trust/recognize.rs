//! Policies from the bytes: a recognizer of the peg templates miniscript cannot parse
//! (Liquid's `OP_DEPTH` fedpegscript, the PowPeg's `OP_NOTIF` ERP script, sBTC's data-drop
//! leaves, tBTC's `OP_DUP OP_HASH160 ... OP_IF` deposit script, Core's CLTV prefix, data
//! envelopes such as Clementine's deposit leaf's), with
//! miniscript as the fallback for everything canonical (Babylon's leaves, `multi_a`,
//! descriptors). Keys are named by the caller (33-byte keys, 32-byte x-only keys, 20-byte key
//! hashes). Each family also states the policy it means; `tests/tests/explain.rs` asserts the
//! two agree for every lock of the suite.

use bitcoin::{
    Script,
    opcodes::{
        Opcode,
        all::{
            OP_CHECKMULTISIG, OP_CHECKSIG, OP_CHECKSIGVERIFY, OP_CLTV, OP_CSV, OP_DEPTH, OP_DROP,
            OP_DUP, OP_ELSE, OP_ENDIF, OP_EQUAL, OP_EQUALVERIFY, OP_HASH160, OP_IF, OP_NOTIF,
        },
    },
    script::Instruction,
};
use miniscript::{Miniscript, Segwitv0, Tap, policy::Liftable};

use crate::policy::Policy;

/// A script's tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Push(Vec<u8>),
    Op(Opcode),
}

fn tokens(script: &Script) -> Option<Vec<Tok>> {
    let toks: Vec<Tok> = script
        .instructions()
        .map(|i| match i.ok()? {
            Instruction::PushBytes(p) => Some(Tok::Push(p.as_bytes().to_vec())),
            Instruction::Op(op) => Some(match op.to_u8() {
                // OP_1..OP_16 push their number.
                n @ 0x51..=0x60 => Tok::Push(vec![n - 0x50]),
                _ => Tok::Op(op),
            }),
        })
        .collect::<Option<_>>()?;
    Some(without_envelopes(toks))
}

/// The tokens without data envelopes, `OP_FALSE OP_IF <pushes> OP_ENDIF`, which never run
/// (Clementine's deposit leaf carries `"citrea" <evm address>` in one).
fn without_envelopes(toks: Vec<Tok>) -> Vec<Tok> {
    let mut out = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        if toks[i] == Tok::Push(Vec::new()) && toks.get(i + 1) == Some(&Tok::Op(OP_IF)) {
            let body = toks[i + 2..].iter().take_while(|t| matches!(t, Tok::Push(_))).count();
            if toks.get(i + 2 + body) == Some(&Tok::Op(OP_ENDIF)) {
                i += body + 3;
                continue;
            }
        }
        out.push(toks[i].clone());
        i += 1;
    }
    out
}

/// A pushed number (a script number of up to 4 bytes, as CScriptNum reads it).
fn number(bytes: &[u8]) -> Option<i64> {
    bitcoin::script::read_scriptint_non_minimal(bytes).ok()
}

struct Reader<'a> {
    toks: &'a [Tok],
    name: &'a dyn Fn(&[u8]) -> String,
}

impl Reader<'_> {
    fn key(&self, bytes: &[u8]) -> Option<Policy> {
        matches!(bytes.len(), 20 | 32 | 33 | 65).then(|| Policy::pk((self.name)(bytes)))
    }

    fn timelock(op: Opcode, n: i64) -> Option<Policy> {
        let n = u32::try_from(n).ok()?;
        Some(match op {
            OP_CSV if n & (1 << 22) != 0 => Policy::OlderTime { seconds: (n & 0xffff) * 512 },
            OP_CSV => Policy::Older { blocks: u16::try_from(n & 0xffff).ok()? },
            _ if n >= 500_000_000 => Policy::AfterTime { time: Some(n) },
            _ => Policy::AfterHeight { height: n },
        })
    }

    /// `<m> <keys...> <n>` at `i`: the threshold and where it ends.
    fn multisig_head(&self, i: usize) -> Option<(Policy, usize)> {
        let Tok::Push(m) = self.toks.get(i)? else { return None };
        let m = usize::try_from(number(m)?).ok()?;
        let mut keys = Vec::new();
        let mut j = i + 1;
        while let Some(Tok::Push(k)) = self.toks.get(j)
            && matches!(k.len(), 33 | 65)
        {
            keys.push(self.key(k)?);
            j += 1;
        }
        let Tok::Push(n) = self.toks.get(j)? else { return None };
        (usize::try_from(number(n)?).ok()? == keys.len() && m >= 1 && m <= keys.len())
            .then(|| (Policy::Thresh { k: m, of: keys }, j + 1))
    }

    /// The index of the `OP_ELSE` and `OP_ENDIF` closing the `OP_IF`/`OP_NOTIF` at `i`.
    fn branches(&self, i: usize) -> Option<(usize, usize)> {
        let (mut depth, mut els) = (0, None);
        for (j, t) in self.toks.iter().enumerate().skip(i) {
            match t {
                Tok::Op(OP_IF | OP_NOTIF) => depth += 1,
                Tok::Op(OP_ELSE) if depth == 1 => els = Some(j),
                Tok::Op(OP_ENDIF) => {
                    depth -= 1;
                    if depth == 0 {
                        return Some((els?, j));
                    }
                }
                _ => {}
            }
        }
        None
    }

    fn sub<'b>(&'b self, toks: &'b [Tok]) -> Reader<'b> {
        Reader { toks, name: self.name }
    }

    /// The whole token run as a conjunction of fragments.
    fn all(&self) -> Option<Policy> {
        let t = self.toks;
        let mut conj = Vec::new();
        let mut pending: Option<Policy> = None;
        let mut i = 0;
        while i < t.len() {
            let rest = &t[i..];
            match rest {
                // A timelock: `<n> CSV DROP`, `<n> CLTV DROP`.
                [Tok::Push(n), Tok::Op(op @ (OP_CSV | OP_CLTV)), Tok::Op(OP_DROP), ..] => {
                    conj.push(Self::timelock(*op, number(n)?)?);
                    i += 3;
                }
                // Data committed and dropped (a recipient, a max fee, a blinding factor).
                [Tok::Push(_), Tok::Op(OP_DROP), ..] => i += 2,
                [Tok::Push(k), Tok::Op(OP_CHECKSIGVERIFY), ..] => {
                    conj.push(self.key(k)?);
                    i += 2;
                }
                [Tok::Push(k), Tok::Op(OP_CHECKSIG)] => {
                    conj.push(self.key(k)?);
                    i += 2;
                }
                // `DUP HASH160 <h> EQUALVERIFY`, then (after any timelock) `CHECKSIG`.
                [
                    Tok::Op(OP_DUP),
                    Tok::Op(OP_HASH160),
                    Tok::Push(h),
                    Tok::Op(OP_EQUALVERIFY),
                    ..,
                ] => {
                    pending = Some(self.key(h)?);
                    i += 4;
                }
                [Tok::Op(OP_CHECKSIG)] => {
                    conj.push(pending.take()?);
                    i += 1;
                }
                // tBTC: `DUP HASH160 <h> EQUAL IF CHECKSIG ELSE <rest> ENDIF`.
                [
                    Tok::Op(OP_DUP),
                    Tok::Op(OP_HASH160),
                    Tok::Push(h),
                    Tok::Op(OP_EQUAL),
                    Tok::Op(OP_IF),
                    ..,
                ] => {
                    let (els, end) = self.branches(i + 4)?;
                    if t[i + 5..els] != [Tok::Op(OP_CHECKSIG)] || end != t.len() - 1 {
                        return None;
                    }
                    let other = self.sub(&t[els + 1..end]).all()?;
                    conj.push(Policy::Or { of: vec![self.key(h)?, other] });
                    i = end + 1;
                }
                // Liquid: `DEPTH <m+1> EQUAL IF <multisig head> ELSE <multisig head> ENDIF CHECKMULTISIG`.
                [Tok::Op(OP_DEPTH), Tok::Push(_), Tok::Op(OP_EQUAL), Tok::Op(OP_IF), ..] => {
                    let (els, end) = self.branches(i + 3)?;
                    if t.get(end + 1) != Some(&Tok::Op(OP_CHECKMULTISIG)) || end + 2 != t.len() {
                        return None;
                    }
                    let mut arms = Vec::new();
                    for arm in [&t[i + 4..els], &t[els + 1..end]] {
                        let mut toks = arm.to_vec();
                        toks.push(Tok::Op(OP_CHECKMULTISIG));
                        arms.push(self.sub(&toks).all()?);
                    }
                    conj.push(Policy::Or { of: arms });
                    i = end + 2;
                }
                // The PowPeg: `NOTIF <a> ELSE <b> ENDIF` (and any `IF` of two whole arms).
                [Tok::Op(OP_NOTIF | OP_IF), ..] => {
                    let (els, end) = self.branches(i)?;
                    let a = self.sub(&t[i + 1..els]).all()?;
                    let b = self.sub(&t[els + 1..end]).all()?;
                    conj.push(Policy::Or { of: vec![a, b] });
                    i = end + 1;
                }
                [Tok::Push(_), ..] => {
                    let (thresh, end) = self.multisig_head(i)?;
                    if t.get(end) != Some(&Tok::Op(OP_CHECKMULTISIG)) {
                        return None;
                    }
                    conj.push(thresh);
                    i = end + 1;
                }
                _ => return None,
            }
        }
        (!conj.is_empty() && pending.is_none()).then(|| Policy::and(conj))
    }
}

/// The policy of `script` (a tapscript leaf when `tap`), its keys named by `name`: the peg
/// templates first, then miniscript.
pub fn recognize(script: &Script, tap: bool, name: &dyn Fn(&[u8]) -> String) -> Option<Policy> {
    if let Some(toks) = tokens(script)
        && let Some(policy) = (Reader { toks: &toks, name }).all()
    {
        return Some(policy);
    }
    let lifted = if tap {
        let ms = Miniscript::<bitcoin::XOnlyPublicKey, Tap>::parse_insane(script).ok()?;
        let semantic = ms.lift().ok()?;
        Policy::from_semantic(&semantic, &|k: &bitcoin::XOnlyPublicKey| name(&k.serialize()))
    } else {
        let ms = Miniscript::<bitcoin::PublicKey, Segwitv0>::parse_insane(script).ok()?;
        let semantic = ms.lift().ok()?;
        Policy::from_semantic(&semantic, &|k: &bitcoin::PublicKey| name(&k.to_bytes()))
    };
    Some(lifted)
}

#[cfg(test)]
mod tests {
    use bitcoin::{ScriptBuf, hex::FromHex};

    use super::*;
    use crate::trust::requirements;

    fn hex(s: &str) -> ScriptBuf {
        ScriptBuf::from_bytes(Vec::from_hex(s).unwrap())
    }

    fn named(b: &[u8]) -> String {
        format!("{:02x}", b[b.len() - 1])
    }

    #[test]
    fn tbtc_deposit_script_from_the_bridge_tests() {
        // deposit-sweep.ts, SingleP2SHDeposit: the 92-byte script of the sweep's input.
        let script = hex(
            "14934b98637ca318a4d6e7ca6ffd1690b8e77df6377508f9f0c90d000395237576a9148db50eb52063ea9d98b3eac91489a90f738986f68763ac6776a914e257eccafbc07c381642ce6e7e55120fb077fbed8804e0250162b175ac68",
        );
        let policy = recognize(&script, false, &named).unwrap();
        let want = Policy::Or {
            of: vec![
                Policy::pk("f6"),
                Policy::and(vec![Policy::pk("ed"), Policy::AfterTime { time: Some(0x620125e0) }]),
            ],
        };
        assert_eq!(requirements(&policy), requirements(&want));
    }

    #[test]
    fn sbtc_leaves_from_emilys_fixture() {
        // stacks-network/sbtc emily fixtures, create-deposit-valid.json (copied beside the
        // sbtc family): the deposit leaf drops its data, the reclaim leaf waits 12 blocks.
        let fixture: serde_json::Value = serde_json::from_str(include_str!(
            "../families/sbtc/testdata/create-deposit-valid.json"
        ))
        .unwrap();
        let deposit = hex(fixture["depositScript"].as_str().unwrap());
        let reclaim = hex(fixture["reclaimScript"].as_str().unwrap());
        let policy = recognize(&deposit, true, &named).unwrap();
        assert_eq!(requirements(&policy), requirements(&Policy::pk("89")));
        let policy = recognize(&reclaim, true, &named).unwrap();
        assert_eq!(requirements(&policy), requirements(&Policy::pk("54").after_blocks(12)));
    }
}
