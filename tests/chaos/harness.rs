//! Runs one seed through three phases, each with its own store, elections, fenced resource
//! keys and history:
//! - standalone: a redis-server with an append-only file, on a wall clock the harness
//!   controls, with one replica; each candidate reaches it through its own proxy;
//! - Sentinel: a master, a replica and three sentinels; candidates resolve through them;
//! - Cluster: 6 nodes; candidates connect directly (nodes announce their own addresses, so
//!   a per-candidate proxy cannot sit in between; Cluster faults hit the node instead).
//!
//! - PostgreSQL and MySQL (MariaDB), on request: one database server, each candidate
//!   through its own proxy; the candidate faults, a database restart (SIGKILL, same data),
//!   and the link faults.
//!
//! Every candidate process runs `elections` elections; election 0 is the one faults aim at
//! ("the leader"), the checker checks each one. Faults come one at a time (a `double` is two
//! at once), at a random moment, from a shuffled bag of kinds drawn with the seed's RNG, so
//! every kind shows up and a seed replays the same schedule (the timing still varies). A
//! phase runs until its time is up and its first bag is empty, so every kind runs at least
//! once per phase.

use std::io::{BufRead, BufReader, Write as _};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use baton_testkit::{
    MariaDbServer, PostgresServer, RedisCluster, RedisSentinel, RedisServer, ZooKeeperEnsemble,
};

use super::candidate::{election_name, CandidateConfig, ENV};
use super::faults::{Fault, Kind};
use super::history::Proc;
use super::proxy::Proxy;
use super::record::{now_ns, parse};
use super::resource::{self, FenceReport};

#[derive(Debug, Clone)]
pub struct Config {
    pub seed: u64,
    /// Length of the standalone phase (faults start until it is over and every kind ran).
    pub standalone: Duration,
    /// Length of the Sentinel phase; zero skips it.
    pub sentinel: Duration,
    /// Length of the Cluster phase; zero skips it.
    pub cluster: Duration,
    /// Length of the ZooKeeper phase (a three-server ensemble); zero skips it. Off unless
    /// asked for (`make chaos-zookeeper` and the long run's `--zookeeper` do).
    pub zookeeper: Duration,
    /// Length of the PostgreSQL phase; zero (the default) skips it.
    pub postgres: Duration,
    /// Length of the MySQL (MariaDB) phase; zero (the default) skips it.
    pub mysql: Duration,
    pub candidates: usize,
    /// Elections per candidate process.
    pub elections: usize,
    /// The elections built with `wait_for_replicas(1, replica_wait)` (standalone phase);
    /// several, so that their replica waits can pile up on one connection.
    pub wait_elections: Vec<usize>,
    pub replica_wait: Duration,
    pub ttl: Duration,
    pub renew: Duration,
    pub retry: Duration,
    /// How often a candidate samples `is_leader()`.
    pub sample: Duration,
    /// How often a leading candidate flushes its last true sample.
    pub tick: Duration,
    /// How long a leader "works" between checking its token and writing with it.
    pub work: Duration,
    /// Allowed leaderless time beyond the lease's expiry (after a store fault: beyond the
    /// store's return).
    pub gap_bound: Duration,
    /// A round trip to the store, as the bounds count it (loopback, a loaded machine).
    pub rtt: Duration,
    /// Scheduling allowance of a loaded 2-core machine: a woken thread may run this late.
    pub sched: Duration,
    /// More allowance in the takeover and handover bounds only (not in any overlap bound):
    /// a whole candidate process may run late on a shared CI machine.
    pub process_sched: Duration,
    /// Only these kinds (default: every kind of each phase).
    pub kinds: Option<Vec<Kind>>,
    /// The pairs a `double` fault draws from: (background, foreground).
    pub doubles: Vec<(Kind, Kind)>,
    /// The `maxmemory-policy` values an eviction fault draws from.
    pub eviction_policies: Vec<&'static str>,
    /// Starts this program in candidate mode (the harness adds the configuration).
    pub launcher: fn() -> Command,
    /// Print each fault as it is injected.
    pub verbose: bool,
}

/// Faults that run in the background of a `double`.
pub const BACKGROUND: [Kind; 5] = [
    Kind::LinkCut,
    Kind::LinkSlow,
    Kind::ClockRate,
    Kind::Eviction,
    Kind::ReplicaStall,
];
/// Faults that hit during a `double`'s background fault.
pub const FOREGROUND: [Kind; 4] = [
    Kind::KillLeader,
    Kind::PauseLeader,
    Kind::Redeploy,
    Kind::RestartPersisted,
];

impl Config {
    /// The settings the short and the long run share.
    pub fn new(seed: u64, launcher: fn() -> Command) -> Config {
        let ttl = Duration::from_secs(1);
        Config {
            seed,
            standalone: Duration::from_secs(30),
            sentinel: Duration::from_secs(12),
            cluster: Duration::from_secs(15),
            zookeeper: Duration::ZERO,
            postgres: Duration::ZERO,
            mysql: Duration::ZERO,
            candidates: 4,
            elections: 20,
            wait_elections: (1..=6).collect(),
            replica_wait: Duration::from_millis(250),
            ttl,
            renew: Duration::from_millis(300),
            retry: ttl / 20,
            sample: Duration::from_micros(100),
            tick: Duration::from_millis(1),
            work: Duration::from_millis(1),
            gap_bound: Duration::from_millis(250),
            rtt: Duration::from_millis(5),
            sched: Duration::from_millis(25),
            process_sched: Duration::ZERO,
            kinds: None,
            doubles: BACKGROUND
                .iter()
                .flat_map(|&b| FOREGROUND.iter().map(move |&f| (b, f)))
                .collect(),
            eviction_policies: vec![
                "volatile-lru",
                "volatile-lfu",
                "volatile-random",
                "volatile-ttl",
            ],
            launcher,
            verbose: false,
        }
    }

    /// The longest two beliefs may overlap after a fault that lost the lease's last write:
    /// the old leader learns of it at its next renewal retry (`retry_interval`), one round
    /// trip for that request and one for the new leader's grant, and one sampling tick.
    pub fn loss_overlap_bound(&self) -> Duration {
        self.retry + 2 * self.rtt + self.tick
    }

    /// The same after a flush, which drops no connection: the old leader learns of it at the
    /// renewal its notification triggers, on a runtime thread busy with every election's
    /// wake-up at once (`sched`).
    pub fn flush_overlap_bound(&self) -> Duration {
        self.loss_overlap_bound() + self.sched
    }

