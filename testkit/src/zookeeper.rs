//! Real ZooKeeper servers (Debian's `zookeeper` package, 3.8): `QuorumPeerMain` started with
//! `java` on free ports of 127.0.0.1 in a private temporary directory, stopped on drop.
//!
//! The configuration is fast: `tickTime` 200ms, so sessions may last 400ms (2 ticks) to 20s,
//! and an ensemble elects a new leader within about a second.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{die_with_parent, free_port};

/// Where Debian puts the server's jar (its manifest names its dependencies).
const DEFAULT_CLASSPATH: &str = "/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar";
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Milliseconds per tick.
pub const TICK_MS: u64 = 200;
/// The shortest session the servers grant (two ticks).
pub const MIN_SESSION: Duration = Duration::from_millis(2 * TICK_MS);
/// The longest session the servers grant.
pub const MAX_SESSION: Duration = Duration::from_secs(20);

fn classpath() -> String {
    std::env::var("ZOOKEEPER_CLASSPATH").unwrap_or_else(|_| DEFAULT_CLASSPATH.into())
}

/// One ZooKeeper server process: standalone, or a member of a [`ZooKeeperEnsemble`].
pub struct ZooKeeperServer {
    /// Client port.
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

/// The ports of one ensemble member: client, quorum, leader election.
#[derive(Clone, Copy)]
struct Ports {
    client: u16,
    quorum: u16,
    election: u16,
}

impl ZooKeeperServer {
    /// Starts a standalone server and waits until it serves.
    pub fn start() -> Self {
        let ports = Ports {
            client: free_port(),
            quorum: 0,
            election: 0,
        };
        let server = Self::configure(1, ports, &[]);
        let mut server = server;
        server.spawn();
        server.wait_until_serving();
        server
    }

