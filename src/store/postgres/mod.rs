//! PostgreSQL (DESIGN.md section 4b): `postgres://[user[:password]@]host[:port]/database`
//! with baton's options `table=` (default `baton_leases`), `create_table=false` and
//! `listen=false`; docs/postgres.md has the DDL, the grants and the pooler notes.
//!
//! TLS: `sslmode`, `sslrootcert`, `sslcert`, `sslkey` with libpq's meanings (`url`), by
//! rustls on both connections (`tls`).
//!
//! Client: `tokio-postgres`, on baton's runtime thread. Every statement goes out with its
//! parameter types (`query_typed`: an unnamed statement, one round trip, nothing prepared on
//! the server, so a transaction-mode pooler is fine).
//!
//! Model:
//! - One row per election in the lease table, keyed by (key prefix, election name). Every
//!   state change is one statement (acquire, renew, release, resign request), timed by the
//!   *server's* clock: clients' clocks never enter a lease. The engine's deadline counts from
//!   the moment the statement was sent, which is before the server's `now()`.
//! - Token: a release clears the holder and keeps the row, and each grant writes
//!   `max(last token + 1, server clock in µs)`: strictly increasing across grants, releases
//!   and restarts (a committed row is durable), and still increasing if the row is deleted or
//!   restored from an older backup, as long as the server's clock does not step back.
//! - Handover is a push: the release statement runs `pg_notify` (delivered on commit), and a
//!   connection of the store's own runs `LISTEN`. Without it (`listen=false`, a pooler in
//!   transaction mode) followers wake at the lease's expiry, as they do after a crash.
//! - Statements of every election of the process share one connection; the listener has one
//!   more. A connection that closes or stops answering is replaced, and a leader whose
//!   connection dropped stops believing until a fresh grant (a failover may have lost its row).

mod conn;
mod listen;
pub(crate) mod sql;
mod tls;
pub(crate) mod url;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Row;

use super::{Acquire, Candidate, Holder, Renewal, Scope, Store, StoreError, StoreSpec, Watch};
use conn::Conn;
use listen::{Listener, WatchGuard, Watchers};
use sql::Statements;
use url::PgUrl;

/// Checks that `url` is a PostgreSQL URL baton can use.
pub(crate) fn validate_url(url: &str) -> Result<(), String> {
    url::parse(url).map(|_| ())
}

pub(crate) struct PgStore {
    url: PgUrl,
    tls: tls::MakeRustls,
    sql: Statements,
    conn: Arc<Conn>,
    watchers: Arc<Watchers>,
    listener: Mutex<Option<Listener>>,
    /// Makes the listener reconnect (the statement connection dropped or was replaced).
    relisten: Arc<Notify>,
    timeout: Duration,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

type Params<'a> = [(&'a (dyn ToSql + Sync), Type)];

