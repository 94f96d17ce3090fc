//! How `status`, `watch` and `resign` print a leader: one line of text, or one JSON object.

use baton::LeaderInfo;
use serde_json::{json, Value};

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

/// `{"election": ..., "leader": null | {...}}`, or `NAME: led by ...` / `NAME: no leader`.
pub fn line(election: &str, leader: Option<&LeaderInfo>, json: bool) -> String {
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