    fn configure(id: usize, me: Ports, peers: &[Ports]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir for zookeeper");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).expect("zookeeper data dir");
        let mut conf = format!(
            "tickTime={TICK_MS}\ninitLimit=20\nsyncLimit=5\n\
             dataDir={}\nclientPort={}\nclientPortAddress=127.0.0.1\n\
             minSessionTimeout={}\nmaxSessionTimeout={}\n\
             admin.enableServer=false\n4lw.commands.whitelist=*\n\
             autopurge.purgeInterval=0\n",
            data.display(),
            me.client,
            MIN_SESSION.as_millis(),
            MAX_SESSION.as_millis(),
        );
        for (i, p) in peers.iter().enumerate() {
            conf.push_str(&format!(
                "server.{}=127.0.0.1:{}:{}\n",
                i + 1,
                p.quorum,
                p.election
            ));
        }
        if !peers.is_empty() {
            std::fs::write(data.join("myid"), format!("{id}\n")).expect("write myid");
        }
        std::fs::write(dir.path().join("zoo.cfg"), conf).expect("write zoo.cfg");
        ZooKeeperServer {
            port: me.client,
            dir,
            child: None,
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("zookeeper.log")
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("zookeeper log file");
        let mut cmd = Command::new(std::env::var("JAVA").unwrap_or_else(|_| "java".into()));
        cmd.args([
            "-Xmx128m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-Dzookeeper.jmx.log4j.disable=true",
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
            "-cp",
            &classpath(),
            "org.apache.zookeeper.server.quorum.QuorumPeerMain",
        ])
        .arg(self.dir.path().join("zoo.cfg"))
        .current_dir(self.dir.path())
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log handle"))
        .stderr(log);
        die_with_parent(&mut cmd);
        let child = cmd.spawn().unwrap_or_else(|e| {
            panic!("could not start java for ZooKeeper ({e}); install it (apt-get install -y zookeeper) or set JAVA")
        });
        self.child = Some(child);
    }

    /// Waits until the server answers requests (standalone, leader or follower).
    fn wait_until_serving(&mut self) {
        let start = Instant::now();
        while start.elapsed() < START_TIMEOUT {
            if self.mode().is_some() {
                return;
            }
            if let Some(child) = self.child.as_mut() {
                if !matches!(child.try_wait(), Ok(None)) {
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "zookeeper on port {} did not start serving; its log:\n{}",
            self.port,
            std::fs::read_to_string(self.log_path()).unwrap_or_default()
        );
    }

    /// `standalone`, `leader` or `follower` while the server serves requests.
    pub fn mode(&self) -> Option<String> {
        let reply = four_letter(self.port, "srvr").ok()?;
        reply
            .lines()
            .find_map(|l| l.strip_prefix("Mode: "))
            .map(|m| m.trim().to_string())
    }

    /// A value of the `mntr` command, e.g. `zk_num_alive_connections`.
    pub fn metric(&self, name: &str) -> Option<i64> {
        let reply = four_letter(self.port, "mntr").ok()?;
        reply
            .lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
    }

    /// The client port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `zookeeper://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("zookeeper://127.0.0.1:{}", self.port)
    }

    /// Kills the server (SIGKILL); its data directory stays.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same ports and data.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
        self.wait_until_serving();
    }

    /// Whether the process runs.
    pub fn running(&self) -> bool {
        self.child.is_some()
    }
}

impl Drop for ZooKeeperServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Three servers forming one ensemble (quorum two).
pub struct ZooKeeperEnsemble {
    pub servers: Vec<ZooKeeperServer>,
}

impl ZooKeeperEnsemble {
    /// Starts three servers and waits until they serve with one leader.
    pub fn start() -> Self {
        // Nine distinct ports: two calls of `free_port` may return the same one (the server
        // refuses a configuration that repeats a port).
        let mut taken = std::collections::HashSet::new();
        let mut port = || loop {
            let p = free_port();
            if taken.insert(p) {
                return p;
            }
        };
        let ports: Vec<Ports> = (0..3)
            .map(|_| Ports {
                client: port(),
                quorum: port(),
                election: port(),
            })
            .collect();
        let mut servers: Vec<ZooKeeperServer> = ports
            .iter()
            .enumerate()
            .map(|(i, p)| ZooKeeperServer::configure(i + 1, *p, &ports))
            .collect();
        for s in &mut servers {
            s.spawn();
        }
        for s in &mut servers {
            s.wait_until_serving();
        }
        let ensemble = ZooKeeperEnsemble { servers };
        ensemble.wait_for_leader();
        ensemble
    }

    /// Every member's client address, comma-separated.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .servers
            .iter()
            .map(|s| format!("127.0.0.1:{}", s.port()))
            .collect();
        format!("zookeeper://{}", hosts.join(","))
    }

    /// The index of the current leader.
    pub fn leader(&self) -> Option<usize> {
        self.servers
            .iter()
            .position(|s| s.running() && s.mode().as_deref() == Some("leader"))
    }

    /// Waits until a leader serves and every running member follows it.
    pub fn wait_for_leader(&self) -> usize {
        let start = Instant::now();
        loop {
            let modes: Vec<Option<String>> = self
                .servers
                .iter()
                .filter(|s| s.running())
                .map(|s| s.mode())
                .collect();
            let leaders = modes
                .iter()
                .filter(|m| m.as_deref() == Some("leader"))
                .count();
            if leaders == 1 && modes.iter().all(|m| m.is_some()) {
                return self.leader().expect("a leader");
            }
            assert!(
                start.elapsed() < START_TIMEOUT,
                "the ensemble elected no leader: {modes:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Open client connections over every running member.
    pub fn connections(&self) -> i64 {
        self.servers
            .iter()
            .filter(|s| s.running())
            .filter_map(|s| s.metric("zk_num_alive_connections"))
            .sum()
    }
}

/// Sends a four-letter command and reads the reply until the server closes.
fn four_letter(port: u16, cmd: &str) -> std::io::Result<String> {
    let addr = ("127.0.0.1", port);
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    s.write_all(cmd.as_bytes())?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}
