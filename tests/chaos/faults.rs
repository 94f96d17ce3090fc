//! The faults the harness injects, and what it records about each one.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// SIGKILL of the leader; a replacement candidate starts 0-500ms later.
    KillLeader,
    /// SIGSTOP of the leader for ttl + 300-1200ms, then SIGCONT.
    PauseLeader,
    /// Graceful redeploy: the leader closes its elections and exits; a new process starts.
    Redeploy,
    /// SIGKILL of the store (append-only file, fsync always; a SQL database with its data
    /// directory), restart after 0-1.5s.
    RestartPersisted,
    /// SIGKILL of the store, its files deleted, restart after 0-1.5s: every key is lost.
    RestartLost,
    /// SIGSTOP of the store for 300ms-2.5s: every connection hangs, no RST.
    StorePause,
    /// `FLUSHALL` on the store (an operator's mistake, a failover to a replica that missed the
    /// writes behind a proxy): every lease and counter is gone, no connection drops, and a
    /// notification on every election's channel wakes leaders and followers at once.
    StoreFlush,
    /// One candidate's link stalls for ttl + 200-1500ms (bytes kept, delivered on healing).
    LinkCut,
    /// One candidate's connections are closed, and new ones refused, for 100-2000ms.
    LinkReset,
    /// One candidate's link gets 20-350ms of latency each way for 1-3s; half of the time it
    /// is then also cut for ttl + 200-1000ms (a last renewal with a slow reply, then silence).
    LinkSlow,
    /// Every candidate's open connections stop answering for good (bytes dropped, sockets
    /// kept open, no RST); new connections work: a hung connection must be found and replaced.
    LinkHang,
    /// `maxmemory` just above the data, a `volatile-*` policy, and 1-3s of volatile junk
    /// written as fast as the store takes it: eviction runs all the time.
    Eviction,
    /// The store's wall clock runs 0.95-1.008 times real speed for 1-3s (within `drift`).
    ClockRate,
    /// The store's wall clock steps forward 50-500ms (less than ttl - renew) or back up to 2s.
    ClockStep,
    /// SIGSTOP of the store's replica for ttl + 500-2000ms while one election uses
    /// `wait_for_replicas`, and its leader is killed so that its followers' grants WAIT.
    ReplicaStall,
    /// Two faults at once: a link, clock, eviction or replica fault while the leader is
    /// killed, paused, redeployed, or the store restarts.
    Double,
    /// Sentinel: SIGKILL of the master; the sentinels promote the replica.
    SentinelFailover,
    /// Sentinel: SIGSTOP of the master; the sentinels promote the replica, and the old master
    /// stays hung for 2 ttl more before it is killed and comes back as a replica.
    SentinelHang,
    /// SIGKILL of the Cluster master that serves the election; a replica is promoted.
    MasterKill,
    /// SIGSTOP of the Cluster master that serves the election until a replica is promoted,
    /// and 2 ttl more; then it is killed and comes back as a replica.
    MasterHang,
    /// ZooKeeper: SIGKILL of the ensemble's leader server; the other two elect a new one, the
    /// killed server comes back 0-1s later as a follower. Acknowledged writes survive.
    ZkLeaderKill,
}

