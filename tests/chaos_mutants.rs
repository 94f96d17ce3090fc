//! The mutation check: each purpose-broken engine (src/mutant.rs, built only with
//! `--features mutants`) runs a short targeted chaos scenario, and the checker must FAIL it
//! with the violation that mutant causes. A checker that passes a broken engine is broken.
//!
//! `cargo test --release --features mutants --test chaos_mutants` (`make test-chaos-mutants`,
//! part of `make test`). `BATON_MUTANTS=a,b` runs only those.

#[path = "chaos/mod.rs"]
mod chaos;

use std::process::Command;
use std::time::Duration;

use chaos::faults::Kind;
use chaos::{candidate, checker, harness};

fn launcher() -> Command {
    let mut cmd = Command::new(std::env::current_exe().expect("the test binary's path"));
    cmd.args([
        "--exact",
        "chaos_candidate_entry",
        "--nocapture",
        "--test-threads=1",
    ]);
    cmd
}

/// Candidate mode: runs only when the harness started this binary as a candidate.
#[test]
fn chaos_candidate_entry() {
    candidate::run_if_requested();
}

struct Scenario {
    mutant: &'static str,
    /// The only fault kind injected.
    kind: Kind,
    seconds: u64,
    seed: u64,
    /// The violation the checker must report (a part of its text).
    expect: &'static str,
    /// Run by default (`make test`); the others only when `BATON_MUTANTS` names them.
    default: bool,
}

const SCENARIOS: &[Scenario] = &[
    // A slow reply pushes the deadline past the store's expiry; the cut stops renewals.
    Scenario {
        mutant: "deadline-from-response",
        kind: Kind::LinkSlow,
        seconds: 14,
        seed: 3,
        expect: "two leaders",
        default: true,
    },
    // The paused leader believes until a renewal after SIGCONT reports the lease lost.
    Scenario {
        mutant: "leader-ignores-clock",
        kind: Kind::PauseLeader,
        seconds: 5,
        seed: 1,
        expect: "first sample after SIGCONT was true",
        default: true,
    },
    Scenario {
        mutant: "counter-only-tokens",
        kind: Kind::RestartLost,
        seconds: 5,
        seed: 1,
        expect: "token not larger",
        default: true,
    },
    // The store forgot the lease without dropping a connection; the old leader keeps
    // believing until its deadline instead of stopping at its next renewal.
    Scenario {
        mutant: "lease-lost-transient",
        kind: Kind::StoreFlush,
        seconds: 8,
        seed: 2,
        expect: "beyond the data-loss bound",
        default: true,
    },
    // A cut leader closes; its release, held by the cut, arrives after a follower took the
    // expired lease, and deletes it. The release's notification makes the holder renew at
    // once, so the overlap is short (a round trip): several faults give it several chances.
    Scenario {
        mutant: "release-without-compare",
        kind: Kind::Double,
        seconds: 15,
        seed: 1,
        expect: "two leaders",
        // Caught in most runs but not all: since close() interrupts in-flight requests the
        // held release does not always reach the store after the successor's grant.
        default: false,
    },
    // The lease is volatile again; eviction deletes it under a leader.
    Scenario {
        mutant: "evictable-lease",
        kind: Kind::Eviction,
        seconds: 8,
        seed: 1,
        expect: "two leaders",
        default: true,
    },
    // An election that waits for replicas runs WAIT on the process's shared connection:
    // while the replica is stopped, WAITs hold up the process's other requests, so takeovers
    // after the stall's kill come late (50-60ms past the 38ms bound in the runs so far; a
    // leader that loses its lease to the wait is reported too). Too close to the bound to
    // run by default.
    Scenario {
        mutant: "wait-on-shared",
        kind: Kind::ReplicaStall,
        seconds: 8,
        seed: 1,
        expect: "took over",
        default: false,
    },
    // A connection that stopped answering is never replaced: nobody leads again.
    Scenario {
        mutant: "no-health-check",
        kind: Kind::LinkHang,
        seconds: 3,
        seed: 1,
        expect: "nobody led",
        default: true,
    },
    // Failed requests never ask the sentinels who the master is: after a failover every
    // candidate keeps writing to the old master, back as a read-only replica.
    Scenario {
        mutant: "sentinel-no-follow",
        kind: Kind::SentinelFailover,
        seconds: 3,
        seed: 1,
        expect: "nobody led",
        default: true,
    },
    // A replacement connection is built from the seeds as given, hung master among them:
    // it waits on the silent node until it dies, long after a replica was promoted.
    Scenario {
        mutant: "cluster-seeds-only",
        kind: Kind::MasterHang,
        seconds: 3,
        seed: 1,
        expect: "nobody led",
        default: true,
    },
];

#[test]
fn every_mutant_fails_the_checker() {
    if std::env::var_os(candidate::ENV).is_some() {
        return;
    }
    let only = std::env::var("BATON_MUTANTS").ok();
    let mut missed = Vec::new();
    for sc in SCENARIOS {
        let wanted = match only.as_deref() {
            Some(o) => o.split(',').any(|m| m == sc.mutant),
            None => sc.default,
        };
        if !wanted {
            continue;
        }
        // The candidates (children of this process) inherit the switch.
        std::env::set_var("BATON_MUTANT", sc.mutant);
        let seed = std::env::var("BATON_CHAOS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(sc.seed);
        let mut cfg = harness::Config::new(seed, launcher);
        let length = Duration::from_secs(sc.seconds);
        // A Sentinel or Cluster fault runs in its own phase, every other one in the standalone
        // phase.
        let only =
            |kinds: &[Kind]| kinds.contains(&sc.kind) && !Kind::STANDALONE.contains(&sc.kind);
        let (sentinel, cluster) = (only(&Kind::SENTINEL), only(&Kind::CLUSTER));
        let phase = |on: bool| if on { length } else { Duration::ZERO };
        cfg.standalone = phase(!sentinel && !cluster);
        cfg.sentinel = phase(sentinel);
        cfg.cluster = phase(cluster);
        cfg.kinds = Some(vec![sc.kind]);
        // Replica stalls matter only to elections that wait for replicas.
        if sc.kind != Kind::ReplicaStall {
            cfg.wait_elections.clear();
        }
        cfg.doubles = vec![(Kind::LinkCut, Kind::Redeploy)];
        cfg.eviction_policies = vec!["volatile-random"];
        let phases = harness::run(&cfg);
        let summary = checker::check(&cfg, &phases);
        let caught = summary.violations.iter().any(|v| v.contains(sc.expect));
        harness::say(&format!(
            "mutant {}: {} faults of {}, {} violations, {}",
            sc.mutant,
            summary.total_faults(),
            sc.kind,
            summary.violations.len(),
            if caught {
                format!(
                    "caught: {}",
                    summary
                        .violations
                        .iter()
                        .find(|v| v.contains(sc.expect))
                        .unwrap()
                )
            } else {
                format!("NOT caught (expected \"{}\")", sc.expect)
            }
        ));
        if !caught || std::env::var_os("BATON_CHAOS_HISTORY").is_some() {
            harness::say(&summary.render(&cfg));
            checker::save_timeline(seed, &phases);
        }
        if !caught {
            missed.push(sc.mutant);
        }
    }
    std::env::remove_var("BATON_MUTANT");
    assert!(
        missed.is_empty(),
        "the checker passed these broken engines: {missed:?}; replay one with \
         BATON_MUTANTS=<name> cargo test --release --features mutants --test chaos_mutants"
    );
}
