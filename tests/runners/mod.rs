//! Three `baton run` processes on one store, as users start them: the scenarios every store
//! must pass (tests/cli.rs on Redis, tests/zookeeper.rs on ZooKeeper).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::{Duration, Instant};

pub const BATON: &str = env!("CARGO_BIN_EXE_baton");
pub const WAIT: Duration = Duration::from_secs(15);
/// The command each candidate runs: reports its token and pid, then idles.
pub const CMD: &str = "echo started $BATON_FENCING_TOKEN $$ $BATON_ELECTION; exec sleep 600";

pub struct Started {
    pub runner: usize,
    pub token: u64,
    pub cmd_pid: i32,
}

pub struct Runner {
    pub child: Child,
}

impl Drop for Runner {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn run(url: &str, election: &str, ttl: &str, id: usize, tx: &Sender<Started>) -> Runner {
    let mut child = Command::new(BATON)
        .args(["run", "--store", url, "--election", election, "--ttl", ttl])
        .args(["--grace", "300ms", "--", "sh", "-c", CMD])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let tx = tx.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.first() == Some(&"started") {
                assert_eq!(f.get(3).copied(), Some("cli"), "BATON_ELECTION reaches CMD");
                let _ = tx.send(Started {
                    runner: id,
                    token: f[1].parse().unwrap(),
                    cmd_pid: f[2].parse().unwrap(),
                });
            }
        }
    });
    Runner { child }
}

pub fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    unsafe { libc::kill(pid, 0) == 0 }
}

pub fn signal(child: &Child, sig: i32) {
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, sig) };
}

pub fn three_runners(url: &str, ttl: &str) -> (Vec<Runner>, Receiver<Started>) {
    let (tx, rx) = channel();
    let runners = (0..3).map(|i| run(url, "cli", ttl, i, &tx)).collect();
    (runners, rx)
}

/// One command at a time; SIGKILL of the leading `baton` kills its command, and another
/// runner's command starts after the lease's expiry, under a larger token.
pub fn one_command_and_a_killed_leaders_command_dies_with_it(url: &str, ttl: &str) {
    let (mut runners, started) = three_runners(url, ttl);
    let first = started.recv_timeout(WAIT).expect("one command starts");
    // SIGKILL the leader's baton: its command must die too, and another takes over.
    runners[first.runner].child.kill().unwrap();
    runners[first.runner].child.wait().unwrap();
    let second = started
        .recv_timeout(WAIT)
        .expect("another command starts after expiry");
    assert_ne!(second.runner, first.runner);
    assert!(
        second.token > first.token,
        "{} > {}",
        second.token,
        first.token
    );
    let deadline = Instant::now() + WAIT;
    while alive(first.cmd_pid) {
        assert!(
            Instant::now() < deadline,
            "the killed baton's command outlived it"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // Exactly one command ran at a time: no third start while the second leads.
    assert!(started.try_recv().is_err());
}

/// SIGTERM of the leading `baton`: its command dies of it, and the next command starts long
/// before `long_ttl` (longer than [`WAIT`]) could expire: only the release explains it.
pub fn a_graceful_stop_hands_over_without_waiting_for_the_lease(url: &str, long_ttl: &str) {
    let (mut runners, started) = three_runners(url, long_ttl);
    let first = started.recv_timeout(WAIT).expect("one command starts");
    let leader = &mut runners[first.runner].child;
    signal(leader, libc::SIGTERM);
    let status = leader.wait().unwrap();
    // The command died of the forwarded SIGTERM; baton reports it as a shell would.
    assert_eq!(status.code(), Some(128 + libc::SIGTERM));
    let second = started
        .recv_timeout(WAIT)
        .expect("handover before the lease expired");
    assert!(second.token > first.token);
}
