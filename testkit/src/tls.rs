//! A `redis-server` that speaks TLS, with a private CA and certificates made for the test.
//!
//! The server listens on a plain port too (for the fixture's own commands and assertions such
//! as `CLIENT LIST`, which shows TLS clients as well) and on a TLS port for the client under
//! test. The CA, server and client certificates are made with `openssl` in a temp dir that
//! lives as long as the handle.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{free_port, RedisServer};

/// A private CA, a server certificate for 127.0.0.1/localhost and a client certificate.
pub struct TlsFiles {
    dir: tempfile::TempDir,
}

impl TlsFiles {
    /// Makes a new CA and certificates signed by it (EC P-256, valid for a day); the server's
    /// certificate is for 127.0.0.1 and localhost.
    pub fn create() -> TlsFiles {
        Self::create_for("IP:127.0.0.1,DNS:localhost")
    }

    /// Like [`TlsFiles::create`], with the server certificate's subjectAltName `server_san`
    /// (`"DNS:localhost"` makes 127.0.0.1 a host name the certificate does not hold).
    pub fn create_for(server_san: &str) -> TlsFiles {
        let dir = tempfile::tempdir().expect("temp dir for TLS files");
        let files = TlsFiles { dir };
        files.openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "1",
            "-subj",
            "/CN=baton test CA",
        ]);
        let server_ext = format!("subjectAltName={server_san}\nextendedKeyUsage=serverAuth");
        for (name, ext) in [
            ("server", server_ext.as_str()),
            ("client", "extendedKeyUsage=clientAuth"),
        ] {
            std::fs::write(files.path(&format!("{name}.ext")), ext).expect("write ext file");
            files.openssl(&[
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
                "-subj",
                &format!("/CN=baton test {name}"),
            ]);
            files.openssl(&[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "1",
                "-out",
                &format!("{name}.crt"),
                "-extfile",
                &format!("{name}.ext"),
            ]);
        }
        files
    }

    fn openssl(&self, args: &[&str]) {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .expect("openssl (scripts/deps.sh installs it)");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A file in the TLS dir: `ca.crt`, `server.crt`, `server.key`, `client.crt`, `client.key`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A file's contents (PEM).
    pub fn pem(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).expect("read PEM file")
    }

    /// Copies the CA, the server certificate and its key (mode 0600) into `dir`, owned by the
    /// system user `owner` when we are root (database servers read them as that user);
    /// returns the copies' paths: (ca.crt, server.crt, server.key).
    pub fn install_server_files(&self, dir: &Path, owner: &str) -> (PathBuf, PathBuf, PathBuf) {
        use std::os::unix::fs::PermissionsExt;
        let copy = |name: &str| {
            let to = dir.join(name);
            std::fs::copy(self.path(name), &to).expect("copy a TLS file for the server");
            std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600))
                .expect("chmod a TLS file");
            crate::postgres::chown_to(&to, owner);
            to
        };
        (copy("ca.crt"), copy("server.crt"), copy("server.key"))
    }

    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// A standalone `redis-server` with a TLS port whose clients must present a certificate
/// signed by the test CA (`tls-auth-clients yes`).
pub struct TlsRedis {
    pub server: RedisServer,
    pub files: TlsFiles,
    tls_port: u16,
}

impl TlsRedis {
    /// Starts the server; `auth_clients` is `yes`, `optional` or `no`.
    pub fn start(auth_clients: &str) -> TlsRedis {
        let files = TlsFiles::create();
        let tls_port = free_port();
        let (port, cert, key, ca) = (
            tls_port.to_string(),
            files.path("server.crt").display().to_string(),
            files.path("server.key").display().to_string(),
            files.path("ca.crt").display().to_string(),
        );
        let server = RedisServer::start_with(&[
            "--tls-port",
            &port,
            "--tls-cert-file",
            &cert,
            "--tls-key-file",
            &key,
            "--tls-ca-cert-file",
            &ca,
            "--tls-auth-clients",
            auth_clients,
        ]);
        TlsRedis {
            server,
            files,
            tls_port,
        }
    }

    /// `rediss://127.0.0.1:<tls port>`.
    pub fn url(&self) -> String {
        format!("rediss://127.0.0.1:{}", self.tls_port)
    }

    /// The names of the clients connected over TLS, from `CLIENT LIST` on the plain port.
    pub fn tls_client_names(&self) -> Vec<String> {
        let port = format!(":{}", self.tls_port);
        self.server
            .cmd(&["CLIENT", "LIST"])
            .lines()
            .filter(|l| l.contains(&format!("laddr=127.0.0.1{port}")))
            .filter_map(|l| {
                l.split(' ')
                    .find_map(|f| f.strip_prefix("name="))
                    .map(String::from)
            })
            .collect()
    }
}
