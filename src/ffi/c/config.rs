//! `baton_config`: the settings of an election, checked all at once by `baton_election_new`.

use std::ffi::c_char;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use super::args;
use super::error::{baton_result, Failure};
use super::handle::Registry;
use super::panic::boundary;
use crate::{Election, ElectionBuilder};

/// The settings of an election: store, name, timing and options. Create it with
/// `baton_config_new`, adjust it with the `baton_config_set_*` functions, pass it to
/// `baton_election_new` (any number of times) and release it with `baton_config_free`.
///
/// Setters store values without judging them (except negative durations); all rules are
/// checked together by `baton_election_new` and `baton_current_leader`, which report every
/// broken rule, naming the setting, its value and the fix. A config may be used from several
/// threads; each call sees the settings as of that call.
pub struct baton_config {
    _private: [u8; 0],
}

#[derive(Clone)]
pub(crate) struct Settings {
    store: String,
    name: String,
    ttl: Option<Duration>,
    renew_interval: Option<Duration>,
    retry_interval: Option<Duration>,
    drift: Option<f64>,
    key_prefix: Option<String>,
    campaign: Option<bool>,
    replicas: Option<(u32, Duration)>,
    connect_timeout: Option<Duration>,
    allow_eviction: Option<bool>,
    resign_on_request: Option<bool>,
    tls_ca: Option<String>,
    tls_client: Option<(String, String)>,
    client_name: Option<String>,
}

impl Settings {
    /// The Rust builder for these settings; unset ones keep the builder's defaults.
    pub fn builder(&self) -> ElectionBuilder {
        let mut b = Election::builder(self.store.clone(), self.name.clone());
        if let Some(v) = self.ttl {
            b = b.ttl(v);
        }
        if let Some(v) = self.renew_interval {
            b = b.renew_interval(v);
        }
        if let Some(v) = self.retry_interval {
            b = b.retry_interval(v);
        }
        if let Some(v) = self.drift {
            b = b.drift(v);
        }
        if let Some(v) = &self.key_prefix {
            b = b.key_prefix(v.clone());
        }
        if let Some(v) = self.campaign {
            b = b.campaign(v);
        }
        if let Some((count, timeout)) = self.replicas {
            b = b.wait_for_replicas(count, timeout);
        }
        if let Some(v) = self.connect_timeout {
            b = b.connect_timeout(v);
        }
        if let Some(v) = self.allow_eviction {
            b = b.allow_eviction(v);
        }
        if let Some(v) = self.resign_on_request {
            b = b.resign_on_request(v);
        }
        if let Some(v) = &self.tls_ca {
            b = b.tls_ca_pem(v.clone());
        }
        if let Some((cert, key)) = &self.tls_client {
            b = b.tls_client_cert_pem(cert.clone(), key.clone());
        }
        if let Some(v) = &self.client_name {
            b = b.client_name(v.clone());
        }
        b
    }
}

pub(crate) static CONFIGS: Registry<Mutex<Settings>> =
    Registry::new("baton_config", "a baton_config created by baton_config_new");

/// The settings behind a config handle, as of now.
pub(crate) fn settings(
    param: &'static str,
    config: *const baton_config,
) -> Result<Settings, Failure> {
    let config = CONFIGS.get(param, config)?;
    let settings = config.lock().unwrap_or_else(PoisonError::into_inner);
    Ok(settings.clone())
}

fn update(config: *mut baton_config, change: impl FnOnce(&mut Settings)) -> Result<(), Failure> {
    let config = CONFIGS.get("config", config)?;
    change(&mut config.lock().unwrap_or_else(PoisonError::into_inner));
    Ok(())
}

