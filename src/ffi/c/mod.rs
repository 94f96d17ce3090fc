//! The C ABI over the Rust API; `include/baton.h` is generated from these modules by
//! `build.rs` (cbindgen, settings in `cbindgen.toml`).
//!
//! The discipline follows rustls-ffi:
//! - Opaque handles with `_new`/`_free` pairs; `_free(NULL)` is a no-op. Handles are registry
//!   keys that baton never dereferences (see `handle`), so a handle used after free is an
//!   error (`BATON_INVALID_HANDLE`), not a crash.
//! - One `#[repr(u32)]` result enum; a failing call also leaves a message naming the
//!   parameter or setting and the fix, per thread (`baton_last_error`).
//! - Out-parameters are written only on success; every export runs inside one panic boundary
//!   (`panic`), and NULL or non-UTF-8 arguments are errors naming the parameter (`args`).
//! - Only the public Rust API is used.
//!
//! # Layout
//! - `config`: `baton_config`, the settings of an election.
//! - `election`: `baton_election`, new/free, leadership, token, resign.
//! - `events`: `baton_event`, polling and the callback thread.
//! - `leader`: `baton_leader`, who leads.
//! - `process`: version and shutdown.
//! - plumbing: `error` (result enum, last error), `panic`, `args`, `handle`.

// Exports take raw pointers from C by design; each documents what it requires of them.
#![allow(clippy::not_unsafe_ptr_arg_deref)]
// C names (`baton_election`), as they appear in the header.
#![allow(non_camel_case_types)]

// Declaration order is the header's order.
mod args;
pub mod config;
pub mod election;
pub mod error;
pub mod events;
mod handle;
pub mod leader;
mod panic;
pub mod process;

/// The process-wide locks of the C ABI, taken across a `fork()` in this order.
pub(crate) fn hold_for_fork() -> Vec<Box<dyn std::any::Any>> {
    vec![
        config::CONFIGS.hold_for_fork(),
        election::ELECTIONS.hold_for_fork(),
        leader::hold_for_fork(),
    ]
}
