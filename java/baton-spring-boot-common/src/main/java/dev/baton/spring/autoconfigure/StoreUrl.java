package dev.baton.spring.autoconfigure;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.springframework.util.StringUtils;

/**
 * baton's store URL, and the property it came from (for error messages). Derived from
 * {@code spring.data.redis.*} the way Spring Data Redis reads it: Sentinel first, then Cluster,
 * then {@code url}, then host/port. Credentials are percent-encoded (the core decodes them).
 *
 * @param url the store URL
 * @param source the property (or bean) that supplied it
 */
public record StoreUrl(String url, String source) {
    static final String SENTINEL = "spring.data.redis.sentinel";
    /** The source of Spring Data Redis's defaults: nothing about Redis was configured. */
    static final String REDIS_DEFAULTS = "spring.data.redis.* (defaults)";

    /**
     * One Redis node of a connection-details object.
     *
     * @param host the host
     * @param port the port
     */
    public record Node(String host, int port) {}

    /**
     * A single Redis server.
     *
     * @param tls whether to use TLS
     * @param username the user, or null
     * @param password the password, or null
     * @param host the host
     * @param port the port
     * @param database the database number
     * @param source where these come from, for messages
     * @return the store
     */
    public static StoreUrl standalone(boolean tls, String username, String password, String host, int port,
            int database, String source) {
        return new StoreUrl(url(tls, username, password, host, port, database), source);
    }

    /**
     * A Redis Cluster, by its seed nodes.
     *
     * @param tls whether to use TLS
     * @param username the user, or null
     * @param password the password, or null
     * @param nodes the seeds
     * @param source where these come from, for messages
     * @return the store
     */
    public static StoreUrl cluster(boolean tls, String username, String password, List<Node> nodes, String source) {
        return new StoreUrl(nodes.stream().map(n -> url(tls, username, password, n.host(), n.port(), 0))
            .collect(Collectors.joining(",")), source);
    }

    /**
     * A Redis master found through Sentinel; refused with a {@link BatonStartupException} for
     * what baton's Sentinel support cannot do (TLS, a password on the sentinels).
     *
     * @param tls whether TLS is configured
     * @param sentinelAuth whether the sentinels themselves have a password
     * @param username the master's user, or null
     * @param password the master's password, or null
     * @param nodes the sentinels
     * @param master the master's name
     * @param database the database number
     * @param source where these come from, for messages
     * @return the store
     */
    public static StoreUrl sentinel(boolean tls, boolean sentinelAuth, String username, String password,
            List<Node> nodes, String master, int database, String source) {
        return sentinelUrl(tls, sentinelAuth, username, password,
            nodes.stream().map(n -> hostPort(n.host(), n.port())).toList(), master, database, source);
    }

    /**
     * Which properties (or which bean) connection details come from, for messages.
     *
     * @param detailsClass the connection details' class
     * @param p {@code spring.data.redis.*}, or null
     * @return for example {@code spring.data.redis.url}
     */
    public static String source(Class<?> detailsClass, RedisSettings p) {
        // Spring Boot's own details read spring.data.redis.*; any other bean is a service connection.
        if (!detailsClass.getSimpleName().endsWith("PropertiesRedisConnectionDetails")
                && !detailsClass.getSimpleName().equals("PropertiesDataRedisConnectionDetails")) {
            return "the connection details bean " + detailsClass.getName();
        }
        if (p == null) {
            return REDIS_DEFAULTS;
        }
        if (p.getSentinel() != null) {
            return SENTINEL + ".*";
        }
        if (p.getCluster() != null) {
            return "spring.data.redis.cluster.nodes";
        }
        return StringUtils.hasText(p.getUrl()) ? "spring.data.redis.url" : "spring.data.redis.host/port";
    }

    /**
     * Whether {@code spring.data.redis.url} asks for TLS ({@code rediss://}) or
     * {@code spring.data.redis.ssl} is on.
     *
     * @param p {@code spring.data.redis.*}, or null
     * @return true for TLS
     */
    public static boolean tls(RedisSettings p) {
        return p != null && (p.getSsl().isEnabled() || (p.getUrl() != null && p.getUrl().trim().startsWith("rediss://")));
    }

