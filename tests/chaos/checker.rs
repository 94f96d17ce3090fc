//! The checks over a run's recorded history, and the summary table. Every election of a
//! phase is checked on its own.
//!
//! Recorded intervals are conservative in the direction of each check:
//! - overlaps use the part of a grant the process *surely* believed it led: from the clock
//!   read after its first true sample to the clock read before its last recorded true sample
//!   (a SIGKILLed leader's last record is at most one tick, ~1ms, before its death), so a
//!   reported overlap is real; one shorter than a sample period plus a tick can be missed;
//! - gaps use every instant a process *may* have believed it led, so a reported gap is real.
//!
//! Bounds, all computed from the configuration (`Config::*_bound`):
//! - an overlap after a fault that lost data lasts at most `retry + 2 rtt + tick`;
//! - after a crash (SIGKILL or SIGSTOP of a leader) a follower's grant lands no later than
//!   the lease's expiry plus `takeover_bound`; the expiry is the dead leader's last renewal
//!   (sent at its trusted deadline minus the lease span) plus ttl, or its next one's when
//!   that was due before the crash, or when a stopped store came back if that was later;
//!   without a recorded renewal, its last sample plus ttl; on a session store (ZooKeeper),
//!   whose client's pings keep the lease alive too, at least the crash plus ttl;
//! - after a graceful redeploy, the next grant lands within `handover_bound` of the old
//!   leader's last true sample;
//! - nobody leads for at most ttl + `gap_bound` past the old lease (or a store's return).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use super::faults::{Fault, Kind};
use super::harness::{Config, PhaseResult};
use super::history::{Grant, Proc};

/// Everything the checker found over one run (all phases).
#[derive(Default)]
pub struct Summary {
    pub phases: Vec<String>,
    pub faults: BTreeMap<Kind, KindStats>,
    pub grants: usize,
    pub elections: usize,
    pub violations: Vec<String>,
    pub notes: Vec<String>,
    pub overlaps_safe: usize,
    pub overlaps_loss: usize,
    /// Grants first seen after a larger token's, whose acquire was sent before a data loss.
    pub tokens_late_after_loss: usize,
    pub longest_loss: Option<(u64, Kind)>,
    pub pauses_leading: usize,
    pub pauses_checked_false: usize,
    pub writes_accepted: u64,
    pub writes_rejected: u64,
    pub conflicts: u64,
    pub rejected_example: Option<String>,
    pub stale_accepted: usize,
    pub stale_accepted_loss: usize,
    pub longest_gap: u64,
    pub longest_gap_excess: u64,
    pub takeovers: usize,
    pub handovers: usize,
}

#[derive(Default)]
pub struct KindStats {
    pub injected: usize,
    pub on_leader: usize,
    /// Leaderless gap that followed the fault, per election that changed leader.
    pub gaps: Vec<u64>,
    /// Crashes: the new leader's first sample minus the dead leader's lease expiry.
    pub late: Vec<u64>,
    /// Redeploys: the new leader's first sample minus the old leader's last true sample.
    pub handover: Vec<u64>,
    pub overlaps: usize,
    pub longest_overlap: u64,
}

impl Summary {
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }

    pub fn total_faults(&self) -> usize {
        self.faults.values().map(|k| k.injected).sum()
    }
}

fn loss_window(faults: &[Fault], t: u64, ttl: u64) -> Option<&Fault> {
    faults.iter().rev().find(|f| {
        f.loses_data && f.start <= t && t <= f.store_back.unwrap_or(f.end).max(f.end) + 3 * ttl
    })
}

fn last_fault_before(faults: &[Fault], t: u64) -> Option<(usize, &Fault)> {
    faults.iter().enumerate().rev().find(|(_, f)| f.start <= t)
}

