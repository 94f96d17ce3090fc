//! Handles are keys into registries, not addresses. baton never dereferences a handle that a
//! caller passes, so one used after free, freed twice, of the wrong kind, or plain garbage is
//! reported as `BATON_INVALID_HANDLE` instead of touching freed memory. Keys are never reused
//! within a process, so a stale handle cannot alias a newer one.
//!
//! A call looks its handle up under a read lock and works on a clone of the `Arc`, so calls
//! from many threads run at once, and `_free` only removes the key: a call still running on
//! another thread finishes on its own reference.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use super::error::{baton_result, Failure};

/// Keys start well above 4096: Go's garbage collector aborts on pointer values below that.
const KEY_BASE: usize = 0x10_0000;
/// Keys look like aligned pointers to tools that print them.
const KEY_STEP: usize = 16;
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The live handles of one kind.
pub(crate) struct Registry<T> {
    kind: &'static str,
    /// What to pass instead of NULL, for the error message.
    hint: &'static str,
    live: RwLock<BTreeMap<usize, Arc<T>>>,
}

impl<T> Registry<T> {
    pub const fn new(kind: &'static str, hint: &'static str) -> Self {
        Registry {
            kind,
            hint,
            live: RwLock::new(BTreeMap::new()),
        }
    }

    /// Registers `value` and returns its new handle.
    pub fn insert<H>(&self, value: T) -> *mut H {
        let key = KEY_BASE + NEXT.fetch_add(1, Ordering::Relaxed) * KEY_STEP;
        let mut live = self.live.write().unwrap_or_else(PoisonError::into_inner);
        live.insert(key, Arc::new(value));
        key as *mut H
    }

    /// The value behind a live handle; NULL and unknown handles are errors naming `param`.
    pub fn get<H>(&self, param: &'static str, handle: *const H) -> Result<Arc<T>, Failure> {
        if handle.is_null() {
            return Err(Failure::null(param, self.hint));
        }
        let live = self.live.read().unwrap_or_else(PoisonError::into_inner);
        live.get(&(handle as usize))
            .cloned()
            .ok_or_else(|| self.invalid(param))
    }

    /// Runs `f` on the value behind a live handle without cloning its `Arc`: for quick,
    /// non-blocking calls only, since `_free` waits for the read lock held meanwhile.
    pub fn with<H, R>(
        &self,
        param: &'static str,
        handle: *const H,
        f: impl FnOnce(&T) -> Result<R, Failure>,
    ) -> Result<R, Failure> {
        if handle.is_null() {
            return Err(Failure::null(param, self.hint));
        }
        let live = self.live.read().unwrap_or_else(PoisonError::into_inner);
        match live.get(&(handle as usize)) {
            Some(value) => f(value),
            None => Err(self.invalid(param)),
        }
    }

    /// The registry, locked across a `fork()` (see `fork.rs`).
    pub fn hold_for_fork(&'static self) -> Box<dyn std::any::Any>
    where
        T: 'static,
    {
        Box::new(self.live.write().unwrap_or_else(PoisonError::into_inner))
    }

    /// Unregisters a handle, returning its value if it was live.
    pub fn remove<H>(&self, handle: *const H) -> Option<Arc<T>> {
        let mut live = self.live.write().unwrap_or_else(PoisonError::into_inner);
        live.remove(&(handle as usize))
    }

    /// The error for a handle that is not (or no longer) live.
    pub fn invalid(&self, param: &'static str) -> Failure {
        Failure::new(
            baton_result::BATON_INVALID_HANDLE,
            format!(
                "{param} is not a live {}: it was freed already, or is not a handle of this kind; use a handle returned by {}_new and not yet freed",
                self.kind, self.kind
            ),
        )
    }
}
