//! Foreign-function surfaces over the Rust API: the C ABI (`c`, header in `include/baton.h`)
//! and the JNI entry points of `java/baton-java` (`jni`). Bindings use only the public Rust API.

pub mod c;
pub mod jni;

/// The C ABI's process-wide locks, taken across a `fork()` (see `fork.rs`).
pub(crate) fn hold_for_fork() -> Vec<Box<dyn std::any::Any>> {
    c::hold_for_fork()
}
