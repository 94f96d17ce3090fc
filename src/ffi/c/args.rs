//! Checks of what C passes in: NULL pointers and invalid UTF-8 become errors naming the
//! parameter; out-parameters are written only on success.

use std::ffi::{c_char, CStr};
use std::time::Duration;

use super::error::{baton_result, Failure};

/// A required `const char *` argument as UTF-8 text.
pub(crate) fn text<'a>(param: &'static str, ptr: *const c_char) -> Result<&'a str, Failure> {
    if ptr.is_null() {
        return Err(Failure::null(param, "a NUL-terminated UTF-8 string"));
    }
    // SAFETY: non-NULL; the caller promises a NUL-terminated string that outlives the call.
    let bytes = unsafe { CStr::from_ptr(ptr) };
    bytes.to_str().map_err(|e| {
        Failure::new(
            baton_result::BATON_INVALID_UTF8,
            format!(
                "{param} is not valid UTF-8 (bad byte at offset {}); pass UTF-8 text",
                e.valid_up_to()
            ),
        )
    })
}

/// Writes `value` through a required out-parameter. Call it last, once the call succeeded.
pub(crate) fn write_out<T>(ptr: *mut T, value: T) {
    // SAFETY: checked non-NULL by `out` before any work; the caller promises it is writable.
    // `write` does not read or drop what the caller's (possibly uninitialised) memory held.
    unsafe { ptr.write(value) }
}

/// Rejects a NULL out-parameter up front, so that no work is done for nothing.
pub(crate) fn out<T>(param: &'static str, ptr: *mut T, hint: &'static str) -> Result<(), Failure> {
    if ptr.is_null() {
        Err(Failure::null(param, hint))
    } else {
        Ok(())
    }
}

/// A duration in milliseconds from C. Values above `INT64_MAX` are what a negative number
/// becomes when passed as `uint64_t`, so they are refused here, naming the setting; zero and
/// other out-of-range values are left to the builder's validation, which names the rule.
pub(crate) fn millis(setting: &'static str, ms: u64) -> Result<Duration, Failure> {
    if ms > i64::MAX as u64 {
        return Err(Failure::new(
            baton_result::BATON_INVALID_CONFIG,
            format!(
                "{setting}: {ms}ms is negative (as int64: {}) or absurdly large; pass milliseconds, for example 10000 for 10s",
                ms as i64
            ),
        ));
    }
    Ok(Duration::from_millis(ms))
}

/// Copies `text` into `buf` like `snprintf`: at most `len - 1` bytes (cut on a character
/// boundary) plus a NUL; returns the full length so the caller can retry with a larger buffer.
pub(crate) fn copy_text(text: &str, buf: *mut c_char, len: usize) -> usize {
    if !buf.is_null() && len > 0 {
        let mut n = text.len().min(len - 1);
        while !text.is_char_boundary(n) {
            n -= 1;
        }
        // SAFETY: the caller promises `buf` is writable for `len` bytes, and n < len.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), n);
            *buf.add(n) = 0;
        }
    }
    text.len()
}