    /// The data-loss overlap bound after a fault of `kind`.
    pub fn overlap_bound(&self, kind: Kind) -> Duration {
        if kind == Kind::StoreFlush {
            self.flush_overlap_bound()
        } else {
            self.loss_overlap_bound()
        }
    }

    /// The latest a follower's grant may land after a dead leader's lease expired: its
    /// jitter (ttl/100, at most 2ms), the store's millisecond rounding, two round trips,
    /// a sample and the scheduling allowance.
    pub fn takeover_bound(&self) -> Duration {
        (self.ttl / 100).min(Duration::from_millis(2))
            + Duration::from_millis(1)
            + 2 * self.rtt
            + self.sample
            + self.sched
            + self.process_sched
    }

    /// The longest a graceful handover may leave the election without a leader: the release
    /// and its notification, the woken follower's acquire, a sample and the allowance.
    pub fn handover_bound(&self) -> Duration {
        3 * self.rtt + self.sample + self.sched + self.process_sched
    }

    fn phase_kinds(&self, all: &[Kind]) -> Vec<Kind> {
        match &self.kinds {
            Some(only) => all.iter().copied().filter(|k| only.contains(k)).collect(),
            None => all.to_vec(),
        }
    }
}

/// The history of one phase, for the checker.
pub struct PhaseResult {
    pub name: String,
    /// How much later than the lease's expiry by baton's clock the store may free it
    /// (nanoseconds): ZooKeeper's session tick; 0 for Redis.
    pub expiry_slack: u64,
    /// The lease is a session's (ZooKeeper): every packet the client sends, its pings too,
    /// keeps it alive, so a crashed holder's lease runs a ttl from the crash, not from its
    /// last renewal.
    pub session_lease: bool,
    /// How much longer than `handover_bound` a graceful handover may take (nanoseconds):
    /// a store without a push (MySQL) hands over at the released lease's expiry.
    pub handover_slack: u64,
    /// How much later than `takeover_bound` a crash takeover may land (nanoseconds): on a SQL
    /// store a process's elections share one connection, and the server runs one session's
    /// statements one after another, so a follower taking over many elections at once grants
    /// them a statement apart.
    pub takeover_slack: u64,
    pub elections: usize,
    pub wait_elections: Vec<usize>,
    pub procs: Vec<Proc>,
    pub faults: Vec<Fault>,
    pub fences: Vec<FenceReport>,
    pub start: u64,
    pub stop: u64,
}

/// Wall-clock seconds, to line the verbose fault lines up with the candidates' logs (at the
/// fault's start).
fn unix_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Writes a progress line to stderr (not captured by the test harness, so CI shows it).
pub fn say(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}

pub fn run(cfg: &Config) -> Vec<PhaseResult> {
    let mut rng = fastrand::Rng::with_seed(cfg.seed);
    let resource = RedisServer::start();
    let mut phases = Vec::new();
    for (which, length, all) in [
        (Which::Standalone, cfg.standalone, &Kind::STANDALONE[..]),
        (Which::Sentinel, cfg.sentinel, &Kind::SENTINEL[..]),
        (Which::Cluster, cfg.cluster, &Kind::CLUSTER[..]),
        (Which::ZooKeeper, cfg.zookeeper, &Kind::ZOOKEEPER[..]),
        (Which::Postgres, cfg.postgres, &Kind::POSTGRES[..]),
        (Which::MySql, cfg.mysql, &Kind::MYSQL[..]),
    ] {
        let kinds = cfg.phase_kinds(all);
        if length.is_zero() || kinds.is_empty() {
            continue;
        }
        phases.push(run_phase(cfg, &mut rng, &resource, which, length, &kinds));
    }
    phases
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Which {
    Standalone,
    Sentinel,
    Cluster,
    ZooKeeper,
    Postgres,
    MySql,
}

enum Store {
    Single {
        server: RedisServer,
        replica: RedisServer,
    },
    Sentinel(RedisSentinel),
    Cluster(RedisCluster),
    ZooKeeper(ZooKeeperEnsemble),
    Postgres(PostgresServer),
    MySql(MariaDbServer),
}

impl Store {
    fn url(&self) -> String {
        match self {
            Store::Single { server, .. } => server.url(),
            Store::Sentinel(s) => s.url(),
            Store::Cluster(c) => c.url(),
            Store::ZooKeeper(z) => z.url(),
            Store::Postgres(p) => p.url(),
            Store::MySql(m) => m.url(),
        }
    }

    /// The port a per-candidate proxy forwards to, for stores behind one.
    fn proxied_port(&self) -> Option<u16> {
        match self {
            Store::Single { server, .. } => Some(server.port()),
            Store::Postgres(p) => Some(p.port()),
            Store::MySql(m) => Some(m.port()),
            _ => None,
        }
    }

    /// The store's URL through `proxy`.
    fn url_via(&self, proxy: &Proxy) -> String {
        match (self, self.proxied_port()) {
            (Store::Single { .. }, _) | (_, None) => proxy.url(),
            (_, Some(port)) => self.url().replace(
                &format!("127.0.0.1:{port}"),
                &format!("127.0.0.1:{}", proxy.port()),
            ),
        }
    }
}

struct Slot {
    proxy: Option<Proxy>,
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    spawn: usize,
}

struct Phase<'a> {
    cfg: &'a Config,
    name: String,
    which: Which,
    store: Store,
    resource_url: String,
    slots: Vec<Slot>,
    spawns: usize,
    procs: Arc<Mutex<Vec<Proc>>>,
    readers: Vec<JoinHandle<()>>,
    faults: Vec<Fault>,
    epoch: u64,
    /// The master the sentinels named after the last Sentinel fault.
    sentinel_master: Option<u16>,
    /// A `replica-stall` runs in the background (of a `double`): the replica is stopped, so a
    /// store restart inside it cannot wait for the replica's sync.
    replica_stalled: bool,
    /// What a create burst and a release burst cost on the ZooKeeper ensemble, the worse of
    /// the phase's start and end (zero elsewhere).
    zk_bursts: (Duration, Duration),
    /// The slowest graceful handover of every election at once on the ZooKeeper ensemble,
    /// played with the phase's followers (zero elsewhere).
    zk_handover: Duration,
}

