//! A federation's script as a [`Lock`]: branches of `OP_CHECKMULTISIG` (the members', the
//! emergency keys' after a CSV), each spent with `[<>, signatures.., selector?, script]`.

use bitcoin::{PublicKey, ScriptBuf, secp256k1::SecretKey};

use crate::{
    lock::{Holders, Lock, Slot, Spender, Template, Wrap},
    policy::{Policy, SpendPath, Timelocks},
    tx::{OutputType, script_pubkey},
};

/// A key of a branch: its holder, the key as the script holds it, the matching secret.
pub(crate) type BranchKey = (String, PublicKey, Option<SecretKey>);

/// One `OP_CHECKMULTISIG` branch of a federation script.
#[derive(Debug)]
pub(crate) struct Branch {
    pub(crate) name: &'static str,
    /// The keys in script order.
    pub(crate) keys: Vec<BranchKey>,
    pub(crate) threshold: usize,
    /// The push that selects the branch (`OP_NOTIF`/`OP_IF` scripts), if any.
    pub(crate) selector: Option<Vec<u8>>,
    /// The CSV the branch waits, if any.
    pub(crate) csv: Option<u16>,
}

/// The lock of `script` wrapped as `output`, spent through `branches`.
pub(crate) fn lock(
    coins: &str,
    script: ScriptBuf,
    output: OutputType,
    branches: Vec<Branch>,
) -> Lock {
    let mut holders = Holders::new();
    let mut paths = Vec::new();
    let mut templates = Vec::new();
    for b in branches {
        for (name, pk, sk) in &b.keys {
            holders.insert(*pk, (name.clone(), *sk));
        }
        let names: Vec<String> = b.keys.iter().map(|(name, _, _)| name.clone()).collect();
        let mut policy = Policy::multi(b.threshold, &names);
        let mut locks = Timelocks::default();
        if let Some(csv) = b.csv {
            policy = policy.after_blocks(csv);
            locks.blocks_old = u32::from(csv);
        }
        paths.push(SpendPath::new(b.name, coins, policy));
        let keys = b.keys.iter().map(|(_, pk, _)| *pk).collect();
        let mut stack = vec![Slot::Push(Vec::new()), Slot::Multi { k: b.threshold, keys }];
        stack.extend(b.selector.map(Slot::Push));
        templates.push(Template::new(Wrap::Script(script.clone(), output), stack, locks));
    }
    let spk = script_pubkey(&script, output);
    Lock::new(coins, spk, paths, Spender::Templates(templates), holders)
}
