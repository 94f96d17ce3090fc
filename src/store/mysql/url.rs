//! `mysql://` / `mariadb://` URLs: the client's URL form, plus baton's own query options
//! (`table`, `create_table`) and MySQL's TLS options (`ssl-mode`, `ssl-ca`, `ssl-cert`,
//! `ssl-key`), which are taken out before the rest goes to the client.

use std::time::Duration;

use mysql_async::{ClientIdentity, Opts, OptsBuilder, SslOpts};

use crate::store::tls::read_pem_file;

const FORM: &str =
    "mysql://[user[:password]@]host[:port]/database[?table=NAME&create_table=false&ssl-mode=VERIFY_IDENTITY&ssl-ca=PATH] (or mariadb://)";

/// MySQL's `ssl-mode` (docs/mysql.md, "TLS").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SslMode {
    /// Plaintext.
    Disabled,
    /// TLS when the server offers it, plaintext when it does not; nothing verified.
    Preferred,
    /// TLS or no connection; the certificate is not verified (encryption only).
    Required,
    /// TLS, the certificate signed by the CA in `ssl-ca` (or a public CA) and issued for the
    /// host of the URL.
    VerifyIdentity,
}

impl SslMode {
    /// The mode as MySQL spells it.
    pub fn name(self) -> &'static str {
        match self {
            SslMode::Disabled => "DISABLED",
            SslMode::Preferred => "PREFERRED",
            SslMode::Required => "REQUIRED",
            SslMode::VerifyIdentity => "VERIFY_IDENTITY",
        }
    }
}

/// The TLS half of a MySQL URL.
#[derive(Clone)]
pub(crate) struct MyTls {
    pub mode: SslMode,
    /// PEM CA certificates from `ssl-ca`; without them, `VERIFY_IDENTITY` trusts the public
    /// CAs built in (Mozilla's list, from webpki-roots).
    pub ca: Option<Vec<u8>>,
    /// Client certificate chain and key (PEM), from `ssl-cert` and `ssl-key`.
    pub client: Option<(Vec<u8>, Vec<u8>)>,
    /// `ssl-ca` as given, for messages.
    pub ca_path: Option<String>,
}

// Never print key material, not even in a debug log.
impl std::fmt::Debug for MyTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MyTls")
            .field("mode", &self.mode)
            .field("ca_path", &self.ca_path)
            .field("client", &self.client.as_ref().map(|_| "<pem>"))
            .finish()
    }
}

impl MyTls {
    /// The client's TLS options; None for plaintext.
    fn ssl_opts(&self) -> Option<SslOpts> {
        let opts = SslOpts::default().with_client_identity(self.client.as_ref().map(|(c, k)| {
            // PEM in memory (the client takes bytes or a path; `PathOrBuf` is not exported).
            ClientIdentity::new(c.clone().into(), k.clone().into())
        }));
        match self.mode {
            SslMode::Disabled => None,
            SslMode::Preferred | SslMode::Required => {
                Some(opts.with_danger_accept_invalid_certs(true))
            }
            SslMode::VerifyIdentity => Some(match &self.ca {
                Some(ca) => opts
                    .with_root_certs(vec![ca.clone().into()])
                    .with_disable_built_in_roots(true),
                None => opts,
            }),
        }
    }
}

/// The default lease table.
pub(crate) const DEFAULT_TABLE: &str = "baton_leases";

/// A parsed MySQL/MariaDB store URL.
#[derive(Debug, Clone)]
pub(crate) struct MyUrl {
    pub opts: Opts,
    /// The lease table in the URL's database (a lower-case identifier).
    pub table: String,
    pub create_table: bool,
    pub tls: MyTls,
}

impl MyUrl {
    /// `table` quoted for SQL.
    pub fn quoted_table(&self) -> String {
        format!("`{}`", self.table)
    }

    /// The client options for a store whose requests may take `timeout`: server time in UTC
    /// (lease times are Unix microseconds), matched rows counted as affected (a renewal in the
    /// same microsecond still counts), keepalive.
    pub fn client_opts(&self, timeout: Duration) -> Opts {
        self.builder(timeout).ssl_opts(self.tls.ssl_opts()).into()
    }