    /** From {@code spring.data.redis.*} alone, when no connection details are available. */
    static StoreUrl of(RedisSettings p) {
        boolean tls = p.getSsl().isEnabled();
        if (p.getSentinel() != null) {
            RedisSettings.Sentinel t = p.getSentinel();
            return sentinelUrl(tls, StringUtils.hasLength(t.getPassword()), p.getUsername(), p.getPassword(),
                t.getNodes() == null ? List.of() : t.getNodes(), t.getMaster(), p.getDatabase(), SENTINEL + ".*");
        }
        if (p.getCluster() != null && p.getCluster().getNodes() != null && !p.getCluster().getNodes().isEmpty()) {
            String seeds = p.getCluster().getNodes().stream()
                .map(node -> {
                    int colon = node.lastIndexOf(':');
                    return url(tls, p.getUsername(), p.getPassword(), node.substring(0, colon),
                        Integer.parseInt(node.substring(colon + 1)), 0);
                })
                .collect(Collectors.joining(","));
            return new StoreUrl(seeds, "spring.data.redis.cluster.nodes");
        }
        if (StringUtils.hasText(p.getUrl())) {
            String u = p.getUrl().trim();
            if (tls && u.startsWith("redis://")) {
                u = "rediss://" + u.substring("redis://".length());
            }
            return new StoreUrl(u, "spring.data.redis.url");
        }
        return new StoreUrl(url(tls, p.getUsername(), p.getPassword(), p.getHost(), p.getPort(), p.getDatabase()),
            "spring.data.redis.host/port");
    }

    /** {@code redis+sentinel://[user:password@]host:port[,host:port...]/MASTER[/DB]}, the master's credentials. */
    private static StoreUrl sentinelUrl(boolean tls, boolean sentinelAuth, String username, String password,
            List<String> nodes, String master, int database, String source) {
        if (tls || sentinelAuth) {
            throw new BatonStartupException(SENTINEL + ".* configures Redis Sentinel "
                + (tls ? "over TLS" : "with a password for the sentinels themselves (" + SENTINEL + ".password)")
                + ", which baton's Sentinel support does not do yet.",
                "Set baton.store to the Redis master's URL (rediss://host:port), so that baton does not derive"
                    + " its store from " + SENTINEL + ".*.");
        }
        if (!StringUtils.hasText(master) || nodes.isEmpty()) {
            throw new BatonStartupException(SENTINEL + ".* configures Redis Sentinel without "
                + (nodes.isEmpty() ? "nodes" : "a master name") + ".",
                "Set " + SENTINEL + ".master and " + SENTINEL + ".nodes, or set baton.store.");
        }
        StringBuilder b = new StringBuilder("redis+sentinel://");
        if (StringUtils.hasLength(username) || StringUtils.hasLength(password)) {
            b.append(username == null ? "" : encode(username)).append(':')
                .append(password == null ? "" : encode(password)).append('@');
        }
        b.append(String.join(",", nodes)).append('/').append(master);
        if (database != 0) {
            b.append('/').append(database);
        }
        return new StoreUrl(b.toString(), source);
    }

    private static String hostPort(String host, int port) {
        return (host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + port;
    }

    /** {@code redis[s]://[user:password@]host:port[/db]}, with the credentials percent-encoded. */
    static String url(boolean tls, String username, String password, String host, int port, int database) {
        StringBuilder b = new StringBuilder(tls ? "rediss://" : "redis://");
        if (StringUtils.hasLength(username) || StringUtils.hasLength(password)) {
            if (StringUtils.hasLength(username)) {
                b.append(encode(username));
            }
            if (StringUtils.hasLength(password)) {
                b.append(':').append(encode(password));
            }
            b.append('@');
        }
        b.append(hostPort(host, port));
        if (database != 0) {
            b.append('/').append(database);
        }
        return b.toString();
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    /**
     * The URL with any password hidden, for messages.
     *
     * @return the URL, without its password
     */
    public String redacted() {
        if (url.startsWith("redis+sentinel://")) {
            return hide(url); // one URL: its commas separate sentinels
        }
        return Arrays.stream(url.split(",")).map(StoreUrl::hide).collect(Collectors.joining(","));
    }

    private static String hide(String url) {
        return url.replaceFirst("^([\\w+]+://[^:@/]*:).*@", "$1***@");
    }
}
