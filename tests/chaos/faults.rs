//! The faults the harness injects, and what it records about each one.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// SIGKILL of the leader; a replacement candidate starts 0-500ms later.
    KillLeader,
    /// SIGSTOP of the leader for ttl + 300-1200ms, then SIGCONT.
    PauseLeader,
    /// SIGKILL of the store (append-only file, fsync always), restart after 0-1.5s.
    RestartPersisted,
    /// SIGKILL of the store, its files deleted, restart after 0-1.5s: every key is lost.
    RestartLost,
    /// SIGKILL of the Cluster master that serves the election; a replica is promoted.
    MasterKill,
    /// One candidate's link stalls for ttl + 200-1500ms (bytes kept, delivered on healing).
    LinkCut,
    /// One candidate's connections are closed, and new ones refused, for 100-2000ms.
    LinkReset,
    /// One candidate's link gets 20-350ms of latency each way for 1-3s; half of the time it
    /// is then also cut for ttl + 200-1000ms (a last renewal with a slow reply, then silence).
    LinkSlow,
}

impl Kind {
    pub const STANDALONE: [Kind; 7] = [
        Kind::KillLeader,
        Kind::PauseLeader,
        Kind::RestartPersisted,
        Kind::RestartLost,
        Kind::LinkCut,
        Kind::LinkReset,
        Kind::LinkSlow,
    ];
    /// Master kills dominate the Cluster phase; candidate faults keep it honest.
    pub const CLUSTER: [Kind; 4] = [
        Kind::MasterKill,
        Kind::MasterKill,
        Kind::KillLeader,
        Kind::PauseLeader,
    ];
    pub const ALL: [Kind; 8] = [
        Kind::KillLeader,
        Kind::PauseLeader,
        Kind::RestartPersisted,
        Kind::RestartLost,
        Kind::MasterKill,
        Kind::LinkCut,
        Kind::LinkReset,
        Kind::LinkSlow,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::KillLeader => "kill-leader",
            Kind::PauseLeader => "pause-leader",
            Kind::RestartPersisted => "restart-persisted",
            Kind::RestartLost => "restart-lost",
            Kind::MasterKill => "master-kill",
            Kind::LinkCut => "link-cut",
            Kind::LinkReset => "link-reset",
            Kind::LinkSlow => "link-slow",
        }
    }

    /// Faults that can lose the lease's last write: two beliefs may overlap by design.
    pub fn loses_data(self) -> bool {
        matches!(self, Kind::RestartLost | Kind::MasterKill)
    }

    /// Faults that take the store away from every candidate.
    pub fn stops_store(self) -> bool {
        matches!(
            self,
            Kind::RestartPersisted | Kind::RestartLost | Kind::MasterKill
        )
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One injected fault. Times are CLOCK_MONOTONIC nanoseconds.
#[derive(Debug, Clone)]
pub struct Fault {
    pub kind: Kind,
    pub start: u64,
    /// When the fault was over (process replaced or resumed, store back, link healed).
    pub end: u64,
    /// Store faults: when the store answered again (a Cluster: a new master serves the
    /// election's slot). The leaderless-gap bound runs from here.
    pub store_back: Option<u64>,
    /// Pauses: the instant just before SIGCONT.
    pub resumed: Option<u64>,
    /// Slowed links: the one-way delay, in nanoseconds. A request can reach the store this
    /// long after its sender stopped believing it leads, and renew (or re-take) the lease.
    pub link_delay: u64,
    /// The candidate process targeted (index into the phase's processes).
    pub proc: Option<usize>,
    /// Whether the target led when the fault began (as its records told the harness).
    pub hit_leader: bool,
    pub detail: String,
}
