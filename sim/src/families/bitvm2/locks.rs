//! Where a BitVM2 peg locks coins, with every way to spend them (`peglab derive` and
//! `explain`): the vault (the committee's leaf, the council's, and in the reference bridge the
//! committee's key path) and each user's deposit (the committee's leaf, the take-back leaf,
//! and in the reference bridge the depositor's key path).

use bitcoin::secp256k1::Secp256k1;

use super::{NOFN, Preset, Spec, graph, script};
use crate::{
    lock::{self, Holders, Lock, Slot, Spender, Wrap},
    policy::{Policy, SpendPath, Timelocks},
    run::keys::{KeyBook, Purpose},
    tx::taproot::even,
};

/// The locks of `spec`.
pub(super) fn of(spec: &Spec, keys: &KeyBook) -> Vec<Lock> {
    let secp = Secp256k1::new();
    let committee = spec.committee(keys);
    let nofn = committee.key();
    let nofn_pk = even(nofn);
    let nofn_holder = (NOFN.to_owned(), Some(committee.aggregate_secret()));
    let mut locks = Vec::new();
    // The vault: the committee, or the council alone.
    let council = spec.council_keys(keys);
    let vault =
        graph::vault_info(&secp, spec.vault_internal(nofn), nofn, spec.council_threshold, &council);
    let council_leaf = script::multisig(spec.council_threshold, &council);
    let mut holders = Holders::from([(nofn_pk, nofn_holder.clone())]);
    for (name, key) in spec.council.iter().zip(&council) {
        holders.insert(even(*key), (name.clone(), keys.secret(name)));
    }
    let mut templates = vec![lock::Template::new(
        Wrap::Leaf(script::checksig(nofn), Box::new(vault.clone())),
        vec![Slot::Sig(nofn_pk)],
        Timelocks::default(),
    )];
    let mut paths =
        vec![SpendPath::new("committee moves the vault", "the vault", Policy::pk(NOFN))];
    if spec.preset == Preset::BitvmBridge {
        templates.push(lock::Template::new(
            Wrap::KeyPath(Box::new(vault.clone())),
            vec![Slot::Sig(nofn_pk)],
            Timelocks::default(),
        ));
        paths.push(SpendPath::new(
            "committee's key path (connector_0's internal key), at any time",
            "the vault",
            Policy::pk(NOFN),
        ));
    }
    // Without a council its leaf holds only the NUMS key: no path anyone can take.
    if !spec.council.is_empty() {
        templates.push(lock::Template::new(
            Wrap::Leaf(council_leaf, Box::new(vault.clone())),
            vec![Slot::MultiA {
                k: spec.council_threshold,
                keys: council.iter().map(|k| even(*k)).collect(),
            }],
            Timelocks::default(),
        ));
        paths.push(SpendPath::new(
            "security council moves the vault",
            "the vault",
            Policy::multi(spec.council_threshold, &spec.council),
        ));
    }
    locks.push(Lock::new(
        "the vault",
        bitcoin::ScriptBuf::new_p2tr_tweaked(vault.output_key()),
        paths,
        Spender::Templates(templates),
        holders,
    ));
    // Each user's deposit: the committee moves it, or the user takes it back.
    for user in keys.users() {
        let depositor = keys.user_public(Purpose::Staking, user).inner.x_only_public_key().0;
        let evm = graph::evm_address(keys, user);
        let info = graph::deposit_info(
            &secp,
            spec.deposit_internal(depositor),
            nofn,
            evm,
            depositor,
            spec.timeouts.user_takes_after,
        );
        let deposit_leaf = script::deposit(nofn, evm);
        let take_back = script::timelock(depositor, spec.timeouts.user_takes_after);
        let user_pk = even(depositor);
        let older = Timelocks {
            blocks_old: u32::from(spec.timeouts.user_takes_after),
            ..Timelocks::default()
        };
        let coins = format!("{user}'s deposit");
        let mut templates = vec![
            lock::Template::new(
                Wrap::Leaf(deposit_leaf, Box::new(info.clone())),
                vec![Slot::Sig(nofn_pk)],
                Timelocks::default(),
            ),
            lock::Template::new(
                Wrap::Leaf(take_back, Box::new(info.clone())),
                vec![Slot::Sig(user_pk)],
                older,
            ),
        ];
        let mut paths = vec![
            SpendPath::new("committee moves it to the vault", &coins, Policy::pk(NOFN)),
            SpendPath::new(
                "depositor takes it back after the timelock",
                &coins,
                Policy::pk(user).after_blocks(spec.timeouts.user_takes_after),
            ),
        ];
        let spk = graph::spk(&info);
        if spec.preset == Preset::BitvmBridge {
            templates.push(lock::Template::new(
                Wrap::KeyPath(Box::new(info)),
                vec![Slot::Sig(user_pk)],
                Timelocks::default(),
            ));
            paths.push(SpendPath::new(
                "depositor's key path (connector_z's internal key)",
                &coins,
                Policy::pk(user),
            ));
        }
        let user_sk = keys.user_secret(Purpose::Staking, user);
        let holders =
            Holders::from([(nofn_pk, nofn_holder.clone()), (user_pk, (user.to_owned(), user_sk))]);
        locks.push(Lock::new(&coins, spk, paths, Spender::Templates(templates), holders));
    }
    locks
}