fn run_phase(
    cfg: &Config,
    rng: &mut fastrand::Rng,
    resource: &RedisServer,
    which: Which,
    length: Duration,
    kinds: &[Kind],
) -> PhaseResult {
    let name = match which {
        Which::Standalone => "chaos-standalone",
        Which::Sentinel => "chaos-sentinel",
        Which::Cluster => "chaos-cluster",
        Which::ZooKeeper => "chaos-zookeeper",
        Which::Postgres => "chaos-postgres",
        Which::MySql => "chaos-mysql",
    };
    let store = match which {
        Which::ZooKeeper => Store::ZooKeeper(ZooKeeperEnsemble::start()),
        Which::Postgres => Store::Postgres(PostgresServer::start()),
        Which::MySql => Store::MySql(MariaDbServer::start()),
        Which::Cluster => {
            let c = RedisCluster::start();
            for n in &c.nodes {
                fast_sync(n);
            }
            wait_for(Duration::from_secs(60), "replicas to sync", || {
                c.nodes
                    .iter()
                    .map(|n| n.cmd(&["INFO", "replication"]))
                    .filter(|i| i.contains("role:slave"))
                    .all(|i| i.contains("master_link_status:up"))
                    .then_some(())
            });
            Store::Cluster(c)
        }
        Which::Sentinel => {
            let s = RedisSentinel::start();
            fast_sync(&s.master);
            fast_sync(&s.replica);
            // The fixture's 500ms makes a loaded machine's slow master look dead: a failover
            // nobody asked for, while clients of the old master still write there (split
            // brain). 2s keeps failovers the harness's own.
            for n in &s.sentinels {
                n.cmd(&[
                    "SENTINEL",
                    "SET",
                    "mymaster",
                    "down-after-milliseconds",
                    "2000",
                ]);
            }
            Store::Sentinel(s)
        }
        Which::Standalone => {
            let server =
                RedisServer::start_with_clock(&["--appendonly", "yes", "--appendfsync", "always"]);
            fast_sync(&server);
            let replica =
                RedisServer::start_with(&["--replicaof", "127.0.0.1", &server.port().to_string()]);
            let s = Store::Single { server, replica };
            wait_replica_up(&s);
            s
        }
    };
    let mut phase = Phase {
        cfg,
        name: name.to_string(),
        which,
        slots: Vec::new(),
        spawns: 0,
        procs: Arc::default(),
        readers: Vec::new(),
        faults: Vec::new(),
        resource_url: resource.url(),
        epoch: now_ns(),
        store,
        sentinel_master: None,
        replica_stalled: false,
        zk_bursts: (Duration::ZERO, Duration::ZERO),
        zk_handover: Duration::ZERO,
    };
    for i in 0..cfg.candidates {
        let proxy = phase.store.proxied_port().map(Proxy::start);
        phase.slots.push(Slot {
            proxy,
            child: None,
            stdin: None,
            spawn: 0,
        });
        phase.spawn(i);
    }
    if phase.wait_leader(0, Duration::from_secs(30)).is_none() {
        say(&format!("[{name}] no leader within 30s of the start"));
    }
    if which == Which::ZooKeeper {
        // The first fault must not meet the start's own writes (each process's session, its
        // elections' creates and watches) in the commit pipeline, nor a cold ensemble: the
        // bounds come from what the running fleet's ensemble costs.
        for el in 1..cfg.elections {
            phase.wait_leader(el, Duration::from_secs(10));
        }
    }
    phase.measure_commit();
    let end = Instant::now() + length;
    let mut bag: Vec<Kind> = Vec::new();
    let mut bags = 0;
    loop {
        if bag.is_empty() {
            if bags > 0 && Instant::now() >= end {
                break;
            }
            bags += 1;
            bag = kinds.to_vec();
            rng.shuffle(&mut bag);
        }
        let kind = bag.pop().expect("a fault kind");
        // Faults land at a random moment of a leader's term.
        thread::sleep(cfg.ttl.mul_f64(rng.f64()));
        let fault = phase.inject(kind, rng);
        if cfg.verbose {
            say(&format!(
                "[{name} {:7.2}s, unix {:.3}] #{:<3} {:<17} {}",
                (fault.start - phase.epoch) as f64 / 1e9,
                unix_secs() - (now_ns() - fault.start) as f64 / 1e9,
                phase.faults.len() + 1,
                kind.name(),
                fault.detail
            ));
        }
        phase.faults.push(fault.clone());
        // Let the checker tell one fault's effects from the next one's.
        if fault.loses_data {
            let until = fault.store_back.unwrap_or(fault.end) + 3 * cfg.ttl.as_nanos() as u64;
            thread::sleep(Duration::from_nanos(until.saturating_sub(now_ns())));
        }
        if phase
            .wait_leader(0, 3 * cfg.ttl + Duration::from_secs(5))
            .is_none()
        {
            say(&format!("[{name}] no leader after fault {kind}"));
        }
    }
    phase.finish()
}

fn ms(rng: &mut fastrand::Rng, lo: u64, hi: u64) -> Duration {
    Duration::from_millis(rng.u64(lo..hi))
}

/// A background fault of a `double`, running until `stop`.
enum Background {
    Link(usize),
    Clock(i64),
    Eviction(Filler),
    Replica,
}

