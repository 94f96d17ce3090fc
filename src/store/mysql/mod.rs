//! MySQL and MariaDB (DESIGN.md section 4b): `mysql://` or `mariadb://
//! [user[:password]@]host[:port]/database` with baton's options `table=` (default
//! `baton_leases`) and `create_table=false`; docs/mysql.md has the DDL and the grants.
//!
//! TLS: `ssl-mode`, `ssl-ca`, `ssl-cert`, `ssl-key` with MySQL's meanings (`url`), by
//! mysql_async's rustls (ring) support.
//!
//! Client: `mysql_async` on baton's runtime thread, with connections of baton's own (`conn`:
//! up to four, statements prepared once per connection) instead of its pool, so that a
//! connection that stops answering is replaced.
//!
//! Model (as PostgreSQL's, without a push):
//! - One InnoDB row per election; times are the server's clock in Unix microseconds
//!   (`NOW(6)` of each statement, session time zone UTC), so clients' clocks never enter a lease.
//! - Every statement runs on its own (autocommit), so no lock outlives a statement: a
//!   candidate paused between two statements blocks nobody. Acquire makes sure the row exists
//!   (`INSERT ... ON DUPLICATE KEY`), then takes it in one conditional `UPDATE` when free,
//!   expired or our own leftover, under `max(last token + 1, server µs)`, and reads back the
//!   token or the holder. Renew, release and the resign mark are one `UPDATE` each. A release
//!   clears the holder and keeps the row, so tokens keep growing.
//! - No push exists: followers wake at the holder's expiry (one statement per lease period),
//!   after a graceful release as after a crash.
//! - A connection that broke under a statement (a restart, a reset) or was given up for not
//!   answering counts as a drop: every leader of the process stops believing until a fresh
//!   grant, since a failover may have lost its row.

mod conn;
pub(crate) mod url;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;

use conn::Conns;

use super::{Acquire, Candidate, Holder, Renewal, Scope, Store, StoreError, StoreSpec, Watch};
use url::MyUrl;

/// Checks that `url` is a MySQL URL baton can use.
pub(crate) fn validate_url(url: &str) -> Result<(), String> {
    url::parse(url).map(|_| ())
}

/// The server's clock in Unix microseconds, constant within a statement.
const NOW: &str = "CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED)";

