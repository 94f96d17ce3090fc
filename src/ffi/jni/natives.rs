//! The native methods of `dev.baton.Native`, one function each.
//!
//! Java checks arguments and the closed state before calling; the checks here are the last line
//! of defence, so that no argument can crash the JVM.

use std::panic::catch_unwind;
use std::time::{Duration, UNIX_EPOCH};

use jni::objects::{JClass, JObject, JString};
use jni::sys::{jboolean, jdouble, jint, jlong};
use jni::{Env, EnvUnowned, JValue};

use super::cache;
use super::failure::{Failure, Throw};
use super::handle::{ElectionHandle, EventsHandle};
use crate::{Election, ElectionBuilder, Event, LeaderInfo, RecvError, RevokeReason};

/// Event kinds understood by `dev.baton.Native.event(..)`.
mod event_kind {
    pub const GRANTED: i32 = 1;
    pub const REVOKED: i32 = 2;
    pub const LEADER_CHANGED: i32 = 3;
    pub const CLOSED: i32 = 4;
    pub const RESIGN_REQUESTED: i32 = 5;
}

/// `-1` from Java means "not set: use the Rust default".
const UNSET: jlong = -1;

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_baton_Native_init<'l>(mut env: EnvUnowned<'l>, class: JClass<'l>) {
    env.with_env(|env| cache::init(env, &class))
        .resolve::<Throw>()
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_baton_Native_version<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
) -> JString<'l> {
    env.with_env(|env| -> Result<_, Failure> { Ok(JString::from_str(env, crate::VERSION)?) })
        .resolve::<Throw>()
}

/// Starts an election; returns its handle.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)] // mirrors the Java builder's fields one to one
pub extern "system" fn Java_dev_baton_Native_open<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    store: JString<'l>,
    name: JString<'l>,
    prefix: JString<'l>,
    ttl: jlong,
    renew_interval: jlong,
    retry_interval: jlong,
    drift: jdouble,
    campaign: jboolean,
    replicas: jint,
    replicas_timeout: jlong,
    connect_timeout: jlong,
    allow_eviction: jboolean,
    resign_on_request: jboolean,
    tls_ca: JString<'l>,
    tls_cert: JString<'l>,
    tls_key: JString<'l>,
    client_name: JString<'l>,
) -> jlong {
    env.with_env(|env| -> Result<_, Failure> {
        let builder = builder(
            env,
            [&store, &name, &prefix],
            [
                ttl,
                renew_interval,
                retry_interval,
                replicas_timeout,
                connect_timeout,
            ],
            drift,
            [campaign, allow_eviction, resign_on_request],
            replicas,
        )?;
        let builder = identity(env, builder, [&tls_ca, &tls_cert, &tls_key, &client_name])?;
        Ok(ElectionHandle::into_raw(builder.build()?))
    })
    .resolve::<Throw>()
}

/// One fresh read of who leads, without campaigning; `null` if nobody does.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)] // mirrors the Java builder's fields one to one
pub extern "system" fn Java_dev_baton_Native_currentLeader<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    store: JString<'l>,
    name: JString<'l>,
    prefix: JString<'l>,
    ttl: jlong,
    renew_interval: jlong,
    retry_interval: jlong,
    drift: jdouble,
    campaign: jboolean,
    replicas: jint,
    replicas_timeout: jlong,
    connect_timeout: jlong,
    allow_eviction: jboolean,
    resign_on_request: jboolean,
    tls_ca: JString<'l>,
    tls_cert: JString<'l>,
    tls_key: JString<'l>,
    client_name: JString<'l>,
) -> JObject<'l> {
    env.with_env(|env| -> Result<_, Failure> {
        let builder = builder(
            env,
            [&store, &name, &prefix],
            [
                ttl,
                renew_interval,
                retry_interval,
                replicas_timeout,
                connect_timeout,
            ],
            drift,
            [campaign, allow_eviction, resign_on_request],
            replicas,
        )?;
        let builder = identity(env, builder, [&tls_ca, &tls_cert, &tls_key, &client_name])?;
        match builder.current_leader()? {
            Some(info) => leader_info(env, &info),
            None => Ok(JObject::null()),
        }
    })
    .resolve::<Throw>()
}

