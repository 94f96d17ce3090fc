//! `make demo`: three candidate processes on one election; the leader crashes (SIGKILL), then
//! the next leader is redeployed (SIGTERM, restart). Prints who leads, with which fencing token,
//! and the measured takeover and handover times.
//!
//! Uses a redis-server of its own on a free port, or the store `REDIS_URL` names.

#[allow(dead_code)]
mod common;

use std::collections::HashMap;
use std::time::Duration;

use baton::Election;
use common::fleet::{Ev, Fleet, Store};
use common::{fmt_dur, fmt_ms, mono_ns, ms_between};

/// Short, so that the crash step waits two seconds at most.
const TTL: Duration = Duration::from_secs(2);
const NAMES: [&str; 3] = ["alpha", "bravo", "charlie"];
const WAIT: Duration = Duration::from_secs(15);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--candidate") {
        common::candidate::main(&args[2..]);
    }
    common::fleet::clean_up_on_interrupt();
    if let Err(e) = Demo::run() {
        eprintln!("demo failed: {e}");
        std::process::exit(1);
    }
}

struct Demo {
    start: u64,
    // Dropped in this order: the candidates before the store.
    fleet: Fleet,
    store: Store,
    election: String,
    /// Candidate id of each running candidate, by name.
    ids: HashMap<String, String>,
}

impl Demo {
    fn say(&self, msg: impl AsRef<str>) {
        let secs = ms_between(self.start, mono_ns()) / 1000.0;
        println!("[{secs:5.1}s] {}", msg.as_ref());
    }

    fn run() -> Result<(), String> {
        let start = mono_ns();
        println!(
            "baton {} demo: three candidates, one election, a crash and a redeploy (lease ttl {}).\n",
            baton::VERSION,
            fmt_dur(TTL)
        );
        let store = Store::start(true);
        let election = format!("demo-{}", std::process::id());
        let fleet = Fleet::new(&store.url, &election, TTL)?;
        let mut demo = Demo {
            start,
            store,
            election,
            fleet,
            ids: HashMap::new(),
        };
        let result = demo.steps();
        demo.fleet.stop_all();
        if result.is_ok() {
            let owned = demo.store.server.is_some();
            demo.say(format!(
                "Stopped the candidates (SIGTERM: each released what it held){}.",
                if owned { " and redis-server" } else { "" }
            ));
        }
        result
    }

    fn steps(&mut self) -> Result<(), String> {
        match self.store.version() {
            Some(v) => self.say(format!(
                "Started redis-server {v} at {} (set REDIS_URL to use another store).",
                self.store.url
            )),
            None => self.say(format!(
                "Using the store at REDIS_URL ({}).",
                redact(&self.store.url)
            )),
        }
        // A non-campaigning observer keeps one store connection open in this process, which
        // current_leader() shares: the lease read below is then a single round trip.
        let _observer = Election::builder(&self.store.url, &self.election)
            .ttl(TTL)
            .campaign(false)
            .build()
            .map_err(|e| e.to_string())?;

        let mut pids = Vec::new();
        for name in NAMES {
            pids.push(format!("{name} (pid {})", self.start_candidate(name)?));
        }
        self.say(format!(
            "Started 3 candidates as separate processes: {}.",
            pids.join(", ")
        ));
        self.say(format!(
            "  Each runs Election::builder(url, \"{}\").ttl({}).build() and prints its events as JSON.",
            self.election,
            fmt_dur(TTL)
        ));
        let first = self.fleet.wait_for("a leader", WAIT, |e| e.is("granted"))?;
        let leader = first.who.clone();
        self.await_followers(&leader)?;
        self.say(format!(
            "{leader} leads with fencing token {}; {}.",
            first.u64("token"),
            self.others(&leader)
        ));
        self.say(format!("  {leader}'s event: {}", first.data));
        self.say(format!(
            "  The leader renews every {}; followers sleep until the lease would expire.",
            fmt_dur(TTL / 3)
        ));
        std::thread::sleep(Duration::from_secs(1));

        let takeover = self.crash(&leader, first.u64("token"))?;
        let handover = self.redeploy(&takeover.who, takeover.u64("token"))?;

        println!("\nSummary");
        println!(
            "  crash:    {} took over {} after the dead leader's lease expired (the lease itself cannot be cut short).",
            takeover.who,
            fmt_ms(takeover.data["delay_ms"].as_f64().unwrap_or(f64::NAN))
        );
        println!(
            "  redeploy: {} took over {} after the old leader began to close (a push wakes the followers; no lease has to expire).",
            handover.who,
            fmt_ms(handover.data["delay_ms"].as_f64().unwrap_or(f64::NAN))
        );
        println!("  `make bench` measures both over many rounds, with percentiles.\n");
        Ok(())
    }

