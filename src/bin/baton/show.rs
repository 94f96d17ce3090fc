//! `baton status` and `baton watch`.

use std::process::ExitCode;

use baton::{Event, LeaderInfo};
use serde_json::{json, Value};

use crate::ShowArgs;

fn leader_json(l: &LeaderInfo) -> Value {
    json!({
        "candidate_id": l.candidate_id,
        "host": l.host,
        "pid": l.pid,
        "token": l.token,
        "since": humantime::format_rfc3339_millis(l.since).to_string(),
        "lease_remaining_ms": l.lease_remaining.as_millis() as u64,
    })
}

fn line(election: &str, leader: Option<&LeaderInfo>, json: bool) -> String {
    if json {
        return json!({ "election": election, "leader": leader.map(leader_json) }).to_string();
    }
    match leader {
        None => format!("{election}: no leader"),
        Some(l) => format!(
            "{election}: led by {} (host {}, pid {}), token {}, since {}, lease left {} ms",
            l.candidate_id,
            l.host,
            l.pid,
            l.token,
            humantime::format_rfc3339_millis(l.since),
            l.lease_remaining.as_millis()
        ),
    }
}

pub fn status(args: &ShowArgs) -> ExitCode {
    match args.target.builder().current_leader() {
        Ok(leader) => {
            println!(
                "{}",
                line(&args.target.election, leader.as_ref(), args.json)
            );
            ExitCode::SUCCESS
        }
        Err(e) => crate::fail(&e),
    }
}

pub fn watch(args: &ShowArgs) -> ExitCode {
    let observer = match args.target.builder().campaign(false).build() {
        Ok(o) => o,
        Err(e) => return crate::fail(&e),
    };
    let mut last: Option<Option<(String, u64)>> = None;
    for event in observer.events() {
        if let Event::LeaderChanged(leader) = event {
            let id = leader.as_ref().map(|l| (l.candidate_id.clone(), l.token));
            if last.as_ref() != Some(&id) {
                println!(
                    "{}",
                    line(&args.target.election, leader.as_ref(), args.json)
                );
                last = Some(id);
            }
        }
    }
    ExitCode::SUCCESS
}
