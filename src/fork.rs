//! `fork()` after `build()`: the child has no runtime thread (threads are not copied) and must
//! never believe the parent's leadership. A `pthread_atfork` child handler bumps a process
//! generation; each election remembers the generation it was built in, so an inherited one
//! reports not leading and every call on it fails with [`Error::Forked`](crate::Error::Forked),
//! while elections built in the child get a runtime of their own.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

static GENERATION: AtomicU64 = AtomicU64::new(0);

extern "C" fn in_child() {
    // Async-signal-safe: one atomic add.
    GENERATION.fetch_add(1, Ordering::Release);
}

/// Installs the fork handler (once per process).
pub(crate) fn watch() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: registers a handler that only touches an atomic.
        unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
    });
}

/// How many forks separate this process from the one that loaded baton.
#[inline]
pub(crate) fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}