impl PgStore {
    /// Connects, and creates the lease table if it is missing (unless `create_table=false`),
    /// so that `build()` reports a bad host, password or permission.
    pub(crate) async fn connect(spec: &StoreSpec, timeout: Duration) -> Result<Self, StoreError> {
        let mut url = url::parse(&spec.seeds[0]).map_err(StoreError::Refused)?;
        conn::tune(&mut url.config, timeout);
        let make_tls = tls::MakeRustls::new(&url.tls).map_err(|why| {
            StoreError::Refused(format!("{}: {why}", super::redact(&spec.seeds[0])))
        })?;
        let host = match url.config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            #[cfg(unix)]
            Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
            None => String::new(),
        };
        let watchers: Arc<Watchers> = Arc::default();
        let weak = Arc::downgrade(&watchers);
        let relisten = Arc::new(Notify::new());
        let relisten_on_drop = relisten.clone();
        let wake = Box::new(move || {
            if let Some(w) = weak.upgrade() {
                listen::wake_all(&w);
            }
            // The listener shares the link that failed: it may be as deaf.
            relisten_on_drop.notify_one();
        });
        let store = PgStore {
            sql: Statements::new(&url.quoted_table()),
            conn: Arc::new(Conn::new(
                url.config.clone(),
                (make_tls.clone(), url.tls.clone()),
                host,
                wake,
            )),
            tls: make_tls,
            url,
            watchers,
            listener: Mutex::new(None),
            relisten,
            timeout,
        };
        store.ensure_table().await?;
        Ok(store)
    }

    async fn query(&self, sql: &str, params: &Params<'_>) -> Result<Vec<Row>, StoreError> {
        let client = self.conn.client().await?;
        let result = client.query_typed(sql, params).await;
        if result
            .as_ref()
            .map_or_else(|e| e.as_db_error().is_some(), |_| true)
        {
            self.conn.answered();
        }
        result.map_err(|e| self.explain(e))
    }

    /// A refusal that names the fix for this table.
    fn explain(&self, e: tokio_postgres::Error) -> StoreError {
        match e.code() {
            Some(&SqlState::INSUFFICIENT_PRIVILEGE) => StoreError::Refused(format!(
                "PostgreSQL refused baton's statement on {} ({e}); the store URL's user needs: {}; and USAGE on the table's schema (docs/postgres.md)",
                self.url.table, self.sql.grants
            )),
            Some(&SqlState::UNDEFINED_TABLE) => StoreError::Refused(format!(
                "the lease table {} is gone ({e}); create it again with:\n{}",
                self.url.table, self.sql.ddl
            )),
            _ => classify(e),
        }
    }

    async fn ensure_table(&self) -> Result<(), StoreError> {
        let table = self.url.quoted_table();
        let rows = self
            .query(
                "SELECT to_regclass($1) IS NOT NULL",
                &[(&table, Type::TEXT)],
            )
            .await?;
        if rows.first().is_some_and(|r| r.get::<_, bool>(0)) {
            return Ok(());
        }
        let name = &self.url.table;
        if !self.url.create_table {
            return Err(StoreError::Refused(format!(
                "the lease table {name} does not exist and the store URL says create_table=false: create it (as its owner) with:\n{};\nthen {}; or remove create_table=false so that baton creates it",
                self.sql.ddl, self.sql.grants
            )));
        }
        let client = self.conn.client().await?;
        match client.batch_execute(&self.sql.ddl).await {
            Ok(()) => Ok(()),
            // Another process created it at the same moment.
            Err(e) if matches!(e.code(), Some(&SqlState::DUPLICATE_TABLE | &SqlState::UNIQUE_VIOLATION)) => Ok(()),
            Err(e) if e.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) => Err(StoreError::Refused(format!(
                "the lease table {name} does not exist and the store URL's user may not create it ({e}): create it (as its owner) with:\n{};\nthen {}; or let this user create tables in the schema",
                self.sql.ddl, self.sql.grants
            ))),
            Err(e) => Err(classify(e)),
        }
    }

    /// Starts the listener on first use; waits until its first `LISTEN` is in force, so that a
    /// release right after `build()` is heard.
    async fn listening(&self) -> Result<(), StoreError> {
        let mut ready = {
            let mut l = lock(&self.listener);
            let l = l.get_or_insert_with(|| {
                Listener::start(
                    self.url.config.clone(),
                    self.tls.clone(),
                    self.url.channel(),
                    Arc::downgrade(&self.watchers),
                    self.relisten.clone(),
                    self.timeout,
                )
            });
            l.ready.clone()
        };
        let started = tokio::time::timeout(self.timeout, ready.wait_for(|r| *r)).await;
        match started {
            Ok(Ok(_)) => Ok(()),
            _ => Err(StoreError::Unreachable(
                "the PostgreSQL LISTEN connection is not up yet".into(),
            )),
        }
    }
}

