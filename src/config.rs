//! The builder and its validation: every rule checked in one place, all failures reported at once.

use std::time::Duration;

use crate::error::{ConfigError, ConfigProblem, Error};
use crate::store::tls::{self, TlsPem};
use crate::store::{Kind, StoreSpec};

/// Fixed safety margin subtracted from every lease a leader trusts: it covers the store's
/// millisecond rounding of expiries and the few microseconds between reading the clock and
/// sending the request.
pub const SAFETY_MARGIN: Duration = Duration::from_millis(2);

/// Longest election name, in bytes.
pub const MAX_NAME_LEN: usize = 200;
/// Longest key prefix, in bytes.
pub const MAX_PREFIX_LEN: usize = 64;
const MIN_TTL: Duration = Duration::from_millis(100);
const MAX_TTL: Duration = Duration::from_secs(24 * 3600);
const MAX_DRIFT: f64 = 0.5;
const MAX_REPLICAS: u32 = 16;
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(3600);

/// Timing of one election, validated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Timing {
    pub ttl: Duration,
    pub renew_interval: Duration,
    pub retry_interval: Duration,
    pub drift: f64,
}

impl Timing {
    /// How long a candidate that resigned sits out: one ttl and one renewal interval. A
    /// follower of a store without push (MySQL) wakes at the released lease's expiry, up to a
    /// ttl after the release (plus jitter), and must win before the resigner competes again.
    pub fn resign_cooldown(&self) -> Duration {
        self.ttl.saturating_add(self.renew_interval)
    }

    /// How long after *sending* a winning request a leader may believe it leads:
    /// `ttl * (1 - drift) - SAFETY_MARGIN`.
    pub fn lease_span(&self) -> Duration {
        // Clamped so that validation can compute it for an out-of-range drift and report that.
        let trusted = if self.drift.is_finite() {
            (1.0 - self.drift).clamp(0.0, 1.0)
        } else {
            0.0
        };
        // Saturating, so that an out-of-range ttl is reported by validation, not a panic.
        Duration::try_from_secs_f64(self.ttl.as_secs_f64() * trusted)
            .unwrap_or(Duration::MAX)
            .saturating_sub(SAFETY_MARGIN)
    }
}

/// Replica acknowledgements to wait for before a grant is reported (Redis `WAIT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Replicas {
    pub count: u32,
    pub timeout: Duration,
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub store: StoreSpec,
    pub name: String,
    pub prefix: String,
    pub timing: Timing,
    pub campaign: bool,
    pub replicas: Option<Replicas>,
    pub connect_timeout: Duration,
    pub allow_eviction: bool,
    pub resign_on_request: bool,
}

/// Builds an [`Election`](crate::Election); [`ElectionBuilder::build`] checks every rule at once.
///
/// ```no_run
/// use std::time::Duration;
/// let election = baton::Election::builder("redis://127.0.0.1:6379", "nightly-report")
///     .ttl(Duration::from_secs(10))
///     .build()?;
/// if election.is_leader() {
///     println!("leading with fencing token {:?}", election.token());
/// }
/// # Ok::<(), baton::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "call .build() to start the election"]
pub struct ElectionBuilder {
    store: String,
    name: String,
    prefix: String,
    ttl: Duration,
    renew_interval: Option<Duration>,
    retry_interval: Option<Duration>,
    drift: f64,
    campaign: bool,
    replicas: Option<(u32, Duration)>,
    connect_timeout: Duration,
    allow_eviction: bool,
    resign_on_request: bool,
    tls_ca: Option<Vec<u8>>,
    tls_client: Option<(Vec<u8>, Vec<u8>)>,
    client_name: Option<String>,
}

impl ElectionBuilder {
    pub(crate) fn new(store: String, name: String) -> Self {
        ElectionBuilder {
            store,
            name,
            prefix: "baton:".into(),
            ttl: Duration::from_secs(10),
            renew_interval: None,
            retry_interval: None,
            drift: 0.01,
            campaign: true,
            replicas: None,
            connect_timeout: Duration::from_secs(5),
            allow_eviction: false,
            resign_on_request: true,
            tls_ca: None,
            tls_client: None,
            client_name: None,
        }
    }

