//! `fork()` after `build()`: the child has no runtime thread (threads are not copied) and must
//! never believe the parent's leadership. A `pthread_atfork` child handler bumps a process
//! generation; each election remembers the generation it was built in, so an inherited one
//! reports not leading and every call on it fails with [`Error::Forked`](crate::Error::Forked),
//! while elections built in the child get a runtime of their own.
//!
//! A process-wide lock that another thread holds at the fork stays locked in the child for
//! good (that thread is not copied). The prepare handler therefore takes baton's process-wide
//! locks in the forking thread, and the parent and child handlers release them.

use std::any::Any;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

static GENERATION: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// The locks the prepare handler took, held by the forking thread across `fork()`.
    static HELD: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
}

extern "C" fn prepare() {
    // The C registries before the runtime's slot: the order in which a caller nests them.
    let mut held = crate::ffi::hold_for_fork();
    held.push(crate::runtime::hold_for_fork());
    let _ = HELD.try_with(|h| *h.borrow_mut() = held);
}

fn release() {
    let _ = HELD.try_with(|h| {
        let mut held = h.borrow_mut();
        while let Some(guard) = held.pop() {
            drop(guard);
        }
    });
}

extern "C" fn in_parent() {
    release();
}

extern "C" fn in_child() {
    GENERATION.fetch_add(1, Ordering::Release);
    release();
}

/// Installs the fork handlers (once per process).
pub(crate) fn watch() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: the handlers take and release baton's own locks and bump an atomic.
        unsafe { libc::pthread_atfork(Some(prepare), Some(in_parent), Some(in_child)) };
    });
}

/// Whether something built in generation `built` was inherited through `fork()`.
#[inline]
pub(crate) fn inherited(built: u64) -> bool {
    built != generation()
}

/// How many forks separate this process from the one that loaded baton.
#[inline]
pub(crate) fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}