    /// With `ssl-mode=PREFERRED`, the options to connect with when the server offers no TLS.
    pub fn plaintext_fallback(&self, timeout: Duration) -> Option<Opts> {
        (self.tls.mode == SslMode::Preferred).then(|| self.builder(timeout).ssl_opts(None).into())
    }

    fn builder(&self, timeout: Duration) -> OptsBuilder {
        OptsBuilder::from_opts(self.opts.clone())
            // A lock held longer than this is a stuck transaction: fail fast and retry.
            .init(vec![
                "SET time_zone = '+00:00'",
                "SET innodb_lock_wait_timeout = 2",
            ])
            .client_found_rows(true)
            .tcp_keepalive(Some((timeout / 3).max(Duration::from_secs(1))))
            .prefer_socket(false)
    }
}

/// Parses a MySQL or MariaDB URL; the error names the option that is wrong and the form.
pub(crate) fn parse(url: &str) -> Result<MyUrl, String> {
    let shown = super::super::redact(url);
    let rest = url
        .split_once("://")
        .filter(|(s, _)| s.eq_ignore_ascii_case("mysql") || s.eq_ignore_ascii_case("mariadb"))
        .map(|(_, r)| r)
        .ok_or_else(|| format!("{shown} is not a MySQL URL; use {FORM}"))?;
    let (base, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut table = DEFAULT_TABLE.to_string();
    let mut create_table = true;
    let mut ssl: [Option<String>; 4] = Default::default();
    let mut others = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let ssl_key = key.to_ascii_lowercase().replace('_', "-");
        if let Some(at) = ["ssl-mode", "ssl-ca", "ssl-cert", "ssl-key"]
            .iter()
            .position(|k| *k == ssl_key)
        {
            let decoded = percent_encoding::percent_decode_str(value)
                .decode_utf8()
                .map_err(|_| format!("{shown}: {key}= is not UTF-8 text"))?;
            ssl[at] = Some(decoded.into_owned());
            continue;
        }
        // The client's own TLS switches would bypass the checks below.
        if [
            "require_ssl",
            "verify_ca",
            "verify_identity",
            "built_in_roots",
        ]
        .contains(&key)
        {
            return Err(format!(
                "{shown}: {key}= is not how baton takes TLS options; use ssl-mode=DISABLED|PREFERRED|REQUIRED|VERIFY_IDENTITY and ssl-ca=PATH (docs/mysql.md)"
            ));
        }
        match key {
            "table" => table = value.to_string(),
            "create_table" => {
                create_table = match value {
                    "true" | "on" | "1" => true,
                    "false" | "off" | "0" => false,
                    _ => {
                        return Err(format!(
                            "{shown}: create_table={value:?} is not a boolean; use create_table=true or create_table=false"
                        ))
                    }
                }
            }
            _ => others.push(pair),
        }
    }
    let ident = !table.is_empty()
        && table.len() <= 64
        && table.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && table
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !ident {
        return Err(format!(
            "{shown}: table={table:?} is not a table name baton accepts; use lower-case letters, digits and _ (at most 64), e.g. table=baton_leases"
        ));
    }
    let mut client_url = format!("mysql://{base}");
    if !others.is_empty() {
        client_url = format!("{client_url}?{}", others.join("&"));
    }
    let opts = Opts::from_url(&client_url)
        .map_err(|e| format!("{shown} is not a valid MySQL URL ({e}); use {FORM}"))?;
    if opts.db_name().is_none_or(str::is_empty) {
        return Err(format!(
            "{shown} names no database; baton keeps its lease table in it: use {FORM}"
        ));
    }
    let [mode, ca, cert, key] = ssl;
    let tls = tls_options(mode, ca, cert, key).map_err(|why| format!("{shown}: {why}"))?;
    Ok(MyUrl {
        opts,
        table,
        create_table,
        tls,
    })
}