/// The lease table. One row per election; a release clears `candidate` and keeps the row.
pub(crate) const DDL: &str = "CREATE TABLE IF NOT EXISTS {t} (
  prefix     VARCHAR(64)  NOT NULL,
  name       VARCHAR(200) NOT NULL,
  candidate  VARCHAR(512) NULL,
  host       VARCHAR(255) NOT NULL DEFAULT '',
  pid        BIGINT       NOT NULL DEFAULT 0,
  token      BIGINT       NOT NULL DEFAULT 0,
  since_us   BIGINT       NOT NULL DEFAULT 0,
  expires_us BIGINT       NOT NULL DEFAULT 0,
  resign     TINYINT(1)   NOT NULL DEFAULT 0,
  PRIMARY KEY (prefix, name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

/// What baton's database user needs on the table.
pub(crate) const GRANTS: &str = "GRANT SELECT, INSERT, UPDATE ON <database>.{t} TO <baton user>";

/// The holder's columns as every reading statement returns them.
const HOLDER: &str = "candidate, host, pid, token, since_us, expires_us - {now}";

/// Every statement, written for one table.
struct Statements {
    ddl: String,
    grants: String,
    ensure: String,
    grant: String,
    granted: String,
    renew: String,
    release: String,
    read: String,
    resign: String,
    list: String,
}

impl Statements {
    fn new(table: &str) -> Statements {
        let fill = |s: &str| {
            s.replace("{holder}", HOLDER)
                .replace("{now}", NOW)
                .replace("{t}", table)
        };
        let live = "prefix = ? AND name = ? AND candidate IS NOT NULL AND expires_us > {now}";
        Statements {
            ddl: fill(DDL),
            grants: fill(GRANTS),
            ensure: fill(
                "INSERT INTO {t} (prefix, name) VALUES (?, ?) ON DUPLICATE KEY UPDATE token = token",
            ),
            grant: fill("UPDATE {t} SET candidate = ?, host = ?, pid = ?, token = GREATEST(token + 1, {now}), since_us = {now}, expires_us = {now} + ?, resign = 0 WHERE prefix = ? AND name = ? AND (candidate IS NULL OR expires_us <= {now} OR candidate = ?)"),
            granted: fill("SELECT token, since_us FROM {t} WHERE prefix = ? AND name = ? AND candidate = ?"),
            renew: fill("UPDATE {t} SET expires_us = {now} + ? WHERE prefix = ? AND name = ? AND candidate = ? AND token = ? AND expires_us > {now}"),
            release: fill("UPDATE {t} SET candidate = NULL, expires_us = {now}, resign = 0 WHERE prefix = ? AND name = ? AND candidate = ? AND (? IS NULL OR token = ?)"),
            read: fill(&format!("SELECT {{holder}}, resign FROM {{t}} WHERE {live}")),
            resign: fill(&format!("UPDATE {{t}} SET resign = 1 WHERE {live}")),
            list: fill("SELECT name, {holder} FROM {t} WHERE prefix = ? AND candidate IS NOT NULL AND expires_us > {now}"),
        }
    }
}

pub(crate) struct MyStore {
    url: MyUrl,
    sql: Statements,
    conns: Conns,
}

type HolderRow = (String, String, i64, i64, i64, i64);

impl MyStore {
    /// Connects, and creates the lease table if it is missing (unless `create_table=false`).
    pub(crate) async fn connect(spec: &StoreSpec, timeout: Duration) -> Result<Self, StoreError> {
        let url = url::parse(&spec.seeds[0]).map_err(StoreError::Refused)?;
        let store = MyStore {
            sql: Statements::new(&url.quoted_table()),
            conns: Conns::new(
                url.client_opts(timeout),
                url.plaintext_fallback(timeout),
                timeout,
            ),
            url,
        };
        store.ensure_table().await?;
        Ok(store)
    }

    async fn conn(&self) -> Result<conn::Checked<'_>, StoreError> {
        self.conns.get().await.map_err(|e| self.explain(e))
    }

    fn explain(&self, e: mysql_async::Error) -> StoreError {
        match &e {
            // Table/command access denied.
            mysql_async::Error::Server(s) if matches!(s.code, 1142 | 1143) => {
                StoreError::Refused(format!(
                    "MySQL refused baton's statement on {} ({}); the store URL's user needs: {} (docs/mysql.md)",
                    self.url.table, s.message, self.sql.grants
                ))
            }
            mysql_async::Error::Server(s) if s.code == 1146 => StoreError::Refused(format!(
                "the lease table {} is gone ({}); create it again with:\n{}",
                self.url.table, s.message, self.sql.ddl
            )),
            _ => match tls_refusal(&e, &self.url) {
                Some(why) => StoreError::Refused(why),
                None => classify(e),
            },
        }
    }

    async fn ensure_table(&self) -> Result<(), StoreError> {
        let mut c = self.conn().await?;
        let exists: Option<i64> = c
            .exec_first(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?",
                (self.url.table.clone(),),
            )
            .await
            .map_err(|e| self.explain(e))?;
        if exists.unwrap_or(0) > 0 {
            return Ok(());
        }
        let name = &self.url.table;
        if !self.url.create_table {
            return Err(StoreError::Refused(format!(
                "the lease table {name} does not exist and the store URL says create_table=false: create it (as a user allowed to) with:\n{};\nthen {}; or remove create_table=false so that baton creates it",
                self.sql.ddl, self.sql.grants
            )));
        }
        match c.query_drop(&self.sql.ddl).await {
            Ok(()) => Ok(()),
            Err(mysql_async::Error::Server(s)) if matches!(s.code, 1142 | 1044) => {
                Err(StoreError::Refused(format!(
                    "the lease table {name} does not exist and the store URL's user may not create it ({}): create it with:\n{};\nthen {}; or grant this user CREATE on the database",
                    s.message, self.sql.ddl, self.sql.grants
                )))
            }
            Err(e) => Err(self.explain(e)),
        }
    }
}

/// The holder columns and the resign mark, as `read` returns them.
type ReadRow = (String, String, i64, i64, i64, i64, bool);

impl MyStore {
    /// The acquire: take the row if it is free, expired or our own leftover, else read its
    /// holder. Two statements when the row exists; a missing row is created and tried again.
    async fn try_acquire(
        &self,
        scope: &Scope,
        me: &Candidate,
        ttl: Duration,
    ) -> Result<Acquire, StoreError> {
        let mut c = self.conn().await?;
        let key = (scope.prefix.clone(), scope.name.clone());
        let ttl_us = ttl.as_micros() as i64;
        let e = |e| self.explain(e);
        // A missing row is created once; a lease that expires between the update and the
        // read is tried once more.
        for _ in 0..3 {
            let grant = (
                me.id.clone(),
                me.host.clone(),
                i64::from(me.pid),
                ttl_us,
                scope.prefix.clone(),
                scope.name.clone(),
                me.id.clone(),
            );
            if c.exec_drop(&self.sql.grant, grant).await.map_err(e)? > 0 {
                // Ours for a ttl: nobody else can change the row before this read.
                let granted: Option<(i64, i64)> = c
                    .exec_first(
                        &self.sql.granted,
                        (scope.prefix.clone(), scope.name.clone(), me.id.clone()),
                    )
                    .await
                    .map_err(e)?;
                let Some((token, since_us)) = granted else {
                    break;
                };
                return Ok(Acquire::Granted {
                    token: token as u64,
                    since_ms: (since_us / 1000).max(0) as u64,
                });
            }
            let row: Option<ReadRow> =
                c.exec_first(&self.sql.read, key.clone()).await.map_err(e)?;
            if let Some((a, b, c, d, e, f, _)) = row {
                return Ok(Acquire::Held(holder((a, b, c, d, e, f))?));
            }
            // No live holder: the row is missing (the first acquire, a deleted row) or the
            // lease ran out after the update.
            c.exec_drop(&self.sql.ensure, key.clone())
                .await
                .map_err(e)?;
        }
        Err(StoreError::Unreachable(
            "the lease row changed under every attempt to take it; retrying".into(),
        ))
    }
}

