//! Runs one seed: a standalone phase (a redis-server with an append-only file, each candidate
//! behind its own proxy) and a Cluster phase (6 nodes, candidates connect directly), each
//! with its own election, fenced resource keys and history. Faults come one at a time, at a
//! random moment, from a shuffled bag of kinds drawn with the seed's RNG, so every kind shows
//! up and a seed replays the same schedule (the timing of a real run still varies).

use std::io::{BufRead, BufReader, Write as _};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use baton_testkit::{RedisCluster, RedisServer};

use super::candidate::{CandidateConfig, ENV};
use super::faults::{Fault, Kind};
use super::history::Proc;
use super::proxy::Proxy;
use super::record::{mono_ns, parse};
use super::resource::{self, FenceReport};

#[derive(Debug, Clone)]
pub struct Config {
    pub seed: u64,
    /// Length of the standalone phase (faults start until it is over).
    pub standalone: Duration,
    /// Length of the Cluster phase; zero skips it.
    pub cluster: Duration,
    pub candidates: usize,
    pub ttl: Duration,
    pub renew: Duration,
    /// How often a candidate samples `is_leader()`.
    pub sample: Duration,
    /// How often a leading candidate flushes its last true sample.
    pub tick: Duration,
    /// How long a leader "works" between checking its token and writing with it.
    pub work: Duration,
    /// Allowed leaderless time beyond the lease's expiry.
    pub gap_bound: Duration,
    /// Starts this program in candidate mode (the harness adds the configuration).
    pub launcher: fn() -> Command,
    /// Print each fault as it is injected.
    pub verbose: bool,
}

impl Config {
    /// The settings the short and the long run share.
    pub fn new(seed: u64, launcher: fn() -> Command) -> Config {
        Config {
            seed,
            standalone: Duration::from_secs(36),
            cluster: Duration::from_secs(18),
            candidates: 4,
            ttl: Duration::from_secs(1),
            renew: Duration::from_millis(300),
            sample: Duration::from_micros(100),
            tick: Duration::from_millis(1),
            work: Duration::from_millis(1),
            gap_bound: Duration::from_millis(250),
            launcher,
            verbose: false,
        }
    }
}

/// The history of one phase, for the checker.
pub struct PhaseResult {
    pub name: String,
    pub procs: Vec<Proc>,
    pub faults: Vec<Fault>,
    pub fence: FenceReport,
    pub start: u64,
    pub stop: u64,
}

/// Writes a progress line to stderr (not captured by the test harness, so CI shows it).
pub fn say(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}

pub fn run(cfg: &Config) -> Vec<PhaseResult> {
    let mut rng = fastrand::Rng::with_seed(cfg.seed);
    let resource = RedisServer::start();
    let mut phases = vec![run_phase(cfg, &mut rng, &resource, false)];
    if !cfg.cluster.is_zero() {
        phases.push(run_phase(cfg, &mut rng, &resource, true));
    }
    phases
}

enum Store {
    Single(RedisServer),
    Cluster(RedisCluster),
}

impl Store {
    fn url(&self) -> String {
        match self {
            Store::Single(s) => s.url(),
            Store::Cluster(c) => c.url(),
        }
    }
}

struct Slot {
    proxy: Option<Proxy>,
    child: Option<Child>,
    proc: usize,
}

struct Phase<'a> {
    cfg: &'a Config,
    name: String,
    store: Store,
    resource_url: String,
    slots: Vec<Slot>,
    procs: Arc<Mutex<Vec<Proc>>>,
    readers: Vec<JoinHandle<()>>,
    faults: Vec<Fault>,
    epoch: u64,
}

