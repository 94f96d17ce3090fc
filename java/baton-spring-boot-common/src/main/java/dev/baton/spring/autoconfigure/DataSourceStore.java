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
 * {@code mysql://}, credentials percent-encoded. What would change where or how safely baton
 * connects and cannot be carried over (TLS, several hosts, failover protocols, sockets) is
 * refused with a {@link BatonStartupException}; the driver's tuning options (batching,
 * statement caches, time zones) do not concern baton's own connections and are left out.
 */
public final class DataSourceStore {
    static final String URL = "spring.datasource.url";

    /** Options that change where, as whom or how safely the driver connects: never dropped silently. */
    private static final Set<String> POSTGRES_REFUSED = Set.of("sslfactory", "socketfactory", "targetservertype",
        "loadbalancehosts", "options", "gssencmode", "gsslib", "jaasapplicationname", "service",
        "authenticationpluginclassname", "unixsocket", "sslnegotiation");
    private static final Set<String> MYSQL_REFUSED = Set.of("requiressl", "verifyservercertificate",
        "socketfactory", "authenticationplugins", "defaultauthenticationplugin", "pipe", "localsocket",
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
        String sslmode = q.remove("sslmode");
        String ssl = q.remove("ssl");
        // pgjdbc: ssl=true without sslmode means verify-full; its default is prefer.
        String mode = sslmode != null ? sslmode.toLowerCase(Locale.ROOT)
            : ssl != null && !ssl.equalsIgnoreCase("false") ? "verify-full" : null;
        if (mode != null) {
            switch (mode) {
                case "disable", "allow" -> append(opts, "sslmode", "disable");
                case "prefer" -> append(opts, "sslmode", "prefer");
                default -> throw refused(jdbcUrl, (sslmode != null ? "sslmode=" + sslmode : "ssl=" + ssl)
                    + " asks for TLS, which baton's PostgreSQL store does not do yet",
                    "use sslmode=disable or sslmode=prefer on a trusted network");
            }
        }
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
        String sslMode = q.remove("sslmode");
        if (sslMode != null) {
            String m = sslMode.toLowerCase(Locale.ROOT);
            // Connector/J's default PREFERRED falls back to plain, as baton does.
            if (!m.equals("disabled") && !m.equals("disable") && !m.equals("preferred")) {
                throw refused(jdbcUrl, "sslMode=" + sslMode + " asks for TLS, which baton's MySQL store does"
                    + " not do yet", "use sslMode=" + (maria ? "disable" : "DISABLED or PREFERRED")
                    + " on a trusted network");
            }
        }
        for (String key : new String[] {"usessl", "requiressl"}) {
            String v = q.remove(key);
            if (v != null && !v.equalsIgnoreCase("false")) {
                throw refused(jdbcUrl, key + "=" + v + " asks for TLS, which baton's MySQL store does not do yet",
                    "use " + key + "=false on a trusted network");
            }
        }
        refuseAny(jdbcUrl, q, MYSQL_REFUSED);
        return new StoreUrl((maria ? "mariadb://" : "mysql://") + credentials(user, pass) + p.hostPort() + "/"
            + encode(p.database), URL);
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
