//! The candidate process: one election handle, a sampler and a writer.
//!
//! The sampler reads `token()` (which is `is_leader()` plus the grant's token) every
//! `sample_us` and records, per grant, its first and last true sample; while leading it
//! flushes a tick about every `tick_us`, so a SIGKILLed leader's interval ends at most one tick
//! before its death. The writer does "work" under the token: it checks `token()`, works for
//! `work_us`, then writes to the fenced resource with that token, like a leader whose task
//! may outlive its lease.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::record::{emit, mono_ns, Rec};
use super::resource;

/// Holds the candidate's configuration (JSON); its presence selects the candidate mode.
pub const ENV: &str = "BATON_CHAOS_CANDIDATE";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CandidateConfig {
    pub store: String,
    pub resource: String,
    pub name: String,
    pub ttl_ms: u64,
    pub renew_ms: u64,
    pub sample_us: u64,
    pub tick_us: u64,
    pub work_us: u64,
}

/// Runs the candidate (and never returns) if this process was started as one.
pub fn run_if_requested() {
    if let Ok(json) = std::env::var(ENV) {
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

fn run(cfg: CandidateConfig) -> ! {
    let built = baton::Election::builder(cfg.store.clone(), cfg.name.clone())
        .ttl(Duration::from_millis(cfg.ttl_ms))
        .renew_interval(Duration::from_millis(cfg.renew_ms))
        .build();
    let election = match built {
        Ok(e) => Arc::new(e),
        Err(e) => {
            emit(&Rec::Error {
                msg: format!("build: {e}"),
            });
            std::process::exit(2);
        }
    };
    emit(&Rec::Start {
        id: election.candidate_id().to_string(),
        pid: std::process::id(),
    });
    let writer = election.clone();
    let wcfg = cfg.clone();
    std::thread::spawn(move || write_loop(&writer, &wcfg));
    sample_loop(&election, &cfg)
}

fn sample_loop(e: &baton::Election, cfg: &CandidateConfig) -> ! {
    // Sleep as asked, not 50us longer (the default timer slack).
    // SAFETY: prctl on the calling thread with a plain integer argument.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1000u64) };
    let period = Duration::from_micros(cfg.sample_us);
    let tick = cfg.tick_us * 1000;
    // Only a whole-process stop (SIGSTOP) longer than this matters to the checker.
    let stall = cfg.ttl_ms * 1_000_000 / 2;
    let mut prev: Option<u64> = None;
    let mut prev_t1 = mono_ns();
    let mut last_true = 0u64;
    let mut last_tick = 0u64;
    // A stall inside a sample: its value may predate the stop, so the next one is checked.
    let mut straddled: Option<(u64, u64, bool)> = None;
    loop {
        let t0 = mono_ns();
        let tok = e.token();
        let t1 = mono_ns();
        if let Some((from, to, lead)) = straddled.take() {
            emit(&Rec::Stall {
                from,
                to,
                lead,
                after: tok.is_some(),
            });
        }
        if t0.saturating_sub(prev_t1) > stall {
            emit(&Rec::Stall {
                from: prev_t1,
                to: t0,
                lead: prev.is_some(),
                after: tok.is_some(),
            });
        }
        if t1 - t0 > stall {
            straddled = Some((t0, t1, prev.is_some() || tok.is_some()));
        }
        match (prev, tok) {
            (None, Some(t)) => {
                emit(&Rec::Grant { tok: t, t0, t1 });
                last_tick = t0;
            }
            (Some(p), Some(t)) if p == t => {
                if t0 - last_tick >= tick {
                    let left = e
                        .leader()
                        .map_or(0, |l| l.lease_remaining.as_nanos() as u64);
                    emit(&Rec::Tick {
                        tok: t,
                        t: t0,
                        dl: mono_ns() + left,
                    });
                    last_tick = t0;
                }
            }
            (Some(p), Some(t)) => {
                emit(&Rec::End {
                    tok: p,
                    t: last_true,
                    f: t0,
                });
                emit(&Rec::Grant { tok: t, t0, t1 });
                last_tick = t0;
            }
            (Some(p), None) => emit(&Rec::End {
                tok: p,
                t: last_true,
                f: t1,
            }),
            (None, None) => {}
        }
        if tok.is_some() {
            last_true = t0;
        }
        prev = tok;
        prev_t1 = t1;
        std::thread::sleep(period);
    }
}

fn write_loop(e: &baton::Election, cfg: &CandidateConfig) {
    let work = Duration::from_micros(cfg.work_us);
    let mut fence = None;
    loop {
        let t = mono_ns();
        let Some(tok) = e.token() else {
            std::thread::sleep(Duration::from_millis(1));
            continue;
        };
        std::thread::sleep(work);
        if fence.is_none() {
            fence = resource::Fence::connect(&cfg.resource, &cfg.name)
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
        match f.write(tok, e.candidate_id()) {
            Ok(ok) => emit(&Rec::Write { tok, t, ok }),
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
        std::thread::sleep(work);
    }
}
