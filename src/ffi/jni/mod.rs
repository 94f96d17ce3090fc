//! JNI entry points of `java/baton-java` (class `dev.baton.Native`).
//!
//! # Rules this module keeps
//! - Every entry point runs its body through `EnvUnowned::with_env(..).resolve::<Throw>()`:
//!   a Rust error or a panic becomes a typed Java exception ([`failure`]), never an unwind
//!   into the JVM. The one exception is `isLeader`, whose fast path makes no JNI call at all
//!   and falls back to the same policy only if something goes wrong.
//! - An election lives behind a `jlong` made by `Box::into_raw` ([`handle`]). The Java
//!   `LeaderElection` owns it: `close()` closes the election but keeps the memory, and a
//!   `java.lang.ref.Cleaner` frees it once no Java thread can still be inside a call on it.
//! - Classes and method IDs are resolved once, in `Native.init()` on a Java thread, and cached
//!   ([`cache`]). No native thread ever calls into the JVM: events are *pulled* by a Java
//!   thread that blocks in `poll`, so baton's runtime thread never attaches and listener code
//!   never runs on it.

mod cache;
mod failure;
mod handle;
mod natives;
