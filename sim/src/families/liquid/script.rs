//! Liquid's watchman fedpegscript (the Elements template, branch chosen by `OP_DEPTH`) and
//! Elements' pay-to-contract tweak of its keys (`calculate_contract` in Elements'
//! `script/pegins.cpp`).
//!
//! ```text
//! OP_DEPTH <m+1> OP_EQUAL
//! OP_IF    <m> <member keys> <n>
//! OP_ELSE  <csv> OP_CHECKSEQUENCEVERIFY OP_DROP <m'> <emergency keys> <n'>
//! OP_ENDIF OP_CHECKMULTISIG
//! ```

use bitcoin::{
    PublicKey, Script, ScriptBuf,
    hashes::{Hash, HashEngine, hmac, sha256},
    opcodes::all::{
        OP_CHECKMULTISIG, OP_CSV, OP_DEPTH, OP_DROP, OP_ELSE, OP_ENDIF, OP_EQUAL, OP_IF,
    },
    script::{Builder, Instruction},
    secp256k1::{All, Scalar, Secp256k1, SecretKey, Verification},
};

use crate::federation::{Custody, Signers};

/// The parameters of a watchman fedpegscript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Watchman {
    pub(crate) members: Vec<PublicKey>,
    pub(crate) threshold: usize,
    pub(crate) emergency: Vec<PublicKey>,
    pub(crate) emergency_threshold: usize,
    /// Relative timelock of the emergency branch, in blocks.
    pub(crate) csv: u16,
}

impl Watchman {
    /// The fedpegscript, byte for byte as Elements' template.
    pub(crate) fn script(&self) -> ScriptBuf {
        let multisig = |b: Builder, m: usize, keys: &[PublicKey]| {
            let b = keys.iter().fold(b.push_int(m as i64), |b, k| b.push_key(k));
            b.push_int(keys.len() as i64)
        };
        let b = Builder::new()
            .push_opcode(OP_DEPTH)
            .push_int(self.threshold as i64 + 1)
            .push_opcode(OP_EQUAL)
            .push_opcode(OP_IF);
        let b = multisig(b, self.threshold, &self.members)
            .push_opcode(OP_ELSE)
            .push_int(i64::from(self.csv))
            .push_opcode(OP_CSV)
            .push_opcode(OP_DROP);
        multisig(b, self.emergency_threshold, &self.emergency)
            .push_opcode(OP_ENDIF)
            .push_opcode(OP_CHECKMULTISIG)
            .into_script()
    }
}

impl Custody for Watchman {
    fn script(&self) -> ScriptBuf {
        Watchman::script(self)
    }

    fn witness_script(&self, secp: &Secp256k1<All>, claim: Option<&Script>) -> ScriptBuf {
        match claim {
            Some(claim) => tweak_script(secp, &self.script(), claim),
            None => self.script(),
        }
    }

    fn threshold(&self) -> usize {
        self.threshold
    }

    fn csv(&self) -> u16 {
        self.csv
    }

    fn sign_input(
        &self,
        secp: &Secp256k1<All>,
        tx: &mut bitcoin::Transaction,
        index: usize,
        value: bitcoin::Amount,
        claim: Option<&Script>,
        signers: &Signers<'_>,
        output: crate::tx::OutputType,
    ) {
        let script = self.witness_script(secp, claim);
        let branch = self.branch(secp, claim, signers);
        crate::federation::sign_branch(secp, tx, index, (&script, value, output), branch);
    }
}

impl Watchman {
    /// The branch `signers` spend through, with keys and secrets tweaked for `claim`.
    fn branch(
        &self,
        secp: &Secp256k1<All>,
        claim: Option<&Script>,
        signers: &Signers<'_>,
    ) -> crate::federation::MultisigBranch {
        match signers {
            // Member keys in a peg-in output are tweaked with its claim script.
            Signers::Members(members) => {
                let keys = self.members.iter().map(|pk| tweak_key(secp, pk, claim)).collect();
                let secrets = members
                    .iter()
                    .map(|(pk, sk)| claim.map_or(*sk, |c| tweak_secret(sk, pk, c)))
                    .collect();
                (keys, self.threshold, secrets, None)
            }
            // The watchman template leaves the emergency keys untweaked.
            Signers::Emergency(secrets) => {
                (self.emergency.clone(), self.emergency_threshold, secrets.to_vec(), None)
            }
        }
    }
}

