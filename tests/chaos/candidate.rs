//! The candidate process: `elections` election handles, one sampler and one writer thread.
//!
//! The sampler reads `token()` (which is `is_leader()` plus the grant's token) of every
//! election every `sample_us` and records, per grant, its first and last true sample; while
//! leading it flushes a tick about every `tick_us`, so a SIGKILLed leader's interval ends at
//! most one tick before its death. The writer does "work" under each token it holds: it checks
//! `token()`, works for `work_us`, then writes to the fenced resource with that token, like a
//! leader whose task may outlive its lease.
//!
//! A line `close` on stdin is a graceful redeploy: every election is closed (concurrently),
//! the sampler records the end of each belief, and the process exits.

use std::io::BufRead;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::record::{emit, now_ns, Rec};
use super::resource;

/// Holds the candidate's configuration (JSON); its presence selects the candidate mode.
pub const ENV: &str = "BATON_CHAOS_CANDIDATE";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CandidateConfig {
    pub store: String,
    pub resource: String,
    /// Election `i` is named `<name>-<i>`.
    pub name: String,
    pub elections: usize,
    /// Elections built with `wait_for_replicas(1, replica_wait_ms)`.
    pub wait_replicas: Vec<usize>,
    pub replica_wait_ms: u64,
    pub ttl_ms: u64,
    pub renew_ms: u64,
    pub retry_ms: u64,
    pub sample_us: u64,
    pub tick_us: u64,
    pub work_us: u64,
}

/// The name of election `i` of a phase.
pub fn election_name(phase: &str, i: usize) -> String {
    format!("{phase}-{i}")
}

/// Runs the candidate (and never returns) if this process was started as one.
pub fn run_if_requested() {
    if let Ok(json) = std::env::var(ENV) {
        // `BATON_CHAOS_LOG=baton=debug`: the candidates' own logs, on stderr, or one file per
        // process in `BATON_CHAOS_LOG_DIR` (named by pid) to tell the processes apart.
        if let Ok(filter) = std::env::var("BATON_CHAOS_LOG") {
            let dir = std::env::var_os("BATON_CHAOS_LOG_DIR").map(std::path::PathBuf::from);
            let file = dir.and_then(|d| {
                std::fs::File::create(d.join(format!("{}.log", std::process::id()))).ok()
            });
            let builder = tracing_subscriber::fmt().with_env_filter(filter);
            let _ = match file {
                Some(f) => builder
                    .with_ansi(false)
                    .with_writer(Mutex::new(f))
                    .try_init(),
                None => builder.with_writer(std::io::stderr).try_init(),
            };
        }
        match serde_json::from_str::<CandidateConfig>(&json) {
            Ok(cfg) => run(cfg),
            Err(e) => {
                emit(&Rec::Error {
                    msg: format!("bad {ENV}: {e}"),
                });
                std::process::exit(2);
            }
        }
    }
}

struct Shared {
    elections: Vec<baton::Election>,
    closing: AtomicBool,
    /// Completed sampling rounds (the closer waits for one after the elections closed).
    rounds: AtomicU64,
}

fn run(cfg: CandidateConfig) -> ! {
    let mut elections = Vec::new();
    for i in 0..cfg.elections {
        let mut b = baton::Election::builder(cfg.store.clone(), election_name(&cfg.name, i))
            .ttl(Duration::from_millis(cfg.ttl_ms))
            .renew_interval(Duration::from_millis(cfg.renew_ms))
            .retry_interval(Duration::from_millis(cfg.retry_ms));
        if cfg.wait_replicas.contains(&i) {
            b = b.wait_for_replicas(1, Duration::from_millis(cfg.replica_wait_ms));
        }
        match b.build() {
            Ok(e) => elections.push(e),
            Err(e) => {
                emit(&Rec::Error {
                    msg: format!("build: {e}"),
                });
                std::process::exit(2);
            }
        }
    }
    emit(&Rec::Start {
        id: elections[0].candidate_id().to_string(),
        pid: std::process::id(),
    });
    let shared = Arc::new(Shared {
        elections,
        closing: AtomicBool::new(false),
        rounds: AtomicU64::new(0),
    });
    let writer = shared.clone();
    let wcfg = cfg.clone();
    std::thread::spawn(move || write_loop(&writer, &wcfg));
    let closer = shared.clone();
    std::thread::spawn(move || control_loop(&closer));
    sample_loop(&shared, &cfg)
}

/// Reads commands from the harness; `close` is a graceful redeploy.
fn control_loop(s: &Shared) {
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { return };
        if line.trim() != "close" {
            continue;
        }
        s.closing.store(true, Ordering::SeqCst);
        std::thread::scope(|sc| {
            for e in &s.elections {
                sc.spawn(|| e.close());
            }
        });
        // Two more sampling rounds: the sampler has seen every belief end.
        let r = s.rounds.load(Ordering::SeqCst);
        while s.rounds.load(Ordering::SeqCst) < r + 2 {
            std::thread::yield_now();
        }
        emit(&Rec::Exit { t: now_ns() });
        std::process::exit(0);
    }
}