pub fn check(cfg: &Config, phases: &[PhaseResult]) -> Summary {
    let mut s = Summary::default();
    for p in phases {
        s.phases.push(format!(
            "{}: {} faults, {} candidate processes x {} elections, {}{}",
            p.name,
            p.faults.len(),
            p.procs.iter().filter(|c| c.el == 0).count(),
            p.elections,
            fmt_ns(p.stop - p.start),
            [
                ("handover", p.handover_slack),
                ("takeover", p.takeover_slack)
            ]
            .iter()
            .filter(|(_, slack)| *slack > 0)
            .map(|(what, slack)| format!("; {what} bound + {}", fmt_ns(*slack)))
            .collect::<String>()
        ));
        for f in &p.faults {
            let k = s.faults.entry(f.kind).or_default();
            k.injected += 1;
            k.on_leader += usize::from(f.hit_leader || f.proc.is_none());
        }
        for proc in p.procs.iter().filter(|c| c.el == 0) {
            for e in proc.errors.iter().take(3) {
                s.notes.push(format!("{}: pid {}: {e}", p.name, proc.pid));
            }
        }
        for el in 0..p.elections {
            check_election(cfg, p, el, &mut s);
        }
    }
    s
}

fn check_election(cfg: &Config, p: &PhaseResult, el: usize, s: &mut Summary) {
    s.elections += 1;
    let ttl = cfg.ttl.as_nanos() as u64;
    let name = format!("{} election {el}", p.name);
    let waits = p.wait_elections.contains(&el);
    let at = |t: u64| fmt_ns(t.saturating_sub(p.start));
    let procs: Vec<&Proc> = p.procs.iter().filter(|c| c.el == el).collect();
    let proc_of = |spawn: usize| procs.iter().position(|c| c.spawn == spawn);
    let who = |g: &Grant| format!("pid {} token {}", p.procs[g.proc].pid, g.tok);
    let fault_name = |t: u64| match last_fault_before(&p.faults, t) {
        Some((i, f)) => format!("after fault #{} {} at {}", i + 1, f.kind, at(f.start)),
        None => "before any fault".to_string(),
    };

    let mut grants: Vec<&Grant> = procs.iter().flat_map(|c| &c.grants).collect();
    grants.sort_by_key(|g| g.t1);
    s.grants += grants.len();

    // Tokens strictly increase from one grant to the next. One exception, counted apart: a
    // grant whose answer arrived late, after the store had lost its lease and granted it
    // again; its acquire was sent before that data loss (from the deadline it trusted), so
    // the store gave the tokens in order. Fencing rejects the late one's writes.
    let span = (cfg
        .ttl
        .mul_f64(1.0 - 0.01)
        .saturating_sub(baton::SAFETY_MARGIN))
    .as_nanos() as u64;
    for w in grants.windows(2) {
        if w[1].tok <= w[0].tok {
            let sent = (w[1].deadline > 0).then(|| w[1].deadline.saturating_sub(span));
            let lost_between = sent.is_some_and(|sent| {
                p.faults
                    .iter()
                    .any(|f| f.loses_data && sent < f.start && f.start <= w[0].t1)
            });
            if lost_between {
                s.tokens_late_after_loss += 1;
                continue;
            }
            s.violations.push(format!(
                "{name}: token not larger than the previous grant's: {} at {} follows {} at {}",
                who(w[1]),
                at(w[1].t1),
                who(w[0]),
                at(w[0].t1)
            ));
        }
    }

    // Two processes' sure beliefs must not overlap; after a fault that lost the lease's
    // data, not for longer than the data-loss bound.
    let mut sure: Vec<(u64, u64, &Grant)> = grants
        .iter()
        .filter_map(|g| g.sure().map(|(a, b)| (a, b, *g)))
        .collect();
    sure.sort_by_key(|x| x.0);
    let mut active: Vec<(u64, u64, &Grant)> = Vec::new();
    for iv in sure {
        active.retain(|x| x.1 > iv.0);
        for x in &active {
            if x.2.proc == iv.2.proc {
                continue;
            }
            let (o0, o1) = (iv.0, x.1.min(iv.1));
            let dur = o1 - o0;
            let kind = last_fault_before(&p.faults, o0).map(|(_, f)| f.kind);
            if let Some(k) = kind {
                let ks = s.faults.entry(k).or_default();
                ks.overlaps += 1;
                ks.longest_overlap = ks.longest_overlap.max(dur);
            }
            let loss = loss_window(&p.faults, o0, ttl);
            if let Some(f) = loss {
                s.overlaps_loss += 1;
                if s.longest_loss.is_none_or(|(d, _)| dur > d) {
                    s.longest_loss = Some((dur, f.kind));
                }
            } else {
                s.overlaps_safe += 1;
            }
            let loss_bound = loss.map_or(0, |f| cfg.overlap_bound(f.kind).as_nanos() as u64);
            if loss.is_none() || dur > loss_bound {
                s.violations.push(format!(
                    "{name}: two leaders for {} at {} ({}{}): {} and {}",
                    fmt_ns(dur),
                    at(o0),
                    fault_name(o0),
                    if loss.is_some() {
                        format!(", beyond the data-loss bound {}", fmt_ns(loss_bound))
                    } else {
                        String::new()
                    },
                    who(x.2),
                    who(iv.2)
                ));
            }
        }
        active.push(iv);
    }

    // A leader resumed after a pause longer than its lease sees false at its first sample.
    for (i, f) in p.faults.iter().enumerate() {
        let (Some(r), Some(c)) = (f.resumed, f.proc.and_then(proc_of)) else {
            continue;
        };
        let proc = procs[c];
        let stall = proc.stalls.iter().find(|st| st.from <= r && r <= st.to);
        match stall {
            None if el == 0 => s.notes.push(format!(
                "{name}: fault #{} pause: pid {} recorded no stall (it did not run when paused?)",
                i + 1,
                proc.pid
            )),
            None => {}
            Some(st) if st.lead => {
                s.pauses_leading += 1;
                if st.after {
                    s.violations.push(format!(
                        "{name}: fault #{} pause: pid {} led before its {} pause and its first sample after SIGCONT was true",
                        i + 1,
                        proc.pid,
                        fmt_ns(st.to - st.from)
                    ));
                } else {
                    s.pauses_checked_false += 1;
                }
            }
            Some(_) => {}
        }
    }

    // A replica stall concerns only the elections that wait for replicas: every other leader
    // it did not kill leads on through it (one election's WAIT never delays another's renewal).
    if !waits {
        let tick = cfg.tick.as_nanos() as u64;
        for (i, f) in p.faults.iter().enumerate() {
            if f.kind != Kind::ReplicaStall {
                continue;
            }
            let until = p.faults.get(i + 1).map_or(f.end, |n| n.start.min(f.end));
            let hit = grants.iter().find(|g| {
                Some(p.procs[g.proc].spawn) != f.proc
                    && g.t1 <= f.start
                    && g.last + 2 * tick >= f.start
                    && g.ended
                    && g.last + 2 * tick < until
            });
            if let Some(g) = hit {
                s.violations.push(format!(
                    "{name}: fault #{} replica-stall: {} stopped leading at {}, during a replica stall this election does not wait for",
                    i + 1,
                    who(g),
                    at(g.last)
                ));
            }
        }
    }

    // Writes: no accepted write decided after a larger token's grant had begun.
    let mut prefix_max = Vec::with_capacity(grants.len());
    let mut m = 0u64;
    for g in &grants {
        m = m.max(g.tok);
        prefix_max.push(m);
    }
    for proc in &procs {
        for w in proc.writes.iter().filter(|w| w.ok) {
            let n = grants.partition_point(|g| g.t1 < w.t);
            if n == 0 || prefix_max[n - 1] <= w.tok {
                continue;
            }
            if loss_window(&p.faults, w.t, ttl).is_some() {
                s.stale_accepted_loss += 1;
            } else {
                s.stale_accepted += 1;
                if s.stale_accepted <= 5 {
                    s.violations.push(format!(
                        "{name}: stale write accepted: pid {} wrote under token {} decided at {}, after token {} was granted ({})",
                        proc.pid,
                        w.tok,
                        at(w.t),
                        prefix_max[n - 1],
                        fault_name(w.t)
                    ));
                }
            }
        }
    }
    let fence = p.fences.get(el).cloned().unwrap_or_default();
    s.writes_accepted += fence.accepted;
    s.writes_rejected += fence.rejected;
    s.conflicts += fence.conflicts;
    if let Some((tok, id, max)) = fence.rejections.first() {
        s.rejected_example
            .get_or_insert_with(|| format!("{id} wrote under token {tok} after token {max}"));
    }
    if fence.conflicts > 0 {
        s.violations.push(format!(
            "{name}: the fenced resource accepted {} writes under a token another candidate had written with",
            fence.conflicts
        ));
    }
    for w in fence.epochs.windows(2) {
        if w[1].0 <= w[0].0 {
            s.violations.push(format!(
                "{name}: the fenced resource accepted token {} after {}",
                w[1].0, w[0].0
            ));
        }
    }

    // Leaderless gaps, from the union of every instant someone may have believed it led.
    let mut spans: Vec<(u64, u64, &Grant)> = grants
        .iter()
        .map(|g| {
            let (a, b) = g.span();
            (a, b, *g)
        })
        .collect();
    spans.sort_by_key(|x| x.0);
    let mut gaps: Vec<(u64, u64, &Grant)> = Vec::new();
    if let Some(first) = spans.first() {
        let (mut end, mut last) = (first.1, first.2);
        for &(a, b, g) in &spans[1..] {
            if a > end {
                gaps.push((end, a, last));
            }
            if b >= end {
                end = b;
                last = g;
            }
        }
        if p.stop > end {
            gaps.push((end, p.stop, last));
        }
    }
    let bound = ttl + cfg.gap_bound.as_nanos() as u64 + p.expiry_slack;
    for &(g0, g1, _) in &gaps {
        s.longest_gap = s.longest_gap.max(g1 - g0);
        // After a store fault, the clock starts when the store answered again. On a slowed
        // link, a request sent just before the sender stopped believing (a renewal, or an
        // acquire whose reply never comes back) still reaches the store a delay later and
        // holds the lease for a ttl from there; a store clock that fell behind lengthens a
        // lease by as much.
        let stretched = p
            .faults
            .iter()
            .filter(|f| f.start <= g0 && g0 <= f.end + f.link_delay + f.clock_lag + ttl)
            .map(|f| f.link_delay + f.clock_lag)
            .max()
            .unwrap_or(0);
        // A pause that stops a candidate mid-gap may catch it between the store's grant and
        // its reading of the reply (or, for an election that waits for replicas, holding a
        // grant too few replicas acknowledged): a lease nobody believes, which runs out a ttl
        // after the pause at most.
        let from = p
            .faults
            .iter()
            .filter(|f| f.start < g1)
            .flat_map(|f| {
                let paused = f.resumed.map(|_| f.start).filter(|&t| t > g0);
                // A master that hangs (no RST) past its replacement keeps a request sent to it
                // just before the promotion until its timeout, a ttl after its send (which the
                // bound's ttl covers), and the retry after it waits the backoff, up to a renew
                // interval (more than gap_bound).
                let hung = matches!(f.kind, Kind::MasterHang | Kind::SentinelHang);
                let back = f.store_back.map(|b| {
                    if hung {
                        b + cfg.renew.as_nanos() as u64
                    } else {
                        b
                    }
                });
                [back, f.replica_back.filter(|_| waits), paused]
            })
            .flatten()
            .fold(g0 + stretched, u64::max);
        let excess = g1.saturating_sub(from);
        s.longest_gap_excess = s.longest_gap_excess.max(excess);
        if excess > bound {
            s.violations.push(format!(
                "{name}: nobody led for {} from {} ({}), {} beyond the bound's start; bound ttl + {}",
                fmt_ns(g1 - g0),
                at(g0),
                fault_name(g0),
                fmt_ns(excess),
                fmt_ns(cfg.gap_bound.as_nanos() as u64)
            ));
        }
    }

    // Takeovers: the first gap that ends after a fault began and starts before the next one.
    for (i, f) in p.faults.iter().enumerate() {
        let next = p.faults.get(i + 1).map_or(p.stop, |n| n.start);
        let Some(&(g0, g1, _)) = gaps
            .iter()
            .find(|(g0, g1, _)| *g1 > f.start && *g0 < next && *g1 < p.stop)
        else {
            continue;
        };
        s.faults.entry(f.kind).or_default().gaps.push(g1 - g0);
    }

    // Crashes and redeploys of a leader: how soon the next leader took over.
    let renew = cfg.renew.as_nanos() as u64;
    let takeover_bound = cfg.takeover_bound().as_nanos() as u64 + p.expiry_slack + p.takeover_slack;
    let handover_bound = cfg.handover_bound().as_nanos() as u64 + p.handover_slack;
    for (i, f) in p.faults.iter().enumerate() {
        if !(f.crash || f.graceful || f.resumed.is_some()) || waits {
            continue;
        }
        let Some(c) = f.proc.and_then(proc_of) else {
            continue;
        };
        let tick = cfg.tick.as_nanos() as u64;
        // The target's grant that was believed when the fault hit.
        let Some(old) = procs[c]
            .grants
            .iter()
            .rev()
            .find(|g| g.t0 <= f.start && g.last + 2 * tick >= f.start)
        else {
            continue;
        };
        let Some(new) = grants.iter().find(|g| g.proc != old.proc && g.t1 > old.t1) else {
            continue;
        };
        let ks = s.faults.entry(f.kind).or_default();
        if f.graceful && !f.link_cut {
            s.handovers += 1;
            let gap = new.t1.saturating_sub(old.last);
            ks.handover.push(gap);
            if gap > handover_bound {
                s.violations.push(format!(
                    "{name}: fault #{} {}: the next leader ({}) took over {} after the old one ({}) stopped believing; bound {}",
                    i + 1,
                    f.kind,
                    who(new),
                    fmt_ns(gap),
                    who(old),
                    fmt_ns(handover_bound)
                ));
            }
        } else if f.crash || f.resumed.is_some() {
            // The lease's expiry at the store, from the dead leader's last renewal.
            let sent = if old.deadline > 0 {
                old.deadline.saturating_sub(span)
            } else {
                old.last
            };
            // The next renewal goes out a renew interval after that send, but never before the
            // grant's answer arrived: a grant answered late (a request a paused store ran when
            // it came back) is renewed at once, at its first sample.
            let next = (sent + renew).max(old.t0);
            let mut expiry = (if f.start >= next { next } else { sent }) + ttl;
            if p.session_lease {
                expiry = expiry.max(f.start + ttl);
            }
            // A renewal held by a stopped or restarting store ran when the store came back.
            for g in &p.faults {
                if let Some(back) = g.store_back.filter(|&b| sent < b && b <= f.start) {
                    expiry = expiry.max(back + ttl);
                }
            }
            // A store clock that fell behind after the last renewal stretched that lease.
            let lag = p
                .faults
                .iter()
                .filter(|g| g.start <= f.start && g.end >= sent)
                .map(|g| g.clock_lag)
                .max()
                .unwrap_or(0);
            let expiry = expiry + f.link_delay + lag;
            // A store fault that began before the takeover was due holds it back; the gap
            // bound (from the store's return) judges that takeover instead.
            let store_fault = p.faults.iter().any(|g| {
                g.store_back.is_some() && g.start > f.start && g.start < expiry + takeover_bound
            });
            // So does a pause that caught a candidate between a grant and its reply (above).
            let paused = p
                .faults
                .iter()
                .any(|g| g.resumed.is_some() && g.start > expiry && g.start < new.t1);
            if store_fault || paused {
                continue;
            }
            let late = new.t1.saturating_sub(expiry);
            s.takeovers += 1;
            ks.late.push(late);
            if late > takeover_bound && f.store_back.is_none() {
                s.violations.push(format!(
                    "{name}: fault #{} {}: the next leader ({}) took over {} after the lease of {} expired at {}; bound {}",
                    i + 1,
                    f.kind,
                    who(new),
                    fmt_ns(late),
                    who(old),
                    at(expiry),
                    fmt_ns(takeover_bound)
                ));
            }
        }
    }
}