impl Phase<'_> {
    fn spawn(&mut self, slot: usize) {
        let store = match &self.slots[slot].proxy {
            Some(p) => self.store.url_via(p),
            None => self.store.url(),
        };
        let wait_replicas = match self.which {
            Which::Standalone => self.cfg.wait_elections.clone(),
            _ => Vec::new(),
        };
        let cc = CandidateConfig {
            store,
            resource: self.resource_url.clone(),
            name: self.name.clone(),
            elections: self.cfg.elections,
            wait_replicas,
            replica_wait_ms: self.cfg.replica_wait.as_millis() as u64,
            ttl_ms: self.cfg.ttl.as_millis() as u64,
            renew_ms: self.cfg.renew.as_millis() as u64,
            retry_ms: self.cfg.retry.as_millis() as u64,
            sample_us: self.cfg.sample.as_micros() as u64,
            tick_us: self.cfg.tick.as_micros() as u64,
            work_us: self.cfg.work.as_micros() as u64,
        };
        let mut cmd = (self.cfg.launcher)();
        cmd.env(ENV, serde_json::to_string(&cc).expect("config serializes"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = cmd.spawn().expect("start a candidate process");
        let out = child.stdout.take().expect("candidate stdout");
        let spawn = self.spawns;
        self.spawns += 1;
        let base = {
            let mut procs = self.procs.lock().unwrap();
            let base = procs.len();
            for el in 0..self.cfg.elections {
                procs.push(Proc::new(child.id(), spawn, el));
            }
            base
        };
        let n = self.cfg.elections;
        let procs = self.procs.clone();
        self.readers.push(thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                let Some(rec) = parse(&line) else { continue };
                let mut procs = procs.lock().unwrap();
                match rec.election() {
                    Some(el) if el < n => procs[base + el].ingest(base + el, rec),
                    Some(_) => {}
                    None => {
                        for el in 0..n {
                            procs[base + el].ingest(base + el, rec.clone());
                        }
                    }
                }
            }
        }));
        self.slots[slot].stdin = child.stdin.take();
        self.slots[slot].child = Some(child);
        self.slots[slot].spawn = spawn;
    }

    fn pid(&self, slot: usize) -> i32 {
        self.slots[slot].child.as_ref().map_or(0, |c| c.id() as i32)
    }

    fn signal(&self, slot: usize, sig: i32) {
        let pid = self.pid(slot);
        if pid > 0 {
            // SAFETY: kill(2) on our own child, which we have not reaped yet.
            unsafe { libc::kill(pid, sig) };
        }
    }

    /// SIGKILLs the slot's process and returns the instant just before.
    fn kill(&mut self, slot: usize) -> u64 {
        let t = now_ns();
        self.signal(slot, libc::SIGKILL);
        if let Some(mut c) = self.slots[slot].child.take() {
            let _ = c.wait();
        }
        self.slots[slot].stdin = None;
        let spawn = self.slots[slot].spawn;
        for p in self.procs.lock().unwrap().iter_mut() {
            if p.spawn == spawn {
                p.killed = Some(t);
            }
        }
        t
    }

    /// Asks the slot's process to close its elections and exit; waits for it.
    fn redeploy(&mut self, slot: usize) -> bool {
        let sent = self.slots[slot]
            .stdin
            .as_mut()
            .is_some_and(|s| s.write_all(b"close\n").and_then(|_| s.flush()).is_ok());
        let until = Instant::now() + Duration::from_secs(15);
        let exited = sent
            && loop {
                match self.slots[slot].child.as_mut().map(|c| c.try_wait()) {
                    Some(Ok(Some(_))) | None => break true,
                    _ if Instant::now() >= until => break false,
                    _ => thread::sleep(Duration::from_millis(2)),
                }
            };
        if exited {
            self.slots[slot].child = None;
            self.slots[slot].stdin = None;
        } else {
            self.kill(slot);
        }
        exited
    }

    fn leader(&self, el: usize) -> Option<usize> {
        let procs = self.procs.lock().unwrap();
        (0..self.slots.len()).find(|&s| {
            self.slots[s].child.is_some()
                && procs
                    .iter()
                    .any(|p| p.spawn == self.slots[s].spawn && p.el == el && p.leading.is_some())
        })
    }

    fn wait_leader(&self, el: usize, timeout: Duration) -> Option<usize> {
        let until = Instant::now() + timeout;
        loop {
            if let Some(s) = self.leader(el) {
                return Some(s);
            }
            if Instant::now() >= until {
                return None;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Election `el`'s leader's slot, or with probability `1 - p` (or when nobody leads) a
    /// random one.
    fn target(&self, rng: &mut fastrand::Rng, p: f64, el: usize) -> (usize, bool) {
        // Draw the same numbers whatever happens, so that a seed replays the same schedule.
        let (pick_leader, other) = (rng.f64() < p, rng.usize(..self.slots.len()));
        match self.leader(el) {
            Some(s) if pick_leader => (s, true),
            leader => (other, leader == Some(other)),
        }
    }

    fn aim(&self, fault: &mut Fault, rng: &mut fastrand::Rng, p: f64, el: usize) -> usize {
        let (s, hit) = self.target(rng, p, el);
        fault.proc = Some(self.slots[s].spawn);
        fault.hit_leader = hit;
        s
    }

    fn inject(&mut self, kind: Kind, rng: &mut fastrand::Rng) -> Fault {
        let mut fault = Fault::new(kind, now_ns());
        if kind == Kind::Double {
            let (bg, fg) = self.cfg.doubles[rng.usize(..self.cfg.doubles.len())];
            let hold = self.cfg.ttl + ms(rng, 200, 1500);
            let started = Instant::now();
            let background = self.start_background(bg, &mut fault, rng);
            let first = fault.detail.clone();
            self.run_fault(fg, &mut fault, rng);
            thread::sleep(hold.saturating_sub(started.elapsed()));
            self.stop_background(background, &mut fault);
            fault.detail = format!("{bg} ({first}) during {fg} ({})", fault.detail);
        } else {
            self.run_fault(kind, &mut fault, rng);
        }
        fault.end = now_ns();
        fault
    }

    fn start_background(
        &mut self,
        kind: Kind,
        fault: &mut Fault,
        rng: &mut fastrand::Rng,
    ) -> Background {
        match kind {
            Kind::LinkCut | Kind::LinkSlow => {
                let s = self.aim(fault, rng, 0.75, 0);
                let proxy = self.slots[s].proxy.as_ref().expect("a proxied link");
                fault.link_cut = true;
                if kind == Kind::LinkCut {
                    proxy.set_cut(true);
                    fault.detail = format!("slot {s} cut");
                } else {
                    let delay = ms(rng, 20, 350);
                    fault.link_delay = delay.as_nanos() as u64;
                    proxy.set_delay(delay);
                    fault.detail = format!("slot {s}, {delay:?} each way");
                }
                Background::Link(s)
            }
            Kind::ClockRate => {
                let rate = 0.95 + 0.058 * rng.f64();
                let before = self.clock().offset_ns();
                self.clock().set_rate(rate);
                fault.detail = format!("store clock at {rate:.4}x");
                Background::Clock(before)
            }
            Kind::Eviction => {
                let policy =
                    self.cfg.eviction_policies[rng.usize(..self.cfg.eviction_policies.len())];
                fault.detail = format!("maxmemory-policy {policy}");
                Background::Eviction(Filler::start(self.single(), policy))
            }
            Kind::ReplicaStall => {
                let Store::Single { replica, .. } = &self.store else {
                    unreachable!("replica stalls run in the standalone phase")
                };
                replica.pause();
                self.replica_stalled = true;
                fault.detail = "replica stopped".into();
                Background::Replica
            }
            other => unreachable!("{other} is not a background fault"),
        }
    }

    fn stop_background(&mut self, b: Background, fault: &mut Fault) {
        match b {
            Background::Link(s) => {
                if let Some(p) = self.slots[s].proxy.as_ref() {
                    p.heal();
                }
            }
            Background::Clock(before) => {
                let clock = self.clock();
                let lag = before - clock.offset_ns();
                fault.clock_lag = fault.clock_lag.max(lag.max(0) as u64);
                clock.set_rate(1.0);
            }
            Background::Eviction(f) => {
                let evicted = f.stop(self.single());
                fault.detail.push_str(&format!(", {evicted} keys evicted"));
            }
            Background::Replica => {
                let Store::Single { replica, .. } = &self.store else {
                    unreachable!()
                };
                replica.resume();
                self.replica_stalled = false;
                wait_replica_up(&self.store);
                fault.replica_back = Some(now_ns());
            }
        }
    }

    fn single(&self) -> &RedisServer {
        match &self.store {
            Store::Single { server, .. } => server,
            _ => unreachable!("a standalone store"),
        }
    }

    fn clock(&self) -> &baton_testkit::StoreClock {
        self.single()
            .clock()
            .expect("the store runs on a controlled clock")
    }

    /// Runs one fault to its end, filling in what the checker needs.
    fn run_fault(&mut self, kind: Kind, fault: &mut Fault, rng: &mut fastrand::Rng) {
        let ttl = self.cfg.ttl;
        match kind {
            Kind::KillLeader => {
                let s = self.aim(fault, rng, 1.0, 0);
                let pid = self.pid(s);
                fault.crash = true;
                let t = self.kill(s);
                if fault.start == 0 || fault.kind == Kind::KillLeader {
                    fault.start = t;
                }
                let wait = ms(rng, 0, 500);
                thread::sleep(wait);
                self.spawn(s);
                fault.detail = format!("slot {s} pid {pid}, replaced after {wait:?}");
            }
            Kind::PauseLeader => {
                let s = self.aim(fault, rng, 1.0, 0);
                let pause = ttl + ms(rng, 300, 1200);
                self.signal(s, libc::SIGSTOP);
                thread::sleep(pause);
                fault.resumed = Some(now_ns());
                self.signal(s, libc::SIGCONT);
                fault.detail = format!("slot {s} pid {} for {pause:?}", self.pid(s));
            }
            Kind::Redeploy => {
                let s = self.aim(fault, rng, 1.0, 0);
                let pid = self.pid(s);
                fault.graceful = true;
                let clean = self.redeploy(s);
                let wait = ms(rng, 0, 300);
                thread::sleep(wait);
                self.spawn(s);
                fault.detail = format!(
                    "slot {s} pid {pid} {}, replaced after {wait:?}",
                    if clean {
                        "closed"
                    } else {
                        "did not exit; killed"
                    }
                );
            }
            Kind::RestartPersisted if matches!(self.which, Which::Postgres | Which::MySql) => {
                let down = ms(rng, 0, 1500);
                match &mut self.store {
                    Store::Postgres(p) => p.kill(),
                    Store::MySql(m) => m.kill(),
                    _ => unreachable!(),
                }
                thread::sleep(down);
                // restart() starts it again on the same port and data (crash recovery).
                match &mut self.store {
                    Store::Postgres(p) => p.restart(),
                    Store::MySql(m) => m.restart(),
                    _ => unreachable!(),
                }
                fault.store_back = Some(now_ns());
                fault.detail = format!("killed, down for {down:?}");
            }
            Kind::RestartPersisted | Kind::RestartLost => {
                let down = ms(rng, 0, 1500);
                let Store::Single { server, .. } = &mut self.store else {
                    unreachable!("store restarts run in the standalone phase")
                };
                server.kill();
                if kind == Kind::RestartLost {
                    let _ = std::fs::remove_dir_all(server.dir().join("appendonlydir"));
                    let _ = std::fs::remove_file(server.dir().join("dump.rdb"));
                }
                thread::sleep(down);
                server.restart();
                fast_sync(server);
                fault.store_back = Some(now_ns());
                if !self.replica_stalled {
                    wait_replica_up(&self.store);
                    fault.replica_back = Some(now_ns());
                }
                fault.detail = format!("down for {down:?}");
            }
            Kind::StoreFlush => {
                // One transaction: every notification goes out with the flush, so no follower
                // can find its lease gone before its leader is told.
                let url = self.single().url();
                let mut flush = redis::pipe();
                flush.atomic().cmd("FLUSHALL").ignore();
                for el in 0..self.cfg.elections {
                    let channel = format!("baton:{{{}}}:released", election_name(&self.name, el));
                    flush.cmd("PUBLISH").arg(channel).arg("flushed").ignore();
                }
                let flushed: redis::RedisResult<()> = redis::Client::open(url)
                    .and_then(|c| c.get_connection())
                    .and_then(|mut conn| flush.query(&mut conn));
                flushed.expect("FLUSHALL and the notifications");
                fault.store_back = Some(now_ns());
                // Let the effect land before the next fault.
                thread::sleep(ttl);
                fault.detail = "FLUSHALL, then a notification on every election's channel".into();
            }
            Kind::StorePause if self.which == Which::Postgres => {
                let stop = ms(rng, 300, 2500);
                let Store::Postgres(server) = &self.store else {
                    unreachable!()
                };
                server.pause();
                thread::sleep(stop);
                server.resume();
                fault.store_back = Some(now_ns());
                fault.detail = format!("stopped for {stop:?}");
            }
            Kind::StorePause => {
                let stop = ms(rng, 300, 2500);
                let server = self.single();
                server.pause();
                thread::sleep(stop);
                server.resume();
                fault.store_back = Some(now_ns());
                fault.detail = format!("stopped for {stop:?}");
            }
            Kind::LinkCut => {
                let s = self.aim(fault, rng, 0.75, 0);
                let cut = ttl + ms(rng, 200, 1500);
                fault.link_cut = true;
                let proxy = self.slots[s].proxy.as_ref().expect("a proxied link");
                proxy.set_cut(true);
                thread::sleep(cut);
                proxy.heal();
                fault.detail = format!("slot {s} for {cut:?}");
            }
            Kind::LinkReset => {
                let s = self.aim(fault, rng, 0.75, 0);
                let down = ms(rng, 100, 2000);
                fault.link_cut = true;
                let proxy = self.slots[s].proxy.as_ref().expect("a proxied link");
                proxy.reset(true);
                thread::sleep(down);
                proxy.heal();
                fault.detail = format!("slot {s} for {down:?}");
            }
            Kind::LinkSlow => {
                let s = self.aim(fault, rng, 0.75, 0);
                let delay = ms(rng, 20, 350);
                let slow = ms(rng, 1000, 3000);
                let cut = rng.bool().then(|| ttl + ms(rng, 200, 1000));
                fault.link_delay = delay.as_nanos() as u64;
                fault.link_cut = true;
                let proxy = self.slots[s].proxy.as_ref().expect("a proxied link");
                proxy.set_delay(delay);
                thread::sleep(slow);
                if let Some(cut) = cut {
                    proxy.set_cut(true);
                    thread::sleep(cut);
                }
                proxy.heal();
                fault.detail = match cut {
                    Some(cut) => {
                        format!("slot {s}, {delay:?} each way for {slow:?}, then cut for {cut:?}")
                    }
                    None => format!("slot {s}, {delay:?} each way for {slow:?}"),
                };
            }
            Kind::LinkHang => {
                let hung: usize = self
                    .slots
                    .iter()
                    .filter_map(|s| s.proxy.as_ref())
                    .map(Proxy::hang)
                    .sum();
                // A silent connection must be found within about a ttl; then a new one works.
                fault.store_back = Some(fault.start + ttl.as_nanos() as u64);
                // Let the leader's deadline pass before the next fault, so the effect is
                // this fault's.
                thread::sleep(2 * ttl);
                fault.detail = format!("{hung} connections hung");
            }
            Kind::Eviction => {
                let policy =
                    self.cfg.eviction_policies[rng.usize(..self.cfg.eviction_policies.len())];
                let fill = ms(rng, 1000, 3000);
                let filler = Filler::start(self.single(), policy);
                thread::sleep(fill);
                let evicted = filler.stop(self.single());
                fault.detail =
                    format!("maxmemory-policy {policy} for {fill:?}, {evicted} keys evicted");
            }
            Kind::ClockRate => {
                let rate = 0.95 + 0.058 * rng.f64();
                let span = ms(rng, 1000, 3000);
                let clock = self.clock();
                let before = clock.offset_ns();
                clock.set_rate(rate);
                thread::sleep(span);
                let lag = before - clock.offset_ns();
                clock.set_rate(1.0);
                fault.clock_lag = lag.max(0) as u64;
                fault.detail = format!("store clock at {rate:.4}x for {span:?}");
            }
            Kind::ClockStep => {
                // Forward less than ttl - renew_interval (a lease still outlives its next
                // renewal), or back up to 2s.
                let forward = rng.bool();
                let step = if forward {
                    ms(rng, 50, 500)
                } else {
                    ms(rng, 50, 2000)
                };
                let ns = step.as_nanos() as i64;
                self.clock().step(if forward { ns } else { -ns });
                if !forward {
                    fault.clock_lag = ns as u64;
                }
                // A forward step shortens every lease renewed before it: it is safe only while
                // renewals arrive on time, so no other fault may start until those leases are
                // gone (the long run once slowed a link 140ms after a step).
                thread::sleep(2 * ttl);
                fault.detail = format!(
                    "store clock {} {step:?}",
                    if forward { "forward" } else { "back" }
                );
            }
            Kind::ReplicaStall => {
                let el = self.cfg.wait_elections.first().copied().unwrap_or(0);
                let stall = ttl + ms(rng, 500, 2000);
                let Store::Single { replica, .. } = &self.store else {
                    unreachable!("replica stalls run in the standalone phase")
                };
                replica.pause();
                // Its followers now try grants that WAIT for the stopped replica.
                let (s, hit) = self.target(rng, 1.0, el);
                fault.proc = Some(self.slots[s].spawn);
                fault.hit_leader = hit;
                fault.crash = true;
                self.kill(s);
                self.spawn(s);
                thread::sleep(stall);
                let Store::Single { replica, .. } = &self.store else {
                    unreachable!()
                };
                replica.resume();
                fault.replica_back = Some(now_ns());
                fault.detail = format!("for {stall:?}; killed election {el}'s leader (slot {s})");
            }
            Kind::SentinelFailover | Kind::SentinelHang => {
                let Store::Sentinel(s) = &mut self.store else {
                    unreachable!("sentinel faults run in the Sentinel phase")
                };
                let old = s.master_port();
                if self.sentinel_master.is_some_and(|m| m != old) {
                    say(&format!(
                        "[{}] warning: the sentinels failed over on their own (master {} -> {old}); overlaps since may be a Sentinel split brain",
                        self.name,
                        self.sentinel_master.unwrap_or(0)
                    ));
                }
                let (dead, alive) = if s.master.port() == old {
                    (&mut s.master, &mut s.replica)
                } else {
                    (&mut s.replica, &mut s.master)
                };
                let hang = kind == Kind::SentinelHang;
                if hang {
                    dead.pause();
                } else {
                    dead.kill();
                }
                let new = alive.port();
                let sentinels = &s.sentinels;
                let names = |port: u16| {
                    sentinels.iter().all(|n| {
                        let reply = n.cmd(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"]);
                        reply
                            .lines()
                            .nth(1)
                            .and_then(|p| p.trim().parse::<u16>().ok())
                            == Some(port)
                    })
                };
                // Every sentinel, not just one: a new candidate may ask any of them.
                wait_for(
                    Duration::from_secs(60),
                    "the sentinels to promote the replica",
                    || (names(new) && alive.cmd(&["ROLE"]).starts_with("master")).then_some(()),
                );
                let promoted = now_ns();
                let ttl_ns = ttl.as_nanos() as u64;
                fault.store_back = Some(if hang {
                    promoted.max(fault.start + ttl_ns)
                } else {
                    promoted
                });
                if hang {
                    // Hung, not dead: clients must give up on it themselves.
                    let until = fault.store_back.unwrap() + 2 * ttl_ns;
                    thread::sleep(Duration::from_nanos(until.saturating_sub(now_ns())));
                    dead.resume();
                    dead.kill();
                }
                dead.restart_as_replica_of(new);
                fast_sync(dead);
                wait_for(Duration::from_secs(60), "the old master to resync", || {
                    let info = dead.cmd(&["INFO", "replication"]);
                    info.contains("master_link_status:up").then_some(())
                });
                let dead_port = dead.port().to_string();
                wait_for(
                    Duration::from_secs(60),
                    "the sentinels to list the old master as a replica",
                    || {
                        (names(new)
                            && sentinels.iter().all(|n| {
                                let replicas = n.cmd(&["SENTINEL", "REPLICAS", "mymaster"]);
                                replicas.contains(&dead_port) && !replicas.contains("s_down")
                            }))
                        .then_some(())
                    },
                );
                fault.detail = format!(
                    "master {old} {}, {new} promoted after {:?}",
                    if hang { "stopped" } else { "killed" },
                    Duration::from_nanos(promoted - fault.start)
                );
                self.sentinel_master = Some(new);
            }
            Kind::MasterKill | Kind::MasterHang => {
                let key = format!("baton:{{{}}}:lease", election_name(&self.name, 0));
                let Store::Cluster(cluster) = &mut self.store else {
                    unreachable!("master faults run in the Cluster phase")
                };
                let slot = keyslot(cluster, &key);
                let i = master_of(cluster, slot).expect("a master serves the election");
                let hang = kind == Kind::MasterHang;
                if hang {
                    cluster.nodes[i].pause();
                } else {
                    cluster.nodes[i].kill();
                }
                let j = wait_for(Duration::from_secs(60), "a replica to be promoted", || {
                    master_of_except(cluster, slot, i).filter(|&j| {
                        cluster.nodes[j]
                            .cmd(&["CLUSTER", "INFO"])
                            .contains("state:ok")
                    })
                });
                let promoted = now_ns();
                let ttl_ns = ttl.as_nanos() as u64;
                fault.store_back = Some(if hang {
                    promoted.max(fault.start + ttl_ns)
                } else {
                    promoted
                });
                if hang {
                    let until = fault.store_back.unwrap() + 2 * ttl_ns;
                    thread::sleep(Duration::from_nanos(until.saturating_sub(now_ns())));
                    cluster.nodes[i].resume();
                    cluster.nodes[i].kill();
                }
                // Bring the old master back as a replica, in sync, before the next fault.
                cluster.nodes[i].restart();
                fast_sync(&cluster.nodes[i]);
                wait_for(Duration::from_secs(60), "the old master to resync", || {
                    let info = cluster.nodes[i].cmd(&["INFO", "replication"]);
                    (info.contains("role:slave") && info.contains("master_link_status:up"))
                        .then_some(())
                });
                cluster.wait_until_ok();
                fault.detail = format!(
                    "node {i} (port {}) {}, node {j} promoted after {:?}",
                    cluster.nodes[i].port(),
                    if hang { "stopped" } else { "killed" },
                    Duration::from_nanos(promoted - fault.start)
                );
            }
            Kind::ZkLeaderKill => {
                let Store::ZooKeeper(zk) = &mut self.store else {
                    unreachable!("ensemble faults run in the ZooKeeper phase")
                };
                let old = zk.wait_for_leader();
                zk.servers[old].kill();
                let new = zk.wait_for_leader();
                // Sessions move to a live server once a quorum serves again.
                fault.store_back = Some(now_ns());
                let down = ms(rng, 0, 1000);
                thread::sleep(down);
                zk.servers[old].restart();
                zk.wait_for_leader();
                fault.detail = format!(
                    "server {old} killed, server {new} leads after {:?}, back after {down:?}",
                    Duration::from_nanos(fault.store_back.unwrap() - fault.start)
                );
            }
            Kind::Double => unreachable!("a double fault is two others"),
        }
    }

    /// 4ms a statement for each election of a process (an acquire's round trip and commit on
    /// an idle 2-core machine is 1-3ms; a quiet run saw takeovers up to 79ms past expiry on
    /// MariaDB, 54ms on PostgreSQL, with 20 elections a process), twice: a process's
    /// statements run one after another on the server, and a store lease counts from the
    /// moment the server runs the statement, not from its send (which the checker's expiry
    /// counts from). So the dead leader's renewals, sent together for elections it took over
    /// together, set expiries up to a statement per election late, and the follower's
    /// acquires then queue the same way (one PostgreSQL takeover landed 128ms past expiry).
    fn sql_takeover_slack(&self) -> u64 {
        match self.which {
            Which::Postgres | Which::MySql => 2 * self.sql_queue(),
            _ => 0,
        }
    }

    /// One statement for each election of a process: how long the last of a process's
    /// statements sent together waits behind the others on the server.
    fn sql_queue(&self) -> u64 {
        self.cfg.elections as u64 * 4_000_000
    }

    /// Times the ensemble's writes (ZooKeeper only): once every election has its first
    /// leader, and again at the end, when the run's load may have slowed the servers' fsyncs.
    fn measure_commit(&mut self) {
        if let Store::ZooKeeper(zk) = &self.store {
            let hosts = zk.url().trim_start_matches("zookeeper://").to_string();
            let (create, delete) = super::commit::zookeeper_bursts(&hosts, self.cfg.elections);
            self.zk_bursts = (self.zk_bursts.0.max(create), self.zk_bursts.1.max(delete));
            let handover = super::commit::zookeeper_handover(
                &hosts,
                self.cfg.elections,
                self.cfg.candidates - 1,
            );
            self.zk_handover = self.zk_handover.max(handover);
            say(&format!(
                "[{}] ensemble probe: {} creates {create:?}, deletes {delete:?}; a handover of every election to {} followers {handover:?}",
                self.name,
                self.cfg.elections,
                self.cfg.candidates - 1
            ));
        }
    }

    fn finish(mut self) -> PhaseResult {
        let stop = now_ns();
        self.measure_commit();
        for s in 0..self.slots.len() {
            self.signal(s, libc::SIGCONT);
            self.kill(s);
        }
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        let fences = (0..self.cfg.elections)
            .map(|el| {
                resource::read(&self.resource_url, &election_name(&self.name, el)).unwrap_or_else(
                    |e| {
                        say(&format!("could not read the fenced resource: {e}"));
                        FenceReport::default()
                    },
                )
            })
            .collect();
        let procs = std::mem::take(&mut *self.procs.lock().unwrap());
        let sql_slack = self.sql_takeover_slack();
        let sql_queue = self.sql_queue();
        PhaseResult {
            name: self.name,
            expiry_slack: match self.which {
                // The server expires sessions on its tick, up to one late, and counts from the
                // last request it heard, half a round trip after the client's send.
                Which::ZooKeeper => baton_testkit::zookeeper::TICK_MS * 1_000_000,
                _ => 0,
            },
            session_lease: matches!(self.which, Which::ZooKeeper),
            handover_slack: match self.which {
                // No push: the followers wake at the released lease's expiry, at most a ttl
                // after the release, and take over as after a crash.
                Which::MySql => {
                    (self.cfg.ttl + self.cfg.takeover_bound()).as_nanos() as u64 + sql_slack
                }
                // A redeployed process releases every election it leads at once, and each
                // follower's acquires for them queue on the server as after a crash (a loaded
                // run saw 76-120ms for one process's twenty elections).
                Which::Postgres => sql_queue,
                // A redeploy's releases, and every woken follower's creates, queue in the
                // ensemble's commit pipeline: the probe plays that handover, the bursts bound
                // each session's share.
                Which::ZooKeeper => self
                    .zk_handover
                    .max(self.zk_bursts.0 + self.zk_bursts.1)
                    .as_nanos() as u64,
                _ => 0,
            },
            // An expired session frees its leases in one write that deletes them all, and the
            // woken followers' creates queue: bounded by the same two bursts.
            takeover_slack: sql_slack + (self.zk_bursts.0 + self.zk_bursts.1).as_nanos() as u64,
            elections: self.cfg.elections,
            wait_elections: match self.which {
                Which::Standalone => self.cfg.wait_elections.clone(),
                _ => Vec::new(),
            },
            procs,
            faults: self.faults,
            fences,
            start: self.epoch,
            stop,
        }
    }
}

/// Eviction pressure: `maxmemory` just above what the store holds, a `volatile-*` policy,
/// and volatile junk keys (in database 1) written until stopped.
struct Filler {
    stop: Arc<AtomicBool>,
    written: Arc<AtomicU64>,
    thread: JoinHandle<()>,
    evicted_before: u64,
}

fn info_field(server: &RedisServer, section: &str, field: &str) -> u64 {
    server
        .cmd(&["INFO", section])
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

impl Filler {
    fn start(server: &RedisServer, policy: &str) -> Filler {
        let used = info_field(server, "memory", "used_memory");
        let limit = (used + 2 * 1024 * 1024).to_string();
        server.cmd(&["CONFIG", "SET", "maxmemory-policy", policy]);
        server.cmd(&["CONFIG", "SET", "maxmemory", &limit]);
        let evicted_before = info_field(server, "stats", "evicted_keys");
        let stop = Arc::new(AtomicBool::new(false));
        let written = Arc::new(AtomicU64::new(0));
        let url = format!("{}/1", server.url());
        let (s, w) = (stop.clone(), written.clone());
        let thread = thread::spawn(move || {
            let Ok(mut conn) = redis::Client::open(url).and_then(|c| c.get_connection()) else {
                return;
            };
            let value = "x".repeat(200);
            let mut n = 0u64;
            while !s.load(Ordering::SeqCst) {
                let mut pipe = redis::pipe();
                for _ in 0..200 {
                    pipe.cmd("SET")
                        .arg(format!("junk:{n}"))
                        .arg(&value)
                        .arg("PX")
                        .arg(600_000)
                        .ignore();
                    n += 1;
                }
                // Errors (OOM while nothing volatile is left to evict) are part of the fault.
                let _: redis::RedisResult<()> = pipe.query(&mut conn);
                w.store(n, Ordering::SeqCst);
                thread::sleep(Duration::from_millis(5));
            }
        });
        Filler {
            stop,
            written,
            thread,
            evicted_before,
        }
    }

    /// Stops filling, lifts the limit, drops the junk; returns how many keys were evicted.
    fn stop(self, server: &RedisServer) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.thread.join();
        let _ = self.written.load(Ordering::SeqCst);
        let evicted = info_field(server, "stats", "evicted_keys") - self.evicted_before;
        server.cmd(&["CONFIG", "SET", "maxmemory", "0"]);
        server.cmd(&["CONFIG", "SET", "maxmemory-policy", "noeviction"]);
        let _ = redis::Client::open(format!("{}/1", server.url()))
            .and_then(|c| c.get_connection())
            .and_then(|mut c| redis::cmd("FLUSHDB").arg("ASYNC").query::<()>(&mut c));
        evicted
    }
}

fn wait_for<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let until = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < until, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(10));
    }
}