fn run_phase(
    cfg: &Config,
    rng: &mut fastrand::Rng,
    resource: &RedisServer,
    cluster: bool,
) -> PhaseResult {
    let (name, length, kinds): (_, _, &[Kind]) = if cluster {
        ("chaos-cluster", cfg.cluster, &Kind::CLUSTER)
    } else {
        ("chaos-standalone", cfg.standalone, &Kind::STANDALONE)
    };
    let store = if cluster {
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
    } else {
        Store::Single(RedisServer::start_with(&[
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
        ]))
    };
    let mut phase = Phase {
        cfg,
        name: name.to_string(),
        slots: Vec::new(),
        procs: Arc::default(),
        readers: Vec::new(),
        faults: Vec::new(),
        resource_url: resource.url(),
        epoch: mono_ns(),
        store,
    };
    for i in 0..cfg.candidates {
        let proxy = match &phase.store {
            Store::Single(s) => Some(Proxy::start(s.port())),
            Store::Cluster(_) => None,
        };
        phase.slots.push(Slot {
            proxy,
            child: None,
            proc: 0,
        });
        phase.spawn(i);
    }
    if phase.wait_leader(Duration::from_secs(30)).is_none() {
        say(&format!("[{name}] no leader within 30s of the start"));
    }
    let end = Instant::now() + length;
    let mut bag: Vec<Kind> = Vec::new();
    while Instant::now() < end {
        if bag.is_empty() {
            bag = kinds.to_vec();
            rng.shuffle(&mut bag);
        }
        let kind = bag.pop().expect("a fault kind");
        // Faults land at a random moment of a leader's term.
        thread::sleep(cfg.ttl.mul_f64(rng.f64()));
        let fault = phase.inject(kind, rng);
        if cfg.verbose {
            say(&format!(
                "[{name} {:7.2}s] #{:<3} {:<17} {}",
                (fault.start - phase.epoch) as f64 / 1e9,
                phase.faults.len() + 1,
                kind.name(),
                fault.detail
            ));
        }
        phase.faults.push(fault.clone());
        // Let the checker tell one fault's effects from the next one's.
        if kind.loses_data() {
            let until = fault.store_back.unwrap_or(fault.end) + 3 * cfg.ttl.as_nanos() as u64;
            thread::sleep(Duration::from_nanos(until.saturating_sub(mono_ns())));
        }
        if phase
            .wait_leader(3 * cfg.ttl + Duration::from_secs(5))
            .is_none()
        {
            say(&format!("[{name}] no leader after fault {kind}"));
        }
    }
    phase.finish()
}

