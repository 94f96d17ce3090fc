//! Java classes and method IDs, resolved once by `Native.init()` on a Java thread.
//!
//! Resolving them there (from the `Native` class the JVM hands the native method) means the
//! lookup uses the class loader that loaded baton, which matters in application servers and
//! Spring Boot fat jars; `FindClass` on any other thread would only see the system loader.

use std::sync::OnceLock;

use jni::ids::JStaticMethodID;
use jni::objects::{JClass, JObject};
use jni::refs::Global;
use jni::signature::ReturnType;
use jni::sys::jvalue;
use jni::{jni_sig, jni_str, Env};

use super::failure::Failure;

pub(super) struct Cache {
    /// `dev.baton.Native`, which holds the factories below.
    class: Global<JClass<'static>>,
    /// `static Throwable error(int kind, String message, String[] problems)`
    pub error: JStaticMethodID,
    /// `static LeaderInfo leader(String id, String host, long pid, long token, long sinceMillis,
    /// long remainingNanos)`
    pub leader: JStaticMethodID,
    /// `static Object event(int kind, long token, int reason, LeaderInfo leader)`
    pub event: JStaticMethodID,
}

static CACHE: OnceLock<Cache> = OnceLock::new();

/// Resolves and caches the factories of `class` (`dev.baton.Native`); idempotent.
pub(super) fn init(env: &mut Env<'_>, class: &JClass<'_>) -> Result<(), Failure> {
    if CACHE.get().is_some() {
        return Ok(());
    }
    let error = env.get_static_method_id(
        class,
        jni_str!("error"),
        jni_sig!("(ILjava/lang/String;[Ljava/lang/String;)Ljava/lang/Throwable;"),
    )?;
    let leader = env.get_static_method_id(
        class,
        jni_str!("leader"),
        jni_sig!("(Ljava/lang/String;Ljava/lang/String;JJJJ)Ldev/baton/LeaderInfo;"),
    )?;
    let event = env.get_static_method_id(
        class,
        jni_str!("event"),
        jni_sig!("(IJILdev/baton/LeaderInfo;)Ljava/lang/Object;"),
    )?;
    let class = env.new_global_ref(class)?;
    // A racing second init loses harmlessly: both resolved the same IDs.
    let _ = CACHE.set(Cache {
        class,
        error,
        leader,
        event,
    });
    Ok(())
}

/// The cache, or an error saying `Native.init()` never ran.
pub(super) fn get() -> Result<&'static Cache, Failure> {
    CACHE.get().ok_or_else(|| {
        Failure::Illegal(
            "baton's JNI layer was used before Native.init(); load it through dev.baton classes only"
                .into(),
        )
    })
}

impl Cache {
    /// Calls one of the cached static factories, which all return an object.
    pub fn call_static_object<'l>(
        &self,
        env: &mut Env<'l>,
        method: JStaticMethodID,
        args: &[jvalue],
    ) -> jni::errors::Result<JObject<'l>> {
        // SAFETY: `method` was resolved on `self.class` with a signature returning an object,
        // and every caller passes arguments matching that signature.
        let value = unsafe {
            env.call_static_method_unchecked(&self.class, method, ReturnType::Object, args)?
        };
        value.l()
    }
}
