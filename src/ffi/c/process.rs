//! Process-wide calls: the version and shutdown.

use std::ffi::c_char;

use super::panic::{boundary, boundary_value};

/// baton's version (`"0.1.0"`), a static string; never NULL.
#[no_mangle]
pub extern "C" fn baton_version() -> *const c_char {
    const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    boundary_value("baton_version", VERSION.as_ptr().cast(), || {
        Ok(VERSION.as_ptr().cast())
    })
}

/// Closes every election of this process, releasing every lease it holds, and waits until the
/// releases are confirmed (a couple of seconds at most when the store is unreachable). Call it
/// on the way out of `main` or from a shutdown hook. Handles stay valid and must still be
/// freed: their elections report `BATON_CLOSED` and no longer lead. Elections created
/// afterwards work as usual.
#[no_mangle]
pub extern "C" fn baton_shutdown() {
    boundary("baton_shutdown", || {
        crate::shutdown();
        Ok(())
    });
}