/// Creates a config for the election `name` on the store at `store` and writes it to `*out`.
///
/// `store` is a Redis URL (`redis://host:6379`, `rediss://...` for TLS, with optional
/// `user:password@`), or a comma-separated list of Redis Cluster seed URLs. `name` names the
/// job ("nightly-report"): non-empty, at most 200 bytes, no `{` or `}`. Both are copied, and
/// checked by `baton_election_new`. Every other setting keeps its default until set.
/// Free the config with `baton_config_free`.
#[no_mangle]
pub extern "C" fn baton_config_new(
    store: *const c_char,
    name: *const c_char,
    out: *mut *mut baton_config,
) -> baton_result {
    boundary("baton_config_new", || {
        let store = args::text("store", store)?;
        let name = args::text("name", name)?;
        args::out(
            "out",
            out,
            "the address of a baton_config * to receive the config",
        )?;
        let handle = CONFIGS.insert(Mutex::new(Settings {
            store: store.to_owned(),
            name: name.to_owned(),
            ttl: None,
            renew_interval: None,
            retry_interval: None,
            drift: None,
            key_prefix: None,
            campaign: None,
            replicas: None,
            connect_timeout: None,
            allow_eviction: None,
            resign_on_request: None,
            tls_ca: None,
            tls_client: None,
            client_name: None,
        }));
        args::write_out(out, handle);
        Ok(())
    })
}

/// Frees a config. NULL is a no-op; elections built from it are not affected.
#[no_mangle]
pub extern "C" fn baton_config_free(config: *mut baton_config) {
    boundary("baton_config_free", || {
        if !config.is_null() && CONFIGS.remove(config).is_none() {
            return Err(CONFIGS.invalid("config"));
        }
        Ok(())
    });
}

/// How long a lease lives in the store without renewal, in milliseconds: a dead leader is
/// replaced this long after its last renewal. Between 100 and 86400000 (24h). Default: 10000.
#[no_mangle]
pub extern "C" fn baton_config_set_ttl_ms(config: *mut baton_config, ttl_ms: u64) -> baton_result {
    boundary("baton_config_set_ttl_ms", || {
        let ttl = args::millis("ttl", ttl_ms)?;
        update(config, |s| s.ttl = Some(ttl))
    })
}

/// How often the leader renews its lease, in milliseconds; must be shorter than the lease it
/// may trust (`ttl * (1 - drift) - 2ms`). Default: a third of the ttl.
#[no_mangle]
pub extern "C" fn baton_config_set_renew_interval_ms(
    config: *mut baton_config,
    renew_interval_ms: u64,
) -> baton_result {
    boundary("baton_config_set_renew_interval_ms", || {
        let v = args::millis("renew_interval", renew_interval_ms)?;
        update(config, |s| s.renew_interval = Some(v))
    })
}

/// Pause between retries of a failed renewal, and the base of followers' backoff, in
/// milliseconds; must be above zero and shorter than the renew interval. Default: ttl / 20.
#[no_mangle]
pub extern "C" fn baton_config_set_retry_interval_ms(
    config: *mut baton_config,
    retry_interval_ms: u64,
) -> baton_result {
    boundary("baton_config_set_retry_interval_ms", || {
        let v = args::millis("retry_interval", retry_interval_ms)?;
        update(config, |s| s.retry_interval = Some(v))
    })
}

/// The tolerated difference in clock *rate* between hosts and the store, as a fraction: a
/// leader trusts its lease for `ttl * (1 - drift)`. Between 0 and 0.5, else
/// `baton_election_new` returns `BATON_INVALID_CONFIG`. Default: 0.01 (1%).
#[no_mangle]
pub extern "C" fn baton_config_set_drift(config: *mut baton_config, drift: f64) -> baton_result {
    boundary("baton_config_set_drift", || {
        update(config, |s| s.drift = Some(drift))
    })
}

/// Prefix of every key and channel baton uses in the store (copied). At most 64 bytes, no
/// `{` or `}`; may be empty. Default: `"baton:"`.
#[no_mangle]
pub extern "C" fn baton_config_set_key_prefix(
    config: *mut baton_config,
    key_prefix: *const c_char,
) -> baton_result {
    boundary("baton_config_set_key_prefix", || {
        let prefix = args::text("key_prefix", key_prefix)?.to_owned();
        update(config, |s| s.key_prefix = Some(prefix))
    })
}

/// Whether this instance competes for leadership; `false` only watches who leads.
/// Default: true.
#[no_mangle]
pub extern "C" fn baton_config_set_campaign(
    config: *mut baton_config,
    campaign: bool,
) -> baton_result {
    boundary("baton_config_set_campaign", || {
        update(config, |s| s.campaign = Some(campaign))
    })
}

