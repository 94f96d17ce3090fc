//! `make bench`: baton's figures, each next to a peer measured in the same run, against a
//! redis-server of its own. Candidates are separate processes (this executable re-executed in
//! candidate mode); their event timestamps are CLOCK_MONOTONIC, comparable across processes.
//!
//! Measures: graceful handover (leader closes -> grant in another process) next to two store
//! round trips; takeover after SIGKILL as the delay past the lease's expiry; store requests of
//! idle followers per lease period; the cost of `is_leader()` next to `Instant::now()`; CPU and
//! RSS of one process holding or following 1,000 elections.

#[allow(dead_code)]
mod common;

use std::collections::HashSet;
use std::hint::black_box;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton::Election;
use common::fleet::{Fleet, Store};
use common::{fmt_dur, fmt_ms, mono_ns, ms_between, percentile};

const HANDOVER_ROUNDS: usize = 50;
const PINGS_PER_ROUND: usize = 20;
const TAKEOVER_ROUNDS: usize = 20;
const TAKEOVER_TTL: Duration = Duration::from_millis(500);
const IDLE_FOLLOWERS: usize = 10;
const IDLE_TTL: Duration = Duration::from_secs(1);
const IDLE_PERIODS: u32 = 8;
/// Printed as "1,000" in the table.
const MANY: usize = 1000;
const MANY_WINDOW: Duration = Duration::from_secs(10);
const WAIT: Duration = Duration::from_secs(30);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--candidate") {
        common::candidate::main(&args[2..]);
    }
    common::fleet::clean_up_on_interrupt();
    if let Err(e) = run() {
        eprintln!("bench failed: {e}");
        std::process::exit(1);
    }
}

/// Progress goes to stderr, the table to stdout.
fn progress(msg: &str) {
    eprintln!("  .. {msg}");
}