/// Asks the current leader, wherever it runs, to hand over; returns who was asked, `null` if
/// nobody leads.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)] // mirrors the Java builder's fields one to one
pub extern "system" fn Java_dev_baton_Native_requestResign<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    store: JString<'l>,
    name: JString<'l>,
    prefix: JString<'l>,
    ttl: jlong,
    renew_interval: jlong,
    retry_interval: jlong,
    drift: jdouble,
    campaign: jboolean,
    replicas: jint,
    replicas_timeout: jlong,
    connect_timeout: jlong,
    allow_eviction: jboolean,
    resign_on_request: jboolean,
    tls_ca: JString<'l>,
    tls_cert: JString<'l>,
    tls_key: JString<'l>,
    client_name: JString<'l>,
) -> JObject<'l> {
    env.with_env(|env| -> Result<_, Failure> {
        let builder = builder(
            env,
            [&store, &name, &prefix],
            [
                ttl,
                renew_interval,
                retry_interval,
                replicas_timeout,
                connect_timeout,
            ],
            drift,
            [campaign, allow_eviction, resign_on_request],
            replicas,
        )?;
        let builder = identity(env, builder, [&tls_ca, &tls_cert, &tls_key, &client_name])?;
        match builder.request_resign()? {
            Some(info) => leader_info(env, &info),
            None => Ok(JObject::null()),
        }
    })
    .resolve::<Throw>()
}

/// The hot path. It makes no JNI call unless something is wrong: `Election::is_leader` is two
/// atomic loads and a clock read, and cannot panic, but a `catch_unwind` costs nothing unless
/// it does, so the JVM is protected all the same.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_baton_Native_isLeader<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
) -> jboolean {
    // SAFETY: Java passes a live handle (see `handle` module); 0 is reported as closed.
    let outcome =
        catch_unwind(|| unsafe { ElectionHandle::from_raw(handle) }.map(|h| h.is_leader()));
    match outcome {
        Ok(Ok(leading)) => leading,
        Ok(Err(failure)) => env
            .with_env(|_| Err::<jboolean, _>(failure))
            .resolve::<Throw>(),
        Err(payload) => env
            .with_env(|_| Err::<jboolean, _>(Failure::from_panic(payload)))
            .resolve::<Throw>(),
    }
}

/// The fencing token while leading, else -1 (tokens are positive).
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_baton_Native_token<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
) -> jlong {
    env.with_env(|_| -> Result<_, Failure> {
        // SAFETY: as in `isLeader`.
        let h = unsafe { ElectionHandle::from_raw(handle) }?;
        Ok(h.with(Election::token)?.map_or(-1, to_jlong))
    })
    .resolve::<Throw>()
}

/// How often subscribing to release notifications failed.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_baton_Native_subscriptionFailures<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
) -> jlong {
    env.with_env(|_| -> Result<_, Failure> {
        // SAFETY: as in `isLeader`.
        let h = unsafe { ElectionHandle::from_raw(handle) }?;
        Ok(to_jlong(h.with(Election::subscription_failures)?))
    })
    .resolve::<Throw>()
}

/// This instance's successful renewals so far; with `renewalNanos`, the renewal latency.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_baton_Native_renewalCount<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
) -> jlong {
    env.with_env(|_| -> Result<_, Failure> {
        // SAFETY: as in `isLeader`.
        let h = unsafe { ElectionHandle::from_raw(handle) }?;
        Ok(to_jlong(h.with(Election::renewal_stats)?.count))
    })
    .resolve::<Throw>()
}

/// The summed round trips of this instance's successful renewals, in nanoseconds.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_baton_Native_renewalNanos<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
) -> jlong {
    env.with_env(|_| -> Result<_, Failure> {
        // SAFETY: as in `isLeader`.
        let h = unsafe { ElectionHandle::from_raw(handle) }?;
        let total = h.with(Election::renewal_stats)?.total;
        Ok(jlong::try_from(total.as_nanos()).unwrap_or(jlong::MAX))
    })
    .resolve::<Throw>()
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_baton_Native_leader<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
) -> JObject<'l> {
    env.with_env(|env| -> Result<_, Failure> {
        // SAFETY: as in `isLeader`.
        let h = unsafe { ElectionHandle::from_raw(handle) }?;
        match h.with(Election::leader)? {
            Some(info) => leader_info(env, &info),
            None => Ok(JObject::null()),
        }
    })
    .resolve::<Throw>()
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_baton_Native_candidateId<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
) -> JString<'l> {
    env.with_env(|env| -> Result<_, Failure> {
        // SAFETY: as in `isLeader`.
        let h = unsafe { ElectionHandle::from_raw(handle) }?;
        let id = h.with(|e| e.candidate_id().to_owned())?;
        Ok(JString::from_str(env, id)?)
    })
    .resolve::<Throw>()
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_baton_Native_resign<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
) {
    env.with_env(|_| -> Result<_, Failure> {
        // SAFETY: as in `isLeader`.
        let h = unsafe { ElectionHandle::from_raw(handle) }?;
        Ok(h.with(Election::resign)??)
    })
    .resolve::<Throw>()
}

