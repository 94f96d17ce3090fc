//! The hidden candidate mode: `<example> --candidate NAME --store URL --election E --ttl-ms N
//! [--count N] [--distinct]`.
//!
//! A candidate joins one election (or `--count` elections: all on the same name, or with
//! `--distinct` on names `E-0`, `E-1`, ...) and prints one JSON object per line on stdout:
//! `{"t": <CLOCK_MONOTONIC ns>, "who": NAME, "pid": .., "event": .., ...}`. Events:
//! `started`, `granted` {token}, `revoked` {token, reason}, `leader` {leader, leader_pid,
//! token, lease_ms} (who leads as this candidate sees it), `ready` {leading, following} (with
//! `--count`, once every election knows its state), `closing` (SIGTERM/SIGINT received, about
//! to release), `closed`, `error` {message}.
//!
//! On SIGTERM or SIGINT it closes every election (releasing the leases it holds, which wakes the
//! other candidates at once) and exits 0: a redeploy's graceful stop.

use std::io::Write;
use std::time::{Duration, Instant};

use baton::{Election, Event};
use serde_json::{json, Value};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use super::mono_ns;

struct Opts {
    name: String,
    store: String,
    election: String,
    ttl: Duration,
    count: usize,
    distinct: bool,
}

impl Opts {
    fn parse(args: &[String]) -> Result<Opts, String> {
        let mut it = args.iter();
        let mut opts = Opts {
            name: it.next().cloned().ok_or("--candidate needs a name")?,
            store: String::new(),
            election: String::new(),
            ttl: Duration::from_secs(2),
            count: 1,
            distinct: false,
        };
        while let Some(flag) = it.next() {
            let mut value = || it.next().cloned().ok_or(format!("{flag} needs a value"));
            match flag.as_str() {
                "--store" => opts.store = value()?,
                "--election" => opts.election = value()?,
                "--ttl-ms" => {
                    let ms = value()?.parse().map_err(|e| format!("--ttl-ms: {e}"))?;
                    opts.ttl = Duration::from_millis(ms);
                }
                "--count" => opts.count = value()?.parse().map_err(|e| format!("--count: {e}"))?,
                "--distinct" => opts.distinct = true,
                other => return Err(format!("unknown candidate flag {other}")),
            }
        }
        Ok(opts)
    }
}

/// Prints one event line; stdout is a pipe to the parent, so every line is flushed at once.
fn emit(who: &str, event: &str, fields: Value) {
    let mut line = json!({"t": mono_ns(), "who": who, "pid": std::process::id(), "event": event});
    if let (Some(obj), Value::Object(extra)) = (line.as_object_mut(), fields) {
        obj.extend(extra);
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Runs the candidate mode with the arguments after `--candidate`, then exits the process.
pub fn main(args: &[String]) -> ! {
    let opts = match Opts::parse(args) {
        Ok(o) => o,
        Err(e) => {
            emit("?", "error", json!({"message": e}));
            std::process::exit(2);
        }
    };
    let code = match run(&opts) {
        Ok(()) => 0,
        Err(e) => {
            emit(&opts.name, "error", json!({"message": e}));
            1
        }
    };
    std::process::exit(code)
}

fn run(o: &Opts) -> Result<(), String> {
    // Registered before the elections exist, so that an early SIGTERM still means "close".
    let mut signals = Signals::new([SIGTERM, SIGINT]).map_err(|e| e.to_string())?;
    let elections = (0..o.count)
        .map(|i| {
            let name = if o.distinct {
                format!("{}-{i}", o.election)
            } else {
                o.election.clone()
            };
            Election::builder(&o.store, name).ttl(o.ttl).build()
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    emit(
        &o.name,
        "started",
        json!({"candidate_id": elections[0].candidate_id()}),
    );
    if o.count == 1 {
        let (events, who) = (elections[0].events(), o.name.clone());
        std::thread::spawn(move || report(&who, events));
    } else {
        report_ready(&o.name, &elections)?;
    }
    signals.forever().next();
    emit(&o.name, "closing", json!({}));
    // Closes every election of the process at once: each releases its lease and publishes.
    baton::shutdown();
    emit(&o.name, "closed", json!({}));
    Ok(())
}

fn report(who: &str, events: baton::Events) {
    for event in events {
        match event {
            Event::Granted { token } => emit(who, "granted", json!({"token": token})),
            Event::Revoked { token, reason } => emit(
                who,
                "revoked",
                json!({"token": token, "reason": reason.as_str()}),
            ),
            Event::LeaderChanged(leader) => emit(
                who,
                "leader",
                match leader {
                    Some(l) => json!({
                        "leader": l.candidate_id, "leader_pid": l.pid, "token": l.token,
                        "lease_ms": l.lease_remaining.as_millis() as u64,
                    }),
                    None => json!({"leader": null}),
                },
            ),
            _ => {}
        }
    }
}

/// With many elections, one line once every election leads or knows who does.
fn report_ready(who: &str, elections: &[Election]) -> Result<(), String> {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let leading = elections.iter().filter(|e| e.is_leader()).count();
        let following = elections
            .iter()
            .filter(|e| !e.is_leader() && e.leader().is_some())
            .count();
        if leading + following == elections.len() {
            emit(
                who,
                "ready",
                json!({"leading": leading, "following": following}),
            );
            return Ok(());
        }
        if Instant::now() > until {
            return Err(format!(
                "after 60s only {leading} elections lead and {following} follow of {}",
                elections.len()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
