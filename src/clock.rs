//! Monotonic time as nanoseconds since a process-wide epoch, so a deadline fits in an atomic.
//!
//! The crate's own unit tests read tokio's clock, which they pause to test the engine's timing
//! deterministically. Every other build reads the OS monotonic clock directly: `is_leader()`
//! must not pay for tokio's mock-clock lookup, which dev-dependency feature unification would
//! otherwise switch on in examples and integration tests.

use std::sync::OnceLock;

#[cfg(not(test))]
type Now = std::time::Instant;
#[cfg(test)]
type Now = tokio::time::Instant;

static EPOCH: OnceLock<Now> = OnceLock::new();

/// Now, in nanoseconds since the epoch; never 0, which means "no deadline".
#[inline]
pub(crate) fn now_nanos() -> u64 {
    since_epoch(Now::now())
}

/// A tokio instant (the engine's timers) in nanoseconds since the epoch (at least 1).
#[inline]
pub(crate) fn to_nanos(t: tokio::time::Instant) -> u64 {
    #[cfg(not(test))]
    let t = t.into_std();
    since_epoch(t)
}

#[inline]
fn since_epoch(t: Now) -> u64 {
    let epoch = *EPOCH.get_or_init(Now::now);
    (t.saturating_duration_since(epoch).as_nanos() as u64).max(1)
}