/// One election's sampling state.
#[derive(Default)]
struct Sampler {
    prev: Option<u64>,
    prev_t1: u64,
    last_true: u64,
    last_tick: u64,
    /// A stall inside a sample: its value may predate the stop, so the next one is checked.
    straddled: Option<(u64, u64, bool)>,
}

impl Sampler {
    fn sample(&mut self, el: usize, e: &baton::Election, tick: u64, stall: u64) {
        let t0 = now_ns();
        let tok = e.token();
        let t1 = now_ns();
        if let Some((from, to, lead)) = self.straddled.take() {
            emit(&Rec::Stall {
                el,
                from,
                to,
                lead,
                after: tok.is_some(),
            });
        }
        if self.prev_t1 > 0 && t0.saturating_sub(self.prev_t1) > stall {
            emit(&Rec::Stall {
                el,
                from: self.prev_t1,
                to: t0,
                lead: self.prev.is_some(),
                after: tok.is_some(),
            });
        }
        if t1 - t0 > stall {
            self.straddled = Some((t0, t1, self.prev.is_some() || tok.is_some()));
        }
        let grant = |tok| {
            emit(&Rec::Grant {
                el,
                tok,
                t0,
                t1,
                dl: deadline(e),
            })
        };
        match (self.prev, tok) {
            (None, Some(t)) => {
                grant(t);
                self.last_tick = t0;
            }
            (Some(p), Some(t)) if p == t => {
                if t0 - self.last_tick >= tick {
                    let left = e.lease_remaining().map_or(0, |l| l.as_nanos() as u64);
                    emit(&Rec::Tick {
                        el,
                        tok: t,
                        t: t0,
                        dl: now_ns() + left,
                    });
                    self.last_tick = t0;
                }
            }
            (Some(p), Some(t)) => {
                emit(&Rec::End {
                    el,
                    tok: p,
                    t: self.last_true,
                    f: t0,
                });
                grant(t);
                self.last_tick = t0;
            }
            (Some(p), None) => emit(&Rec::End {
                el,
                tok: p,
                t: self.last_true,
                f: t1,
            }),
            (None, None) => {}
        }
        if tok.is_some() {
            self.last_true = t0;
        }
        self.prev = tok;
        self.prev_t1 = t1;
    }
}

/// The lease deadline the election trusts now, on the harness's clock (0: none).
fn deadline(e: &baton::Election) -> u64 {
    e.lease_remaining()
        .map_or(0, |l| now_ns() + l.as_nanos() as u64)
}

fn sample_loop(s: &Shared, cfg: &CandidateConfig) -> ! {
    // Sleep as asked, not 50us longer (the default timer slack).
    // SAFETY: prctl on the calling thread with a plain integer argument.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1000u64) };
    let period = Duration::from_micros(cfg.sample_us);
    let tick = cfg.tick_us * 1000;
    // Only a whole-process stop (SIGSTOP) longer than this matters to the checker.
    let stall = cfg.ttl_ms * 1_000_000 / 2;
    let mut samplers: Vec<Sampler> = (0..s.elections.len()).map(|_| Sampler::default()).collect();
    loop {
        for (i, (e, sm)) in s.elections.iter().zip(&mut samplers).enumerate() {
            sm.sample(i, e, tick, stall);
        }
        s.rounds.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(period);
    }
}

fn write_loop(s: &Shared, cfg: &CandidateConfig) {
    let work = Duration::from_micros(cfg.work_us);
    let names: Vec<String> = (0..s.elections.len())
        .map(|i| election_name(&cfg.name, i))
        .collect();
    let mut fence = None;
    loop {
        let mut wrote = false;
        for (el, e) in s.elections.iter().enumerate() {
            let t = now_ns();
            let Some(tok) = e.token() else { continue };
            if s.closing.load(Ordering::SeqCst) {
                break;
            }
            std::thread::sleep(work);
            if fence.is_none() {
                fence = resource::Fence::connect(&cfg.resource)
                    .map_err(|err| {
                        emit(&Rec::Error {
                            msg: format!("resource: {err}"),
                        })
                    })
                    .ok();
            }
            let Some(f) = fence.as_mut() else {
                std::thread::sleep(Duration::from_millis(100));
                continue;
            };
            wrote = true;
            match f.write(&names[el], tok, e.candidate_id()) {
                Ok(ok) => emit(&Rec::Write { el, tok, t, ok }),
                Err(err) => {
                    // I/O errors are expected: a SIGSTOP/SIGCONT interrupts a blocking read.
                    if !err.is_io_error() {
                        emit(&Rec::Error {
                            msg: format!("resource write: {err}"),
                        });
                    }
                    fence = None;
                }
            }
        }
        std::thread::sleep(if wrote {
            work
        } else {
            Duration::from_millis(1)
        });
    }
}
