package dev.baton.spring.autoconfigure;

import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.springframework.util.StringUtils;

/**
 * baton's store URL from {@code spring.datasource.url} (a JDBC URL of PostgreSQL, MySQL or
 * MariaDB) and {@code spring.datasource.username/password}: {@code postgres://} or
 * {@code mysql://}, credentials percent-encoded, TLS options mapped to baton's (libpq's
 * {@code sslmode}/{@code sslrootcert}, MySQL's {@code ssl-mode}/{@code ssl-ca}). What would change
 * where or how safely baton connects and cannot be carried over (Java key stores, several hosts,
 * failover protocols, sockets) is refused with a {@link BatonStartupException}; the driver's tuning options (batching,
 * statement caches, time zones) do not concern baton's own connections and are left out.
 */
public final class DataSourceStore {
    static final String URL = "spring.datasource.url";

    /** Options that change where, as whom or how safely the driver connects: never dropped silently. */
    private static final Set<String> POSTGRES_REFUSED = Set.of("sslfactory", "socketfactory", "targetservertype",
        "loadbalancehosts", "options", "gssencmode", "gsslib", "jaasapplicationname", "service",
        "authenticationpluginclassname", "unixsocket", "sslnegotiation", "sslpassword", "sslpasswordcallback",
        "sslhostnameverifier", "sslfactoryarg");
    private static final Set<String> MYSQL_REFUSED = Set.of("socketfactory", "authenticationplugins", "defaultauthenticationplugin", "pipe", "localsocket",
        "localsocketaddress", "credentialtype", "restrictedauth");

    private DataSourceStore() {}

    /**
     * The store for a JDBC URL, or null when it is no database baton can use (H2, Oracle, ...).
     *
     * @param jdbcUrl {@code spring.datasource.url}
     * @param username {@code spring.datasource.username}, or null
     * @param password {@code spring.datasource.password}, or null
     * @return the store, or null for a database baton has no store for
     * @throws BatonStartupException for a PostgreSQL/MySQL/MariaDB URL with settings baton cannot carry over
     */
    public static StoreUrl of(String jdbcUrl, String username, String password) {
        if (!StringUtils.hasText(jdbcUrl)) {
            return null;
        }
        String url = jdbcUrl.trim();
        String lower = url.toLowerCase(Locale.ROOT);
        if (lower.startsWith("jdbc:postgresql:")) {
            return postgres(url, url.substring("jdbc:postgresql:".length()), username, password);
        }
        if (lower.startsWith("jdbc:mysql:") || lower.startsWith("jdbc:mariadb:")) {
            boolean maria = lower.startsWith("jdbc:mariadb:");
            return mysql(url, url.substring(maria ? "jdbc:mariadb:".length() : "jdbc:mysql:".length()), maria,
                username, password);
        }
        return null;
    }

    /** Whether a JDBC URL names a database that has a baton store (for messages). */
    static boolean supported(String jdbcUrl) {
        String lower = jdbcUrl == null ? "" : jdbcUrl.trim().toLowerCase(Locale.ROOT);
        return lower.startsWith("jdbc:postgresql:") || lower.startsWith("jdbc:mysql:")
            || lower.startsWith("jdbc:mariadb:");
    }

    /** pgjdbc: {@code jdbc:postgresql:[//host[:port][,host[:port]...]/]database[?k=v&...]}. */
    private static StoreUrl postgres(String jdbcUrl, String rest, String username, String password) {
        Parts p = parts(jdbcUrl, rest, "localhost", 5432, "postgres");
        Map<String, String> q = p.query;
        String user = pick(username, q.remove("user"));
        String pass = pick(password, q.remove("password"));
        StringBuilder opts = new StringBuilder();
        postgresTls(jdbcUrl, q, opts);
        String app = q.remove("applicationname");
        if (StringUtils.hasText(app)) {
            append(opts, "application_name", app);
        }
        String timeout = q.remove("connecttimeout");
        if (StringUtils.hasText(timeout)) {
            append(opts, "connect_timeout", timeout.trim()); // seconds in both
        }
        String schema = q.remove("currentschema");
        if (StringUtils.hasText(schema)) {
            String s = schema.trim();
            if (!s.matches("[a-z_][a-z0-9_]{0,62}")) {
                throw refused(jdbcUrl, "currentSchema=" + schema + " is not a schema name baton can put its"
                    + " lease table in (lower-case letters, digits and _)",
                    "set baton.store=postgres://...?table=SCHEMA.baton_leases (docs/postgres.md)");
            }
            append(opts, "table", s + ".baton_leases"); // the application's schema, where its user may create
        }
        refuseAny(jdbcUrl, q, POSTGRES_REFUSED);
        return new StoreUrl("postgres://" + credentials(user, pass) + p.hostPort() + "/" + encode(p.database) + opts,
            URL);
    }