/// Waits until the standalone store's replica is in sync again.
fn wait_replica_up(store: &Store) {
    if let Store::Single { server, replica } = store {
        wait_for(Duration::from_secs(60), "the replica to sync", || {
            replica
                .cmd(&["INFO", "replication"])
                .contains("master_link_status:up")
                .then_some(())
        });
        // The master counts a synced replica for WAIT only after its first acknowledgement,
        // which a replica sends once a second: until then every WAIT returns 0.
        wait_for(
            Duration::from_secs(60),
            "the master to count the replica",
            || (server.cmd(&["WAIT", "1", "50"]).trim() == ":1").then_some(()),
        );
    }
}

/// A replica's first sync starts at once instead of after the default 5s delay, so that a
/// master killed soon after a (re)start has a replica that can take over.
fn fast_sync(node: &RedisServer) {
    node.cmd(&["CONFIG", "SET", "repl-diskless-sync-delay", "0"]);
}

fn live(cluster: &RedisCluster) -> impl Iterator<Item = (usize, &RedisServer)> {
    cluster
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.pid().is_some())
}

fn keyslot(cluster: &RedisCluster, key: &str) -> u16 {
    let (_, node) = live(cluster).next().expect("a live node");
    let reply = node.cmd(&["CLUSTER", "KEYSLOT", key]);
    reply
        .trim()
        .trim_start_matches(':')
        .parse()
        .expect("a slot number")
}

