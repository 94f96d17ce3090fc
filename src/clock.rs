//! Baton's clock, as nanoseconds since a process-wide epoch, so a deadline fits in an atomic.
//!
//! Deadlines count on CLOCK_BOOTTIME: unlike CLOCK_MONOTONIC (`std::time::Instant`), it keeps
//! counting while the system is suspended, so a laptop or VM that resumes after its lease ran
//! out sees `is_leader()` false at once. The store's lease kept running during the suspend.
//!
//! The crate's own unit tests read tokio's clock, which they pause to test the engine's timing
//! deterministically. Every other build reads the OS clock directly: `is_leader()` must not pay
//! for tokio's mock-clock lookup, which dev-dependency feature unification would otherwise
//! switch on in examples and integration tests.

#[cfg(not(test))]
mod os {
    use std::sync::OnceLock;

    static EPOCH: OnceLock<u64> = OnceLock::new();

    /// CLOCK_BOOTTIME in nanoseconds (Linux); CLOCK_MONOTONIC elsewhere.
    #[inline]
    pub fn raw() -> u64 {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        const CLOCK: libc::clockid_t = libc::CLOCK_BOOTTIME;
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        const CLOCK: libc::clockid_t = libc::CLOCK_MONOTONIC;
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid out-pointer; the clock id is supported on these targets.
        unsafe { libc::clock_gettime(CLOCK, &mut ts) };
        ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
    }

    #[inline]
    pub fn now_nanos() -> u64 {
        let epoch = *EPOCH.get_or_init(|| raw().saturating_sub(1));
        raw().saturating_sub(epoch).max(1)
    }
}

/// Now, in nanoseconds since the epoch; never 0, which means "no deadline".
#[cfg(not(test))]
#[inline]
pub(crate) fn now_nanos() -> u64 {
    os::now_nanos()
}

/// Now on tokio's (paused) clock, in nanoseconds since the epoch; never 0.
#[cfg(test)]
pub(crate) fn now_nanos() -> u64 {
    use std::sync::OnceLock;
    static EPOCH: OnceLock<tokio::time::Instant> = OnceLock::new();
    let now = tokio::time::Instant::now();
    let epoch = *EPOCH.get_or_init(|| now);
    (now.saturating_duration_since(epoch).as_nanos() as u64).max(1)
}

/// A tokio instant on the same scale as [`now_nanos`] (tests only).
#[cfg(test)]
pub(crate) fn to_nanos(t: tokio::time::Instant) -> u64 {
    let now = now_nanos();
    let ahead = t.saturating_duration_since(tokio::time::Instant::now());
    now + ahead.as_nanos() as u64
}