impl Kind {
    pub const STANDALONE: [Kind; 16] = [
        Kind::KillLeader,
        Kind::PauseLeader,
        Kind::Redeploy,
        Kind::RestartPersisted,
        Kind::RestartLost,
        Kind::StorePause,
        Kind::StoreFlush,
        Kind::LinkCut,
        Kind::LinkReset,
        Kind::LinkSlow,
        Kind::LinkHang,
        Kind::Eviction,
        Kind::ClockRate,
        Kind::ClockStep,
        Kind::ReplicaStall,
        Kind::Double,
    ];
    pub const SENTINEL: [Kind; 4] = [
        Kind::SentinelFailover,
        Kind::SentinelHang,
        Kind::KillLeader,
        Kind::Redeploy,
    ];
    /// Master faults dominate the Cluster phase; candidate faults keep it honest.
    pub const CLUSTER: [Kind; 5] = [
        Kind::MasterKill,
        Kind::MasterHang,
        Kind::KillLeader,
        Kind::PauseLeader,
        Kind::Redeploy,
    ];
    /// The ZooKeeper phase: an ensemble fault and the candidate faults.
    pub const ZOOKEEPER: [Kind; 4] = [
        Kind::ZkLeaderKill,
        Kind::KillLeader,
        Kind::PauseLeader,
        Kind::Redeploy,
    ];
    /// The PostgreSQL phase: the candidate faults, a database restart and pause, the links.
    pub const POSTGRES: [Kind; 8] = [
        Kind::KillLeader,
        Kind::PauseLeader,
        Kind::Redeploy,
        Kind::RestartPersisted,
        Kind::StorePause,
        Kind::LinkCut,
        Kind::LinkReset,
        Kind::LinkHang,
    ];
    /// The MySQL/MariaDB phase: the same but the database pause (the fixture has none).
    pub const MYSQL: [Kind; 7] = [
        Kind::KillLeader,
        Kind::PauseLeader,
        Kind::Redeploy,
        Kind::RestartPersisted,
        Kind::LinkCut,
        Kind::LinkReset,
        Kind::LinkHang,
    ];
    pub const ALL: [Kind; 21] = [
        Kind::KillLeader,
        Kind::PauseLeader,
        Kind::Redeploy,
        Kind::RestartPersisted,
        Kind::RestartLost,
        Kind::StorePause,
        Kind::StoreFlush,
        Kind::LinkCut,
        Kind::LinkReset,
        Kind::LinkSlow,
        Kind::LinkHang,
        Kind::Eviction,
        Kind::ClockRate,
        Kind::ClockStep,
        Kind::ReplicaStall,
        Kind::Double,
        Kind::SentinelFailover,
        Kind::SentinelHang,
        Kind::MasterKill,
        Kind::MasterHang,
        Kind::ZkLeaderKill,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::KillLeader => "kill-leader",
            Kind::PauseLeader => "pause-leader",
            Kind::Redeploy => "redeploy",
            Kind::RestartPersisted => "restart-persisted",
            Kind::RestartLost => "restart-lost",
            Kind::StorePause => "store-pause",
            Kind::StoreFlush => "store-flush",
            Kind::LinkCut => "link-cut",
            Kind::LinkReset => "link-reset",
            Kind::LinkSlow => "link-slow",
            Kind::LinkHang => "link-hang",
            Kind::Eviction => "eviction",
            Kind::ClockRate => "clock-rate",
            Kind::ClockStep => "clock-step",
            Kind::ReplicaStall => "replica-stall",
            Kind::Double => "double",
            Kind::SentinelFailover => "sentinel-failover",
            Kind::SentinelHang => "sentinel-hang",
            Kind::MasterKill => "master-kill",
            Kind::MasterHang => "master-hang",
            Kind::ZkLeaderKill => "zk-leader-kill",
        }
    }

    // The short run and the example take kinds by name; the mutation check does not.
    #[allow(dead_code)]
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Faults that can lose the lease's last write: two beliefs may overlap, but only for
    /// as long as the old leader takes to learn of it (the checker's data-loss bound).
    pub fn loses_data(self) -> bool {
        matches!(
            self,
            Kind::RestartLost
                | Kind::StoreFlush
                | Kind::MasterKill
                | Kind::MasterHang
                | Kind::SentinelFailover
                | Kind::SentinelHang
        )
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One injected fault. Times are CLOCK_BOOTTIME nanoseconds.
#[derive(Debug, Clone)]
pub struct Fault {
    pub kind: Kind,
    pub start: u64,
    /// When the fault was over (process replaced or resumed, store back, link healed).
    pub end: u64,
    /// Store faults: when a path to a working store existed again (a restarted or resumed
    /// store answered; a promoted master serves the election; after a hang, one ttl for the
    /// hung connection to be found). The leaderless-gap bound runs from here.
    pub store_back: Option<u64>,
    /// Replica stalls: when the replica ran again. Elections that wait for replicas cannot be
    /// granted before; their gap bound runs from here.
    pub replica_back: Option<u64>,
    /// Pauses: the instant just before SIGCONT.
    pub resumed: Option<u64>,
    /// Slowed links: the one-way delay, in nanoseconds. A request can reach the store this
    /// long after its sender stopped believing it leads, and renew (or re-take) the lease.
    pub link_delay: u64,
    /// Store clock faults: how far the store's clock was behind real time at most (ns); a
    /// lease lasts that much longer in real time.
    pub clock_lag: u64,
    /// A candidate's link was cut, reset or slowed: a release or renewal may be held.
    pub link_cut: bool,
    /// The candidate process targeted (its spawn number in the phase).
    pub proc: Option<usize>,
    /// Whether the target led election 0 when the fault began.
    pub hit_leader: bool,
    /// The target was killed (a crash): takeover must land soon after its lease's expiry.
    pub crash: bool,
    /// The target was redeployed: the handover must be a push.
    pub graceful: bool,
    /// Whether data could be lost (the kind's, or a double fault's parts').
    pub loses_data: bool,
    pub detail: String,
}

impl Fault {
    pub fn new(kind: Kind, start: u64) -> Fault {
        Fault {
            kind,
            start,
            end: 0,
            store_back: None,
            replica_back: None,
            resumed: None,
            link_delay: 0,
            clock_lag: 0,
            link_cut: false,
            proc: None,
            hit_leader: false,
            crash: false,
            graceful: false,
            loses_data: kind.loses_data(),
            detail: String::new(),
        }
    }
}