/// A holder from a row of `candidate, host, pid, token, since_ms, left_ms` starting at `at`.
fn holder(row: &Row, at: usize) -> Result<Holder, StoreError> {
    // Every reading statement skips free rows; a NULL here is a statement's bug, not a panic.
    let candidate_id: String = row
        .try_get::<_, Option<String>>(at)
        .ok()
        .flatten()
        .ok_or_else(|| {
            StoreError::Unreachable(
                "PostgreSQL returned a lease row without a holder; reading again".into(),
            )
        })?;
    let bad = |field: &str, value: i64| {
        StoreError::Refused(format!(
            "the lease of {candidate_id:?} has an unreadable {field} {value}; something other than baton wrote the lease table: delete the election's row or use another table="
        ))
    };
    let pid: i64 = row.get(at + 2);
    let token: i64 = row.get(at + 3);
    let since: i64 = row.get(at + 4);
    let left: i64 = row.get(at + 5);
    Ok(Holder {
        host: row.get(at + 1),
        pid: u32::try_from(pid).map_err(|_| bad("pid", pid))?,
        token: u64::try_from(token)
            .ok()
            .filter(|t| *t > 0)
            .ok_or_else(|| bad("token", token))?,
        since_ms: u64::try_from(since).map_err(|_| bad("since", since))?,
        remaining: Some(Duration::from_millis(left.max(0) as u64)),
        candidate_id,
    })
}

/// Connection trouble, a server shutting down or failing over: worth a retry. Anything else
/// the server refused is not.
fn classify(e: tokio_postgres::Error) -> StoreError {
    let Some(code) = e.code() else {
        return StoreError::Unreachable(format!("PostgreSQL: {e}"));
    };
    let retry = code.code().starts_with("08")
        || code.code().starts_with("53")
        || code.code().starts_with("57P")
        || matches!(
            *code,
            SqlState::T_R_SERIALIZATION_FAILURE
                | SqlState::T_R_DEADLOCK_DETECTED
                | SqlState::READ_ONLY_SQL_TRANSACTION
        );
    if retry {
        return StoreError::Unreachable(format!("PostgreSQL: {e}"));
    }
    let detail = e.as_db_error().map_or_else(
        || e.to_string(),
        |d| format!("{}: {}", d.code().code(), d.message()),
    );
    let fix = match *code {
        SqlState::INVALID_PASSWORD | SqlState::INVALID_AUTHORIZATION_SPECIFICATION => {
            "; fix the user and password in the postgres:// store URL"
        }
        SqlState::INVALID_CATALOG_NAME => "; fix the database name in the postgres:// store URL",
        _ => "",
    };
    StoreError::Refused(format!("PostgreSQL refused: {detail}{fix}"))
}

#[async_trait]
impl Store for PgStore {
    async fn acquire(
        &self,
        scope: &Scope,
        me: &Candidate,
        ttl: Duration,
    ) -> Result<Acquire, StoreError> {
        let pid = i64::from(me.pid);
        let ttl_ms = ttl.as_millis() as i64;
        let rows = self
            .query(
                &self.sql.acquire,
                &[
                    (&scope.prefix, Type::TEXT),
                    (&scope.name, Type::TEXT),
                    (&me.id, Type::TEXT),
                    (&me.host, Type::TEXT),
                    (&pid, Type::INT8),
                    (&ttl_ms, Type::INT8),
                ],
            )
            .await?;
        let Some(row) = rows.first() else {
            // Another grant committed after our snapshot: a fresh read shows it.
            return match self.read(scope).await? {
                Some(h) => Ok(Acquire::Held(h)),
                None => Err(StoreError::Unreachable(
                    "the lease row changed while baton acquired it; retrying".into(),
                )),
            };
        };
        let granted: bool = row.get(0);
        let h = holder(row, 1)?;
        Ok(Acquire::from_holder(granted, h))
    }