    /// How long a lease lives in the store without renewal; a dead leader is replaced this long
    /// after its last renewal. Between 100ms and 24h. Default: 10s.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// How often the leader renews its lease; must be shorter than the lease it may trust
    /// (`ttl * (1 - drift) - 2ms`). Default: a third of `ttl`.
    pub fn renew_interval(mut self, interval: Duration) -> Self {
        self.renew_interval = Some(interval);
        self
    }

    /// Pause between retries of a failed renewal, and the base of followers' backoff; must be
    /// shorter than `renew_interval`. Default: a twentieth of `ttl`.
    pub fn retry_interval(mut self, interval: Duration) -> Self {
        self.retry_interval = Some(interval);
        self
    }

    /// The tolerated difference in clock *rate* between hosts and the store, as a fraction: a
    /// leader trusts its lease for `ttl * (1 - drift)`. Between 0 and 0.5. Default: 0.01 (1%).
    pub fn drift(mut self, drift: f64) -> Self {
        self.drift = drift;
        self
    }

    /// Prefix of every key and channel baton uses in the store. Default: `baton:`.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Whether this instance competes for leadership; `false` only watches who leads.
    /// Default: true.
    pub fn campaign(mut self, campaign: bool) -> Self {
        self.campaign = campaign;
        self
    }

    /// Waits for `count` replicas to acknowledge a grant (Redis `WAIT`, up to `timeout`) before
    /// reporting it; a grant that fewer replicas saw is released and retried. Default: off.
    pub fn wait_for_replicas(mut self, count: u32, timeout: Duration) -> Self {
        self.replicas = Some((count, timeout));
        self
    }

    /// How long [`build`](Self::build) waits for the first connection to the store.
    /// Default: 5s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Accepts a Redis `maxmemory-policy` of `allkeys-*`, under which Redis may evict the
    /// lease of a live leader and grant it to another instance: two leaders. Without it,
    /// `build()` refuses such a store. `volatile-*` and `noeviction` are safe (baton's keys
    /// have no TTL). Default: false.
    pub fn allow_eviction(mut self, allow: bool) -> Self {
        self.allow_eviction = allow;
        self
    }

    /// What this leader does when someone asks it to hand over
    /// ([`ElectionBuilder::request_resign`], `baton resign`). `true`: it resigns at once,
    /// through its normal release path. `false`: it keeps leading and sends
    /// [`Event::ResignRequested`](crate::Event::ResignRequested); the application stops its
    /// leader-only work and then calls [`Election::resign`](crate::Election::resign), so that
    /// no work runs after the lease was given away. Default: true.
    pub fn resign_on_request(mut self, immediately: bool) -> Self {
        self.resign_on_request = immediately;
        self
    }

