//! `postgres://` / `postgresql://` URLs: libpq's URL form, plus baton's own query options
//! (`table`, `create_table`, `listen`) and libpq's TLS options (`sslmode`, `sslrootcert`,
//! `sslcert`, `sslkey`), which are taken out before the rest goes to the client.

use std::str::FromStr;

use tokio_postgres::config::SslMode as ClientSslMode;
use tokio_postgres::Config;

const FORM: &str = "postgres://[user[:password]@]host[:port]/database[?table=NAME&create_table=false&listen=false&sslmode=verify-full&sslrootcert=PATH]";

/// libpq's `sslmode` values baton supports (`allow` is not one: it tries plaintext first).
const MODES: &str = "disable, prefer, require, verify-ca or verify-full";

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
    /// TLS: how, and what is verified.
    pub tls: PgTls,
}

/// libpq's `sslmode`, as baton applies it (docs/postgres.md, "TLS").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SslMode {
    /// Plaintext.
    Disable,
    /// TLS when the server offers it, plaintext when it does not; nothing verified.
    Prefer,
    /// TLS or no connection; the certificate is not verified (encryption only), unless
    /// `sslrootcert` is given: then it is verified as under `VerifyCa` (libpq does the same).
    Require,
    /// TLS, the certificate signed by the CA in `sslrootcert`; any host name.
    VerifyCa,
    /// TLS, the certificate signed by the CA and issued for the host of the URL.
    VerifyFull,
}

/// Where the trusted CA certificates come from.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Roots {
    /// PEM certificates read from `sslrootcert=PATH`.
    Pem(Vec<u8>),
    /// `sslrootcert=system`: the platform's trust store.
    System,
}

/// The TLS half of a PostgreSQL URL.
#[derive(Clone)]
pub(crate) struct PgTls {
    pub mode: SslMode,
    pub roots: Option<Roots>,
    /// Client certificate chain and key (PEM), from `sslcert` and `sslkey`.
    pub client: Option<(Vec<u8>, Vec<u8>)>,
    /// `sslrootcert` as given, for messages.
    pub rootcert: Option<String>,
}

// Never print key material, not even in a debug log.
impl std::fmt::Debug for PgTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgTls")
            .field("mode", &self.mode)
            .field("rootcert", &self.rootcert)
            .field("client", &self.client.as_ref().map(|_| "<pem>"))
            .finish()
    }
}

impl PgTls {
    /// What the server's certificate is checked for: the chain, and the host name.
    pub fn verifies(&self) -> (bool, bool) {
        match self.mode {
            SslMode::Disable | SslMode::Prefer => (false, false),
            SslMode::Require => (self.roots.is_some(), false),
            SslMode::VerifyCa => (true, false),
            SslMode::VerifyFull => (true, true),
        }
    }
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
    let mut ssl: [Option<String>; 4] = Default::default();
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
            "sslmode" | "sslrootcert" | "sslcert" | "sslkey" => {
                let at = ["sslmode", "sslrootcert", "sslcert", "sslkey"]
                    .iter()
                    .position(|k| *k == key)
                    .unwrap_or(0);
                let decoded = percent_encoding::percent_decode_str(value)
                    .decode_utf8()
                    .map_err(|_| format!("{shown}: {key}= is not UTF-8 text"))?;
                ssl[at] = Some(decoded.into_owned());
            }
            _ => rest.push(pair),
        }
    }
    let [mode, rootcert, cert, key] = ssl;
    let tls = tls_options(mode, rootcert, cert, key).map_err(|why| format!("{shown}: {why}"))?;
    check_table(&table).map_err(|why| format!("{shown}: table={table:?} {why}"))?;
    let client_url = if rest.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    let mut config = Config::from_str(&client_url)
        .map_err(|e| format!("{shown} is not a valid PostgreSQL URL ({e}); use {FORM}"))?;
    config.ssl_mode(match tls.mode {
        SslMode::Disable => ClientSslMode::Disable,
        SslMode::Prefer => ClientSslMode::Prefer,
        _ => ClientSslMode::Require,
    });
    if config.get_hosts().is_empty() {
        return Err(format!("{shown} names no host; use {FORM}"));
    }
    Ok(PgUrl {
        config,
        table,
        create_table,
        listen,
        tls,
    })
}