/// Closes the election (releasing its lease); the handle stays valid until `free`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_baton_Native_close<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
) {
    env.with_env(|_| -> Result<_, Failure> {
        // SAFETY: as in `isLeader`.
        unsafe { ElectionHandle::from_raw(handle) }?.close();
        Ok(())
    })
    .resolve::<Throw>()
}

/// Frees an election handle; called once, by the Cleaner of its `LeaderElection`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_baton_Native_free<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
) {
    env.with_env(|_| -> Result<_, Failure> {
        // SAFETY: the Cleaner runs once, after the last possible use of `handle`.
        unsafe { ElectionHandle::free(handle) };
        Ok(())
    })
    .resolve::<Throw>()
}

/// A new event subscription (starting with the current state); returns its handle.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_baton_Native_subscribe<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
) -> jlong {
    env.with_env(|_| -> Result<_, Failure> {
        // SAFETY: as in `isLeader`.
        let h = unsafe { ElectionHandle::from_raw(handle) }?;
        Ok(EventsHandle::into_raw(h.with(Election::events)?))
    })
    .resolve::<Throw>()
}

/// Waits up to `timeout_millis` for the next event: `null` on timeout, an event of kind
/// `CLOSED` once the election is closed and every event was delivered.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_baton_Native_poll<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    events: jlong,
    timeout_millis: jlong,
) -> JObject<'l> {
    env.with_env(|env| -> Result<_, Failure> {
        // SAFETY: only the Java thread that owns the subscription polls and frees it.
        let events = unsafe { EventsHandle::from_raw(events) }?;
        let timeout = Duration::from_millis(timeout_millis.max(0) as u64);
        match events.recv_timeout(timeout) {
            Ok(event) => event_object(env, &event),
            Err(RecvError::Timeout) => Ok(JObject::null()),
            Err(RecvError::Closed | RecvError::Forked) => {
                new_event(env, event_kind::CLOSED, 0, 0, &JObject::null())
            }
        }
    })
    .resolve::<Throw>()
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_baton_Native_freeEvents<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    events: jlong,
) {
    env.with_env(|_| -> Result<_, Failure> {
        // SAFETY: called once, by the thread that owned the subscription, after its last poll.
        unsafe { EventsHandle::free(events) };
        Ok(())
    })
    .resolve::<Throw>()
}

/// Closes every election of the process, releasing their leases (JVM shutdown hook).
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_baton_Native_shutdown<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
) {
    env.with_env(|_| -> Result<_, Failure> {
        crate::shutdown();
        Ok(())
    })
    .resolve::<Throw>()
}

fn string(env: &Env<'_>, s: &JString<'_>, param: &'static str) -> Result<String, Failure> {
    if s.is_null() {
        return Err(Failure::Null(param));
    }
    Ok(s.try_to_string(env)?)
}

fn duration(nanos: jlong, setting: &str) -> Result<Option<Duration>, Failure> {
    match nanos {
        UNSET => Ok(None),
        n if n < 0 => Err(Failure::Illegal(format!(
            "{setting} must not be negative; pass a positive duration"
        ))),
        n => Ok(Some(Duration::from_nanos(n as u64))),
    }
}

