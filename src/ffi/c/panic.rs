//! The one panic boundary every export goes through: a panic inside baton becomes
//! `BATON_PANIC` (or the export's documented fallback value) plus a last-error message, never
//! an unwind into C, which would be undefined behaviour.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::error::{baton_result, set_last_error, Failure};

/// Runs an export that returns a `baton_result`; a failure's message becomes the last error.
pub(crate) fn boundary(
    function: &'static str,
    f: impl FnOnce() -> Result<(), Failure>,
) -> baton_result {
    match guarded(function, f) {
        Ok(()) => baton_result::BATON_OK,
        Err(code) => code,
    }
}

/// Runs an export that returns a plain value; on failure or panic it stores the message and
/// returns `fallback`.
pub(crate) fn boundary_value<T>(
    function: &'static str,
    fallback: T,
    f: impl FnOnce() -> Result<T, Failure>,
) -> T {
    guarded(function, f).unwrap_or(fallback)
}

fn guarded<T>(
    function: &'static str,
    f: impl FnOnce() -> Result<T, Failure>,
) -> Result<T, baton_result> {
    // AssertUnwindSafe: after a panic we only report it; no state observed mid-update is reused
    // (the handle registries recover from poisoned locks, their maps stay consistent).
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(failure)) => {
            set_last_error(function, &failure.message);
            Err(failure.code)
        }
        Err(payload) => {
            let message = format!(
                "internal error (panic: {}); this is a bug in baton, please report it",
                panic_text(&*payload)
            );
            set_last_error(function, &message);
            Err(baton_result::BATON_PANIC)
        }
    }
}

fn panic_text(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message")
}