    /// The CA certificate(s), in PEM, that a `rediss://` server's certificate must chain to,
    /// instead of the system's trust roots (a private CA). Redis standalone and Cluster.
    /// Default: the system's trust roots.
    pub fn tls_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls_ca = Some(pem.into());
        self
    }

    /// A client certificate (chain) and its private key, both PEM, that baton presents to a
    /// `rediss://` server requiring one (`tls-auth-clients yes`). Redis standalone and Cluster.
    /// Default: none.
    pub fn tls_client_cert_pem(
        mut self,
        cert: impl Into<Vec<u8>>,
        key: impl Into<Vec<u8>>,
    ) -> Self {
        self.tls_client = Some((cert.into(), key.into()));
        self
    }

    /// The name of baton's Redis connection in `CLIENT LIST` (`CLIENT SETNAME`, sent again after
    /// every reconnect); printable ASCII without spaces. Elections of one process that name
    /// their connection differently get one connection each. Default: `baton:<host>:<pid>`.
    pub fn client_name(mut self, name: impl Into<String>) -> Self {
        self.client_name = Some(name.into());
        self
    }

    /// Validates the configuration, connects to the store (sharing a connection with the
    /// process's other elections on the same store) and starts campaigning.
    pub fn build(self) -> Result<crate::Election, Error> {
        let config = self.validate()?;
        crate::election::Election::start(config)
    }

    /// Reads who leads right now, straight from the store, without campaigning.
    pub fn current_leader(self) -> Result<Option<crate::LeaderInfo>, Error> {
        let config = self.validate()?;
        crate::election::read_leader(config)
    }

    /// Asks the current leader, wherever it runs, to hand over through its normal release
    /// path (the same as its own [`Election::resign`](crate::Election::resign)); nobody's
    /// lease is deleted. The leader acts on it within milliseconds while it can reach the
    /// store, and at its next renewal otherwise. Returns who was asked, `None` if nobody leads.
    pub fn request_resign(self) -> Result<Option<crate::LeaderInfo>, Error> {
        let config = self.validate()?;
        crate::election::request_resign(config)
    }

    /// Checks every rule and returns the validated configuration, or every broken rule.
    pub(crate) fn validate(&self) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        let mut problem = |setting: &'static str, message: String| {
            problems.push(ConfigProblem { setting, message })
        };
        let ttl = self.ttl;
        let drift = self.drift;
        let renew = self.renew_interval.unwrap_or(ttl / 3);
        let retry = self.retry_interval.unwrap_or(ttl / 20);
        let timing = Timing {
            ttl,
            renew_interval: renew,
            retry_interval: retry,
            drift,
        };

        // Cross-field rules first: they explain the single-field ones.
        let trusted = timing.lease_span();
        if drift.is_finite() && (0.0..=MAX_DRIFT).contains(&drift) && renew >= trusted {
            problem(
                "renew_interval",
                format!(
                    "{} must be shorter than the lease a leader may trust, ttl * (1 - drift) - 2ms = {}; lower renew_interval or raise ttl",
                    fmt(renew),
                    fmt(trusted)
                ),
            );
        }
        if renew.is_zero() {
            problem(
                "renew_interval",
                "must be greater than zero; leave it unset for a third of ttl".into(),
            );
        } else if retry >= renew {
            problem(
                "retry_interval",
                format!(
                    "{} must be shorter than renew_interval ({}); lower retry_interval",
                    fmt(retry),
                    fmt(renew)
                ),
            );
        }
        if retry.is_zero() {
            problem("retry_interval", "must be greater than zero".into());
        }
        if ttl < MIN_TTL || ttl > MAX_TTL {
            problem(
                "ttl",
                format!(
                    "{} is out of range; use a value between 100ms and 24h",
                    fmt(ttl)
                ),
            );
        }
        if !drift.is_finite() || !(0.0..=MAX_DRIFT).contains(&drift) {
            problem(
                "drift",
                format!("{drift} is out of range; use a fraction between 0 and 0.5 (0.01 is 1%)"),
            );
        }
        check_name("election", &self.name, false, &mut problem);
        check_name("key_prefix", &self.prefix, true, &mut problem);
        if let Some((count, timeout)) = self.replicas {
            if count == 0 || count > MAX_REPLICAS {
                problem(
                    "wait_for_replicas",
                    format!(
                        "count {count} is out of range; use 1 to {MAX_REPLICAS}, or leave it unset"
                    ),
                );
            }
            if timeout.is_zero() || timeout >= renew {
                problem(
                    "wait_for_replicas",
                    format!(
                        "timeout {} must be above zero and shorter than renew_interval ({})",
                        fmt(timeout),
                        fmt(renew)
                    ),
                );
            }
        }
        if self.connect_timeout.is_zero() {
            problem(
                "connect_timeout",
                "must be greater than zero, for example 5s".into(),
            );
        } else if self.connect_timeout > MAX_CONNECT_TIMEOUT {
            problem(
                "connect_timeout",
                format!(
                    "{} is too long; use at most 1h, for example 5s",
                    fmt(self.connect_timeout)
                ),
            );
        }
        let mut store = match StoreSpec::parse(&self.store) {
            Ok(spec) => {
                if self.replicas.is_some() {
                    match spec.kind {
                        crate::store::Kind::Postgres => problem(
                            "wait_for_replicas",
                            crate::store::postgres::replicas_refusal(),
                        ),
                        crate::store::Kind::MySql => {
                            problem("wait_for_replicas", crate::store::mysql::replicas_refusal())
                        }
                        _ => {}
                    }
                }
                Some(spec)
            }
            Err(message) => {
                problem("store", message);
                None
            }
        };
        let tls = self.check_tls(store.as_ref(), &mut problem);
        if let Some(name) = &self.client_name {
            if let Err(message) = tls::check_client_name(name) {
                problem("client_name", message);
            }
        }
        if let Some(spec) = store.as_mut() {
            spec.tls = tls;
            if spec.kind == Kind::Redis {
                spec.client_name =
                    Some(self.client_name.clone().unwrap_or_else(default_client_name));
            }
        }
        match store {
            Some(store) if problems.is_empty() => Ok(Config {
                store,
                name: self.name.clone(),
                prefix: self.prefix.clone(),
                timing,
                campaign: self.campaign,
                replicas: self
                    .replicas
                    .map(|(count, timeout)| Replicas { count, timeout }),
                connect_timeout: self.connect_timeout,
                allow_eviction: self.allow_eviction,
                resign_on_request: self.resign_on_request,
            }),
            _ => Err(ConfigError { problems }),
        }
    }
}