    /// SIGKILL the leader; the next grant must wait for the lease's expiry.
    fn crash(&mut self, leader: &str, token: u64) -> Result<Ev, String> {
        println!(
            "\n1. Crash: SIGKILL {leader}, the leader. Nothing releases its lease, so the others wait for it to expire."
        );
        let killed_at = mono_ns();
        self.fleet.kill(leader)?;
        // The process is gone: its lease can no longer move. Read what is left of it.
        let before = mono_ns();
        let info = Election::builder(&self.store.url, &self.election)
            .current_leader()
            .map_err(|e| e.to_string())?;
        let after = mono_ns();
        let info = info.ok_or("the lease was already gone after the kill")?;
        let expiry = before / 2 + after / 2 + info.lease_remaining.as_nanos() as u64;
        self.say(format!(
            "{leader} is dead; the store says its lease (token {}) has {} ms left.",
            info.token,
            info.lease_remaining.as_millis()
        ));
        let mut next = self
            .fleet
            .wait_for("a takeover", WAIT, |e| e.is("granted"))?;
        let delay = ms_between(expiry, next.t);
        self.say(format!(
            "{} leads with token {} (larger than {token}): {} after the lease expired, {} after the kill.",
            next.who,
            next.u64("token"),
            fmt_ms(delay),
            fmt_ms(ms_between(killed_at, next.t))
        ));
        next.data["delay_ms"] = delay.into();
        let pid = self.start_candidate(leader)?;
        self.await_followers(&next.who)?;
        self.say(format!(
            "{leader} restarts as a new process (pid {pid}, candidate id {}) and follows: a new life never inherits an old lease.",
            self.ids[leader]
        ));
        Ok(next)
    }

    /// SIGTERM the leader: it closes its election (releases and notifies), then restarts.
    fn redeploy(&mut self, leader: &str, token: u64) -> Result<Ev, String> {
        println!(
            "\n2. Redeploy: SIGTERM {leader}, the leader. It closes its election: ends its own lease and publishes a release."
        );
        self.fleet.signal(leader, libc::SIGTERM)?;
        let closing = self
            .fleet
            .wait_for("closing", WAIT, |e| e.is("closing") && e.who == leader)?;
        let mut next = self
            .fleet
            .wait_for("a handover", WAIT, |e| e.is("granted"))?;
        let delay = ms_between(closing.t, next.t);
        self.say(format!(
            "{} leads with token {} (larger than {token}): {} after {leader} began to close.",
            next.who,
            next.u64("token"),
            fmt_ms(delay)
        ));
        next.data["delay_ms"] = delay.into();
        self.fleet.reap(leader, Duration::from_secs(5))?;
        let pid = self.start_candidate(leader)?;
        self.await_followers(&next.who)?;
        self.say(format!(
            "{leader} is redeployed (pid {pid}) and follows {}.",
            next.who
        ));
        Ok(next)
    }

    /// Starts candidate `name` and waits until it runs; returns its pid.
    fn start_candidate(&mut self, name: &str) -> Result<u32, String> {
        let pid = self.fleet.spawn(name, &[])?;
        let started = self
            .fleet
            .wait_for("a start", WAIT, |e| e.is("started") && e.who == name)?;
        self.ids
            .insert(name.into(), started.str("candidate_id").to_string());
        Ok(pid)
    }

    /// Waits until every other running candidate has seen `leader` lead.
    fn await_followers(&mut self, leader: &str) -> Result<(), String> {
        let id = self.ids[leader].clone();
        for name in NAMES.iter().filter(|n| **n != leader) {
            if self.fleet.pid(name).is_none() {
                continue;
            }
            self.fleet.wait_for("followers", WAIT, |e| {
                e.is("leader") && e.who == *name && e.str("leader") == id
            })?;
        }
        self.fleet.clear();
        Ok(())
    }

    fn others(&self, leader: &str) -> String {
        let others: Vec<&str> = NAMES.iter().copied().filter(|n| *n != leader).collect();
        format!("{} follow", others.join(" and "))
    }
}

/// Hides a password in `redis://user:password@host`.
fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rsplit_once('@')) {
        (Some((scheme, _)), Some((_, host))) => format!("{scheme}://***@{host}"),
        _ => url.to_string(),
    }
}
