//! The Rust objects behind the `jlong` handles Java holds.
//!
//! An election handle stays valid until Java's `Cleaner` frees it, which happens only once the
//! owning `LeaderElection` is unreachable, i.e. once no Java thread can be inside a call on it
//! (`LeaderElection` keeps itself reachable across each call). `close()` therefore only closes
//! the election, which is idempotent: calls racing with it see a closed election.

use jni::sys::jlong;

use super::failure::Failure;
use crate::{Election, Events};

pub(super) struct ElectionHandle(Election);

impl ElectionHandle {
    pub fn into_raw(election: Election) -> jlong {
        Box::into_raw(Box::new(ElectionHandle(election))) as jlong
    }

    /// # Safety
    /// `h` must be 0 or a value from [`ElectionHandle::into_raw`] not yet passed to
    /// [`ElectionHandle::free`].
    pub unsafe fn from_raw<'a>(h: jlong) -> Result<&'a ElectionHandle, Failure> {
        // SAFETY: guaranteed by the caller; 0 is the only invalid value Java can pass.
        unsafe { (h as *const ElectionHandle).as_ref() }.ok_or(Failure::Closed)
    }

    /// # Safety
    /// As for [`ElectionHandle::from_raw`]; afterwards `h` must never be used again.
    pub unsafe fn free(h: jlong) {
        if h != 0 {
            // SAFETY: guaranteed by the caller. Dropping an open election closes it.
            drop(unsafe { Box::from_raw(h as *mut ElectionHandle) });
        }
    }

    /// The hot path: an atomic load and a clock read; false once closed.
    #[inline]
    pub fn is_leader(&self) -> bool {
        self.0.is_leader()
    }

    /// Runs `f` on the open election, or fails with `Closed`.
    pub fn with<R>(&self, f: impl FnOnce(&Election) -> R) -> Result<R, Failure> {
        if self.0.is_closed() {
            return Err(Failure::Closed);
        }
        Ok(f(&self.0))
    }

    /// Closes the election, releasing its lease; later calls see `Closed`.
    pub fn close(&self) {
        self.0.close();
    }
}

/// A subscription owned by the single Java thread that polls it, freed by that thread.
pub(super) struct EventsHandle;

impl EventsHandle {
    pub fn into_raw(events: Events) -> jlong {
        Box::into_raw(Box::new(events)) as jlong
    }

    /// # Safety
    /// `h` must be 0 or a live value from [`EventsHandle::into_raw`].
    pub unsafe fn from_raw<'a>(h: jlong) -> Result<&'a Events, Failure> {
        // SAFETY: guaranteed by the caller.
        unsafe { (h as *const Events).as_ref() }.ok_or(Failure::Closed)
    }

    /// # Safety
    /// As for [`EventsHandle::from_raw`]; afterwards `h` must never be used again.
    pub unsafe fn free(h: jlong) {
        if h != 0 {
            // SAFETY: guaranteed by the caller.
            drop(unsafe { Box::from_raw(h as *mut Events) });
        }
    }
}
