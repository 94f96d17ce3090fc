//! `mysql://` / `mariadb://` URLs: the client's URL form, plus baton's own query options
//! (`table`, `create_table`), which are taken out before the rest goes to the client.

use std::time::Duration;

use mysql_async::{Opts, OptsBuilder};

const FORM: &str =
    "mysql://[user[:password]@]host[:port]/database[?table=NAME&create_table=false] (or mariadb://)";

/// The default lease table.
pub(crate) const DEFAULT_TABLE: &str = "baton_leases";

/// A parsed MySQL/MariaDB store URL.
#[derive(Debug, Clone)]
pub(crate) struct MyUrl {
    pub opts: Opts,
    /// The lease table in the URL's database (a lower-case identifier).
    pub table: String,
    pub create_table: bool,
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
        OptsBuilder::from_opts(self.opts.clone())
            // A lock held longer than this is a stuck transaction: fail fast and retry.
            .init(vec![
                "SET time_zone = '+00:00'",
                "SET innodb_lock_wait_timeout = 2",
            ])
            .client_found_rows(true)
            .tcp_keepalive(Some((timeout / 3).max(Duration::from_secs(1))))
            .prefer_socket(false)
            .into()
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
    let mut others = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
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
    Ok(MyUrl {
        opts,
        table,
        create_table,
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
}