impl ElectionBuilder {
    /// The TLS material, checked: readable PEM, and a store that can use it.
    fn check_tls(
        &self,
        store: Option<&StoreSpec>,
        problem: &mut impl FnMut(&'static str, String),
    ) -> TlsPem {
        let tls = TlsPem {
            ca: self.tls_ca.clone(),
            client: self.tls_client.clone(),
        };
        if let Some(ca) = &tls.ca {
            if let Err(message) = tls::check_certificates("CA certificate", ca) {
                problem("tls_ca", message);
            }
        }
        if let Some((cert, key)) = &tls.client {
            if let Err(message) = tls::check_certificates("client certificate", cert) {
                problem("tls_client_cert", message);
            }
            if let Err(message) = tls::check_key(key) {
                problem("tls_client_key", message);
            }
        }
        let Some(spec) = store.filter(|_| !tls.is_empty()) else {
            return tls;
        };
        let setting = if tls.ca.is_some() {
            "tls_ca"
        } else {
            "tls_client_cert"
        };
        if spec.kind == Kind::Postgres {
            problem(
                setting,
                "applies only to Redis (rediss://); PostgreSQL takes its TLS files as paths in the store URL: sslrootcert=, sslcert=, sslkey= (docs/postgres.md); remove the TLS settings".into(),
            );
        } else if spec.kind == Kind::MySql {
            problem(
                setting,
                "applies only to Redis (rediss://); MySQL takes its TLS files as paths in the store URL: ssl-ca=, ssl-cert=, ssl-key= (docs/mysql.md); remove the TLS settings".into(),
            );
        } else if spec.kind != Kind::Redis {
            problem(
                setting,
                "applies only to Redis (rediss://); remove the TLS settings for this store".into(),
            );
        } else if spec.seeds[0].starts_with(crate::store::redis::SENTINEL_SCHEME) {
            problem(
                setting,
                "is not supported with redis+sentinel:// yet (baton reaches sentinels and the master over plain TCP); use a rediss:// URL of the master or remove the TLS settings".into(),
            );
        } else if let Some(plain) = spec.seeds.iter().find(|s| !s.starts_with("rediss://")) {
            problem(
                setting,
                format!(
                    "needs a TLS store URL, but {} is plain TCP; use rediss:// instead of redis://",
                    crate::store::redact(plain)
                ),
            );
        }
        tls
    }
}

/// The client name when none is given: who this process is, as `CLIENT LIST` shows it.
fn default_client_name() -> String {
    let host: String = crate::election::hostname()
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(64)
        .collect();
    format!("baton:{host}:{}", std::process::id())
}

fn check_name(
    setting: &'static str,
    value: &str,
    may_be_empty: bool,
    problem: &mut impl FnMut(&'static str, String),
) {
    let max = if may_be_empty {
        MAX_PREFIX_LEN
    } else {
        MAX_NAME_LEN
    };
    if value.is_empty() && !may_be_empty {
        problem(
            setting,
            "must not be empty; name the job, for example \"nightly-report\"".into(),
        );
    }
    if value.len() > max {
        problem(
            setting,
            format!("is {} bytes long; use at most {max}", value.len()),
        );
    }
    if value.contains(['{', '}']) {
        problem(
            setting,
            format!("{value:?} contains '{{' or '}}', which baton reserves for the Redis Cluster hash tag; remove them"),
        );
    }
    if value.chars().any(char::is_control) {
        problem(
            setting,
            format!("{value:?} contains control characters; use printable characters only"),
        );
    }
}

/// `build()` on a store whose eviction policy can delete a live lease.
pub(crate) fn eviction_refused(policy: &str) -> Error {
    Error::Config(ConfigError {
        problems: vec![ConfigProblem {
            setting: "allow_eviction",
            message: format!(
                "the store's maxmemory-policy is {policy}, under which Redis may evict a live leader's lease and grant it to another instance (two leaders); set maxmemory-policy to noeviction or a volatile-* policy (baton's keys have no TTL, so those never evict them), or accept the risk with allow_eviction(true)"
            ),
        }],
    })
}

/// A duration as a person writes it (`1s 500ms`).
pub(crate) fn fmt(d: Duration) -> String {
    // Whole microseconds keep the message short and exact enough.
    humantime::format_duration(Duration::from_micros(d.as_micros() as u64)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder() -> ElectionBuilder {
        ElectionBuilder::new("redis://127.0.0.1:6379".into(), "job".into())
    }

    fn settings(err: ConfigError) -> Vec<&'static str> {
        err.problems.iter().map(|p| p.setting).collect()
    }

    #[test]
    fn defaults_are_valid_and_derive_from_ttl() {
        let c = builder().ttl(Duration::from_secs(9)).validate().unwrap();
        assert_eq!(c.timing.renew_interval, Duration::from_secs(3));
        assert_eq!(c.timing.retry_interval, Duration::from_millis(450));
        assert_eq!(c.prefix, "baton:");
        assert!(c.campaign);
    }

    #[test]
    fn the_largest_durations_are_reported_not_panicked_on() {
        let max = Duration::MAX;
        let err = builder().ttl(max).drift(0.0).validate().unwrap_err();
        assert!(settings(err).contains(&"ttl"));
        for b in [
            builder().renew_interval(max),
            builder().retry_interval(max),
            builder().connect_timeout(max),
            builder().wait_for_replicas(1, max),
            builder().ttl(max).renew_interval(max).retry_interval(max),
        ] {
            assert!(b.validate().is_err());
        }
    }

    #[test]
    fn lease_span_subtracts_drift_and_margin() {
        let t = Timing {
            ttl: Duration::from_secs(10),
            renew_interval: Duration::from_secs(3),
            retry_interval: Duration::from_millis(500),
            drift: 0.01,
        };
        assert_eq!(t.lease_span(), Duration::from_millis(9_900 - 2));
        let no_drift = Timing { drift: 0.0, ..t };
        assert_eq!(no_drift.lease_span(), Duration::from_millis(9_998));
        for bad in [2.0, -1.0, f64::NAN, f64::INFINITY] {
            let _ = Timing { drift: bad, ..t }.lease_span();
        }
    }

    #[test]
    fn reports_every_broken_rule_at_once_cross_field_first() {
        let err = builder()
            .ttl(Duration::from_millis(50))
            .renew_interval(Duration::from_millis(60))
            .retry_interval(Duration::from_millis(70))
            .drift(2.0)
            .validate()
            .unwrap_err();
        assert_eq!(settings(err), ["retry_interval", "ttl", "drift"]);

        let err = builder()
            .ttl(Duration::from_secs(1))
            .renew_interval(Duration::from_secs(1))
            .validate()
            .unwrap_err();
        assert_eq!(settings(err.clone()), ["renew_interval"]);
        let msg = err.to_string();
        assert!(msg.contains("renew_interval: 1s must be shorter"), "{msg}");
        assert!(msg.contains("988ms"), "{msg}");
    }

    #[test]
    fn names_are_checked() {
        let long = "x".repeat(MAX_NAME_LEN + 1);
        for (name, needle) in [
            ("", "must not be empty"),
            ("a{b}", "hash tag"),
            ("a\nb", "control"),
            (long.as_str(), "bytes long"),
        ] {
            let err = ElectionBuilder::new("redis://h".into(), name.into())
                .validate()
                .unwrap_err();
            assert_eq!(err.problems[0].setting, "election");
            assert!(err.problems[0].message.contains(needle), "{err}");
        }
        let err = builder().key_prefix("x{").validate().unwrap_err();
        assert_eq!(settings(err), ["key_prefix"]);
        assert!(builder().key_prefix("").validate().is_ok());
    }

    #[test]
    fn a_zero_renew_interval_is_named_as_such() {
        let err = builder()
            .renew_interval(Duration::ZERO)
            .validate()
            .unwrap_err();
        assert_eq!(settings(err), ["renew_interval"]);
    }

    #[test]
    fn bad_store_url_names_the_setting() {
        let err = ElectionBuilder::new("http://x".into(), "job".into())
            .validate()
            .unwrap_err();
        assert_eq!(settings(err.clone()), ["store"]);
        assert!(err.to_string().contains("redis://"), "{err}");
    }

    const CERT: &str = include_str!("../tests/tls/cert.pem");
    const KEY: &str = include_str!("../tests/tls/key.pem");

    #[test]
    fn tls_material_is_checked_and_needs_rediss() {
        let tls = |url: &str| {
            ElectionBuilder::new(url.into(), "job".into())
                .tls_ca_pem(CERT)
                .tls_client_cert_pem(CERT, KEY)
        };
        let c = tls("rediss://127.0.0.1:6380").validate().unwrap();
        assert_eq!(c.store.tls.ca.as_deref(), Some(CERT.as_bytes()));
        assert!(c.store.tls.client.is_some());
        for url in [
            "redis://127.0.0.1:6379",
            "rediss://a:1,redis://b:2",
            "memory://x",
            "redis+sentinel://s1/m",
        ] {
            let err = tls(url).validate().unwrap_err();
            assert_eq!(settings(err.clone()), ["tls_ca"], "{url}");
        }
        let msg = tls("redis://h:1").validate().unwrap_err().to_string();
        assert!(msg.contains("use rediss://"), "{msg}");
        for (url, option) in [
            ("postgres://u@h/db", "sslrootcert="),
            ("mysql://u@h/db", "ssl-ca="),
        ] {
            let msg = tls(url).validate().unwrap_err().to_string();
            assert!(msg.contains(option), "{msg}");
        }

        let err = ElectionBuilder::new("rediss://h:1".into(), "job".into())
            .tls_ca_pem("garbage")
            .tls_client_cert_pem(KEY, CERT)
            .validate()
            .unwrap_err();
        assert_eq!(
            settings(err),
            ["tls_ca", "tls_client_cert", "tls_client_key"]
        );
    }

    #[test]
    fn tls_material_separates_shared_connections() {
        let plain = ElectionBuilder::new("rediss://h:1".into(), "job".into());
        let a = plain.clone().validate().unwrap().store;
        let b = plain.clone().tls_ca_pem(CERT).validate().unwrap().store;
        let c = plain.clone().client_name("other").validate().unwrap().store;
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(a, plain.validate().unwrap().store);
    }

    #[test]
    fn client_name_defaults_to_host_and_pid_and_is_checked() {
        let c = builder().validate().unwrap();
        let name = c.store.client_name.unwrap();
        assert!(name.starts_with("baton:"), "{name}");
        assert!(
            name.ends_with(&format!(":{}", std::process::id())),
            "{name}"
        );
        let c = builder().client_name("baton:orders").validate().unwrap();
        assert_eq!(c.store.client_name.as_deref(), Some("baton:orders"));
        let err = builder().client_name("two words").validate().unwrap_err();
        assert_eq!(settings(err), ["client_name"]);
        let c = ElectionBuilder::new("memory://x".into(), "job".into())
            .validate()
            .unwrap();
        assert_eq!(c.store.client_name, None);
    }

    #[test]
    fn replicas_are_bounded() {
        let err = builder()
            .wait_for_replicas(0, Duration::ZERO)
            .validate()
            .unwrap_err();
        assert_eq!(settings(err), ["wait_for_replicas", "wait_for_replicas"]);
        assert!(builder()
            .wait_for_replicas(1, Duration::from_millis(100))
            .validate()
            .is_ok());
    }

    #[test]
    fn replicas_are_refused_on_postgres_with_the_fix() {
        let err = ElectionBuilder::new("postgres://h/db".into(), "e".into())
            .wait_for_replicas(1, Duration::from_millis(100))
            .validate()
            .unwrap_err();
        assert_eq!(settings(err.clone()), ["wait_for_replicas"]);
        assert!(
            err.to_string().contains("synchronous_standby_names"),
            "{err}"
        );
    }
}