    /**
     * pgjdbc's TLS options as libpq's, which baton's URL takes: {@code sslmode} (pgjdbc's default
     * {@code prefer}; {@code ssl=true} alone means {@code verify-full}), {@code sslrootcert},
     * {@code sslcert}, {@code sslkey} (PEM files; baton reads them when the election is built).
     * pgjdbc's default files under {@code ~/.postgresql/} are not looked for: a verifying mode
     * without {@code sslrootcert} is refused.
     */
    private static void postgresTls(String jdbcUrl, Map<String, String> q, StringBuilder opts) {
        String sslmode = q.remove("sslmode");
        String ssl = q.remove("ssl");
        String mode = sslmode != null ? sslmode.toLowerCase(Locale.ROOT)
            : ssl != null && !ssl.equalsIgnoreCase("false") ? "verify-full" : null;
        String given = sslmode != null ? "sslmode=" + sslmode : "ssl=" + ssl;
        String rootcert = q.remove("sslrootcert");
        String cert = q.remove("sslcert");
        String key = q.remove("sslkey");
        if (mode != null) {
            switch (mode) {
                case "disable" -> append(opts, "sslmode", "disable");
                // allow tries plaintext first; prefer connects wherever allow does, encrypted when it can.
                case "allow", "prefer" -> append(opts, "sslmode", "prefer");
                case "require", "verify-ca", "verify-full" -> {
                    if (!mode.equals("require") && !StringUtils.hasText(rootcert)) {
                        throw refused(jdbcUrl, given + " checks the server's certificate against a CA, and baton does"
                            + " not read pgjdbc's default ~/.postgresql/root.crt",
                            "add sslrootcert=/path/to/ca.pem (the PEM file of the CA that signed the server's"
                                + " certificate) to spring.datasource.url");
                    }
                    append(opts, "sslmode", mode);
                }
                default -> throw refused(jdbcUrl, given + " is not a mode baton knows",
                    "use sslmode=disable, prefer, require, verify-ca or verify-full");
            }
        }
        if (StringUtils.hasText(rootcert)) {
            if (mode == null || mode.equals("prefer") || mode.equals("allow") || mode.equals("disable")) {
                throw refused(jdbcUrl, "sslrootcert=" + rootcert + " is given, but " + (mode == null
                    ? "no sslmode, and pgjdbc's default prefer" : given) + " does not check the server's certificate",
                    "add sslmode=verify-full (or verify-ca) to spring.datasource.url, or remove sslrootcert");
            }
            append(opts, "sslrootcert", rootcert);
        }
        if (StringUtils.hasText(cert) || StringUtils.hasText(key)) {
            if ("disable".equals(mode)) {
                throw refused(jdbcUrl, "sslcert/sslkey are given with sslmode=disable",
                    "remove them, or use sslmode=verify-full");
            }
            if (StringUtils.hasText(cert)) {
                append(opts, "sslcert", cert);
            }
            if (StringUtils.hasText(key)) {
                append(opts, "sslkey", key); // a PEM key: baton refuses pgjdbc's DER .pk8 at build, saying how to convert
            }
        }
    }