/// The live node that, in its own view, is the master serving `slot`.
fn master_of(cluster: &RedisCluster, slot: u16) -> Option<usize> {
    masters_of(cluster, slot, None)
}

/// Like [`master_of`], skipping node `except` (a stopped node cannot answer).
fn master_of_except(cluster: &RedisCluster, slot: u16, except: usize) -> Option<usize> {
    masters_of(cluster, slot, Some(except))
}

fn masters_of(cluster: &RedisCluster, slot: u16, except: Option<usize>) -> Option<usize> {
    live(cluster)
        .filter(|(i, _)| Some(*i) != except)
        .find(|(_, n)| {
            let nodes = n.cmd(&["CLUSTER", "NODES"]);
            let Some(me) = nodes.lines().find(|l| l.contains("myself")) else {
                return false;
            };
            let fields: Vec<&str> = me.split_whitespace().collect();
            fields.get(2).is_some_and(|f| f.contains("master"))
                && fields.iter().skip(8).any(|r| match r.split_once('-') {
                    Some((a, b)) => {
                        a.parse::<u16>().is_ok_and(|a| a <= slot)
                            && b.parse::<u16>().is_ok_and(|b| slot <= b)
                    }
                    None => r.parse::<u16>() == Ok(slot),
                })
        })
        .map(|(i, _)| i)
}