/// A member key as it appears in an output tweaked for `claim`.
pub(crate) fn tweak_key<C: Verification>(
    secp: &Secp256k1<C>,
    pk: &PublicKey,
    claim: Option<&Script>,
) -> PublicKey {
    let Some(claim) = claim else { return *pk };
    let key = pk.inner.serialize();
    PublicKey::new(pk.inner.add_exp_tweak(secp, &tweak_of(&key, claim)).expect("a valid tweak"))
}

/// Whether `script` has the shape of the Liquid v1 watchman template (Elements'
/// `MatchLiquidWatchman`), in which the emergency keys are not tweaked.
pub(crate) fn is_watchman(script: &Script) -> bool {
    let Ok(ins) = script.instructions().collect::<Result<Vec<_>, _>>() else { return false };
    let op = |i: usize, want| matches!(ins.get(i), Some(Instruction::Op(o)) if *o == want);
    let num = |i: usize| ins.get(i).and_then(Instruction::script_num);
    let keys_from = |i: usize| {
        ins[i..]
            .iter()
            .take_while(|x| matches!(x, Instruction::PushBytes(p) if p.len() == 33))
            .count()
    };
    if !(op(0, OP_DEPTH) && num(1).is_some() && op(2, OP_EQUAL) && op(3, OP_IF) && num(4).is_some())
    {
        return false;
    }
    let n = keys_from(5);
    let at = 5 + n;
    if n == 0 || num(at) != Some(n as i64) || !op(at + 1, OP_ELSE) {
        return false;
    }
    let at = at + 2;
    if num(at).is_none() || !op(at + 1, OP_CSV) || !op(at + 2, OP_DROP) || num(at + 3).is_none() {
        return false;
    }
    let e = keys_from(at + 4);
    let at = at + 4 + e;
    e > 0
        && num(at) == Some(e as i64)
        && op(at + 1, OP_ENDIF)
        && op(at + 2, OP_CHECKMULTISIG)
        && ins.len() == at + 3
}

/// The 33-byte keys a script pushes, in order.
pub(crate) fn keys_of(script: &Script) -> Vec<PublicKey> {
    script
        .instructions()
        .filter_map(|i| match i {
            Ok(Instruction::PushBytes(p)) if p.len() == 33 => {
                PublicKey::from_slice(p.as_bytes()).ok()
            }
            _ => None,
        })
        .collect()
}

/// The watchman template's parameters read back from a script of its shape (`None` when the
/// script is not exactly the template with these values).
pub(crate) fn parse_watchman(script: &Script) -> Option<Watchman> {
    if !is_watchman(script) {
        return None;
    }
    let ins: Vec<Instruction<'_>> = script.instructions().collect::<Result<_, _>>().ok()?;
    let num = |i: usize| ins.get(i).and_then(Instruction::script_num);
    let threshold = usize::try_from(num(4)?).ok()?;
    let members = keys_of(script);
    let n = ins[5..]
        .iter()
        .take_while(|x| matches!(x, Instruction::PushBytes(p) if p.len() == 33))
        .count();
    let (members, emergency) = members.split_at(n.min(members.len()));
    let at = 5 + n + 2;
    let csv = u16::try_from(num(at)?).ok()?;
    let emergency_threshold = usize::try_from(num(at + 3)?).ok()?;
    let w = Watchman {
        members: members.to_vec(),
        threshold,
        emergency: emergency.to_vec(),
        emergency_threshold,
        csv,
    };
    // Only a script the template rebuilds byte for byte (minimal pushes) is this shape.
    (w.script() == *script).then_some(w)
}

/// HMAC-SHA256(key = the 33-byte public key, message = the claim script).
pub(crate) fn tweak_of(key: &[u8; 33], claim_script: &Script) -> Scalar {
    let mut engine = hmac::HmacEngine::<sha256::Hash>::new(key);
    engine.input(claim_script.as_bytes());
    let digest = hmac::Hmac::<sha256::Hash>::from_engine(engine).to_byte_array();
    // A digest at or above the curve order has probability ~2^-128; Elements would fail too.
    Scalar::from_be_bytes(digest).expect("an HMAC-SHA256 digest below the curve order")
}

