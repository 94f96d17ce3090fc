//! Real servers for baton's tests, benches and demo.
//!
//! Every server is a plain `redis-server` (or ZooKeeper, PostgreSQL, MariaDB) process on a
//! free port of 127.0.0.1, in a private temporary directory. It is stopped when its handle
//! drops (also while a failing test unwinds), and it dies with the process that started it
//! (Linux parent-death signal), so a killed test run leaves nothing behind.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod clock;
pub use clock::StoreClock;
pub mod mysql;
pub use mysql::MariaDbServer;
pub mod postgres;
pub use postgres::PostgresServer;
pub mod tls;
pub mod zookeeper;
pub use tls::{TlsFiles, TlsRedis};
pub use zookeeper::{ZooKeeperEnsemble, ZooKeeperServer};

/// How long a server may take to accept connections before the fixture gives up.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A free TCP port on 127.0.0.1 (bound once, then released for the server to take).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port on 127.0.0.1")
}

/// A free port whose Redis Cluster bus port (`port + 10000`) is free and valid too.
pub fn free_cluster_port() -> u16 {
    for _ in 0..1000 {
        let Ok(first) = TcpListener::bind("127.0.0.1:0") else {
            continue;
        };
        let Ok(port) = first.local_addr().map(|a| a.port()) else {
            continue;
        };
        if port <= u16::MAX - 10_000 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
    panic!("no free pair of ports (p, p + 10000) on 127.0.0.1");
}

/// Attempts at starting a server when another process takes its port first.
const PORT_ATTEMPTS: usize = 5;

/// A private directory for a Redis server's files, in memory (`/dev/shm`) where the host has
/// it. The chaos run's servers fsync every write (`appendfsync always`); on a disk still
/// writing back a build's output such an fsync took hundreds of milliseconds, and the
/// checker's liveness bounds (which are about baton, not the disk) counted that against
/// baton (docs/chaos.md, "Servers in memory"). A SIGKILLed server keeps its files there as on
/// disk; only a host crash, which no test makes, would lose them. `BATON_TEST_DISK=1` keeps
/// them in the usual temporary directory.
fn redis_dir() -> tempfile::TempDir {
    if std::env::var_os("BATON_TEST_DISK").is_none() {
        let shm = tempfile::Builder::new()
            .prefix("baton-redis-")
            .tempdir_in("/dev/shm");
        if let Ok(dir) = shm {
            return dir;
        }
    }
    tempfile::tempdir().expect("temp dir for redis-server")
}

fn redis_server_binary() -> String {
    std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into())
}

/// One `redis-server` process.
pub struct RedisServer {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
    extra: Vec<String>,
    /// A sentinel's configuration file; `None` for a data node.
    sentinel_conf: Option<String>,
    /// Extra environment of the process (kept across restarts).
    env: Vec<(String, String)>,
    /// The wall clock the test controls, for servers started with one.
    clock: Option<StoreClock>,
    /// Set by [`RedisServer::restart_as_replica_of`]: the master it starts as a replica of.
    replica_of: Option<u16>,
}

impl RedisServer {
    /// Starts a standalone server without persistence.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a standalone server with extra `--name value` arguments.
    pub fn start_with(extra: &[&str]) -> Self {
        Self::start_full(extra, false)
    }

    /// Like [`RedisServer::start_with`], on a wall clock the test steps and slows
    /// ([`RedisServer::clock`]); the clock survives restarts.
    pub fn start_with_clock(extra: &[&str]) -> Self {
        Self::start_full(extra, true)
    }

    fn start_full(extra: &[&str], clock: bool) -> Self {
        let dir = redis_dir();
        let clock = clock.then(|| StoreClock::create(dir.path()));
        let mut server = RedisServer {
            port: 0,
            dir,
            child: None,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            sentinel_conf: None,
            env: clock.as_ref().map(StoreClock::env).unwrap_or_default(),
            clock,
            replica_of: None,
        };
        server.port = server.pick_port();
        server.spawn(true);
        server
    }

    /// The wall clock of a server started with [`RedisServer::start_with_clock`].
    pub fn clock(&self) -> Option<&StoreClock> {
        self.clock.as_ref()
    }

    /// A Cluster node also needs its bus port, `port + 10000`.
    fn pick_port(&self) -> u16 {
        if self.extra.iter().any(|a| a == "--cluster-enabled") {
            free_cluster_port()
        } else {
            free_port()
        }
    }

    /// Starts a sentinel that monitors `master_port` as `mymaster` (quorum 2, fast failover).
    pub fn start_sentinel(master_port: u16) -> Self {
        let conf = format!(
            "sentinel monitor mymaster 127.0.0.1 {master_port} 2\n\
             sentinel down-after-milliseconds mymaster 500\n\
             sentinel failover-timeout mymaster 2000\n"
        );
        let mut server = RedisServer {
            port: free_port(),
            dir: redis_dir(),
            child: None,
            extra: Vec::new(),
            sentinel_conf: Some(conf),
            env: Vec::new(),
            clock: None,
            replica_of: None,
        };
        server.spawn(true);
        server
    }