/// Checks the TLS options together and reads the PEM files they name. Without `sslmode`,
/// a CA means `verify-full` (whoever names a CA wants it checked), else `prefer` (libpq's
/// default: encrypted when the server offers it).
fn tls_options(
    mode: Option<String>,
    rootcert: Option<String>,
    cert: Option<String>,
    key: Option<String>,
) -> Result<PgTls, String> {
    let mode = match mode.as_deref() {
        None if rootcert.is_some() => SslMode::VerifyFull,
        None => SslMode::Prefer,
        Some("disable") => SslMode::Disable,
        Some("prefer") => SslMode::Prefer,
        Some("require") => SslMode::Require,
        Some("verify-ca") => SslMode::VerifyCa,
        Some("verify-full") => SslMode::VerifyFull,
        Some("allow") => {
            return Err("sslmode=allow is not supported (it tries plaintext first, so it never encrypts where prefer would); use sslmode=prefer, or sslmode=verify-full with sslrootcert=PATH".into())
        }
        Some(other) => {
            return Err(format!(
                "sslmode={other:?} is not one of libpq's modes baton supports; use {MODES}"
            ))
        }
    };
    if mode == SslMode::Disable {
        if let Some((setting, value)) = [
            ("sslrootcert", &rootcert),
            ("sslcert", &cert),
            ("sslkey", &key),
        ]
        .into_iter()
        .find_map(|(s, v)| v.as_ref().map(|v| (s, v)))
        {
            return Err(format!(
                "{setting}={value} has no use with sslmode=disable (no TLS); remove it, or use sslmode=verify-full to connect over TLS"
            ));
        }
    }
    let roots = match rootcert.as_deref() {
        None => None,
        Some("system") => Some(Roots::System),
        Some(path) => Some(Roots::Pem(super::super::tls::read_pem_file(
            "sslrootcert",
            path,
            false,
        )?)),
    };
    match (mode, &roots) {
        (SslMode::Prefer, Some(_)) => {
            return Err(format!(
                "sslrootcert={} has no use with sslmode=prefer, which falls back to an unverified or plaintext connection; use sslmode=verify-full (or verify-ca) to have the server's certificate checked",
                rootcert.as_deref().unwrap_or_default()
            ))
        }
        (SslMode::VerifyCa | SslMode::VerifyFull, None) => {
            return Err(format!(
                "sslmode={} checks the server's certificate against a CA, and sslrootcert names none; add sslrootcert=PATH (the PEM file of the CA that signed the server's certificate) or sslrootcert=system (the platform's trusted roots), or use sslmode=require to encrypt without checking",
                if mode == SslMode::VerifyCa { "verify-ca" } else { "verify-full" }
            ))
        }
        (SslMode::Require | SslMode::VerifyCa, Some(Roots::System)) => {
            return Err("sslrootcert=system checks public certificates, which are only worth checking with the host name: use sslmode=verify-full (as libpq requires)".into())
        }
        _ => {}
    }
    let client = match (cert, key) {
        (None, None) => None,
        (Some(cert), Some(key)) => Some((
            super::super::tls::read_pem_file("sslcert", &cert, false)?,
            super::super::tls::read_pem_file("sslkey", &key, true)?,
        )),
        (Some(_), None) => {
            return Err("sslcert is given without sslkey; add sslkey=PATH (the client certificate's private key, PEM)".into())
        }
        (None, Some(_)) => {
            return Err("sslkey is given without sslcert; add sslcert=PATH (the client certificate, PEM)".into())
        }
    };
    Ok(PgTls {
        mode,
        roots,
        client,
        rootcert,
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
        ] {
            let err = parse(url).unwrap_err();
            assert!(err.contains(says), "{url}: {err}");
            assert!(!err.contains("pw@"), "{err}");
        }
    }

    // Test material: a self-signed certificate and its key.
    const CERT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls/cert.pem");
    const KEY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls/key.pem");

    #[test]
    fn tls_modes_and_their_defaults() {
        let mode = |q: &str| {
            let u = parse(&format!("postgres://u:pw@h/db{q}")).unwrap();
            (u.tls.mode, u.config.get_ssl_mode(), u.tls.verifies())
        };
        // libpq's default: encrypted when offered; a CA without a mode asks for verify-full.
        assert_eq!(
            mode(""),
            (SslMode::Prefer, ClientSslMode::Prefer, (false, false))
        );
        assert_eq!(
            mode(&format!("?sslrootcert={CERT}")),
            (SslMode::VerifyFull, ClientSslMode::Require, (true, true))
        );
        assert_eq!(
            mode("?sslmode=disable"),
            (SslMode::Disable, ClientSslMode::Disable, (false, false))
        );
        assert_eq!(
            mode("?sslmode=require"),
            (SslMode::Require, ClientSslMode::Require, (false, false))
        );
        // require with a CA checks the chain, as libpq does.
        assert_eq!(
            mode(&format!("?sslmode=require&sslrootcert={CERT}")),
            (SslMode::Require, ClientSslMode::Require, (true, false))
        );
        assert_eq!(
            mode(&format!("?sslmode=verify-ca&sslrootcert={CERT}")),
            (SslMode::VerifyCa, ClientSslMode::Require, (true, false))
        );
        assert_eq!(
            mode("?sslmode=verify-full&sslrootcert=system"),
            (SslMode::VerifyFull, ClientSslMode::Require, (true, true))
        );
        // Paths arrive percent-encoded from some writers (Spring's derivation among them).
        let encoded = CERT.replace('/', "%2F");
        let u = parse(&format!(
            "postgres://h/db?sslmode=verify-full&sslrootcert={encoded}&sslcert={CERT}&sslkey={KEY}&application_name=x"
        ))
        .unwrap();
        assert!(matches!(u.tls.roots, Some(Roots::Pem(_))) && u.tls.client.is_some());
        assert_eq!(u.config.get_application_name(), Some("x"));
        assert!(!format!("{:?}", u.tls).contains("BEGIN"));
    }

    #[test]
    fn tls_refusals_name_the_setting_and_the_fix() {
        for (query, says) in [
            (
                "sslmode=allow".to_string(),
                "sslmode=allow is not supported",
            ),
            (
                "sslmode=Verify-Full".into(),
                "sslmode=\"Verify-Full\" is not one of",
            ),
            ("sslmode=bogus".into(), "verify-ca or verify-full"),
            ("sslmode=verify-full".into(), "add sslrootcert=PATH"),
            ("sslmode=verify-ca".into(), "sslmode=verify-ca checks"),
            (
                format!("sslmode=disable&sslrootcert={CERT}"),
                "has no use with sslmode=disable",
            ),
            (
                format!("sslmode=disable&sslcert={CERT}&sslkey={KEY}"),
                "sslcert=",
            ),
            (
                format!("sslmode=prefer&sslrootcert={CERT}"),
                "use sslmode=verify-full",
            ),
            (
                "sslrootcert=/nonexistent/ca.pem".into(),
                "sslrootcert=/nonexistent/ca.pem cannot be read",
            ),
            (format!("sslrootcert={KEY}"), "holds no PEM certificate"),
            (format!("sslmode=require&sslcert={CERT}"), "add sslkey=PATH"),
            (format!("sslmode=require&sslkey={KEY}"), "add sslcert=PATH"),
            (
                format!("sslmode=require&sslcert={CERT}&sslkey={CERT}"),
                "sslkey=",
            ),
            (
                "sslmode=require&sslrootcert=system".into(),
                "use sslmode=verify-full",
            ),
            ("sslcrl=/x".into(), "not a valid PostgreSQL URL"),
        ] {
            let url = format!("postgres://u:pw@h/db?{query}");
            let err = parse(&url).unwrap_err();
            assert!(err.contains(says), "{url}: {err}");
            assert!(!err.contains("pw@"), "{err}");
        }
    }
}
