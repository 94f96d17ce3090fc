//! `zookeeper://[user:password@]host:port[,host:port...][/chroot]` and the node paths of
//! elections under it.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};

pub(crate) const SCHEME: &str = "zookeeper://";
const DEFAULT_PORT: u16 = 2181;
const FORM: &str = "zookeeper://[user:password@]host:port[,host:port...][/chroot]";

/// A parsed ZooKeeper URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ZkUrl {
    /// `host:port,host:port`, as the client takes it (without the chroot: baton prefixes its
    /// paths itself, so that it can create the chroot).
    pub hosts: String,
    /// Digest credentials `user:password`, if any.
    pub digest: Option<String>,
    /// `""` or `/a/b` (no trailing slash).
    pub chroot: String,
}

/// Parses a `zookeeper://` URL; the error names the part that is wrong and the form to use.
pub(crate) fn parse(url: &str) -> Result<ZkUrl, String> {
    let shown = super::super::redact(url);
    let bad = |what: &str| format!("{shown} is not a valid ZooKeeper URL ({what}); use {FORM}");
    let rest = url
        .get(..SCHEME.len())
        .filter(|s| s.eq_ignore_ascii_case(SCHEME))
        .map(|_| &url[SCHEME.len()..])
        .ok_or_else(|| bad("it must start with zookeeper://"))?;
    let (authority, chroot) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    let (digest, hosts) = match authority.rsplit_once('@') {
        Some((auth, hosts)) => {
            let (user, password) = auth
                .split_once(':')
                .ok_or_else(|| bad("the credentials must be user:password"))?;
            let decode = |s: &str| percent_decode_str(s).decode_utf8().map(|c| c.into_owned());
            let user = decode(user).map_err(|_| bad("the user is not UTF-8"))?;
            let password = decode(password).map_err(|_| bad("the password is not UTF-8"))?;
            if user.is_empty() {
                return Err(bad("the user is empty"));
            }
            (Some(format!("{user}:{password}")), hosts)
        }
        None => (None, authority),
    };
    let mut list = Vec::new();
    for host in hosts.split(',').map(str::trim).filter(|h| !h.is_empty()) {
        let (name, port) = match host.rsplit_once(':') {
            Some((name, port)) => {
                let port: u16 = port
                    .parse()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| bad(&format!("{port:?} is not a port")))?;
                (name, port)
            }
            None => (host, DEFAULT_PORT),
        };
        if name.is_empty() {
            return Err(bad("a host is empty"));
        }
        list.push(format!("{name}:{port}"));
    }
    if list.is_empty() {
        return Err(bad("it names no host"));
    }
    if chroot.split('/').skip(1).any(|s| !valid_segment(s)) {
        return Err(bad(&format!(
            "the chroot {chroot:?} is not a ZooKeeper path: no empty, \".\" or \"..\" segments"
        )));
    }
    Ok(ZkUrl {
        hosts: list.join(","),
        digest,
        chroot: chroot.to_string(),
    })
}

fn valid_segment(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.chars().any(|c| c.is_control())
}

/// What a path segment may not hold as is: `/` separates segments, `%` is the escape, and
/// ZooKeeper refuses control characters (non-ASCII is escaped by the encoder anyway).
const ESCAPED: &AsciiSet = &CONTROLS.add(b'/').add(b'%');

/// One path segment for an arbitrary prefix or election name: percent-escaped, and never
/// empty, `.` or `..` (which ZooKeeper refuses).
pub(crate) fn segment(s: &str) -> String {
    let encoded = utf8_percent_encode(s, ESCAPED).to_string();
    match encoded.as_str() {
        "" => "%".into(),
        "." | ".." => encoded.replace('.', "%2E"),
        _ => encoded,
    }
}

/// The inverse of [`segment`].
pub(crate) fn unsegment(s: &str) -> String {
    if s == "%" {
        return String::new();
    }
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts_credentials_and_chroot() {
        let u = parse("zookeeper://u:p%40ss@a:1,b:2/apps/x/").unwrap();
        assert_eq!(u.hosts, "a:1,b:2");
        assert_eq!(u.digest.as_deref(), Some("u:p@ss"));
        assert_eq!(u.chroot, "/apps/x");
        let u = parse("ZooKeeper://h").unwrap();
        assert_eq!(
            (u.hosts.as_str(), u.digest, u.chroot.as_str()),
            ("h:2181", None, "")
        );
    }

    #[test]
    fn refuses_what_is_not_a_zookeeper_url_and_hides_the_password() {
        for bad in [
            "zookeeper://",
            "zookeeper://h:x",
            "zookeeper://h:0",
            "zookeeper://:1",
            "zookeeper://u@h:1",
            "zookeeper://:pw@h:1",
            "zookeeper://h:1//x",
            "zookeeper://h:1/a/../b",
        ] {
            let err = parse(bad).unwrap_err();
            assert!(
                err.contains("zookeeper://[user:password@]host:port"),
                "{err}"
            );
        }
        let err = parse("zookeeper://u:secret@h:x").unwrap_err();
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn segments_escape_and_round_trip() {
        for s in ["baton:", "a/b", "50%", "", ".", "..", "é", "a.b", "x\ny"] {
            let seg = segment(s);
            assert!(
                valid_segment(&seg) && !seg.contains('/'),
                "{s:?} -> {seg:?}"
            );
            assert_eq!(unsegment(&seg), s);
        }
        assert_eq!(segment("baton:"), "baton:");
        assert_eq!(segment("a/b"), "a%2Fb");
    }
}