pub fn fmt_ns(ns: u64) -> String {
    let d = Duration::from_nanos(ns);
    if d >= Duration::from_secs(10) {
        format!("{:.1}s", d.as_secs_f64())
    } else if d >= Duration::from_secs(1) {
        format!("{:.2}s", d.as_secs_f64())
    } else if d >= Duration::from_millis(10) {
        format!("{:.0}ms", d.as_secs_f64() * 1e3)
    } else {
        format!("{:.1}ms", d.as_secs_f64() * 1e3)
    }
}

fn pct(v: &[u64], q: f64) -> String {
    if v.is_empty() {
        return "-".into();
    }
    let mut v = v.to_vec();
    v.sort_unstable();
    let i = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
    fmt_ns(v[i])
}

impl Summary {
    /// The summary table (docs/chaos.md explains each line).
    pub fn render(&self, cfg: &Config) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "chaos seed {}: {} candidates x {} elections, ttl {:?}, renew {:?}, retry {:?}, sampling every {:?}, tick {:?}",
            cfg.seed, cfg.candidates, cfg.elections, cfg.ttl, cfg.renew, cfg.retry, cfg.sample, cfg.tick
        );
        let _ = writeln!(
            o,
            "  bounds: data-loss overlap {} (retry + 2 rtt + tick, rtt {:?}; after store-flush {}: that + sched); takeover expiry + {}; handover {}; gap ttl + {:?}",
            fmt_ns(cfg.loss_overlap_bound().as_nanos() as u64),
            cfg.rtt,
            fmt_ns(cfg.flush_overlap_bound().as_nanos() as u64),
            fmt_ns(cfg.takeover_bound().as_nanos() as u64),
            fmt_ns(cfg.handover_bound().as_nanos() as u64),
            cfg.gap_bound
        );
        for p in &self.phases {
            let _ = writeln!(o, "  {p}");
        }
        let _ = writeln!(
            o,
            "  {:<18}{:>6}{:>7}{:>6} | {:>7}{:>7}{:>7}{:>7} | {:>7}{:>7} | {:>8} | {:>8}{:>8}",
            "fault",
            "count",
            "leader",
            "gaps",
            "gap50",
            "gap90",
            "gap99",
            "max",
            "late50",
            "max",
            "handover",
            "overlap",
            "longest"
        );
        for kind in Kind::ALL {
            let Some(k) = self.faults.get(&kind) else {
                continue;
            };
            let _ = writeln!(
                o,
                "  {:<18}{:>6}{:>7}{:>6} | {:>7}{:>7}{:>7}{:>7} | {:>7}{:>7} | {:>8} | {:>8}{:>8}",
                format!("{}{}", kind, if kind.loses_data() { "*" } else { "" }),
                k.injected,
                k.on_leader,
                k.gaps.len(),
                pct(&k.gaps, 0.5),
                pct(&k.gaps, 0.9),
                pct(&k.gaps, 0.99),
                pct(&k.gaps, 1.0),
                pct(&k.late, 0.5),
                pct(&k.late, 1.0),
                pct(&k.handover, 1.0),
                k.overlaps,
                if k.overlaps > 0 {
                    fmt_ns(k.longest_overlap)
                } else {
                    "-".into()
                }
            );
        }
        let all: Vec<u64> = self.faults.values().flat_map(|k| k.gaps.clone()).collect();
        let late: Vec<u64> = self.faults.values().flat_map(|k| k.late.clone()).collect();
        let handover: Vec<u64> = self
            .faults
            .values()
            .flat_map(|k| k.handover.clone())
            .collect();
        let _ = writeln!(
            o,
            "  {:<18}{:>6}{:>7}{:>6} | {:>7}{:>7}{:>7}{:>7} | {:>7}{:>7} | {:>8} |",
            "total",
            self.total_faults(),
            self.faults.values().map(|k| k.on_leader).sum::<usize>(),
            all.len(),
            pct(&all, 0.5),
            pct(&all, 0.9),
            pct(&all, 0.99),
            pct(&all, 1.0),
            pct(&late, 0.5),
            pct(&late, 1.0),
            pct(&handover, 1.0)
        );
        let _ = writeln!(
            o,
            "  (* may lose store data: overlaps there are allowed up to the data-loss bound)"
        );
        let _ = writeln!(
            o,
            "  elections checked: {}, crash takeovers timed: {}, graceful handovers timed: {}",
            self.elections, self.takeovers, self.handovers
        );
        let _ = writeln!(
            o,
            "  grants: {}, tokens strictly increasing: {}",
            self.grants,
            if self
                .violations
                .iter()
                .any(|v| v.contains("token not larger"))
            {
                "NO".to_string()
            } else if self.tokens_late_after_loss > 0 {
                format!(
                    "yes ({} first seen after a larger one: acquires answered after a data loss)",
                    self.tokens_late_after_loss
                )
            } else {
                "yes".to_string()
            }
        );
        let _ = writeln!(
            o,
            "  overlapping leaders after faults that lose no data: {}",
            self.overlaps_safe
        );
        let _ = writeln!(
            o,
            "  overlapping leaders after data-loss faults: {}{}",
            self.overlaps_loss,
            match self.longest_loss {
                Some((d, k)) => format!(", longest {} (after {k})", fmt_ns(d)),
                None => String::new(),
            }
        );
        let _ = writeln!(
            o,
            "  leaders resumed after a pause beyond the lease: {}, first sample false: {}",
            self.pauses_leading, self.pauses_checked_false
        );
        let _ = writeln!(
            o,
            "  longest leaderless gap: {} ({} from a store's return or a slowed request's arrival; bound {})",
            fmt_ns(self.longest_gap),
            fmt_ns(self.longest_gap_excess),
            fmt_ns((cfg.ttl + cfg.gap_bound).as_nanos() as u64)
        );
        let _ = writeln!(
            o,
            "  fenced resource: {} writes accepted, {} stale writes rejected, {} stale accepted ({} more after data-loss faults), {} token conflicts",
            self.writes_accepted,
            self.writes_rejected,
            self.stale_accepted,
            self.stale_accepted_loss,
            self.conflicts
        );
        if let Some(e) = &self.rejected_example {
            let _ = writeln!(o, "  a rejected write: {e}");
        }
        for n in &self.notes {
            let _ = writeln!(o, "  note: {n}");
        }
        for v in &self.violations {
            let _ = writeln!(o, "  VIOLATION: {v}");
        }
        let _ = writeln!(
            o,
            "  result: {}",
            if self.passed() { "PASS" } else { "FAIL" }
        );
        o
    }
}

