//! The parent's side: a redis-server of its own, candidate processes, their event lines, and
//! cleanup that also runs on Ctrl-C (and, through the parent-death signal, on SIGKILL).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use baton_testkit::RedisServer;
use serde_json::Value;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// Processes and directories to remove if the user interrupts us.
static CLEANUP: Mutex<Vec<Leftover>> = Mutex::new(Vec::new());

enum Leftover {
    Pid(u32),
    Dir(PathBuf),
}

fn cleanup_list() -> std::sync::MutexGuard<'static, Vec<Leftover>> {
    CLEANUP.lock().unwrap_or_else(|p| p.into_inner())
}

/// On SIGINT/SIGTERM/SIGHUP: kill every candidate and our redis-server, remove its directory,
/// exit 130. (Drop guards cover errors and panics; this covers Ctrl-C.)
pub fn clean_up_on_interrupt() {
    let Ok(mut signals) = Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            eprintln!("\ninterrupted: stopping the candidates and redis-server");
            for item in cleanup_list().drain(..) {
                match item {
                    // SAFETY: kill(2) on a pid we spawned and have not reaped.
                    Leftover::Pid(pid) => unsafe {
                        libc::kill(pid as i32, libc::SIGKILL);
                    },
                    Leftover::Dir(dir) => {
                        let _ = std::fs::remove_dir_all(dir);
                    }
                }
            }
            std::process::exit(130);
        }
    });
}

fn forget_pid(pid: u32) {
    cleanup_list().retain(|l| !matches!(l, Leftover::Pid(p) if *p == pid));
}

/// The store: a redis-server of our own on a free port, or the one `REDIS_URL` names.
pub struct Store {
    pub url: String,
    pub server: Option<RedisServer>,
}

impl Store {
    /// Starts a local redis-server unless `use_env` and `REDIS_URL` is set.
    pub fn start(use_env: bool) -> Store {
        if use_env {
            if let Ok(url) = std::env::var("REDIS_URL") {
                return Store { url, server: None };
            }
        }
        let server = RedisServer::start();
        let mut list = cleanup_list();
        if let Some(pid) = server.pid() {
            list.push(Leftover::Pid(pid));
        }
        list.push(Leftover::Dir(server.dir().to_path_buf()));
        drop(list);
        Store {
            url: server.url(),
            server: Some(server),
        }
    }

    /// The version a local server reports (`7.0.15`), if we started one.
    pub fn version(&self) -> Option<String> {
        let info = self.server.as_ref()?.cmd(&["INFO", "server"]);
        info.lines()
            .find_map(|l| l.strip_prefix("redis_version:"))
            .map(|v| v.trim().to_string())
    }
}

/// One event line of a candidate (see `candidate.rs`), or `exited` when its stdout closed.
#[derive(Debug, Clone)]
pub struct Ev {
    pub who: String,
    pub event: String,
    pub t: u64,
    pub data: Value,
}

impl Ev {
    pub fn is(&self, event: &str) -> bool {
        self.event == event
    }
    pub fn u64(&self, field: &str) -> u64 {
        self.data[field].as_u64().unwrap_or(0)
    }
    pub fn str(&self, field: &str) -> &str {
        self.data[field].as_str().unwrap_or("")
    }
}

struct Member {
    name: String,
    child: Child,
}

/// Candidate processes of one election, and the merged stream of their events.
pub struct Fleet {
    exe: PathBuf,
    store: String,
    election: String,
    ttl: Duration,
    tx: Sender<Ev>,
    rx: Receiver<Ev>,
    /// Events received but not yet asked for.
    pending: VecDeque<Ev>,
    members: Vec<Member>,
}

impl Fleet {
    pub fn new(store: &str, election: &str, ttl: Duration) -> Result<Fleet, String> {
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        let (tx, rx) = channel();
        Ok(Fleet {
            exe,
            store: store.into(),
            election: election.into(),
            ttl,
            tx,
            rx,
            pending: VecDeque::new(),
            members: Vec::new(),
        })
    }

