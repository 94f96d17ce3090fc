//! Code shared by `examples/demo.rs` and `examples/bench.rs`: the hidden candidate mode each
//! example re-executes itself in, the parent's view of those processes, and small measures.
//!
//! Timestamps are CLOCK_MONOTONIC nanoseconds: on Linux that clock is system-wide, so an event
//! stamped in one candidate process can be subtracted from one stamped in another.

pub mod candidate;
pub mod fleet;

use std::time::Duration;

/// CLOCK_MONOTONIC now, in nanoseconds (comparable across processes of one Linux host).
pub fn mono_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Milliseconds between two monotonic timestamps (negative when `to` is earlier).
pub fn ms_between(from_ns: u64, to_ns: u64) -> f64 {
    (to_ns as f64 - from_ns as f64) / 1e6
}

/// The nearest-rank percentile `q` (0..=1) of `samples`; with 50 samples, p99 is the maximum.
pub fn percentile(samples: &[f64], q: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let rank = ((q * s.len() as f64).ceil() as usize).clamp(1, s.len());
    s[rank - 1]
}

/// `1.234 ms`, or `850 µs` below a millisecond.
pub fn fmt_ms(ms: f64) -> String {
    if ms.abs() < 1.0 {
        format!("{:.0} µs", ms * 1000.0)
    } else if ms.abs() < 100.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// Human form of a short duration: `500ms`, `2s`.
pub fn fmt_dur(d: Duration) -> String {
    if d.subsec_millis() == 0 && d.as_secs() > 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}