/// Elements' `calculate_contract`: every 33-byte key of `federation_script` tweaked by
/// `tweak_of(key, claim_script)`, except, in the watchman template, the emergency keys after
/// `OP_ELSE`. Every other byte stays as it was.
pub(crate) fn tweak_script<C: Verification>(
    secp: &Secp256k1<C>,
    federation_script: &Script,
    claim_script: &Script,
) -> ScriptBuf {
    let watchman = is_watchman(federation_script);
    let mut bytes = federation_script.as_bytes().to_vec();
    let mut after_else = false;
    for (at, ins) in federation_script.instruction_indices().map_while(Result::ok) {
        match ins {
            Instruction::Op(OP_ELSE) if watchman => after_else = true,
            Instruction::PushBytes(push) if push.len() == 33 && !after_else => {
                let key: [u8; 33] = push.as_bytes().try_into().expect("33 bytes");
                if let Ok(pk) = bitcoin::secp256k1::PublicKey::from_slice(&key)
                    && let Ok(tweaked) = pk.add_exp_tweak(secp, &tweak_of(&key, claim_script))
                {
                    bytes[at + 1..at + 34].copy_from_slice(&tweaked.serialize());
                }
            }
            _ => {}
        }
    }
    ScriptBuf::from_bytes(bytes)
}