/// The recorded history as text, one event per line in time order, for a failed run's
/// post-mortem (times in seconds since the phase began).
pub fn timeline(phases: &[PhaseResult]) -> String {
    let mut o = String::new();
    for p in phases {
        let rel = |t: u64| t.saturating_sub(p.start) as f64 / 1e9;
        let mut events: Vec<(u64, String)> = Vec::new();
        for (i, f) in p.faults.iter().enumerate() {
            let target = f
                .proc
                .and_then(|c| p.procs.iter().find(|x| x.spawn == c))
                .map_or(String::new(), |c| format!(" pid {}", c.pid));
            events.push((
                f.start,
                format!(
                    "fault #{} {}{target}: {} (until {:.4})",
                    i + 1,
                    f.kind,
                    f.detail,
                    rel(f.end)
                ),
            ));
            if let Some(b) = f.store_back {
                events.push((b, format!("fault #{} store back", i + 1)));
            }
        }
        for c in &p.procs {
            if let Some(k) = c.killed.filter(|_| c.el == 0) {
                events.push((k, format!("pid {} killed", c.pid)));
            }
            if let Some(k) = c.exited.filter(|_| c.el == 0) {
                events.push((k, format!("pid {} closed its elections and exited", c.pid)));
            }
            for g in &c.grants {
                events.push((
                    g.t1,
                    format!(
                        "e{} pid {} leads, token {}: sure until {:.4}, deadline {:.4}{}",
                        c.el,
                        c.pid,
                        g.tok,
                        rel(g.last),
                        rel(g.deadline),
                        if g.ended { "" } else { " (no end recorded)" }
                    ),
                ));
            }
            for st in &c.stalls {
                events.push((
                    st.from,
                    format!(
                        "e{} pid {} stalled until {:.4} (leading {}, first sample after {})",
                        c.el,
                        c.pid,
                        rel(st.to),
                        st.lead,
                        st.after
                    ),
                ));
            }
        }
        events.sort_by_key(|e| e.0);
        let _ = writeln!(o, "== {}", p.name);
        for (t, e) in events {
            let _ = writeln!(o, "{:10.4} {e}", rel(t));
        }
    }
    o
}

/// Writes the timeline next to the temporary files and says where.
pub fn save_timeline(seed: u64, phases: &[PhaseResult]) {
    let path = std::env::temp_dir().join(format!("baton-chaos-{seed}.log"));
    match std::fs::write(&path, timeline(phases)) {
        Ok(()) => super::harness::say(&format!("history of seed {seed}: {}", path.display())),
        Err(e) => super::harness::say(&format!("could not write {}: {e}", path.display())),
    }
}
