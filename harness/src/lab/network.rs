//! Connecting nodes, partitioning them, and waiting until connected nodes agree.
//!
//! Each pair of connected nodes has one P2P link, opened by the lower id with `addnode onetry`
//! (so Core never redials it by itself). Waits are bounded: RPCs that block in the node
//! (`waitforblock`), or short polls of `getpeerinfo` while a socket opens or closes.

use std::{
    collections::BTreeMap,
    thread,
    time::{Duration, Instant},
};

use bitcoin::BlockHash;
use peglab_sim::NodeId;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Lab, SYNC_TIMEOUT};
use crate::error::LabError;

#[derive(Deserialize)]
struct Peer {
    addr: String,
    #[serde(default)]
    addrbind: String,
    #[serde(default)]
    version: u32,
}

#[derive(Deserialize)]
struct ChainTip {
    bestblockhash: BlockHash,
    blocks: u32,
    chainwork: String,
}

impl Lab {
    /// Connects every pair of nodes and waits until they agree on one chain.
    pub(super) fn connect_all(&mut self) -> Result<(), LabError> {
        let all: Vec<NodeId> = self.ids().collect();
        self.regroup(&[all])
    }

    /// Puts nodes into the given groups (nodes in none are isolated), opening and closing
    /// links so that exactly the nodes of one group are connected, then lets each group
    /// converge.
    pub(super) fn regroup(&mut self, groups: &[Vec<NodeId>]) -> Result<(), LabError> {
        let count = self.nodes.len();
        let mut new_groups: Vec<Option<usize>> = vec![None; count];
        for (g, members) in groups.iter().enumerate() {
            for &id in members {
                self.node(id)?;
                if new_groups[id.0].replace(g).is_some() {
                    return Err(LabError::InvalidArgument(format!(
                        "node {} is named in two partition groups",
                        id.0
                    )));
                }
            }
        }
        let new_groups: Vec<usize> =
            new_groups.iter().enumerate().map(|(i, g)| g.unwrap_or(groups.len() + i)).collect();
        let was = self.groups.clone();
        for i in 0..count {
            for j in i + 1..count {
                let (before, after) = (was[i] == was[j], new_groups[i] == new_groups[j]);
                if before && !after {
                    self.disconnect(NodeId(i), NodeId(j))?;
                }
            }
        }
        for i in 0..count {
            for j in i + 1..count {
                let connected_after = new_groups[i] == new_groups[j];
                if connected_after && self.link(NodeId(i), NodeId(j))?.is_none() {
                    self.connect(NodeId(i), NodeId(j))?;
                }
            }
        }
        self.groups = new_groups;
        let mut members: BTreeMap<usize, Vec<NodeId>> = BTreeMap::new();
        for id in self.ids() {
            members.entry(self.groups[id.0]).or_default().push(id);
        }
        for group in members.values() {
            self.converge(group)?;
        }
        Ok(())
    }

    /// The nodes connected to `id`, itself included.
    pub(super) fn group_of(&self, id: NodeId) -> Vec<NodeId> {
        let g = self.groups[id.0];
        self.ids().filter(|other| self.groups[other.0] == g).collect()
    }

    /// After a change on `id`, waits until its group agrees on the chain with most work.
    pub(super) fn sync_group(&self, id: NodeId) -> Result<(), LabError> {
        let group = self.group_of(id);
        if group.len() > 1 { self.converge(&group) } else { Ok(()) }
    }

    /// Waits until every node of `group` has the group's most-work tip. A tie in work
    /// between different tips leaves each node where it is, as Bitcoin Core does.
    fn converge(&self, group: &[NodeId]) -> Result<(), LabError> {
        let tips = group
            .iter()
            .map(|&id| self.call::<ChainTip>(id, "getblockchaininfo", &[]))
            .collect::<Result<Vec<_>, _>>()?;
        // chainwork is fixed-width hex, so the greatest string is the most work.
        let Some(most) = tips.iter().map(|t| &t.chainwork).max() else { return Ok(()) };
        let best: Vec<&ChainTip> = tips.iter().filter(|t| &t.chainwork == most).collect();
        if best.iter().any(|t| t.bestblockhash != best[0].bestblockhash) {
            return Ok(());
        }
        let target = best[0];
        for (&id, tip) in group.iter().zip(&tips) {
            if tip.bestblockhash == target.bestblockhash {
                continue;
            }
            let timeout_ms = SYNC_TIMEOUT.as_millis() as u64;
            let reached: Value =
                self.call(id, "waitforblock", &[json!(target.bestblockhash), json!(timeout_ms)])?;
            if reached["hash"] != json!(target.bestblockhash) {
                return Err(LabError::Sync {
                    node: id,
                    target: format!("{} (height {})", target.bestblockhash, target.blocks),
                    actual: format!("{} (height {})", reached["hash"], reached["height"]),
                    seconds: SYNC_TIMEOUT.as_secs(),
                });
            }
        }
        Ok(())
    }

    /// Opens the link `low -> high` and waits for the handshake on both sides.
    fn connect(&self, low: NodeId, high: NodeId) -> Result<(), LabError> {
        let addr = self.p2p_addr(high)?;
        self.call::<Value>(low, "addnode", &[json!(addr), json!("onetry")])?;
        self.wait_for(low, high, "connect", |lab| {
            let Some(peer) = lab.link(low, high)? else { return Ok(false) };
            let inbound = lab.peers(high)?;
            Ok(peer.version > 0 && inbound.iter().any(|p| p.addr == peer.addrbind && p.version > 0))
        })
    }

    /// Closes the link between `low` and `high` and waits until both sides have let go.
    fn disconnect(&self, low: NodeId, high: NodeId) -> Result<(), LabError> {
        let Some(link) = self.link(low, high)? else { return Ok(()) };
        self.call::<Value>(low, "disconnectnode", &[json!(link.addr)])?;
        self.wait_for(low, high, "disconnect", |lab| {
            Ok(lab.link(low, high)?.is_none()
                && !lab.peers(high)?.iter().any(|p| p.addr == link.addrbind))
        })
    }

    /// `low`'s outbound peer entry for `high`, if connected.
    fn link(&self, low: NodeId, high: NodeId) -> Result<Option<Peer>, LabError> {
        let addr = self.p2p_addr(high)?;
        Ok(self.peers(low)?.into_iter().find(|p| p.addr == addr))
    }

    fn peers(&self, id: NodeId) -> Result<Vec<Peer>, LabError> {
        self.call(id, "getpeerinfo", &[])
    }

    fn p2p_addr(&self, id: NodeId) -> Result<String, LabError> {
        self.node(id)?.p2p_addr().ok_or_else(|| {
            LabError::InvalidArgument(format!("node {} does not listen for peers", id.0))
        })
    }

    /// Polls `done` (backing off from 1 ms) until it holds or [`SYNC_TIMEOUT`] passes.
    fn wait_for(
        &self,
        a: NodeId,
        b: NodeId,
        what: &str,
        done: impl Fn(&Self) -> Result<bool, LabError>,
    ) -> Result<(), LabError> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        while !done(self)? {
            if started.elapsed() > SYNC_TIMEOUT {
                return Err(LabError::Sync {
                    node: b,
                    target: format!("{what} with node {}", a.0),
                    actual: "no change".into(),
                    seconds: SYNC_TIMEOUT.as_secs(),
                });
            }
            thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(10));
        }
        Ok(())
    }
}