    /// Starts candidate `name` (this executable in candidate mode); returns its pid.
    pub fn spawn(&mut self, name: &str, extra: &[&str]) -> Result<u32, String> {
        let mut cmd = Command::new(&self.exe);
        cmd.arg("--candidate")
            .arg(name)
            .args(["--store", &self.store, "--election", &self.election])
            .args(["--ttl-ms", &self.ttl.as_millis().to_string()])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        // SAFETY: setpgid and prctl are async-signal-safe; nothing else runs before exec.
        unsafe {
            cmd.pre_exec(|| {
                // Own process group: a terminal's Ctrl-C reaches only us, and we stop them.
                libc::setpgid(0, 0);
                // If we die without cleaning up (even SIGKILL), so do they.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("could not start candidate {name}: {e}"))?;
        let pid = child.id();
        cleanup_list().push(Leftover::Pid(pid));
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        let (tx, who) = (self.tx.clone(), name.to_string());
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let Ok(data) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                let ev = Ev {
                    who: who.clone(),
                    event: data["event"].as_str().unwrap_or("").to_string(),
                    t: data["t"].as_u64().unwrap_or(0),
                    data,
                };
                if tx.send(ev).is_err() {
                    return;
                }
            }
            let _ = tx.send(Ev {
                who,
                event: "exited".into(),
                t: super::mono_ns(),
                data: Value::Null,
            });
        });
        self.members.push(Member {
            name: name.into(),
            child,
        });
        Ok(pid)
    }

    /// The next event matching `pred` (earlier unmatched events stay queued for later calls).
    /// A candidate's `error` line fails the wait.
    pub fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&Ev) -> bool,
    ) -> Result<Ev, String> {
        if let Some(i) = self.pending.iter().position(&pred) {
            return Ok(self.pending.remove(i).expect("index from position"));
        }
        let until = Instant::now() + timeout;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(ev) if pred(&ev) => return Ok(ev),
                Ok(ev) if ev.is("error") => {
                    return Err(format!(
                        "candidate {} failed: {}",
                        ev.who,
                        ev.str("message")
                    ))
                }
                Ok(ev) => self.pending.push_back(ev),
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!("timed out after {:?} waiting for {what}", timeout))
                }
                Err(RecvTimeoutError::Disconnected) => return Err("event channel closed".into()),
            }
        }
    }

    /// Forgets queued events (between independent rounds of a measurement).
    pub fn clear(&mut self) {
        self.pending.clear();
        while self.rx.try_recv().is_ok() {}
    }

    fn index(&self, name: &str) -> Result<usize, String> {
        self.members
            .iter()
            .position(|m| m.name == name)
            .ok_or(format!("no candidate named {name}"))
    }

    pub fn pid(&self, name: &str) -> Option<u32> {
        self.index(name).ok().map(|i| self.members[i].child.id())
    }

    /// Sends `sig` to candidate `name`.
    pub fn signal(&self, name: &str, sig: i32) -> Result<(), String> {
        let pid = self.members[self.index(name)?].child.id();
        // SAFETY: kill(2) on our own, not yet reaped, child.
        unsafe { libc::kill(pid as i32, sig) };
        Ok(())
    }

    /// SIGKILL, then reap: once this returns, the process can send nothing more.
    pub fn kill(&mut self, name: &str) -> Result<(), String> {
        let i = self.index(name)?;
        let mut m = self.members.remove(i);
        let _ = m.child.kill();
        let _ = m.child.wait();
        forget_pid(m.child.id());
        Ok(())
    }

    /// Waits for candidate `name` to exit (after a SIGTERM), up to `timeout`; then SIGKILL.
    pub fn reap(&mut self, name: &str, timeout: Duration) -> Result<(), String> {
        let i = self.index(name)?;
        let mut m = self.members.remove(i);
        let until = Instant::now() + timeout;
        while Instant::now() < until {
            if let Ok(Some(_)) = m.child.try_wait() {
                forget_pid(m.child.id());
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = m.child.kill();
        let _ = m.child.wait();
        forget_pid(m.child.id());
        Err(format!("candidate {name} did not exit within {timeout:?}"))
    }

    /// Graceful stop of every candidate (each releases its lease), SIGKILL for stragglers.
    pub fn stop_all(&mut self) {
        let names: Vec<String> = self.members.iter().map(|m| m.name.clone()).collect();
        for n in &names {
            let _ = self.signal(n, libc::SIGTERM);
        }
        for n in &names {
            let _ = self.reap(n, Duration::from_secs(5));
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for m in &mut self.members {
            let _ = m.child.kill();
            let _ = m.child.wait();
            forget_pid(m.child.id());
        }
    }
}
