//! The long chaos run: `make chaos DURATION=12m` or
//! `cargo run --release --example chaos -- --duration 12m [--seed N]`.
//! docs/chaos.md explains the faults, the checks and the summary. Exits 1 when a check fails.
//!
//! The candidates are this same binary, started again in candidate mode.

#[path = "../tests/chaos/mod.rs"]
mod chaos;

use std::process::{Command, ExitCode};
use std::time::Duration;

use clap::Parser;

use chaos::{candidate, checker, harness};

#[derive(Parser)]
#[command(about = "baton's fault-injection run and safety checker")]
struct Args {
    /// Total length: 60% standalone Redis, 15% Sentinel, 25% Redis Cluster.
    #[arg(long, default_value = "12m", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Replays a run's fault schedule (default: a random seed, printed).
    #[arg(long)]
    seed: Option<u64>,
    /// Candidate processes.
    #[arg(long, default_value_t = 4)]
    candidates: usize,
    /// Allowed leaderless time beyond the lease's expiry.
    #[arg(long, default_value = "250ms", value_parser = humantime::parse_duration)]
    gap_bound: Duration,
    /// Scheduling allowance in the takeover and handover bounds (a loaded machine).
    #[arg(long, default_value = "25ms", value_parser = humantime::parse_duration)]
    sched: Duration,
    /// Elections per candidate process (the checker checks each one).
    #[arg(long, default_value_t = 20)]
    elections: usize,
    /// Only these fault kinds (comma-separated names, as in the summary).
    #[arg(long, value_delimiter = ',')]
    kinds: Vec<String>,
    /// Skip the Cluster phase.
    #[arg(long)]
    no_cluster: bool,
    /// Skip the Sentinel phase.
    #[arg(long)]
    no_sentinel: bool,
    /// Adds a ZooKeeper phase (10% of the time).
    #[arg(long)]
    zookeeper: bool,
    /// Print only the summary, not each fault.
    #[arg(long, short)]
    quiet: bool,
    /// Save the recorded history (faults, grants, stalls) even when the run passes.
    #[arg(long)]
    history: bool,
}

fn launcher() -> Command {
    Command::new(std::env::current_exe().expect("the example's path"))
}

fn main() -> ExitCode {
    candidate::run_if_requested();
    let args = Args::parse();
    let seed = args.seed.unwrap_or_else(|| fastrand::u64(..));
    let mut cfg = harness::Config::new(seed, launcher);
    let cluster = if args.no_cluster {
        Duration::ZERO
    } else {
        args.duration / 4
    };
    let sentinel = if args.no_sentinel {
        Duration::ZERO
    } else {
        args.duration * 3 / 20
    };
    let zookeeper = if args.zookeeper {
        args.duration / 10
    } else {
        Duration::ZERO
    };
    cfg.standalone = args.duration - cluster - sentinel - zookeeper;
    cfg.sentinel = sentinel;
    cfg.cluster = cluster;
    cfg.zookeeper = zookeeper;
    cfg.candidates = args.candidates.max(2);
    cfg.elections = args.elections.max(1);
    cfg.wait_elections.retain(|&e| e < cfg.elections);
    if !args.kinds.is_empty() {
        let kinds = args.kinds.iter().map(|k| {
            chaos::faults::Kind::parse(k).unwrap_or_else(|| {
                eprintln!("unknown fault kind {k}; the kinds are the summary's row names");
                std::process::exit(2)
            })
        });
        cfg.kinds = Some(kinds.collect());
    }
    cfg.gap_bound = args.gap_bound;
    cfg.sched = args.sched;
    cfg.verbose = !args.quiet;
    harness::say(&format!(
        "chaos: seed {seed}, {:?} (replay: cargo run --release --example chaos -- --seed {seed} --duration {})",
        args.duration,
        humantime::format_duration(args.duration)
    ));
    let phases = harness::run(&cfg);
    let summary = checker::check(&cfg, &phases);
    println!("{}", summary.render(&cfg));
    if args.history || !summary.passed() {
        checker::save_timeline(seed, &phases);
    }
    if summary.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