    /**
     * Connector/J ({@code sslMode=DISABLED|PREFERRED|REQUIRED|VERIFY_CA|VERIFY_IDENTITY}, or the
     * older {@code useSSL}/{@code requireSSL}) and MariaDB Connector/J ({@code sslMode=disable|trust|
     * verify-ca|verify-full}, {@code serverSslCert=/path/ca.pem}) to baton's {@code ssl-mode} and
     * {@code ssl-ca}. Java key stores cannot be carried over (baton reads PEM).
     */
    private static void mysqlTls(String jdbcUrl, Map<String, String> q, StringBuilder opts) {
        String sslMode = q.remove("sslmode");
        String useSsl = q.remove("usessl");
        String requireSsl = q.remove("requiressl");
        String verify = q.remove("verifyservercertificate");
        String serverCert = q.remove("serversslcert");
        for (String store : new String[] {"trustcertificatekeystoreurl", "clientcertificatekeystoreurl", "keystore",
            "truststore"}) {
            String v = q.remove(store);
            if (StringUtils.hasText(v)) {
                throw refused(jdbcUrl, "its option " + store + "=" + v + " names a Java key store, which baton's"
                    + " native client cannot read", "set baton.store=mysql://user:password@host:3306/db"
                    + "?ssl-mode=VERIFY_IDENTITY&ssl-ca=/path/to/ca.pem with the CA as a PEM file");
            }
        }
        String mode;
        String given;
        if (sslMode != null) {
            given = "sslMode=" + sslMode;
            mode = switch (sslMode.toLowerCase(Locale.ROOT)) {
                case "disabled", "disable" -> "DISABLED";
                case "preferred" -> "PREFERRED";
                case "required", "trust" -> "REQUIRED";
                case "verify_identity", "verify-full" -> "VERIFY_IDENTITY";
                case "verify_ca", "verify-ca" -> throw refused(jdbcUrl, given + " checks the CA without the host"
                    + " name, which baton's MySQL store cannot do yet", "use sslMode=VERIFY_IDENTITY (MariaDB:"
                    + " verify-full) with a server certificate issued for the host in spring.datasource.url");
                default -> throw refused(jdbcUrl, given + " is not a mode baton knows",
                    "use sslMode=DISABLED, PREFERRED, REQUIRED or VERIFY_IDENTITY");
            };
        } else if (verify != null && !verify.equalsIgnoreCase("false")) {
            throw refused(jdbcUrl, "verifyServerCertificate=" + verify + " checks the CA without the host name,"
                + " which baton's MySQL store cannot do yet", "use sslMode=VERIFY_IDENTITY instead");
        } else if (requireSsl != null && !requireSsl.equalsIgnoreCase("false")) {
            given = "requireSSL=" + requireSsl;
            mode = "REQUIRED";
        } else if (useSsl != null) {
            given = "useSSL=" + useSsl;
            mode = useSsl.equalsIgnoreCase("false") ? "DISABLED" : "PREFERRED";
        } else {
            given = null;
            mode = null;
        }
        if (StringUtils.hasText(serverCert)) {
            if (serverCert.startsWith("-----") || serverCert.startsWith("classpath:")) {
                throw refused(jdbcUrl, "serverSslCert holds the certificate itself or a class path resource",
                    "give it as a file path (serverSslCert=/path/to/ca.pem)");
            }
            if (mode != null && !mode.equals("VERIFY_IDENTITY")) {
                throw refused(jdbcUrl, "serverSslCert is given, but " + given + " does not check the server's"
                    + " certificate", "use sslMode=verify-full, or remove serverSslCert");
            }
            mode = "VERIFY_IDENTITY";
        }
        // Connector/J's default PREFERRED is baton's default as well: only a choice is written out.
        if (mode != null && !mode.equals("PREFERRED")) {
            append(opts, "ssl-mode", mode);
        }
        if (StringUtils.hasText(serverCert)) {
            append(opts, "ssl-ca", serverCert);
        }
    }

    /**
     * Connector/J: {@code jdbc:mysql://host[:port]/database[?k=v&...]}; MariaDB Connector/J:
     * {@code jdbc:mariadb://...}. Their failover forms ({@code jdbc:mysql:loadbalance://},
     * {@code jdbc:mariadb:replication://}, {@code address=(...)}) are refused.
     */
    private static StoreUrl mysql(String jdbcUrl, String rest, boolean maria, String username, String password) {
        if (!rest.startsWith("//")) {
            throw refused(jdbcUrl, "a " + (maria ? "MariaDB" : "MySQL") + " URL with a failover or"
                + " load-balancing mode (" + rest.split("//", 2)[0] + ") names several servers",
                "point spring.datasource.url at one server, or set baton.store=mysql://user:password@host:3306/db");
        }
        if (rest.contains("(")) {
            throw refused(jdbcUrl, "the address=(...) form of a host", "use host:port");
        }
        Parts p = parts(jdbcUrl, rest, "localhost", 3306, null);
        if (p.database == null) {
            throw refused(jdbcUrl, "it names no database, and baton keeps its lease table in one",
                "add the database to spring.datasource.url (jdbc:" + (maria ? "mariadb" : "mysql")
                    + "://host:3306/DATABASE)");
        }
        Map<String, String> q = p.query;
        String user = pick(username, q.remove("user"));
        String pass = pick(password, q.remove("password"));
        StringBuilder opts = new StringBuilder();
        mysqlTls(jdbcUrl, q, opts);
        refuseAny(jdbcUrl, q, MYSQL_REFUSED);
        return new StoreUrl((maria ? "mariadb://" : "mysql://") + credentials(user, pass) + p.hostPort() + "/"
            + encode(p.database) + opts, URL);
    }

