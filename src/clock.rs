//! Monotonic time as nanoseconds since a process-wide epoch, so a deadline fits in an atomic.
//!
//! Time comes from `tokio::time::Instant`: in release builds that is the OS monotonic clock;
//! in tests with tokio's paused clock it is virtual, which makes the engine's timing testable.

use std::sync::OnceLock;
use tokio::time::Instant;

static EPOCH: OnceLock<Instant> = OnceLock::new();

fn epoch() -> Instant {
    *EPOCH.get_or_init(Instant::now)
}

/// Now, in nanoseconds since the epoch; never 0, which means "no deadline".
#[inline]
pub(crate) fn now_nanos() -> u64 {
    to_nanos(Instant::now())
}

/// An instant in nanoseconds since the epoch (at least 1).
#[inline]
pub(crate) fn to_nanos(t: Instant) -> u64 {
    (t.saturating_duration_since(epoch()).as_nanos() as u64).max(1)
}