    async fn renew(
        &self,
        scope: &Scope,
        me: &Candidate,
        token: u64,
        ttl: Duration,
    ) -> Result<Renewal, StoreError> {
        let Ok(token) = i64::try_from(token) else {
            return Ok(Renewal::Lost);
        };
        let ttl_ms = ttl.as_millis() as i64;
        let rows = self
            .query(
                &self.sql.renew,
                &[
                    (&scope.prefix, Type::TEXT),
                    (&scope.name, Type::TEXT),
                    (&me.id, Type::TEXT),
                    (&token, Type::INT8),
                    (&ttl_ms, Type::INT8),
                ],
            )
            .await?;
        Ok(match rows.first().map(|r| r.get::<_, bool>(0)) {
            Some(true) => Renewal::ResignRequested,
            Some(false) => Renewal::Renewed,
            None => Renewal::Lost,
        })
    }

    async fn release(
        &self,
        scope: &Scope,
        me: &Candidate,
        token: Option<u64>,
    ) -> Result<bool, StoreError> {
        let token: Option<i64> = match token.map(i64::try_from) {
            Some(Ok(t)) => Some(t),
            Some(Err(_)) => return Ok(false),
            None => None,
        };
        let channel = self.url.channel();
        let rows = self
            .query(
                &self.sql.release,
                &[
                    (&scope.prefix, Type::TEXT),
                    (&scope.name, Type::TEXT),
                    (&me.id, Type::TEXT),
                    (&token, Type::INT8),
                    (&channel, Type::TEXT),
                ],
            )
            .await?;
        Ok(rows.first().is_some_and(|r| r.get::<_, i64>(0) > 0))
    }

    async fn read(&self, scope: &Scope) -> Result<Option<Holder>, StoreError> {
        let rows = self
            .query(
                &self.sql.read,
                &[(&scope.prefix, Type::TEXT), (&scope.name, Type::TEXT)],
            )
            .await?;
        rows.first().map(|r| holder(r, 0)).transpose()
    }

    /// PostgreSQL replicates by its own configuration: a commit waits for the standbys named
    /// in `synchronous_standby_names` when `synchronous_commit` is on. baton cannot add to that.
    async fn wait_replicas(&self, _: &Scope, _: u32, _: Duration) -> Result<u32, StoreError> {
        Err(StoreError::Refused(replicas_refusal()))
    }

    async fn watch(&self, scope: &Scope) -> Result<Watch, StoreError> {
        let notify = Arc::new(Notify::new());
        {
            let mut w = lock(&self.watchers);
            let list = w.entry(scope.clone()).or_default();
            list.retain(|n| n.strong_count() > 0);
            list.push(Arc::downgrade(&notify));
        }
        let guard = WatchGuard {
            scope: scope.clone(),
            watchers: Arc::downgrade(&self.watchers),
        };
        if self.url.listen {
            self.listening().await?;
        }
        Ok(Watch {
            notify,
            drops: self.conn.drops.clone(),
            _guard: Box::new(guard),
        })
    }

    async fn request_resign(&self, scope: &Scope) -> Result<Option<Holder>, StoreError> {
        let channel = self.url.channel();
        let rows = self
            .query(
                &self.sql.resign,
                &[
                    (&scope.prefix, Type::TEXT),
                    (&scope.name, Type::TEXT),
                    (&channel, Type::TEXT),
                ],
            )
            .await?;
        rows.first().map(|r| holder(r, 0)).transpose()
    }

    fn stalled(&self, sent_nanos: u64) {
        self.conn.stalled(sent_nanos);
    }

    async fn list(&self, prefix: &str) -> Result<Vec<(String, Holder)>, StoreError> {
        let prefix = prefix.to_string();
        let rows = self.query(&self.sql.list, &[(&prefix, Type::TEXT)]).await?;
        let mut found = BTreeMap::new();
        for row in &rows {
            found.insert(row.get::<_, String>(0), holder(row, 1)?);
        }
        Ok(found.into_iter().collect())
    }
}

/// Why `wait_for_replicas` does not apply to PostgreSQL, and what to do instead.
pub(crate) fn replicas_refusal() -> String {
    "wait_for_replicas is a Redis setting: PostgreSQL waits for standbys itself when the server sets synchronous_commit=on and synchronous_standby_names; configure those and leave wait_for_replicas unset".into()
}