/// A connection that failed for TLS reasons, explained with the setting to change; None for
/// other failures.
fn tls_refusal(e: &mysql_async::Error, url: &MyUrl) -> Option<String> {
    use crate::store::tls::{is_name_mismatch, rustls_error};
    let host = url.opts.ip_or_hostname();
    if matches!(
        e,
        mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer)
    ) {
        return Some(format!(
            "the MySQL server at {host} does not offer TLS and the store URL asks for it (ssl-mode={}); turn TLS on in the server (ssl_cert, ssl_key; MariaDB: --ssl-cert, --ssl-key) or, on a trusted network only, use ssl-mode=PREFERRED or ssl-mode=DISABLED",
            url.tls.mode.name()
        ));
    }
    let r = rustls_error(e)?;
    let ca = url
        .tls
        .ca_path
        .as_deref()
        .unwrap_or("(none: the built-in public CAs)");
    Some(match r {
        _ if is_name_mismatch(r) => format!(
            "the MySQL server's certificate is not issued for the host {host} ({r}); connect by a name the certificate holds, or use ssl-mode=REQUIRED to encrypt without checking"
        ),
        // Another CA of the same name shows as a bad signature.
        rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer | rustls::CertificateError::BadSignature,
        ) => format!(
            "the MySQL server's certificate is not signed by a CA in ssl-ca={ca} ({r}); set ssl-ca to the PEM file of the CA that signed the server's certificate (the issuer of its ssl_cert), or use ssl-mode=REQUIRED to encrypt without checking"
        ),
        rustls::Error::InvalidCertificate(_) => format!(
            "the MySQL server's certificate was refused ({r}); fix the server's certificate (ssl_cert) or ssl-ca={ca}"
        ),
        rustls::Error::AlertReceived(_) if url.tls.client.is_some() => format!(
            "the MySQL server refused the TLS session ({r}); check that ssl-cert and ssl-key hold a client certificate the server's ssl_ca trusts"
        ),
        _ => format!(
            "the TLS handshake with the MySQL server failed ({r}); check the server's TLS settings (baton speaks TLS 1.3), or use ssl-mode=DISABLED on a trusted network"
        ),
    })
}

/// A holder from `candidate, host, pid, token, since µs, left µs`.
fn holder(row: HolderRow) -> Result<Holder, StoreError> {
    let (candidate_id, host, pid, token, since, left) = row;
    let bad = |field: &str, value: i64| {
        StoreError::Refused(format!(
            "the lease of {candidate_id:?} has an unreadable {field} {value}; something other than baton wrote the lease table: delete the election's row or use another table="
        ))
    };
    Ok(Holder {
        pid: u32::try_from(pid).map_err(|_| bad("pid", pid))?,
        token: u64::try_from(token)
            .ok()
            .filter(|t| *t > 0)
            .ok_or_else(|| bad("token", token))?,
        since_ms: u64::try_from(since / 1000).map_err(|_| bad("since", since))?,
        remaining: Some(Duration::from_micros(left.max(0) as u64)),
        host,
        candidate_id,
    })
}

/// Connection trouble, a server shutting down, a lock conflict or a read-only server (a
/// failover in progress): worth a retry. Anything else the server refused is not.
fn classify(e: mysql_async::Error) -> StoreError {
    match e {
        mysql_async::Error::Server(s) => {
            // 1205 lock wait timeout, 1213 deadlock, 1290/1836 read-only, 1040 too many
            // connections, 1053 shutdown in progress, 1927 connection killed.
            if matches!(s.code, 1205 | 1213 | 1290 | 1836 | 1040 | 1053 | 1927) {
                return StoreError::Unreachable(format!("MySQL: {} ({})", s.message, s.code));
            }
            let fix = match s.code {
                1045 | 1044 => "; fix the user and password in the mysql:// store URL",
                1049 => "; fix the database name in the mysql:// store URL",
                _ => "",
            };
            StoreError::Refused(format!("MySQL refused: {} ({}){fix}", s.message, s.code))
        }
        e => StoreError::Unreachable(format!("MySQL: {e}")),
    }
}

