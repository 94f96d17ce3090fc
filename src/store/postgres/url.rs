//! `postgres://` / `postgresql://` URLs: libpq's URL form, plus baton's own query options
//! (`table`, `create_table`, `listen`), which are taken out before the rest goes to the client.

use std::str::FromStr;

use tokio_postgres::config::SslMode;
use tokio_postgres::Config;

const FORM: &str = "postgres://[user[:password]@]host[:port]/database[?table=NAME&create_table=false&listen=false&sslmode=...]";

/// The default lease table.
pub(crate) const DEFAULT_TABLE: &str = "baton_leases";

/// A parsed PostgreSQL store URL.
#[derive(Debug, Clone)]
pub(crate) struct PgUrl {
    /// What the client connects with (libpq's options, without baton's).
    pub config: Config,
    /// The lease table, `name` or `schema.name` (lower-case identifiers).
    pub table: String,
    /// Create the table on first use when it is missing.
    pub create_table: bool,
    /// Push handover with `LISTEN` on a connection of its own (off behind a transaction-mode
    /// pooler, where a session's `LISTEN` does not stay on one server connection).
    pub listen: bool,
}

impl PgUrl {
    /// `table` quoted for SQL: `"schema"."name"`.
    pub fn quoted_table(&self) -> String {
        self.table
            .split('.')
            .map(|part| format!("\"{part}\""))
            .collect::<Vec<_>>()
            .join(".")
    }

    /// The `NOTIFY` channel of the table's elections (quoted for `LISTEN`: any text fits).
    pub fn channel(&self) -> String {
        self.table.clone()
    }
}

/// Parses a PostgreSQL URL; the error names the option that is wrong and the form to use.
pub(crate) fn parse(url: &str) -> Result<PgUrl, String> {
    let shown = super::super::redact(url);
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, q),
        None => (url, ""),
    };
    let mut table = DEFAULT_TABLE.to_string();
    let mut create_table = true;
    let mut listen = true;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let flag = |v: &str| match v {
            "true" | "on" | "1" => Ok(true),
            "false" | "off" | "0" => Ok(false),
            _ => Err(format!(
                "{shown}: {key}={v:?} is not a boolean; use {key}=true or {key}=false"
            )),
        };
        match key {
            "table" => table = value.to_string(),
            "create_table" => create_table = flag(value)?,
            "listen" => listen = flag(value)?,
            _ => rest.push(pair),
        }
    }
    check_table(&table).map_err(|why| format!("{shown}: table={table:?} {why}"))?;
    let client_url = if rest.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    let config = Config::from_str(&client_url)
        .map_err(|e| format!("{shown} is not a valid PostgreSQL URL ({e}); use {FORM}"))?;
    if config.get_hosts().is_empty() {
        return Err(format!("{shown} names no host; use {FORM}"));
    }
    if config.get_ssl_mode() == SslMode::Require {
        return Err(format!(
            "{shown}: sslmode=require is not supported yet (baton connects without TLS); use sslmode=disable or sslmode=prefer on a trusted network, or a Redis store over rediss://"
        ));
    }
    Ok(PgUrl {
        config,
        table,
        create_table,
        listen,
    })
}

/// `name` or `schema.name`, each a lower-case SQL identifier of at most 63 bytes.
fn check_table(table: &str) -> Result<(), &'static str> {
    let parts: Vec<&str> = table.split('.').collect();
    let ident = |p: &str| {
        !p.is_empty()
            && p.len() <= 63
            && p.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
            && p.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    if parts.len() > 2 || !parts.iter().all(|p| ident(p)) {
        return Err("is not a table name baton accepts; use NAME or SCHEMA.NAME with lower-case letters, digits and _ (at most 63 each), e.g. table=baton_leases");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_out_batons_options() {
        let u = parse("postgres://u:pw@h:5433/db?table=app.leases&create_table=false&listen=off&application_name=x").unwrap();
        assert_eq!(u.table, "app.leases");
        assert_eq!(u.quoted_table(), "\"app\".\"leases\"");
        assert!(!u.create_table && !u.listen);
        assert_eq!(u.config.get_dbname(), Some("db"));
        assert_eq!(u.config.get_application_name(), Some("x"));
        let d = parse("postgresql://h/db").unwrap();
        assert_eq!(
            (d.table.as_str(), d.create_table, d.listen),
            (DEFAULT_TABLE, true, true)
        );
    }

    #[test]
    fn refuses_with_the_fix_and_without_the_password() {
        for (url, says) in [
            ("postgres://u:pw@h/db?table=Bad-Name", "table=\"Bad-Name\""),
            (
                "postgres://u:pw@h/db?create_table=maybe",
                "create_table=true",
            ),
            (
                "postgres://u:pw@h/db?nonsense=1",
                "not a valid PostgreSQL URL",
            ),
            ("postgres://u:pw@h/db?sslmode=require", "sslmode=disable"),
        ] {
            let err = parse(url).unwrap_err();
            assert!(err.contains(says), "{url}: {err}");
            assert!(!err.contains("pw@"), "{err}");
        }
    }
}