fn run() -> Result<(), String> {
    let started = Instant::now();
    let store = Store::start(false);
    let url = store.url.clone();
    let mut plain = redis::Client::open(url.as_str())
        .and_then(|c| c.get_connection())
        .map_err(|e| format!("plain redis client: {e}"))?;
    println!(
        "baton {} bench: redis-server {} on 127.0.0.1, {} CPUs, load average {} at start",
        baton::VERSION,
        store.version().unwrap_or_default(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );

    progress(&format!(
        "graceful handover, {HANDOVER_ROUNDS} rounds, with {PINGS_PER_ROUND} PINGs each"
    ));
    let (handover, pings) = handover(&url, &mut plain)?;
    progress(&format!(
        "takeover after SIGKILL, {TAKEOVER_ROUNDS} rounds, ttl {}",
        fmt_dur(TAKEOVER_TTL)
    ));
    let takeover = takeover(&url, &mut plain)?;
    progress(&format!(
        "{IDLE_FOLLOWERS} idle followers over {IDLE_PERIODS} lease periods of {}",
        fmt_dur(IDLE_TTL)
    ));
    let idle = idle_followers(&store, &url, &mut plain)?;
    progress("is_leader() and Instant::now() in tight loops");
    let check = is_leader_cost(&url)?;
    progress(&format!(
        "one process holding and one following {MANY} elections, over {}s",
        MANY_WINDOW.as_secs()
    ));
    let many = many_elections(&url)?;
    let zookeeper = zookeeper_rows()?;
    let sql = sql_rows()?;

    let rtt2 = 2.0 * percentile(&pings, 0.5);
    let (h50, h99) = (percentile(&handover, 0.5), percentile(&handover, 0.99));
    let (t50, t99) = (percentile(&takeover, 0.5), percentile(&takeover, 0.99));
    let mut table = Table::default();
    table.row(
        &format!("graceful handover ({} rounds)", handover.len()),
        format!("p50 {}  p99 {}", fmt_ms(h50), fmt_ms(h99)),
        format!("2 x PING p50 = {}", fmt_ms(rtt2)),
        format!("{:.1}x", h50 / rtt2),
        "p99 < 10 ms",
        h99 < 10.0,
    );
    table.row(
        &format!(
            "takeover past lease expiry ({}, ttl {})",
            takeover.len(),
            fmt_dur(TAKEOVER_TTL)
        ),
        format!("p50 {}  p99 {}", fmt_ms(t50), fmt_ms(t99)),
        "expiry itself = 0 (limit)".into(),
        "-".into(),
        "p99 < 50 ms",
        t99 < 50.0,
    );
    table.row(
        &format!("idle follower requests per lease period (k={IDLE_FOLLOWERS})"),
        format!("{:.2}", idle.per_follower),
        format!("leader renewals {:.2}", idle.leader),
        format!("{:.2}x", idle.per_follower / idle.leader),
        "< 2",
        idle.per_follower < 2.0,
    );
    table.row(
        "is_leader() per call, leading",
        format!("{:.1} ns", check.leading),
        format!("Instant::now() {:.1} ns", check.instant),
        format!(
            "{:.2}x (+{:.1} ns)",
            check.leading / check.instant,
            check.leading - check.instant
        ),
        "< 50 ns",
        check.leading < 50.0,
    );
    table.row(
        "is_leader() per call, following",
        format!("{:.1} ns", check.following),
        format!("Instant::now() {:.1} ns", check.instant),
        format!("{:.2}x", check.following / check.instant),
        "< 50 ns",
        check.following < 50.0,
    );
    for (what, p) in [("holding", &many.holder), ("following", &many.follower)] {
        table.row(
            &format!("1,000 elections {what}: CPU, RSS"),
            format!("{:.2}% of a core, {} MiB", p.cpu_percent, mib(p.rss_kib)),
            format!("1 election: {} MiB RSS", mib(idle.single_rss_kib)),
            "-".into(),
            "CPU < 5% of a core",
            p.cpu_percent < 5.0,
        );
    }
    match zookeeper {
        Some(zk) => zk.rows(&mut table),
        None => {
            progress("ZooKeeper rows skipped: no ZooKeeper here (apt-get install -y zookeeper)")
        }
    }
    for figures in &sql {
        figures.rows(&mut table);
    }
    println!();
    table.print();
    println!(
        "\nMeasured in {:.0}s. Percentiles are nearest-rank (p99 of 50 samples is the largest).",
        started.elapsed().as_secs_f64()
    );
    if !table.all_pass {
        println!(
            "Some targets were missed on this run; see docs/demo-bench.md for how to read them."
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------

/// Starts candidate `name` and returns its candidate id.
fn start(fleet: &mut Fleet, name: &str, extra: &[&str]) -> Result<String, String> {
    fleet.spawn(name, extra)?;
    let ev = fleet.wait_for(&format!("{name} to start"), WAIT, |e| {
        e.is("started") && e.who == name
    })?;
    Ok(ev.str("candidate_id").to_string())
}

/// Waits until candidate `name` has seen the candidate with id `leader` lead.
fn sees(fleet: &mut Fleet, name: &str, leader: &str) -> Result<(), String> {
    fleet
        .wait_for(&format!("{name} to see the leader"), WAIT, |e| {
            e.is("leader") && e.who == name && e.str("leader") == leader
        })
        .map(|_| ())
}

fn ping_ms(plain: &mut redis::Connection) -> Result<f64, String> {
    let t0 = mono_ns();
    let _: String = redis::cmd("PING")
        .query(plain)
        .map_err(|e| format!("PING: {e}"))?;
    Ok(ms_between(t0, mono_ns()))
}

/// Leader process closes (SIGTERM -> `closing` line, then release) -> `granted` line in the
/// follower process. The closed leader is replaced by a fresh follower each round.
fn handover(url: &str, plain: &mut redis::Connection) -> Result<(Vec<f64>, Vec<f64>), String> {
    handover_with(url, Duration::from_secs(5), || ping_ms(plain))
}

/// The handover rounds on any store, with `round_trip` sampled before each round as the floor.
fn handover_with(
    url: &str,
    ttl: Duration,
    mut round_trip: impl FnMut() -> Result<f64, String>,
) -> Result<(Vec<f64>, Vec<f64>), String> {
    let mut fleet = Fleet::new(url, "bench-handover", ttl)?;
    let mut leader = ("c0".to_string(), start(&mut fleet, "c0", &[])?);
    fleet.wait_for("c0 to lead", WAIT, |e| e.is("granted") && e.who == "c0")?;
    let mut follower = ("c1".to_string(), start(&mut fleet, "c1", &[])?);
    sees(&mut fleet, "c1", &leader.1)?;
    let (mut samples, mut pings) = (Vec::new(), Vec::new());
    for round in 0..HANDOVER_ROUNDS {
        for _ in 0..PINGS_PER_ROUND {
            pings.push(round_trip()?);
        }
        fleet.clear();
        fleet.signal(&leader.0, libc::SIGTERM)?;
        let closing = fleet.wait_for("closing", WAIT, |e| e.is("closing") && e.who == leader.0)?;
        let granted = fleet.wait_for("the handover", WAIT, |e| {
            e.is("granted") && e.who == follower.0
        })?;
        samples.push(ms_between(closing.t, granted.t));
        fleet.reap(&leader.0, Duration::from_secs(5))?;
        let name = format!("c{}", round + 2);
        let id = start(&mut fleet, &name, &[])?;
        sees(&mut fleet, &name, &follower.1)?;
        leader = std::mem::replace(&mut follower, (name, id));
    }
    fleet.stop_all();
    Ok((samples, pings))
}

/// Milliseconds left on a lease by the store's clock: its `expires` field (store ms; the key
/// has no TTL) minus `TIME`; -2 when there is no lease.
const LEASE_LEFT: &str = "local e = redis.call('HGET', KEYS[1], 'expires') \
    if not e then return -2 end \
    local t = redis.call('TIME') \
    return tonumber(e) - (tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))";

/// SIGKILL the leader (and reap it, so no renewal can follow), read how long its lease has
/// left by the store's clock, and time the next grant against the expiry: `read instant +
/// left`. The store counts a lease expired only once its millisecond clock reached `expires`,
/// so this may charge up to 1 ms of the store's rounding to baton, never the reverse.
fn takeover(url: &str, plain: &mut redis::Connection) -> Result<Vec<f64>, String> {
    let election = "bench-takeover";
    let lease = format!("baton:{{{election}}}:lease");
    let mut fleet = Fleet::new(url, election, TAKEOVER_TTL)?;
    let mut ids = std::collections::HashMap::new();
    ids.insert("t0".to_string(), start(&mut fleet, "t0", &[])?);
    let first = fleet.wait_for("t0 to lead", WAIT, |e| e.is("granted"))?;
    let (mut token, mut leader) = (first.u64("token"), first.who);
    let mut followers = Vec::new();
    for name in ["t1", "t2"] {
        ids.insert(name.to_string(), start(&mut fleet, name, &[])?);
        sees(&mut fleet, name, &ids[&leader])?;
        followers.push(name.to_string());
    }
    let mut samples = Vec::new();
    for round in 0..TAKEOVER_ROUNDS {
        // Kill at a random point of the renewal cycle.
        std::thread::sleep((TAKEOVER_TTL / 3).mul_f64(fastrand::f64()));
        fleet.clear();
        fleet.kill(&leader)?;
        let t0 = mono_ns();
        let pttl: i64 = redis::cmd("EVAL")
            .arg(LEASE_LEFT)
            .arg(1)
            .arg(&lease)
            .query(plain)
            .map_err(|e| format!("reading the lease's expiry: {e}"))?;
        let t1 = mono_ns();
        if pttl < 0 {
            return Err(format!(
                "the lease was gone right after the kill ({pttl} ms left)"
            ));
        }
        let expiry = t0 / 2 + t1 / 2 + pttl as u64 * 1_000_000;
        let next = fleet.wait_for("a takeover", WAIT, |e| e.is("granted"))?;
        if next.u64("token") <= token {
            return Err(format!(
                "token did not increase: {} after {token}",
                next.u64("token")
            ));
        }
        samples.push(ms_between(expiry, next.t));
        token = next.u64("token");
        followers.retain(|f| *f != next.who);
        for f in &followers {
            sees(&mut fleet, f, &ids[&next.who])?;
        }
        let name = format!("t{}", round + 3);
        ids.insert(name.clone(), start(&mut fleet, &name, &[])?);
        sees(&mut fleet, &name, &ids[&next.who])?;
        followers.push(name);
        leader = next.who;
    }
    fleet.stop_all();
    Ok(samples)
}

struct Idle {
    per_follower: f64,
    leader: f64,
    single_rss_kib: u64,
}

/// One leader process and one process with `IDLE_FOLLOWERS` followers of the same election;
/// every request each connection sends is counted with MONITOR over whole lease periods.
fn idle_followers(store: &Store, url: &str, plain: &mut redis::Connection) -> Result<Idle, String> {
    let server = store
        .server
        .as_ref()
        .ok_or("the bench needs its own server")?;
    let monitor = Monitor::start(server.port())?;
    let mut fleet = Fleet::new(url, "bench-idle", IDLE_TTL)?;
    let before = clients(plain)?;
    start(&mut fleet, "leader", &[])?;
    fleet.wait_for("the leader", WAIT, |e| e.is("granted"))?;
    let with_leader = clients(plain)?;
    let count = IDLE_FOLLOWERS.to_string();
    fleet.spawn("followers", &["--count", &count])?;
    let ready = fleet.wait_for("followers ready", WAIT, |e| e.is("ready"))?;
    if ready.u64("following") != IDLE_FOLLOWERS as u64 {
        return Err(format!("followers not ready: {}", ready.data));
    }
    let with_followers = clients(plain)?;
    let leader_addrs: HashSet<String> = with_leader.difference(&before).cloned().collect();
    let follower_addrs: HashSet<String> =
        with_followers.difference(&with_leader).cloned().collect();

    let from = server_time(plain)?;
    std::thread::sleep(IDLE_TTL * IDLE_PERIODS);
    let to = server_time(plain)?;
    let single_rss_kib = fleet.pid("leader").map_or(0, |p| proc_usage(p).1);
    let lines = monitor.stop();
    fleet.stop_all();

    let window = lines.iter().filter(|(ts, _)| *ts >= from && *ts <= to);
    let (mut by_leader, mut by_followers) = (0usize, 0usize);
    for (_, addr) in window {
        if leader_addrs.contains(addr) {
            by_leader += 1;
        } else if follower_addrs.contains(addr) {
            by_followers += 1;
        }
    }
    let periods = (to - from) / IDLE_TTL.as_secs_f64();
    Ok(Idle {
        per_follower: by_followers as f64 / IDLE_FOLLOWERS as f64 / periods,
        leader: by_leader as f64 / periods,
        single_rss_kib,
    })
}

/// Addresses of the server's client connections.
fn clients(plain: &mut redis::Connection) -> Result<HashSet<String>, String> {
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query(plain)
        .map_err(|e| format!("CLIENT LIST: {e}"))?;
    Ok(list
        .lines()
        .filter_map(|l| l.split(' ').find_map(|f| f.strip_prefix("addr=")))
        .map(String::from)
        .collect())
}

/// The server's clock, in seconds (the time base of MONITOR lines).
fn server_time(plain: &mut redis::Connection) -> Result<f64, String> {
    let (s, us): (u64, u64) = redis::cmd("TIME")
        .query(plain)
        .map_err(|e| format!("TIME: {e}"))?;
    Ok(s as f64 + us as f64 / 1e6)
}

/// A MONITOR connection that records (server time, client address) of every request.
struct Monitor {
    stream: TcpStream,
    stop: Arc<AtomicBool>,
    reader: std::thread::JoinHandle<Vec<(f64, String)>>,
}

impl Monitor {
    fn start(port: u16) -> Result<Monitor, String> {
        let mut stream =
            TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("MONITOR: {e}"))?;
        stream
            .write_all(b"*1\r\n$7\r\nMONITOR\r\n")
            .map_err(|e| format!("MONITOR: {e}"))?;
        let read = stream.try_clone().map_err(|e| e.to_string())?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let reader = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for line in BufReader::new(read).lines() {
                let Ok(line) = line else { break };
                if stopped.load(Ordering::Relaxed) {
                    break;
                }
                // +1700000000.123456 [0 127.0.0.1:5555] "EVALSHA" ...; scripts' own calls say [0 lua].
                let Some(rest) = line.strip_prefix('+') else {
                    continue;
                };
                let Some((ts, rest)) = rest.split_once(' ') else {
                    continue;
                };
                let addr = rest
                    .strip_prefix('[')
                    .and_then(|r| r.split_once(']'))
                    .and_then(|(inside, _)| inside.split_whitespace().nth(1));
                if let (Ok(ts), Some(addr)) = (ts.parse::<f64>(), addr) {
                    seen.push((ts, addr.to_string()));
                }
            }
            seen
        });
        Ok(Monitor {
            stream,
            stop,
            reader,
        })
    }

    fn stop(self) -> Vec<(f64, String)> {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
        self.reader.join().unwrap_or_default()
    }
}

struct Check {
    leading: f64,
    following: f64,
    instant: f64,
}

/// Nanoseconds per call of `f` over a million calls (a few tens of milliseconds).
fn ns_per_call(mut f: impl FnMut() -> bool) -> f64 {
    const CALLS: u32 = 1_000_000;
    let t = Instant::now();
    let mut n = 0u32;
    for _ in 0..CALLS {
        n += black_box(f()) as u32;
    }
    black_box(n);
    t.elapsed().as_nanos() as f64 / CALLS as f64
}

/// The three loops take turns, 31 short runs each, and each reports its median run: on a busy
/// machine most short runs escape preemption, and a burst of load hits all three alike.
fn is_leader_cost(url: &str) -> Result<Check, String> {
    let leader = Election::builder(url, "bench-is-leader")
        .build()
        .map_err(|e| e.to_string())?;
    leader
        .wait_for_leadership(WAIT)
        .map_err(|e| format!("is_leader bench: {e}"))?;
    let follower = Election::builder(url, "bench-is-leader")
        .build()
        .map_err(|e| e.to_string())?;
    let mut runs = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..31 {
        runs[0].push(ns_per_call(|| black_box(&leader).is_leader()));
        runs[1].push(ns_per_call(|| black_box(&follower).is_leader()));
        runs[2].push(ns_per_call(|| {
            black_box(Instant::now());
            true
        }));
    }
    if !leader.is_leader() || follower.is_leader() {
        return Err("is_leader bench: leadership moved during the loop".into());
    }
    let [leading, following, instant] = runs.map(|r| percentile(&r, 0.5));
    Ok(Check {
        leading,
        following,
        instant,
    })
}

struct Usage {
    cpu_percent: f64,
    rss_kib: u64,
}

struct Many {
    holder: Usage,
    follower: Usage,
}

/// One process wins all `MANY` elections (default ttl 10s), another follows them all; both
/// measured over the same window from /proc.
fn many_elections(url: &str) -> Result<Many, String> {
    let mut fleet = Fleet::new(url, "bench-many", Duration::from_secs(10))?;
    let count = MANY.to_string();
    for (name, want) in [("holder", "leading"), ("follower", "following")] {
        fleet.spawn(name, &["--count", &count, "--distinct"])?;
        let ready = fleet.wait_for(&format!("{name} ready"), Duration::from_secs(120), |e| {
            e.is("ready") && e.who == name
        })?;
        if ready.u64(want) != MANY as u64 {
            return Err(format!("{name} not ready: {}", ready.data));
        }
    }
    // Let the start-up burst pass.
    std::thread::sleep(Duration::from_secs(1));
    let pids = [
        fleet.pid("holder").ok_or("holder gone")?,
        fleet.pid("follower").ok_or("follower gone")?,
    ];
    let t0 = Instant::now();
    let before = pids.map(|p| proc_usage(p).0);
    std::thread::sleep(MANY_WINDOW);
    let after = pids.map(proc_usage);
    let wall = t0.elapsed().as_secs_f64();
    fleet.stop_all();
    let usage = |i: usize| Usage {
        cpu_percent: after[i].0.saturating_sub(before[i]) as f64 / 1e9 / wall * 100.0,
        rss_kib: after[i].1,
    };
    Ok(Many {
        holder: usage(0),
        follower: usage(1),
    })
}

/// (CPU time in ns, VmRSS in KiB) of a process. CPU time is the sum of its threads'
/// `schedstat` run time (ns resolution); without schedstats, utime + stime from `stat`
/// (clock ticks: 10 ms steps, 0.1% of a core over a 10s window).
fn proc_usage(pid: u32) -> (u64, u64) {
    let cpu = schedstat_ns(pid).unwrap_or_else(|| stat_ns(pid));
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (cpu, rss)
}

fn schedstat_ns(pid: u32) -> Option<u64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut total = 0;
    for task in tasks.flatten() {
        let stat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}

fn stat_ns(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses: state is the 3rd field overall,
    // utime the 14th and stime the 15th.
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    (ticks(11) + ticks(12)) * 1_000_000_000 / hz
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(String::from))
        .unwrap_or_else(|| "?".into())
}

// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Table {
    rows: Vec<[String; 6]>,
    all_pass: bool,
}

impl Table {
    fn row(
        &mut self,
        measure: &str,
        result: String,
        peer: String,
        ratio: String,
        target: &str,
        pass: bool,
    ) {
        if self.rows.is_empty() {
            self.all_pass = true;
        }
        self.all_pass &= pass;
        let verdict = if pass { "pass" } else { "MISS" };
        self.rows.push([
            measure.into(),
            result,
            peer,
            ratio,
            target.into(),
            verdict.into(),
        ]);
    }

    fn print(&self) {
        let head = ["measure", "result", "peer, same run", "ratio", "target", ""];
        let mut width = head.map(|h| h.chars().count());
        for r in &self.rows {
            for (w, cell) in width.iter_mut().zip(r) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: &[String; 6]| {
            let mut out = String::new();
            for (i, (cell, w)) in cells.iter().zip(width).enumerate() {
                if i > 0 {
                    out.push_str("  ");
                }
                out.push_str(cell);
                out.push_str(&" ".repeat(w - cell.chars().count()));
            }
            println!("{}", out.trim_end());
        };
        line(&head.map(String::from));
        line(&width.map(|w| "-".repeat(w)));
        for r in &self.rows {
            line(r);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The same election on ZooKeeper (a standalone server from Debian's package, tickTime 200ms).

const ZK_HANDOVER_ROUNDS: usize = 20;
const ZK_TAKEOVER_ROUNDS: usize = 10;
const ZK_TTL: Duration = Duration::from_secs(1);

struct ZooKeeperFigures {
    handover: Vec<f64>,
    round_trips: Vec<f64>,
    takeover: Vec<f64>,
}

impl ZooKeeperFigures {
    fn rows(&self, table: &mut Table) {
        let rtt2 = 2.0 * percentile(&self.round_trips, 0.5);
        let (h50, h99) = (
            percentile(&self.handover, 0.5),
            percentile(&self.handover, 0.99),
        );
        table.row(
            &format!(
                "ZooKeeper: graceful handover ({} rounds)",
                self.handover.len()
            ),
            format!("p50 {}  p99 {}", fmt_ms(h50), fmt_ms(h99)),
            format!("2 x exists() p50 = {}", fmt_ms(rtt2)),
            format!("{:.1}x", h50 / rtt2),
            "p99 < 50 ms",
            h99 < 50.0,
        );
        let (t50, t99) = (
            percentile(&self.takeover, 0.5),
            percentile(&self.takeover, 0.99),
        );
        table.row(
            &format!(
                "ZooKeeper: takeover past session expiry ({}, ttl {})",
                self.takeover.len(),
                fmt_dur(ZK_TTL)
            ),
            format!("p50 {}  p99 {}", fmt_ms(t50), fmt_ms(t99)),
            "the server expires sessions on its tick (200 ms)".into(),
            "-".into(),
            "p99 < 2 ticks (400 ms)",
            t99 < 400.0,
        );
    }
}

/// `None` when this machine has no ZooKeeper to start.
fn zookeeper_rows() -> Result<Option<ZooKeeperFigures>, String> {
    if !std::path::Path::new("/usr/share/java/zookeeper.jar").exists()
        && std::env::var_os("ZOOKEEPER_CLASSPATH").is_none()
    {
        return Ok(None);
    }
    let zk = baton_testkit::ZooKeeperServer::start();
    let url = zk.url();
    progress(&format!(
        "ZooKeeper: graceful handover, {ZK_HANDOVER_ROUNDS} rounds; takeover after SIGKILL, {ZK_TAKEOVER_ROUNDS} rounds"
    ));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let client = rt
        .block_on(zookeeper_client::Client::connect(&format!(
            "127.0.0.1:{}",
            zk.port()
        )))
        .map_err(|e| format!("ZooKeeper client: {e}"))?;
    let exists_ms = || {
        let t0 = mono_ns();
        rt.block_on(client.check_stat("/"))
            .map_err(|e| format!("exists(/): {e}"))?;
        Ok(ms_between(t0, mono_ns()))
    };
    let (handover, round_trips) = handover_with(&url, ZK_TTL, exists_ms)?;
    let takeover = zookeeper_takeover(&url)?;
    Ok(Some(ZooKeeperFigures {
        handover,
        round_trips,
        takeover,
    }))
}

/// SIGKILL of the leading process (reaped at once) -> the next grant, minus the session
/// timeout: how long past the earliest moment the server may expire the dead session.
fn zookeeper_takeover(url: &str) -> Result<Vec<f64>, String> {
    let mut fleet = Fleet::new(url, "bench-zk-takeover", ZK_TTL)?;
    let mut names = vec!["z0".to_string(), "z1".to_string()];
    start(&mut fleet, "z0", &[])?;
    let first = fleet.wait_for("z0 to lead", WAIT, |e| e.is("granted"))?;
    start(&mut fleet, "z1", &[])?;
    let (mut leader, mut token) = (first.who.clone(), first.u64("token"));
    let mut samples = Vec::new();
    for round in 0..ZK_TAKEOVER_ROUNDS {
        std::thread::sleep((ZK_TTL / 3).mul_f64(fastrand::f64()));
        fleet.clear();
        fleet.kill(&leader)?;
        let killed = mono_ns();
        let next = fleet.wait_for("a takeover", WAIT, |e| e.is("granted"))?;
        if next.u64("token") <= token {
            return Err(format!(
                "token did not increase: {} after {token}",
                next.u64("token")
            ));
        }
        samples.push(ms_between(killed, next.t) - ZK_TTL.as_secs_f64() * 1000.0);
        names.retain(|n| *n != leader);
        let name = format!("z{}", round + 2);
        start(&mut fleet, &name, &[])?;
        names.push(name);
        (leader, token) = (next.who.clone(), next.u64("token"));
    }
    fleet.stop_all();
    Ok(samples)
}

// ---------------------------------------------------------------------------------------------
// The same election on PostgreSQL and MariaDB (Debian's packages, started by the testkit).

const SQL_HANDOVER_ROUNDS: usize = 20;
const SQL_TAKEOVER_ROUNDS: usize = 10;
const SQL_TTL: Duration = Duration::from_secs(1);

/// A SQL server for the bench: its URL, and the lease's remaining milliseconds by the
/// server's clock (read with the server's command-line client).
trait SqlBench {
    fn url(&self) -> String;
    fn lease_left_ms(&self, election: &str) -> Result<i64, String>;
}

/// `SELECT 1` round trips on one connection of the Rust client baton itself uses.
struct RoundTrip {
    rt: tokio::runtime::Runtime,
    client: SqlClient,
}

enum SqlClient {
    Postgres(tokio_postgres::Client),
    MySql(mysql_async::Conn),
}

impl RoundTrip {
    fn connect(url: &str) -> Result<RoundTrip, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let client = if url.starts_with("postgres") {
            let (client, conn) = rt
                .block_on(tokio_postgres::connect(url, tokio_postgres::NoTls))
                .map_err(|e| format!("PostgreSQL client: {e}"))?;
            rt.spawn(conn);
            SqlClient::Postgres(client)
        } else {
            let opts = mysql_async::Opts::from_url(url).map_err(|e| e.to_string())?;
            SqlClient::MySql(
                rt.block_on(mysql_async::Conn::new(opts))
                    .map_err(|e| format!("MySQL client: {e}"))?,
            )
        };
        Ok(RoundTrip { rt, client })
    }

    fn ms(&mut self) -> Result<f64, String> {
        use mysql_async::prelude::Queryable;
        let t0 = mono_ns();
        match &mut self.client {
            SqlClient::Postgres(c) => self
                .rt
                .block_on(c.simple_query("SELECT 1"))
                .map(drop)
                .map_err(|e| e.to_string())?,
            SqlClient::MySql(c) => self
                .rt
                .block_on(c.query_drop("SELECT 1"))
                .map_err(|e| e.to_string())?,
        }
        Ok(ms_between(t0, mono_ns()))
    }
}

impl SqlBench for baton_testkit::PostgresServer {
    fn url(&self) -> String {
        baton_testkit::PostgresServer::url(self)
    }
    fn lease_left_ms(&self, election: &str) -> Result<i64, String> {
        self.try_sql(&format!(
            "SELECT (extract(epoch FROM expires - now()) * 1000)::bigint FROM baton_leases WHERE name = '{election}' AND candidate IS NOT NULL"
        ))?
        .parse()
        .map_err(|e| format!("the lease's time left: {e}"))
    }
}

impl SqlBench for baton_testkit::MariaDbServer {
    fn url(&self) -> String {
        baton_testkit::MariaDbServer::url(self)
    }
    fn lease_left_ms(&self, election: &str) -> Result<i64, String> {
        self.try_sql(&format!(
            "SELECT (expires_us - CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED)) DIV 1000 FROM baton_leases WHERE name = '{election}' AND candidate IS NOT NULL"
        ))?
        .parse()
        .map_err(|e| format!("the lease's time left: {e}"))
    }
}

struct SqlFigures {
    store: &'static str,
    push: bool,
    handover: Vec<f64>,
    round_trips: Vec<f64>,
    takeover: Vec<f64>,
}

impl SqlFigures {
    fn rows(&self, table: &mut Table) {
        let rtt2 = 2.0 * percentile(&self.round_trips, 0.5);
        let (h50, h99) = (
            percentile(&self.handover, 0.5),
            percentile(&self.handover, 0.99),
        );
        let ttl_ms = SQL_TTL.as_secs_f64() * 1000.0;
        let (target, pass) = if self.push {
            ("p99 < 20 ms".to_string(), h99 < 20.0)
        } else {
            // No push: the followers wake at the released lease's expiry.
            (
                format!("p99 < ttl + 50 ms ({})", fmt_ms(ttl_ms + 50.0)),
                h99 < ttl_ms + 50.0,
            )
        };
        table.row(
            &format!(
                "{}: graceful handover ({} rounds)",
                self.store,
                self.handover.len()
            ),
            format!("p50 {}  p99 {}", fmt_ms(h50), fmt_ms(h99)),
            if self.push {
                format!("2 x SELECT 1 p50 = {}", fmt_ms(rtt2))
            } else {
                "the released lease's expiry".into()
            },
            if self.push {
                format!("{:.1}x", h50 / rtt2)
            } else {
                "-".into()
            },
            &target,
            pass,
        );
        let (t50, t99) = (
            percentile(&self.takeover, 0.5),
            percentile(&self.takeover, 0.99),
        );
        table.row(
            &format!(
                "{}: takeover past lease expiry ({}, ttl {})",
                self.store,
                self.takeover.len(),
                fmt_dur(SQL_TTL)
            ),
            format!("p50 {}  p99 {}", fmt_ms(t50), fmt_ms(t99)),
            "expiry itself = 0 (limit)".into(),
            "-".into(),
            "p99 < 50 ms",
            t99 < 50.0,
        );
    }
}

/// PostgreSQL's and MariaDB's rows, each only when this machine has the server.
fn sql_rows() -> Result<Vec<SqlFigures>, String> {
    let mut figures = Vec::new();
    if std::path::Path::new("/usr/lib/postgresql").exists() {
        let pg = baton_testkit::PostgresServer::start();
        figures.push(sql_figures("PostgreSQL", true, &pg)?);
    } else {
        progress("PostgreSQL rows skipped: no PostgreSQL here (apt-get install -y postgresql)");
    }
    let mariadb = std::process::Command::new("mariadbd")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if mariadb {
        let db = baton_testkit::MariaDbServer::start();
        figures.push(sql_figures("MariaDB", false, &db)?);
    } else {
        progress("MariaDB rows skipped: no MariaDB here (apt-get install -y mariadb-server)");
    }
    Ok(figures)
}

fn sql_figures(store: &'static str, push: bool, db: &dyn SqlBench) -> Result<SqlFigures, String> {
    progress(&format!(
        "{store}: graceful handover, {SQL_HANDOVER_ROUNDS} rounds; takeover after SIGKILL, {SQL_TAKEOVER_ROUNDS} rounds"
    ));
    let url = db.url();
    let mut ping = RoundTrip::connect(&url)?;
    let mut round_trips = Vec::new();
    let mut fleet = Fleet::new(&url, "bench-sql-handover", SQL_TTL)?;
    let mut leader = ("s0".to_string(), start(&mut fleet, "s0", &[])?);
    fleet.wait_for("s0 to lead", WAIT, |e| e.is("granted") && e.who == "s0")?;
    let mut follower = ("s1".to_string(), start(&mut fleet, "s1", &[])?);
    sees(&mut fleet, "s1", &leader.1)?;
    let mut handover = Vec::new();
    for round in 0..SQL_HANDOVER_ROUNDS {
        for _ in 0..PINGS_PER_ROUND {
            round_trips.push(ping.ms()?);
        }
        fleet.clear();
        fleet.signal(&leader.0, libc::SIGTERM)?;
        let closing = fleet.wait_for("closing", WAIT, |e| e.is("closing") && e.who == leader.0)?;
        let granted = fleet.wait_for("the handover", WAIT, |e| {
            e.is("granted") && e.who == follower.0
        })?;
        handover.push(ms_between(closing.t, granted.t));
        fleet.reap(&leader.0, Duration::from_secs(5))?;
        let name = format!("s{}", round + 2);
        let id = start(&mut fleet, &name, &[])?;
        sees(&mut fleet, &name, &follower.1)?;
        leader = std::mem::replace(&mut follower, (name, id));
    }
    fleet.stop_all();
    let takeover = sql_takeover(&url, db)?;
    Ok(SqlFigures {
        store,
        push,
        handover,
        round_trips,
        takeover,
    })
}

/// SIGKILL of the leader (reaped), the lease's time left read from the server, and the next
/// grant timed against that expiry, as the Redis row does with the lease's `expires`.
fn sql_takeover(url: &str, db: &dyn SqlBench) -> Result<Vec<f64>, String> {
    let election = "bench-sql-takeover";
    let mut fleet = Fleet::new(url, election, SQL_TTL)?;
    let first_id = start(&mut fleet, "k0", &[])?;
    let first = fleet.wait_for("k0 to lead", WAIT, |e| e.is("granted"))?;
    let mut ids = std::collections::HashMap::from([("k0".to_string(), first_id)]);
    let (mut token, mut leader) = (first.u64("token"), first.who);
    let name = "k1".to_string();
    ids.insert(name.clone(), start(&mut fleet, &name, &[])?);
    sees(&mut fleet, &name, &ids[&leader])?;
    let mut samples = Vec::new();
    for round in 0..SQL_TAKEOVER_ROUNDS {
        std::thread::sleep((SQL_TTL / 3).mul_f64(fastrand::f64()));
        fleet.clear();
        fleet.kill(&leader)?;
        let t0 = mono_ns();
        let left = db.lease_left_ms(election)?;
        let t1 = mono_ns();
        let expiry = t0 / 2 + t1 / 2 + left.max(0) as u64 * 1_000_000;
        let next = fleet.wait_for("a takeover", WAIT, |e| e.is("granted"))?;
        if next.u64("token") <= token {
            return Err(format!(
                "token did not increase: {} after {token}",
                next.u64("token")
            ));
        }
        samples.push(ms_between(expiry, next.t));
        token = next.u64("token");
        let name = format!("k{}", round + 2);
        ids.insert(name.clone(), start(&mut fleet, &name, &[])?);
        sees(&mut fleet, &name, &ids[&next.who])?;
        leader = next.who;
    }
    fleet.stop_all();
    Ok(samples)
}