/// Waits for `count` replicas (1 to 16) to acknowledge each grant (Redis `WAIT`, up to
/// `timeout_ms`, which must be shorter than the renew interval) before reporting it.
/// Default: off.
#[no_mangle]
pub extern "C" fn baton_config_set_wait_for_replicas(
    config: *mut baton_config,
    count: u32,
    timeout_ms: u64,
) -> baton_result {
    boundary("baton_config_set_wait_for_replicas", || {
        let timeout = args::millis("wait_for_replicas", timeout_ms)?;
        update(config, |s| s.replicas = Some((count, timeout)))
    })
}

/// How long `baton_election_new` and `baton_current_leader` wait for the first connection to
/// the store, in milliseconds; above zero. Default: 5000.
#[no_mangle]
pub extern "C" fn baton_config_set_connect_timeout_ms(
    config: *mut baton_config,
    connect_timeout_ms: u64,
) -> baton_result {
    boundary("baton_config_set_connect_timeout_ms", || {
        let v = args::millis("connect_timeout", connect_timeout_ms)?;
        update(config, |s| s.connect_timeout = Some(v))
    })
}

/// Whether `baton_election_new` accepts a Redis store whose `maxmemory-policy` is `allkeys-*`,
/// under which Redis may evict a live leader's lease and grant it to another instance (two
/// leaders). `false` refuses such a store with `BATON_INVALID_CONFIG` (setting
/// `allow_eviction`); `noeviction` and `volatile-*` are safe either way. Default: false.
#[no_mangle]
pub extern "C" fn baton_config_set_allow_eviction(
    config: *mut baton_config,
    allow: bool,
) -> baton_result {
    boundary("baton_config_set_allow_eviction", || {
        update(config, |s| s.allow_eviction = Some(allow))
    })
}

/// What a leader does when someone asks it to hand over (`baton_request_resign`, `baton
/// resign`). `true`: it resigns at once. `false`: it keeps leading and sends
/// `BATON_EVENT_RESIGN_REQUESTED` (once per grant); the application stops its leader-only work
/// and then calls `baton_election_resign`, so that no work runs after the lease was given away.
/// Default: true.
#[no_mangle]
pub extern "C" fn baton_config_set_resign_on_request(
    config: *mut baton_config,
    immediately: bool,
) -> baton_result {
    boundary("baton_config_set_resign_on_request", || {
        update(config, |s| s.resign_on_request = Some(immediately))
    })
}

/// The CA certificate(s), PEM text (copied), that a `rediss://` server's certificate must chain
/// to, instead of the system's trust roots (a private CA). Redis standalone and Cluster; with
/// another store `baton_election_new` returns `BATON_INVALID_CONFIG` (setting `tls_ca`), as it
/// does for PEM that holds no certificate. Default: the system's trust roots.
#[no_mangle]
pub extern "C" fn baton_config_set_tls_ca_pem(
    config: *mut baton_config,
    ca_pem: *const c_char,
) -> baton_result {
    boundary("baton_config_set_tls_ca_pem", || {
        let pem = args::text("ca_pem", ca_pem)?.to_owned();
        update(config, |s| s.tls_ca = Some(pem))
    })
}

/// A client certificate (chain) and its unencrypted private key, both PEM text (copied), that
/// baton presents to a `rediss://` server requiring one (`tls-auth-clients yes`). Checked by
/// `baton_election_new` (settings `tls_client_cert`, `tls_client_key`). Default: none.
#[no_mangle]
pub extern "C" fn baton_config_set_tls_client_cert_pem(
    config: *mut baton_config,
    cert_pem: *const c_char,
    key_pem: *const c_char,
) -> baton_result {
    boundary("baton_config_set_tls_client_cert_pem", || {
        let cert = args::text("cert_pem", cert_pem)?.to_owned();
        let key = args::text("key_pem", key_pem)?.to_owned();
        update(config, |s| s.tls_client = Some((cert, key)))
    })
}

/// The name of baton's Redis connection in `CLIENT LIST` (copied; `CLIENT SETNAME`, sent again
/// after every reconnect): printable ASCII without spaces, at most 128 bytes, checked by
/// `baton_election_new` (setting `client_name`). Default: `baton:<host>:<pid>`.
#[no_mangle]
pub extern "C" fn baton_config_set_client_name(
    config: *mut baton_config,
    client_name: *const c_char,
) -> baton_result {
    boundary("baton_config_set_client_name", || {
        let name = args::text("client_name", client_name)?.to_owned();
        update(config, |s| s.client_name = Some(name))
    })
}