    private record Parts(String host, int port, String database, Map<String, String> query) {
        String hostPort() {
            return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
        }
    }

    /** Splits {@code //host[:port]/database?query} (or pgjdbc's bare {@code database?query}). */
    private static Parts parts(String jdbcUrl, String rest, String defaultHost, int defaultPort, String defaultDb) {
        String main = rest;
        String query = "";
        int qm = rest.indexOf('?');
        if (qm >= 0) {
            main = rest.substring(0, qm);
            query = rest.substring(qm + 1);
        }
        String host = defaultHost;
        int port = defaultPort;
        String database;
        if (main.startsWith("//")) {
            String auth = main.substring(2);
            int slash = auth.indexOf('/');
            database = slash < 0 ? null : auth.substring(slash + 1);
            auth = slash < 0 ? auth : auth.substring(0, slash);
            if (auth.contains(",")) {
                throw refused(jdbcUrl, "it names several servers (" + auth + "), and baton connects to one",
                    "point spring.datasource.url at the primary, or set baton.store to its URL");
            }
            if (auth.contains("@")) {
                throw refused(jdbcUrl, "credentials inside the host part", "use spring.datasource.username and"
                    + " spring.datasource.password");
            }
            String portText = null;
            if (auth.startsWith("[")) {
                int close = auth.indexOf(']');
                host = auth.substring(1, close);
                if (auth.length() > close + 1 && auth.charAt(close + 1) == ':') {
                    portText = auth.substring(close + 2);
                }
            } else if (!auth.isEmpty()) {
                int colon = auth.lastIndexOf(':');
                host = colon < 0 ? auth : auth.substring(0, colon);
                portText = colon < 0 ? null : auth.substring(colon + 1);
            }
            if (StringUtils.hasText(portText)) {
                try {
                    port = Integer.parseInt(portText);
                } catch (NumberFormatException e) {
                    throw refused(jdbcUrl, "its port " + portText + " is not a number", "fix the port");
                }
            }
        } else {
            database = main.startsWith("/") ? main.substring(1) : main;
        }
        if (database != null) {
            database = decode(database);
        }
        if (!StringUtils.hasText(database)) {
            database = defaultDb;
        }
        Map<String, String> q = new LinkedHashMap<>();
        for (String pair : query.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String key = eq < 0 ? pair : pair.substring(0, eq);
            q.put(decode(key).toLowerCase(Locale.ROOT), eq < 0 ? "" : decode(pair.substring(eq + 1)));
        }
        return new Parts(host, port, database, q);
    }

    private static void refuseAny(String jdbcUrl, Map<String, String> q, Set<String> refused) {
        for (Map.Entry<String, String> e : q.entrySet()) {
            if (refused.contains(e.getKey()) || e.getKey().startsWith("ha.")) {
                throw refused(jdbcUrl, "its option " + e.getKey() + "=" + e.getValue() + " changes how the driver"
                    + " connects, which baton's own connection cannot do", "remove it, or set baton.store");
            }
        }
    }

    private static BatonStartupException refused(String jdbcUrl, String why, String fix) {
        return new BatonStartupException("baton cannot derive its store from " + URL + "=" + redact(jdbcUrl)
            + ": " + why + ".", "Either " + fix + "; or set baton.store to a store URL (docs/postgres.md,"
            + " docs/mysql.md); or set baton.store-from=redis to use spring.data.redis.* instead;"
            + " or set baton.enabled=false.");
    }

    /** The JDBC URL without a {@code password=} option's value. */
    static String redact(String jdbcUrl) {
        return jdbcUrl.replaceAll("(?i)([?&]password=)[^&]*", "$1***");
    }

    private static String credentials(String user, String pass) {
        if (!StringUtils.hasLength(user) && !StringUtils.hasLength(pass)) {
            return "";
        }
        return (user == null ? "" : encode(user)) + (StringUtils.hasLength(pass) ? ":" + encode(pass) : "") + "@";
    }

    private static void append(StringBuilder opts, String key, String value) {
        opts.append(opts.isEmpty() ? '?' : '&').append(key).append('=').append(encode(value));
    }

    private static String pick(String property, String fromUrl) {
        return StringUtils.hasLength(property) ? property : fromUrl;
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static String decode(String s) {
        return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
    }
}