/// The Rust builder for the Java builder's fields; `-1`/`NaN`/`null` leave Rust's defaults.
fn builder(
    env: &Env<'_>,
    [store, name, prefix]: [&JString<'_>; 3],
    [ttl, renew, retry, replicas_timeout, connect_timeout]: [jlong; 5],
    drift: jdouble,
    [campaign, allow_eviction, resign_on_request]: [bool; 3],
    replicas: jint,
) -> Result<ElectionBuilder, Failure> {
    let mut b = Election::builder(string(env, store, "storeUrl")?, string(env, name, "name")?);
    if !prefix.is_null() {
        b = b.key_prefix(string(env, prefix, "keyPrefix")?);
    }
    if let Some(d) = duration(ttl, "ttl")? {
        b = b.ttl(d);
    }
    if let Some(d) = duration(renew, "renewInterval")? {
        b = b.renew_interval(d);
    }
    if let Some(d) = duration(retry, "retryInterval")? {
        b = b.retry_interval(d);
    }
    if let Some(d) = duration(connect_timeout, "connectTimeout")? {
        b = b.connect_timeout(d);
    }
    if !drift.is_nan() {
        b = b.drift(drift);
    }
    if replicas >= 0 {
        let timeout = duration(replicas_timeout, "waitForReplicas timeout")?
            .ok_or_else(|| Failure::Illegal("waitForReplicas needs a timeout".into()))?;
        b = b.wait_for_replicas(replicas as u32, timeout);
    }
    Ok(b.campaign(campaign)
        .allow_eviction(allow_eviction)
        .resign_on_request(resign_on_request))
}

/// TLS material (PEM text) and the client name; `null` leaves each at its default.
fn identity(
    env: &Env<'_>,
    mut b: ElectionBuilder,
    [ca, cert, key, client_name]: [&JString<'_>; 4],
) -> Result<ElectionBuilder, Failure> {
    if !ca.is_null() {
        b = b.tls_ca_pem(string(env, ca, "tlsCaPem")?);
    }
    match (cert.is_null(), key.is_null()) {
        (true, true) => {}
        (false, false) => {
            b = b.tls_client_cert_pem(
                string(env, cert, "tlsClientCertPem certificate")?,
                string(env, key, "tlsClientCertPem key")?,
            )
        }
        _ => {
            return Err(Failure::Illegal(
                "tlsClientCertPem needs both the certificate and its private key".into(),
            ))
        }
    }
    if !client_name.is_null() {
        b = b.client_name(string(env, client_name, "clientName")?);
    }
    Ok(b)
}

fn to_jlong(v: u64) -> jlong {
    jlong::try_from(v).unwrap_or(jlong::MAX)
}

fn leader_info<'l>(env: &mut Env<'l>, info: &LeaderInfo) -> Result<JObject<'l>, Failure> {
    let cache = cache::get()?;
    let id = JString::from_str(env, &info.candidate_id)?;
    let host = JString::from_str(env, &info.host)?;
    let since_millis = match info.since.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as jlong,
        Err(before) => -(before.duration().as_millis() as jlong),
    };
    let remaining = jlong::try_from(info.lease_remaining.as_nanos()).unwrap_or(jlong::MAX);
    let args = [
        JValue::Object(&id).as_jni(),
        JValue::Object(&host).as_jni(),
        JValue::Long(jlong::from(info.pid)).as_jni(),
        JValue::Long(to_jlong(info.token)).as_jni(),
        JValue::Long(since_millis).as_jni(),
        JValue::Long(remaining).as_jni(),
    ];
    let obj = cache.call_static_object(env, cache.leader, &args)?;
    env.delete_local_ref(id);
    env.delete_local_ref(host);
    Ok(obj)
}

fn event_object<'l>(env: &mut Env<'l>, event: &Event) -> Result<JObject<'l>, Failure> {
    match event {
        Event::Granted { token } => new_event(
            env,
            event_kind::GRANTED,
            to_jlong(*token),
            0,
            &JObject::null(),
        ),
        Event::Revoked { token, reason } => new_event(
            env,
            event_kind::REVOKED,
            to_jlong(*token),
            reason_code(*reason),
            &JObject::null(),
        ),
        Event::LeaderChanged(leader) => {
            let info = match leader {
                Some(info) => leader_info(env, info)?,
                None => JObject::null(),
            };
            let obj = new_event(env, event_kind::LEADER_CHANGED, 0, 0, &info)?;
            env.delete_local_ref(info);
            Ok(obj)
        }
        Event::ResignRequested { token } => new_event(
            env,
            event_kind::RESIGN_REQUESTED,
            to_jlong(*token),
            0,
            &JObject::null(),
        ),
    }
}

/// Codes of `dev.baton.RevokeReason`.
fn reason_code(reason: RevokeReason) -> jint {
    match reason {
        RevokeReason::Resigned => 0,
        RevokeReason::Closed => 1,
        RevokeReason::LeaseLost => 2,
        RevokeReason::LeaseExpired => 3,
        RevokeReason::StoreUnreachable => 4,
    }
}

fn new_event<'l>(
    env: &mut Env<'l>,
    kind: i32,
    token: jlong,
    reason: jint,
    leader: &JObject<'_>,
) -> Result<JObject<'l>, Failure> {
    let cache = cache::get()?;
    let args = [
        JValue::Int(kind).as_jni(),
        JValue::Long(token).as_jni(),
        JValue::Int(reason).as_jni(),
        JValue::Object(leader).as_jni(),
    ];
    Ok(cache.call_static_object(env, cache.event, &args)?)
}
