//! The result enum, the per-thread last error message, and their text.

use std::borrow::Cow;
use std::cell::RefCell;
use std::ffi::c_char;
use std::fmt::Write;

use super::args;
use super::panic::boundary_value;

/// What a baton call returned. `BATON_OK` is 0; every error code is above 7000 so that it
/// cannot be mistaken for an errno value.
///
/// A call that returns an error code also stores a message saying what went wrong and how to
/// fix it; read it with `baton_last_error`. `baton_result_text` names a code.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum baton_result {
    /// Success.
    BATON_OK = 0,
    /// A required pointer argument was NULL; the message names it.
    BATON_NULL_ARGUMENT = 7001,
    /// A string argument was not valid UTF-8; the message names it.
    BATON_INVALID_UTF8 = 7002,
    /// A handle was freed already, or was never a live handle of the expected kind.
    BATON_INVALID_HANDLE = 7003,
    /// The configuration broke one or more rules; the message names every setting and its fix.
    BATON_INVALID_CONFIG = 7004,
    /// The store could not be reached (connect, timeout, I/O).
    BATON_STORE_UNREACHABLE = 7005,
    /// The store refused a request (permissions, protocol, version).
    BATON_STORE_ERROR = 7006,
    /// The election was closed (by `baton_shutdown`) and every event was delivered.
    BATON_CLOSED = 7007,
    /// This instance does not lead right now.
    BATON_NOT_LEADER = 7008,
    /// Nothing happened within the timeout.
    BATON_TIMEOUT = 7009,
    /// A blocking call was made on baton's own runtime thread.
    BATON_ON_RUNTIME_THREAD = 7010,
    /// baton's runtime thread could not be started.
    BATON_RUNTIME_ERROR = 7011,
    /// A bug in baton: it panicked. The panic was contained; the message says where.
    BATON_PANIC = 7012,
    /// An argument's value is out of range (for example a `struct_size` baton does not know);
    /// the message names it and the fix.
    BATON_INVALID_ARGUMENT = 7013,
    /// The election was created before this process called fork(): it belongs to the parent.
    /// In the child it never leads; create a new election there.
    BATON_FORKED = 7014,
}

use baton_result::*;

impl baton_result {
    fn text(code: u32) -> &'static str {
        match code {
            0 => "BATON_OK: success\0",
            7001 => "BATON_NULL_ARGUMENT: a required pointer argument was NULL\0",
            7002 => "BATON_INVALID_UTF8: a string argument was not valid UTF-8\0",
            7003 => "BATON_INVALID_HANDLE: the handle was freed already or is not a live handle of this kind\0",
            7004 => "BATON_INVALID_CONFIG: the configuration broke one or more rules\0",
            7005 => "BATON_STORE_UNREACHABLE: the store could not be reached\0",
            7006 => "BATON_STORE_ERROR: the store refused the request\0",
            7007 => "BATON_CLOSED: the election was closed\0",
            7008 => "BATON_NOT_LEADER: this instance does not lead right now\0",
            7009 => "BATON_TIMEOUT: nothing happened within the timeout\0",
            7010 => "BATON_ON_RUNTIME_THREAD: blocking call made on baton's runtime thread\0",
            7011 => "BATON_RUNTIME_ERROR: baton's runtime thread could not be started\0",
            7012 => "BATON_PANIC: internal error in baton (a contained panic)\0",
            7013 => "BATON_INVALID_ARGUMENT: an argument's value was out of range\0",
            7014 => "BATON_FORKED: the election was created before fork() and belongs to the parent\0",
            _ => "unknown baton_result value\0",
        }
    }
}

/// Why a call failed: the code it returns and the message `baton_last_error` reports.
#[derive(Debug)]
pub(crate) struct Failure {
    pub code: baton_result,
    pub message: Cow<'static, str>,
}

impl Failure {
    pub fn new(code: baton_result, message: impl Into<Cow<'static, str>>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }

    /// A NULL where a pointer was required; `hint` says what to pass instead.
    pub fn null(param: &'static str, hint: &'static str) -> Self {
        Failure::new(BATON_NULL_ARGUMENT, format!("{param} is NULL; pass {hint}"))
    }
}

impl From<crate::Error> for Failure {
    fn from(e: crate::Error) -> Self {
        use crate::Error;
        let code = match &e {
            Error::Config(_) => BATON_INVALID_CONFIG,
            Error::StoreUnreachable { .. } => BATON_STORE_UNREACHABLE,
            Error::Store(_) => BATON_STORE_ERROR,
            Error::Closed => BATON_CLOSED,
            Error::Timeout { .. } => BATON_TIMEOUT,
            Error::Forked => BATON_FORKED,
            Error::Runtime(_) => BATON_RUNTIME_ERROR,
            Error::OnRuntimeThread => BATON_ON_RUNTIME_THREAD,
        };
        Failure::new(code, e.to_string())
    }
}

thread_local! {
    // Reused across failures: after the first one, storing a message allocates nothing.
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Stores `function: message` as this thread's last error.
pub(crate) fn set_last_error(function: &str, message: &str) {
    // try_with: a call made while the thread is being torn down just loses its message.
    let _ = LAST_ERROR.try_with(|last| {
        if let Ok(mut last) = last.try_borrow_mut() {
            last.clear();
            let _ = write!(last, "{function}: {message}");
        }
    });
}

/// A static, NUL-terminated description of `result` (a `baton_result` value), such as
/// `"BATON_NOT_LEADER: this instance does not lead right now"`. Never NULL; unknown values give
/// `"unknown baton_result value"`. The string lives as long as the process.
#[no_mangle]
pub extern "C" fn baton_result_text(result: u32) -> *const c_char {
    let unknown = baton_result::text(u32::MAX).as_ptr().cast();
    boundary_value("baton_result_text", unknown, || {
        Ok(baton_result::text(result).as_ptr().cast())
    })
}

/// Copies the message of the last failed baton call *on this thread* into `buf` and returns the
/// message's full length in bytes (without the terminating NUL), like `snprintf`.
///
/// At most `len - 1` bytes are copied, always followed by a NUL, so a return value `>= len` means
/// the message was truncated: call again with a buffer of at least the returned length + 1.
/// `buf` may be NULL when `len` is 0, to ask for the length only. The message starts with the
/// name of the function that failed and says what to do, for example
/// `"baton_election_new: invalid baton configuration: ttl: 0s is out of range; use a value
/// between 100ms and 24h"`. Returns 0 (and writes an empty string) if no call failed on this
/// thread yet. Successful calls leave the message unchanged; this function never changes it.
///
/// The message is per thread: read it on the thread that made the failing call (from Go, lock
/// the goroutine to its thread around both calls).
#[no_mangle]
pub extern "C" fn baton_last_error(buf: *mut c_char, len: usize) -> usize {
    boundary_value("baton_last_error", 0, || {
        Ok(LAST_ERROR
            .try_with(|last| match last.try_borrow() {
                Ok(last) => args::copy_text(&last, buf, len),
                Err(_) => 0,
            })
            .unwrap_or(0))
    })
}