impl Phase<'_> {
    fn spawn(&mut self, slot: usize) {
        let store = match &self.slots[slot].proxy {
            Some(p) => p.url(),
            None => self.store.url(),
        };
        let cc = CandidateConfig {
            store,
            resource: self.resource_url.clone(),
            name: self.name.clone(),
            ttl_ms: self.cfg.ttl.as_millis() as u64,
            renew_ms: self.cfg.renew.as_millis() as u64,
            sample_us: self.cfg.sample.as_micros() as u64,
            tick_us: self.cfg.tick.as_micros() as u64,
            work_us: self.cfg.work.as_micros() as u64,
        };
        let mut cmd = (self.cfg.launcher)();
        cmd.env(ENV, serde_json::to_string(&cc).expect("config serializes"))
            .stdin(Stdio::null())
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
        let idx = {
            let mut procs = self.procs.lock().unwrap();
            procs.push(Proc::new(child.id()));
            procs.len() - 1
        };
        let procs = self.procs.clone();
        self.readers.push(thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if let Some(rec) = parse(&line) {
                    procs.lock().unwrap()[idx].ingest(idx, rec);
                }
            }
        }));
        self.slots[slot].child = Some(child);
        self.slots[slot].proc = idx;
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
        let t = mono_ns();
        self.signal(slot, libc::SIGKILL);
        if let Some(mut c) = self.slots[slot].child.take() {
            let _ = c.wait();
        }
        self.procs.lock().unwrap()[self.slots[slot].proc].killed = Some(t);
        t
    }

    fn leader(&self) -> Option<usize> {
        let procs = self.procs.lock().unwrap();
        (0..self.slots.len())
            .find(|&s| self.slots[s].child.is_some() && procs[self.slots[s].proc].leading.is_some())
    }

    fn wait_leader(&self, timeout: Duration) -> Option<usize> {
        let until = Instant::now() + timeout;
        loop {
            if let Some(s) = self.leader() {
                return Some(s);
            }
            if Instant::now() >= until {
                return None;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// The leader's slot, or with probability `1 - p` (or when nobody leads) a random one.
    fn target(&self, rng: &mut fastrand::Rng, p: f64) -> (usize, bool) {
        // Draw the same numbers whatever happens, so that a seed replays the same schedule.
        let (pick_leader, other) = (rng.f64() < p, rng.usize(..self.slots.len()));
        match self.leader() {
            Some(s) if pick_leader => (s, true),
            leader => (other, leader == Some(other)),
        }
    }

    fn inject(&mut self, kind: Kind, rng: &mut fastrand::Rng) -> Fault {
        let ttl = self.cfg.ttl;
        let ms = |rng: &mut fastrand::Rng, lo: u64, hi: u64| Duration::from_millis(rng.u64(lo..hi));
        let mut fault = Fault {
            kind,
            start: mono_ns(),
            end: 0,
            store_back: None,
            resumed: None,
            link_delay: 0,
            proc: None,
            hit_leader: false,
            detail: String::new(),
        };
        match kind {
            Kind::KillLeader => {
                let (s, hit) = self.target(rng, 1.0);
                let pid = self.pid(s);
                fault.proc = Some(self.slots[s].proc);
                fault.hit_leader = hit;
                fault.start = self.kill(s);
                let wait = ms(rng, 0, 500);
                thread::sleep(wait);
                self.spawn(s);
                fault.detail = format!("slot {s} pid {pid}, replaced after {wait:?}");
            }
            Kind::PauseLeader => {
                let (s, hit) = self.target(rng, 1.0);
                let pause = ttl + ms(rng, 300, 1200);
                fault.proc = Some(self.slots[s].proc);
                fault.hit_leader = hit;
                fault.start = mono_ns();
                self.signal(s, libc::SIGSTOP);
                thread::sleep(pause);
                fault.resumed = Some(mono_ns());
                self.signal(s, libc::SIGCONT);
                fault.detail = format!("slot {s} pid {} for {pause:?}", self.pid(s));
            }
            Kind::RestartPersisted | Kind::RestartLost => {
                let down = ms(rng, 0, 1500);
                let Store::Single(server) = &mut self.store else {
                    unreachable!("store restarts run in the standalone phase")
                };
                fault.start = mono_ns();
                server.kill();
                if kind == Kind::RestartLost {
                    let _ = std::fs::remove_dir_all(server.dir().join("appendonlydir"));
                    let _ = std::fs::remove_file(server.dir().join("dump.rdb"));
                }
                thread::sleep(down);
                server.restart();
                fault.store_back = Some(mono_ns());
                fault.detail = format!("down for {down:?}");
            }
            Kind::MasterKill => {
                let key = format!("baton:{{{}}}:lease", self.name);
                let Store::Cluster(cluster) = &mut self.store else {
                    unreachable!("master kills run in the Cluster phase")
                };
                let slot = keyslot(cluster, &key);
                let i = master_of(cluster, slot).expect("a master serves the election");
                fault.start = mono_ns();
                cluster.nodes[i].kill();
                let j = wait_for(Duration::from_secs(60), "a replica to be promoted", || {
                    master_of(cluster, slot).filter(|&j| {
                        j != i
                            && cluster.nodes[j]
                                .cmd(&["CLUSTER", "INFO"])
                                .contains("state:ok")
                    })
                });
                fault.store_back = Some(mono_ns());
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
                    "node {i} (port {}), node {j} promoted after {:?}",
                    cluster.nodes[i].port(),
                    Duration::from_nanos(fault.store_back.unwrap() - fault.start)
                );
            }
            Kind::LinkCut => {
                let (s, hit) = self.target(rng, 0.75);
                let cut = ttl + ms(rng, 200, 1500);
                fault.proc = Some(self.slots[s].proc);
                fault.hit_leader = hit;
                let proxy = self.slots[s].proxy.as_ref().expect("a proxied link");
                fault.start = mono_ns();
                proxy.set_cut(true);
                thread::sleep(cut);
                proxy.heal();
                fault.detail = format!("slot {s} for {cut:?}");
            }
            Kind::LinkReset => {
                let (s, hit) = self.target(rng, 0.75);
                let down = ms(rng, 100, 2000);
                fault.proc = Some(self.slots[s].proc);
                fault.hit_leader = hit;
                let proxy = self.slots[s].proxy.as_ref().expect("a proxied link");
                fault.start = mono_ns();
                proxy.reset(true);
                thread::sleep(down);
                proxy.heal();
                fault.detail = format!("slot {s} for {down:?}");
            }
            Kind::LinkSlow => {
                let (s, hit) = self.target(rng, 0.75);
                let delay = ms(rng, 20, 350);
                let slow = ms(rng, 1000, 3000);
                let cut = rng.bool().then(|| ttl + ms(rng, 200, 1000));
                fault.proc = Some(self.slots[s].proc);
                fault.hit_leader = hit;
                fault.link_delay = delay.as_nanos() as u64;
                let proxy = self.slots[s].proxy.as_ref().expect("a proxied link");
                fault.start = mono_ns();
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
        }
        fault.end = mono_ns();
        fault
    }

    fn finish(mut self) -> PhaseResult {
        let stop = mono_ns();
        for s in 0..self.slots.len() {
            self.signal(s, libc::SIGCONT);
            self.kill(s);
        }
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        let fence = resource::read(&self.resource_url, &self.name).unwrap_or_else(|e| {
            say(&format!("could not read the fenced resource: {e}"));
            FenceReport::default()
        });
        let procs = std::mem::take(&mut *self.procs.lock().unwrap());
        PhaseResult {
            name: self.name,
            procs,
            faults: self.faults,
            fence,
            start: self.epoch,
            stop,
        }
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
    live(cluster)
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
