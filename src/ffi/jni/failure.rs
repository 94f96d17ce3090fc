//! The one error policy: every Rust error and panic of an entry point becomes a Java exception.

use std::any::Any;
use std::fmt;

use jni::errors::ErrorPolicy;
use jni::objects::{JObjectArray, JString, JThrowable};
use jni::{jni_str, Env, JValue};

use super::cache;
use crate::Error;

/// Exception kinds understood by `dev.baton.Native.error(int, String, String[])`.
pub(super) mod kind {
    pub const CONFIG: i32 = 0;
    pub const STORE_UNREACHABLE: i32 = 1;
    pub const STORE: i32 = 2;
    pub const CLOSED: i32 = 3;
    pub const RUNTIME: i32 = 4;
    pub const NULL_ARGUMENT: i32 = 5;
    pub const ILLEGAL_ARGUMENT: i32 = 6;
    pub const INTERNAL: i32 = 7;
}

/// Why an entry point failed.
#[derive(Debug)]
pub(super) enum Failure {
    /// The Rust API refused.
    Baton(Error),
    /// A required argument was null (Java checks first; this is the last line of defence).
    Null(&'static str),
    /// An argument had a value Java should have refused.
    Illegal(String),
    /// The handle was 0 or the election is closed.
    Closed,
    /// A JNI call failed; if it left a Java exception pending, that one is reported.
    Jni(jni::errors::Error),
    /// Rust code panicked.
    Panic(String),
}

impl From<jni::errors::Error> for Failure {
    fn from(e: jni::errors::Error) -> Self {
        Failure::Jni(e)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Baton(e)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Baton(e) => write!(f, "{e}"),
            Failure::Null(param) => write!(f, "{param} must not be null"),
            Failure::Illegal(message) => f.write_str(message),
            Failure::Closed => write!(f, "{}", Error::Closed),
            Failure::Jni(e) => write!(
                f,
                "a JNI call inside baton failed ({e}); this is a bug in baton, please report it"
            ),
            Failure::Panic(p) => write!(
                f,
                "baton's native code panicked ({p}); this is a bug in baton, please report it"
            ),
        }
    }
}

impl std::error::Error for Failure {}

impl Failure {
    pub(super) fn from_panic(payload: Box<dyn Any + Send>) -> Failure {
        let text = if let Some(s) = payload.downcast_ref::<&'static str>() {
            (*s).to_owned()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "no message".to_owned()
        };
        // Dropping an arbitrary payload may itself panic; leak it instead.
        std::mem::forget(payload);
        Failure::Panic(text)
    }

    fn kind(&self) -> i32 {
        match self {
            Failure::Baton(e) => match e {
                Error::Config(_) => kind::CONFIG,
                Error::StoreUnreachable { .. } => kind::STORE_UNREACHABLE,
                Error::Store(_) => kind::STORE,
                Error::Closed => kind::CLOSED,
                Error::Timeout { .. } => kind::STORE_UNREACHABLE,
                Error::Runtime(_) | Error::OnRuntimeThread | Error::Forked => kind::RUNTIME,
            },
            Failure::Null(_) => kind::NULL_ARGUMENT,
            Failure::Illegal(_) => kind::ILLEGAL_ARGUMENT,
            Failure::Closed => kind::CLOSED,
            Failure::Jni(_) | Failure::Panic(_) => kind::INTERNAL,
        }
    }

    /// Setting/message pairs of a configuration error, flattened.
    fn problems(&self) -> Vec<String> {
        match self {
            Failure::Baton(Error::Config(c)) => c
                .problems
                .iter()
                .flat_map(|p| [p.setting.to_owned(), p.message.clone()])
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Throws this failure as the matching `dev.baton` exception.
    fn throw(&self, env: &mut Env<'_>) -> jni::errors::Result<()> {
        let message = self.to_string();
        let Ok(cache) = cache::get() else {
            // Only reachable if `Native.init()` never ran; still a Java thread, so a plain
            // class lookup is safe here.
            return throw_plain(env, &message);
        };
        let problems = self.problems();
        let kind = self.kind();
        // A frame of our own: a config error can hold more strings than the default 16 locals.
        env.with_local_frame(4 + problems.len(), |env| -> jni::errors::Result<()> {
            let jmessage = JString::from_str(env, &message)?;
            let array = JObjectArray::<JString>::new(env, problems.len(), JString::null())?;
            for (i, p) in problems.iter().enumerate() {
                let s = JString::from_str(env, p)?;
                array.set_element(env, i, &s)?;
                env.delete_local_ref(s);
            }
            let args = [
                JValue::Int(kind).as_jni(),
                JValue::Object(&jmessage).as_jni(),
                JValue::Object(&array).as_jni(),
            ];
            let obj = cache.call_static_object(env, cache.error, &args)?;
            // SAFETY: `Native.error` is declared to return a java.lang.Throwable.
            let throwable = unsafe { JThrowable::from_raw(env, obj.into_raw()) };
            ignore_pending(env.throw(&throwable))
        })
    }
}

fn throw_plain(env: &mut Env<'_>, message: &str) -> jni::errors::Result<()> {
    let msg = jni::strings::JNIString::new(message);
    ignore_pending(env.throw_new(jni_str!("java/lang/IllegalStateException"), msg))
}

/// `Throw`/`ThrowNew` report success as `Err(JavaException)`: the exception is now pending.
fn ignore_pending(r: jni::errors::Result<()>) -> jni::errors::Result<()> {
    match r {
        Err(jni::errors::Error::JavaException) => Ok(()),
        other => other,
    }
}

/// The error policy of every entry point: a pending Java exception wins (a JNI call failed
/// because Java threw); otherwise the failure is thrown as its typed `dev.baton` exception.
pub(super) struct Throw;

impl<T: Default> ErrorPolicy<T, Failure> for Throw {
    type Captures<'unowned_env_local: 'native_method, 'native_method> = ();

    fn on_error<'unowned_env_local: 'native_method, 'native_method>(
        env: &mut Env<'unowned_env_local>,
        _cap: &mut (),
        err: Failure,
    ) -> jni::errors::Result<T> {
        if !env.exception_check() {
            err.throw(env)?;
        }
        Ok(T::default())
    }

    fn on_panic<'unowned_env_local: 'native_method, 'native_method>(
        env: &mut Env<'unowned_env_local>,
        cap: &mut (),
        payload: Box<dyn Any + Send + 'static>,
    ) -> jni::errors::Result<T> {
        // A panic outranks an exception that may be pending: report the bug.
        env.exception_clear();
        Self::on_error(env, cap, Failure::from_panic(payload))
    }
}