/// The secret key matching a tweaked member key.
pub(crate) fn tweak_secret(
    secret: &SecretKey,
    public: &PublicKey,
    claim_script: &Script,
) -> SecretKey {
    let key: [u8; 33] = public.inner.serialize();
    secret.add_tweak(&tweak_of(&key, claim_script)).expect("a tweak below the curve order")
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use bitcoin::hex::FromHex;

    use super::*;

    /// Liquid v1's fedpegscript, from Elements' `test/functional/rpc_tweakfedpeg.py`
    /// (`LIQUID_SCRIPT`) and `chainparams.cpp` (liquidv1).
    const LIQUID_V1: &str = "745c87635b21020e0338c96a8870479f2396c373cc7696ba124e8635d41b0ea581112b678172612102675333a4e4b8fb51d9d4e22fa5a8eaced3fdac8a8cbf9be8c030f75712e6af992102896807d54bc55c24981f24a453c60ad3e8993d693732288068a23df3d9f50d4821029e51a5ef5db3137051de8323b001749932f2ff0d34c82e96a2c2461de96ae56c2102a4e1a9638d46923272c266631d94d36bdb03a64ee0e14c7518e49d2f29bc40102102f8a00b269f8c5e59c67d36db3cdc11b11b21f64b4bffb2815e9100d9aa8daf072103079e252e85abffd3c401a69b087e590a9b86f33f574f08129ccbd3521ecf516b2103111cf405b627e22135b3b3733a4a34aa5723fb0f58379a16d32861bf576b0ec2210318f331b3e5d38156da6633b31929c5b220349859cc9ca3d33fb4e68aa08401742103230dae6b4ac93480aeab26d000841298e3b8f6157028e47b0897c1e025165de121035abff4281ff00660f99ab27bb53e6b33689c2cd8dcd364bc3c90ca5aea0d71a62103bd45cddfacf2083b14310ae4a84e25de61e451637346325222747b157446614c2103cc297026b06c71cbfa52089149157b5ff23de027ac5ab781800a578192d175462103d3bde5d63bdb3a6379b461be64dad45eabff42f758543a9645afd42f6d4248282103ed1e8d5109c9ed66f7941bc53cc71137baa76d50d274bda8d5e8ffbd6e61fe9a5f6702c00fb275522103aab896d53a8e7d6433137bbba940f9c521e085dd07e60994579b64a6d992cf79210291b7d0b1b692f8f524516ed950872e5da10fb1b808b5a526dedc6fed1cf29807210386aa9372fbab374593466bc5451dc59954e90787f08060964d95c87ef34ca5bb5368ae";
    /// The claim script of Elements' tweak examples.
    const CLAIM: &str = "0014008b1fdbaec5a82a9322af1640e871727245bce1";
    /// Elements' "Liquid daemon example": LIQUID_V1 tweaked with CLAIM.
    const LIQUID_V1_TWEAKED: &str = "745c87635b2103258857ed88024e5296436f851337451d3d68522fbb21dc5a047b965cd2f790932103ab43d77e8706a799cee3c14678574bccaca98c101217369cee987073cd2546492102ee5c8dfdf742bcc2b08386a6a3ec4b6087d39a6fd7e6f0fdeb82ecc30b11d0342102b104b6a469d8b3ccf0a671198e5f7d7010dbf2eb5587733b168f6e0d3be75760210207fc37d4877529fb0d63b1de352689627400a43f18717fa182fe0eea283bdd7921025d8724d82c61708458bc1a08ec9a7fcaf0ab6747ccf0a7d378faea07a261ab3e2102af6859d48d0a4518a4811f12adb974bbd051931e3f96f0b6ae16142c43ae6fd12102458215967f7977effc21b964bd92d870ae7eca98f343801031639150139e63ed2102cdef66bf4b5d26d0be22cabd5761970cfa84be905dc0137ad08ab634f104cb9e210297fb764f808c126f46ce0444124213bdc6a18f2904e75c9144f53bed4c19376e2103c631e77d14a5eb2fc61496ee3e9ea19d1e56e7e65a07aaa786f25ffc2921efde210270addb9011a4b41987b0848a8dc52e5442964fe5188c6a4c9320fbb9016390772103bf9aa75444d0013c46dcf10d70831b75b46a25d901fb7c6360beb2f6cac9c503210278f303dbaad1410a26d99e4dca8925fae4c90532a156c29e8ab1abf5ccaa663d210394cc0983add2dc60aa988c9faedebdc5463106184d72dd430ef24d215daf8b935f6702c00fb275522103aab896d53a8e7d6433137bbba940f9c521e085dd07e60994579b64a6d992cf79210291b7d0b1b692f8f524516ed950872e5da10fb1b808b5a526dedc6fed1cf29807210386aa9372fbab374593466bc5451dc59954e90787f08060964d95c87ef34ca5bb5368ae";
    /// Elements' "0.14 daemon example": a plain 2-of-2 and its tweak with CLAIM.
    const CMS: &str = "52210307fd375ed7cced0f50723e3e1a97bbe7ccff7318c815df4e99a59bc94dbcd819210367c4f666f18279009c941e57fab3e42653c6553e5ca092c104d1db279e328a2852ae";
    const CMS_TWEAKED: &str = "522102f5bc6bc407187d06854005c366b84b411534757f4503587cf335645a620f896a2102fd90164e4e7d53417e4eacfa3f86fd39fe40594791758739e8af31eeea4e79c552ae";

    fn script(hex: &str) -> ScriptBuf {
        ScriptBuf::from_bytes(Vec::from_hex(hex).unwrap())
    }

    /// The 33-byte keys of a script, in order.
    fn keys(s: &Script) -> Vec<PublicKey> {
        s.instructions()
            .filter_map(|i| match i.unwrap() {
                Instruction::PushBytes(p) if p.len() == 33 => {
                    Some(PublicKey::from_slice(p.as_bytes()).unwrap())
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_template_with_liquid_v1_keys_is_the_published_fedpegscript() {
        let published = script(LIQUID_V1);
        let all = keys(&published);
        let watchman = Watchman {
            members: all[..15].to_vec(),
            threshold: 11,
            emergency: all[15..].to_vec(),
            emergency_threshold: 2,
            csv: 4032,
        };
        assert_eq!(watchman.script().to_hex_string(), LIQUID_V1);
        assert!(is_watchman(&published));
        assert!(!is_watchman(&script(CMS)));
        assert_eq!(parse_watchman(&published), Some(watchman));
        assert_eq!(parse_watchman(&script(CMS)), None);
    }

    #[test]
    fn tweaks_reproduce_elements_vectors() {
        let secp = Secp256k1::verification_only();
        let claim = script(CLAIM);
        assert_eq!(tweak_script(&secp, &script(CMS), &claim).to_hex_string(), CMS_TWEAKED);
        assert_eq!(
            tweak_script(&secp, &script(LIQUID_V1), &claim).to_hex_string(),
            LIQUID_V1_TWEAKED
        );
        // OP_TRUE has no keys: unchanged.
        assert_eq!(tweak_script(&secp, &script("51"), &claim).to_hex_string(), "51");
    }

    #[test]
    fn tweaked_secret_keys_match_tweaked_public_keys() {
        let secp = Secp256k1::new();
        let sk =
            SecretKey::from_str("0101010101010101010101010101010101010101010101010101010101010101")
                .unwrap();
        let pk = PublicKey::new(sk.public_key(&secp));
        let claim = script(CLAIM);
        let federation = Builder::new()
            .push_int(1)
            .push_key(&pk)
            .push_int(1)
            .push_opcode(OP_CHECKMULTISIG)
            .into_script();
        let tweaked = tweak_script(&secp, &federation, &claim);
        let tweaked_pk = keys(&tweaked)[0];
        let tweaked_sk = tweak_secret(&sk, &pk, &claim);
        assert_eq!(PublicKey::new(tweaked_sk.public_key(&secp)), tweaked_pk);
        assert_ne!(tweaked_pk, pk);
    }
}