    /// Starts the process; with `may_move`, a port someone else took meanwhile is swapped for
    /// a fresh one (a restart must keep its port: clients know it).
    fn spawn(&mut self, may_move: bool) {
        for _ in 0..PORT_ATTEMPTS {
            let _ = std::fs::remove_file(self.log_path());
            let mut child = self.command().spawn().unwrap_or_else(|e| {
                panic!("could not start redis-server ({e}); install it (apt-get install -y redis-server) or set REDIS_SERVER")
            });
            match wait_until_up(self.port, &mut child, &self.log_path()) {
                Ok(()) => {
                    self.child = Some(child);
                    return;
                }
                Err(log) if may_move && log.contains("Address already in use") => {
                    let _ = child.kill();
                    let _ = child.wait();
                    self.port = self.pick_port();
                }
                Err(log) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "redis-server on port {} did not start; its log:\n{log}",
                        self.port
                    );
                }
            }
        }
        panic!("redis-server lost its port to another process {PORT_ATTEMPTS} times in a row");
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(redis_server_binary());
        if let Some(conf) = &self.sentinel_conf {
            // Sentinel rewrites its file, so it must be a writable file of its own.
            let path = self.dir.path().join("sentinel.conf");
            std::fs::write(&path, conf).expect("write sentinel.conf");
            cmd.arg(path).arg("--sentinel");
        }
        cmd.arg("--port")
            .arg(self.port.to_string())
            .args([
                "--bind",
                "127.0.0.1",
                "--daemonize",
                "no",
                "--logfile",
                "redis.log",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .args(match self.sentinel_conf {
                None => &["--save", "", "--appendonly", "no"][..],
                Some(_) => &[][..],
            })
            .args(&self.extra)
            .args(
                self.replica_of
                    .map(|p| ["--replicaof".into(), "127.0.0.1".into(), p.to_string()])
                    .into_iter()
                    .flatten(),
            )
            .current_dir(self.dir.path())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        die_with_parent(&mut cmd);
        cmd
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The server's working directory (its log, cluster config and dump live here).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("redis.log")
    }

    /// The process id of the running server.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Sends one command and returns the raw reply (for fixtures and assertions).
    pub fn cmd(&self, args: &[&str]) -> String {
        command(self.port, args)
    }

    /// Kills the server (SIGKILL): every key without persistence is lost.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and directory.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn(false);
    }

    /// Starts the server again as a replica of `master_port` (a failed-over master that comes
    /// back never serves as a master, not even for a moment).
    pub fn restart_as_replica_of(&mut self, master_port: u16) {
        self.replica_of = Some(master_port);
        self.restart();
    }

    /// Stops the server until [`RedisServer::resume`] (SIGSTOP).
    pub fn pause(&self) {
        self.signal(libc::SIGSTOP);
    }

    /// Resumes a paused server (SIGCONT).
    pub fn resume(&self) {
        self.signal(libc::SIGCONT);
    }

    fn signal(&self, sig: i32) {
        if let Some(pid) = self.pid() {
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(pid as i32, sig) };
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.resume();
        self.kill();
    }
}