/// Checks the TLS options together and reads the PEM files they name. Without `ssl-mode`,
/// a CA means `VERIFY_IDENTITY` (whoever names a CA wants it checked), else `PREFERRED`
/// (MySQL's default: encrypted when the server offers it).
fn tls_options(
    mode: Option<String>,
    ca: Option<String>,
    cert: Option<String>,
    key: Option<String>,
) -> Result<MyTls, String> {
    let mode = match mode.as_deref().map(str::to_ascii_uppercase).as_deref() {
        None if ca.is_some() => SslMode::VerifyIdentity,
        None => SslMode::Preferred,
        Some("DISABLED") => SslMode::Disabled,
        Some("PREFERRED") => SslMode::Preferred,
        Some("REQUIRED") => SslMode::Required,
        Some("VERIFY_IDENTITY") => SslMode::VerifyIdentity,
        // mysql_async 0.37.1 cannot skip the host-name check with rustls (its test for a
        // name mismatch matches error text rustls no longer prints: blackbeam/mysql_async#404,
        // fixed upstream after 0.37.1): VERIFY_CA would act as VERIFY_IDENTITY.
        Some("VERIFY_CA") => {
            return Err("ssl-mode=VERIFY_CA is not supported yet (the MySQL client baton uses cannot check the CA without the host name); use ssl-mode=VERIFY_IDENTITY with ssl-ca=PATH and a server certificate issued for the host in the URL, or ssl-mode=REQUIRED to encrypt without checking".into())
        }
        Some(_) => {
            return Err(format!(
                "ssl-mode={:?} is not one of MySQL's modes baton supports; use DISABLED, PREFERRED, REQUIRED or VERIFY_IDENTITY",
                mode.unwrap_or_default()
            ))
        }
    };
    let named =
        |setting: &str, value: &Option<String>| value.as_ref().map(|v| format!("{setting}={v}"));
    if mode == SslMode::Disabled {
        if let Some(given) = named("ssl-ca", &ca)
            .or_else(|| named("ssl-cert", &cert))
            .or_else(|| named("ssl-key", &key))
        {
            return Err(format!(
                "{given} has no use with ssl-mode=DISABLED (no TLS); remove it, or use ssl-mode=VERIFY_IDENTITY to connect over TLS"
            ));
        }
    }
    if let (SslMode::Preferred | SslMode::Required, Some(given)) = (mode, named("ssl-ca", &ca)) {
        return Err(format!(
            "{given} has no use with ssl-mode={}, which does not check the server's certificate; use ssl-mode=VERIFY_IDENTITY to have it checked",
            mode.name()
        ));
    }
    let ca_pem = ca
        .as_deref()
        .map(|path| read_pem_file("ssl-ca", path, false))
        .transpose()?;
    let client = match (cert, key) {
        (None, None) => None,
        (Some(cert), Some(key)) => Some((
            read_pem_file("ssl-cert", &cert, false)?,
            read_pem_file("ssl-key", &key, true)?,
        )),
        (Some(_), None) => {
            return Err("ssl-cert is given without ssl-key; add ssl-key=PATH (the client certificate's private key, PEM)".into())
        }
        (None, Some(_)) => {
            return Err("ssl-key is given without ssl-cert; add ssl-cert=PATH (the client certificate, PEM)".into())
        }
    };
    Ok(MyTls {
        mode,
        ca: ca_pem,
        client,
        ca_path: ca,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_out_batons_options() {
        let u = parse("mariadb://u:pw@h:3307/app?table=leases&create_table=false").unwrap();
        assert_eq!((u.table.as_str(), u.create_table), ("leases", false));
        assert_eq!(u.opts.db_name(), Some("app"));
        assert_eq!(u.opts.tcp_port(), 3307);
        assert_eq!(u.quoted_table(), "`leases`");
        let d = parse("mysql://h/app").unwrap();
        assert_eq!((d.table.as_str(), d.create_table), (DEFAULT_TABLE, true));
    }

    #[test]
    fn refuses_with_the_fix_and_without_the_password() {
        for (url, says) in [
            ("mysql://u:pw@h/app?table=a.b", "table=\"a.b\""),
            ("mysql://u:pw@h/app?create_table=x", "create_table=true"),
            ("mysql://u:pw@h", "names no database"),
            ("mysql://u:pw@h/app?bogus=1", "not a valid MySQL URL"),
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
        let tls = |q: &str| parse(&format!("mysql://u:pw@h/app{q}")).unwrap().tls;
        assert_eq!(tls("").mode, SslMode::Preferred);
        assert_eq!(
            tls(&format!("?ssl-ca={CERT}")).mode,
            SslMode::VerifyIdentity
        );
        for (q, mode) in [
            ("?ssl-mode=disabled", SslMode::Disabled),
            ("?ssl-mode=PREFERRED", SslMode::Preferred),
            ("?SSL_MODE=Required", SslMode::Required),
            ("?ssl-mode=VERIFY_IDENTITY", SslMode::VerifyIdentity),
        ] {
            assert_eq!(tls(q).mode, mode, "{q}");
        }
        let encoded = CERT.replace('/', "%2F");
        let t = tls(&format!(
            "?ssl-mode=verify_identity&ssl-ca={encoded}&ssl-cert={CERT}&ssl-key={KEY}"
        ));
        assert!(t.ca.is_some() && t.client.is_some());
        assert!(!format!("{t:?}").contains("BEGIN"));
        // What the client gets: no TLS, TLS without checks, TLS against the CA alone.
        let u = parse(&format!(
            "mysql://h/app?ssl-mode=VERIFY_IDENTITY&ssl-ca={CERT}"
        ))
        .unwrap();
        let o = u.client_opts(Duration::from_secs(1));
        let ssl = o.ssl_opts().expect("TLS options");
        assert!(
            ssl.disable_built_in_roots()
                && !ssl.accept_invalid_certs()
                && !ssl.skip_domain_validation()
        );
        assert!(u.plaintext_fallback(Duration::from_secs(1)).is_none());
        let u = parse("mysql://h/app?ssl-mode=REQUIRED").unwrap();
        assert!(u
            .client_opts(Duration::from_secs(1))
            .ssl_opts()
            .unwrap()
            .accept_invalid_certs());
        let u = parse("mysql://h/app").unwrap();
        assert!(u.client_opts(Duration::from_secs(1)).ssl_opts().is_some());
        let plain = u
            .plaintext_fallback(Duration::from_secs(1))
            .expect("PREFERRED falls back");
        assert!(plain.ssl_opts().is_none());
        assert!(parse("mysql://h/app?ssl-mode=DISABLED")
            .unwrap()
            .client_opts(Duration::from_secs(1))
            .ssl_opts()
            .is_none());
    }

    #[test]
    fn tls_refusals_name_the_setting_and_the_fix() {
        for (query, says) in [
            (
                "ssl-mode=VERIFY_CA".to_string(),
                "ssl-mode=VERIFY_CA is not supported yet",
            ),
            ("ssl-mode=bogus".into(), "ssl-mode=\"bogus\" is not one of"),
            (
                format!("ssl-mode=DISABLED&ssl-ca={CERT}"),
                "has no use with ssl-mode=DISABLED",
            ),
            (
                format!("ssl-mode=REQUIRED&ssl-ca={CERT}"),
                "use ssl-mode=VERIFY_IDENTITY",
            ),
            (
                format!("ssl-mode=PREFERRED&ssl-ca={CERT}"),
                "ssl-mode=PREFERRED, which does not check",
            ),
            (
                "ssl-ca=/nonexistent/ca.pem".into(),
                "ssl-ca=/nonexistent/ca.pem cannot be read",
            ),
            (format!("ssl-ca={KEY}"), "holds no PEM certificate"),
            (
                format!("ssl-mode=REQUIRED&ssl-cert={CERT}"),
                "add ssl-key=PATH",
            ),
            (
                format!("ssl-mode=REQUIRED&ssl-key={KEY}"),
                "add ssl-cert=PATH",
            ),
            (
                format!("ssl-mode=REQUIRED&ssl-cert={CERT}&ssl-key={CERT}"),
                "ssl-key=",
            ),
            ("require_ssl=true".into(), "use ssl-mode="),
            ("verify_ca=false".into(), "use ssl-mode="),
        ] {
            let url = format!("mysql://u:pw@h/app?{query}");
            let err = parse(&url).unwrap_err();
            assert!(err.contains(says), "{url}: {err}");
            assert!(!err.contains("pw@"), "{err}");
        }
    }
}
