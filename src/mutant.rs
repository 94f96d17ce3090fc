//! Purpose-broken engines for the chaos harness's mutation check (docs/chaos.md).
//!
//! Built only with `--features mutants`; `BATON_MUTANT=<name>` then picks one at run time.
//! Without the feature every switch is a constant `false` that the compiler removes, so a
//! normal build carries no trace of them. Each hook in the core is one line calling in here,
//! so it survives edits to the code around it.

/// Whether the mutant `name` is switched on in this process.
#[cfg(feature = "mutants")]
pub(crate) fn active(name: &str) -> bool {
    static ON: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    ON.get_or_init(|| std::env::var("BATON_MUTANT").ok())
        .as_deref()
        == Some(name)
}

#[cfg(not(feature = "mutants"))]
#[inline(always)]
pub(crate) fn active(_name: &str) -> bool {
    false
}

/// A Lua script as shipped, or broken the way the active mutant wants it (leaked: a store
/// loads its scripts once).
pub(crate) fn script(src: &'static str) -> &'static str {
    let breaks: &[(&str, &str, &str)] = &[
        // Tokens from the counter alone: a store that lost the counter repeats tokens.
        (
            "counter-only-tokens",
            "math.max(last + 1, now_us)",
            "last + 1",
        ),
        // Ends whoever's lease it finds.
        (
            "release-without-compare",
            "if h[1] == ARGV[1]",
            "if true or h[1] == ARGV[1]",
        ),
        // The lease gets a TTL again, so volatile-* eviction can delete it.
        (
            "evictable-lease",
            "return {1, ARGV[1]",
            "redis.call('PEXPIRE', lease, 3600000)\nreturn {1, ARGV[1]",
        ),
    ];
    for (name, from, to) in breaks {
        if active(name) && src.contains(from) {
            return Box::leak(src.replace(from, to).into_boxed_str());
        }
    }
    src
}

/// Whether a follower acquires warily. The wary acquire (a follower that saw a holder takes no
/// lease the store has no record of) would mask the lease loss that `lease-lost-transient` and
/// `evictable-lease` break open, so those mutants switch it off too: each then shows the
/// overlap its own fault makes.
pub(crate) fn wary(wary: bool) -> bool {
    wary && !active("lease-lost-transient") && !active("evictable-lease")
}

/// "LeaseLost treated as transient": a renewal that found the lease gone counts as a failed
/// request, so the leader keeps believing until its deadline.
pub(crate) fn lost_as_error(
    outcome: Option<Result<crate::store::Renewal, crate::store::StoreError>>,
) -> Option<Result<crate::store::Renewal, crate::store::StoreError>> {
    match outcome {
        Some(Ok(crate::store::Renewal::Lost)) if active("lease-lost-transient") => Some(Err(
            crate::store::StoreError::Unreachable("mutant: lease lost taken as transient".into()),
        )),
        o => o,
    }
}

/// The send instants of a request, or now when the mutant `name` is active ("deadline from
/// the response": a deadline counted from when the reply arrived).
pub(crate) fn from_response(
    name: &str,
    sent: tokio::time::Instant,
    sent_nanos: u64,
) -> (tokio::time::Instant, u64) {
    if active(name) {
        (tokio::time::Instant::now(), crate::clock::now_nanos())
    } else {
        (sent, sent_nanos)
    }
}

/// The engine's own deadline, or one an hour later for "leader ignores the clock": with
/// `is_leader()` trusting the engine (shared.rs), a leader paused past its lease believes until
/// a renewal reports the lease lost, a round trip after it resumes.
pub(crate) fn engine_deadline(deadline: tokio::time::Instant) -> tokio::time::Instant {
    if active("leader-ignores-clock") {
        deadline + std::time::Duration::from_secs(3600)
    } else {
        deadline
    }
}