/// A Redis Cluster of three masters with one replica each, on six free ports.
pub struct RedisCluster {
    /// Nodes in creation order: the first three start as masters.
    pub nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts six nodes and joins them with `redis-cli --cluster create`.
    pub fn start() -> Self {
        let nodes: Vec<RedisServer> = (0..6)
            .map(|_| {
                RedisServer::start_with(&[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    "2000",
                    // Replicas sync at once, so a master can fail over right after start.
                    "--repl-diskless-sync-delay",
                    "0",
                ])
            })
            .collect();
        let addrs: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port()))
            .collect();
        let out = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addrs)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("redis-cli (from the redis-tools package) is needed to create a cluster");
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let cluster = RedisCluster { nodes };
        cluster.wait_until_ok();
        cluster
    }

    /// Waits until every node reports `cluster_state:ok`, agrees on all slots, and every
    /// replica's link to its master is up (so that a master can be failed over).
    pub fn wait_until_ok(&self) {
        let start = Instant::now();
        loop {
            let ok = self.nodes.iter().filter(|n| n.child.is_some()).all(|n| {
                let info = n.cmd(&["CLUSTER", "INFO"]);
                let replication = n.cmd(&["INFO", "replication"]);
                info.contains("cluster_state:ok")
                    && info.contains("cluster_slots_ok:16384")
                    && (replication.contains("role:master")
                        || replication.contains("master_link_status:up"))
            });
            if ok {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "cluster did not become ok"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A comma-separated list of every node's URL (baton's cluster seed list).
    pub fn url(&self) -> String {
        self.nodes
            .iter()
            .map(|n| n.url())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The node that currently serves `key`'s slot as master.
    pub fn master_for(&self, key: &str) -> usize {
        let slot = self.nodes[0].cmd(&["CLUSTER", "KEYSLOT", key]);
        let slot: u16 = slot.trim().trim_start_matches(':').parse().expect("slot");
        for (i, n) in self.nodes.iter().enumerate() {
            if n.child.is_none() {
                continue;
            }
            let nodes = n.cmd(&["CLUSTER", "NODES"]);
            let me = nodes.lines().find(|l| l.contains("myself")).unwrap_or("");
            let is_master = me
                .split_whitespace()
                .nth(2)
                .is_some_and(|f| f.contains("master"));
            if is_master && me.split_whitespace().skip(8).any(|r| slot_in(r, slot)) {
                return i;
            }
        }
        panic!("no master serves slot {slot}");
    }
}

fn slot_in(range: &str, slot: u16) -> bool {
    match range.split_once('-') {
        Some((a, b)) => match (a.parse::<u16>(), b.parse::<u16>()) {
            (Ok(a), Ok(b)) => a <= slot && slot <= b,
            _ => false,
        },
        None => range.parse::<u16>() == Ok(slot),
    }
}

/// A master, one replica and three sentinels that fail over within a few seconds.
pub struct RedisSentinel {
    /// The master at start.
    pub master: RedisServer,
    /// Its replica, promoted when the master dies.
    pub replica: RedisServer,
    /// Three sentinels, quorum two.
    pub sentinels: Vec<RedisServer>,
}

impl RedisSentinel {
    /// Starts every node and waits until the sentinels know the replica.
    pub fn start() -> Self {
        let master = RedisServer::start();
        let port = master.port().to_string();
        let replica = RedisServer::start_with(&["--replicaof", "127.0.0.1", &port]);
        let sentinels = (0..3)
            .map(|_| RedisServer::start_sentinel(master.port()))
            .collect();
        let s = RedisSentinel {
            master,
            replica,
            sentinels,
        };
        s.wait_for(|s| {
            s.master
                .cmd(&["INFO", "replication"])
                .contains("connected_slaves:1")
                && s.sentinels.iter().all(|n| {
                    n.cmd(&["SENTINEL", "REPLICAS", "mymaster"])
                        .contains(&s.replica.port().to_string())
                        && n.cmd(&["SENTINEL", "MASTER", "mymaster"])
                            .contains("num-other-sentinels\n2")
                })
        });
        s
    }

    /// `redis+sentinel://` with every sentinel, for master `mymaster`.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .sentinels
            .iter()
            .map(|s| format!("127.0.0.1:{}", s.port()))
            .collect();
        format!("redis+sentinel://{}/mymaster", hosts.join(","))
    }

    /// The port the sentinels currently name as master.
    pub fn master_port(&self) -> u16 {
        let reply = self.sentinels[0].cmd(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"]);
        reply
            .lines()
            .nth(1)
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Kills the master and waits until the sentinels promoted the replica.
    pub fn fail_over(&mut self) {
        self.master.kill();
        let replica = self.replica.port();
        self.wait_for(|s| {
            s.master_port() == replica && s.replica.cmd(&["ROLE"]).starts_with("master")
        });
    }

    fn wait_for(&self, ready: impl Fn(&Self) -> bool) {
        let start = Instant::now();
        while !ready(self) {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "sentinel setup did not settle"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Makes the child receive SIGKILL when the thread that spawned it dies.
fn die_with_parent(cmd: &mut Command) {
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

/// Waits until the server answers PING; on failure (it exited, or never answered), its log.
fn wait_until_up(port: u16, child: &mut Child, log: &Path) -> Result<(), String> {
    let start = Instant::now();
    while start.elapsed() < START_TIMEOUT {
        if let Ok(reply) = try_command(port, &["PING"]) {
            if reply.contains("PONG") {
                return Ok(());
            }
        }
        if !matches!(child.try_wait(), Ok(None)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Err(std::fs::read_to_string(log).unwrap_or_default())
}

/// Sends one command in RESP and returns the reply as text (arrays flattened by line).
pub fn command(port: u16, args: &[&str]) -> String {
    try_command(port, args).unwrap_or_else(|e| panic!("command {args:?} on port {port}: {e}"))
}

fn try_command(port: u16, args: &[&str]) -> std::io::Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut req = format!("*{}\r\n", args.len());
    for a in args {
        req.push_str(&format!("${}\r\n{}\r\n", a.len(), a));
    }
    s.write_all(req.as_bytes())?;
    let mut r = BufReader::new(s);
    let mut out = String::new();
    read_reply(&mut r, &mut out)?;
    Ok(out)
}

fn read_reply(r: &mut BufReader<TcpStream>, out: &mut String) -> std::io::Result<()> {
    let mut line = String::new();
    r.read_line(&mut line)?;
    let body = line.trim_end().to_string();
    match body.chars().next() {
        Some('$') => {
            let n: i64 = body[1..].parse().unwrap_or(-1);
            if n >= 0 {
                let mut buf = vec![0; n as usize + 2];
                r.read_exact(&mut buf)?;
                out.push_str(&String::from_utf8_lossy(&buf[..n as usize]));
                out.push('\n');
            }
        }
        Some('*') => {
            let n: i64 = body[1..].parse().unwrap_or(0);
            for _ in 0..n.max(0) {
                read_reply(r, out)?;
            }
        }
        Some('+') | Some('-') | Some(':') => {
            out.push_str(&body);
            out.push('\n');
        }
        _ => out.push_str(&body),
    }
    Ok(())
}