#[async_trait]
impl Store for MyStore {
    async fn acquire(
        &self,
        scope: &Scope,
        me: &Candidate,
        ttl: Duration,
    ) -> Result<Acquire, StoreError> {
        self.try_acquire(scope, me, ttl).await
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
        let mut c = self.conn().await?;
        let params = (
            ttl.as_micros() as i64,
            scope.prefix.clone(),
            scope.name.clone(),
            me.id.clone(),
            token,
        );
        let renewed = c
            .exec_drop(&self.sql.renew, params)
            .await
            .map_err(|e| self.explain(e))?;
        if renewed == 0 {
            return Ok(Renewal::Lost);
        }
        // The resign mark: read after the renewal (a mark set in between is seen next time).
        let key = (scope.prefix.clone(), scope.name.clone());
        let row: Option<ReadRow> = c
            .exec_first(&self.sql.read, key)
            .await
            .map_err(|e| self.explain(e))?;
        Ok(match row {
            Some((who, _, _, t, _, _, true)) if who == me.id && t == token => {
                Renewal::ResignRequested
            }
            _ => Renewal::Renewed,
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
        let mut c = self.conn().await?;
        let params = (
            scope.prefix.clone(),
            scope.name.clone(),
            me.id.clone(),
            token,
            token,
        );
        let released = c
            .exec_drop(&self.sql.release, params)
            .await
            .map_err(|e| self.explain(e))?;
        Ok(released > 0)
    }

    async fn read(&self, scope: &Scope) -> Result<Option<Holder>, StoreError> {
        let mut c = self.conn().await?;
        let key = (scope.prefix.clone(), scope.name.clone());
        let row: Option<ReadRow> = c
            .exec_first(&self.sql.read, key)
            .await
            .map_err(|e| self.explain(e))?;
        row.map(|(a, b, c, d, e, f, _)| holder((a, b, c, d, e, f)))
            .transpose()
    }

    /// MySQL replicates by its own configuration (semi-synchronous replication, Galera);
    /// baton cannot add to that.
    async fn wait_replicas(&self, _: &Scope, _: u32, _: Duration) -> Result<u32, StoreError> {
        Err(StoreError::Refused(replicas_refusal()))
    }

    /// No push exists: followers wake at the holder's expiry. The watch fires only when a
    /// connection drops, so that a leader stops believing at once.
    async fn watch(&self, _scope: &Scope) -> Result<Watch, StoreError> {
        let notify = Arc::new(Notify::new());
        self.conns.watch(&notify);
        Ok(Watch {
            notify,
            drops: self.conns.drops.clone(),
            _guard: Box::new(()),
        })
    }

    fn stalled(&self, sent_nanos: u64) {
        self.conns.stalled(sent_nanos);
    }

    async fn request_resign(&self, scope: &Scope) -> Result<Option<Holder>, StoreError> {
        let mut c = self.conn().await?;
        let key = (scope.prefix.clone(), scope.name.clone());
        let marked = c
            .exec_drop(&self.sql.resign, key.clone())
            .await
            .map_err(|e| self.explain(e))?;
        if marked == 0 {
            return Ok(None);
        }
        let row: Option<ReadRow> = c
            .exec_first(&self.sql.read, key)
            .await
            .map_err(|e| self.explain(e))?;
        row.map(|(a, b, c, d, e, f, _)| holder((a, b, c, d, e, f)))
            .transpose()
    }

    async fn list(&self, prefix: &str) -> Result<Vec<(String, Holder)>, StoreError> {
        let mut c = self.conn().await?;
        let rows: Vec<(String, String, String, i64, i64, i64, i64)> = c
            .exec(&self.sql.list, (prefix.to_string(),))
            .await
            .map_err(|e| self.explain(e))?;
        let mut found = BTreeMap::new();
        for (name, a, b, c, d, e, f) in rows {
            found.insert(name, holder((a, b, c, d, e, f))?);
        }
        Ok(found.into_iter().collect())
    }
}

/// Why `wait_for_replicas` does not apply to MySQL, and what to do instead.
pub(crate) fn replicas_refusal() -> String {
    "wait_for_replicas is a Redis setting: MySQL and MariaDB wait for replicas themselves with semi-synchronous replication (rpl_semi_sync_master_enabled) or Galera; configure that and leave wait_for_replicas unset".into()
}
