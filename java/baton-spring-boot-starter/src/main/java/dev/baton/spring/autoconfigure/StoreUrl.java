package dev.baton.spring.autoconfigure;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.springframework.boot.autoconfigure.data.redis.RedisConnectionDetails;
import org.springframework.boot.autoconfigure.data.redis.RedisProperties;
import org.springframework.util.StringUtils;

/**
 * baton's store URL, and the property it came from (for error messages). Derived from
 * {@code spring.data.redis.*} the way Spring Data Redis reads it: Sentinel first, then Cluster,
 * then {@code url}, then host/port. Credentials are percent-encoded (the core decodes them).
 *
 * @param url the store URL
 * @param source the property (or bean) that supplied it
 */
record StoreUrl(String url, String source) {
    static final String SENTINEL = "spring.data.redis.sentinel";

    /** From the connection details Spring Boot's Redis auto-configuration (or a service connection) provides. */
    static StoreUrl of(RedisConnectionDetails details, RedisProperties properties) {
        String source = source(details, properties);
        boolean urlTls = properties != null && properties.getUrl() != null
            && properties.getUrl().startsWith("rediss://");
        if (details.getSentinel() != null) {
            RedisConnectionDetails.Sentinel t = details.getSentinel();
            List<String> nodes = t.getNodes().stream().map(n -> hostPort(n.host(), n.port())).toList();
            return sentinel(t.getSslBundle() != null || urlTls, StringUtils.hasLength(t.getPassword()),
                details.getUsername(), details.getPassword(), nodes, t.getMaster(), t.getDatabase(), source);
        }
        if (details.getCluster() != null) {
            RedisConnectionDetails.Cluster c = details.getCluster();
            List<String> seeds = c.getNodes().stream()
                .map(n -> url(c.getSslBundle() != null || urlTls, details.getUsername(), details.getPassword(),
                    n.host(), n.port(), 0))
                .toList();
            return new StoreUrl(String.join(",", seeds), source);
        }
        RedisConnectionDetails.Standalone s = details.getStandalone();
        return new StoreUrl(url(s.getSslBundle() != null || urlTls, details.getUsername(), details.getPassword(),
            s.getHost(), s.getPort(), s.getDatabase()), source);
    }

    /** From {@code spring.data.redis.*} alone, when Spring Data Redis is not on the classpath. */
    static StoreUrl of(RedisProperties p) {
        boolean tls = p.getSsl().isEnabled();
        if (p.getSentinel() != null) {
            RedisProperties.Sentinel t = p.getSentinel();
            return sentinel(tls, StringUtils.hasLength(t.getPassword()), p.getUsername(), p.getPassword(),
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

    /** Which properties (or which bean) the connection details come from, for messages. */
    private static String source(RedisConnectionDetails details, RedisProperties p) {
        // Spring Boot's own details read spring.data.redis.*; any other bean is a service connection.
        if (!details.getClass().getSimpleName().equals("PropertiesRedisConnectionDetails")) {
            return "the RedisConnectionDetails bean " + details.getClass().getName();
        }
        if (p == null) {
            return "spring.data.redis.* (defaults)";
        }
        if (p.getSentinel() != null) {
            return SENTINEL + ".*";
        }
        if (p.getCluster() != null) {
            return "spring.data.redis.cluster.nodes";
        }
        return StringUtils.hasText(p.getUrl()) ? "spring.data.redis.url" : "spring.data.redis.host/port";
    }

    /** {@code redis+sentinel://[user:password@]host:port[,host:port...]/MASTER[/DB]}, the master's credentials. */
    private static StoreUrl sentinel(boolean tls, boolean sentinelAuth, String username, String password,
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

    /** The URL with any password hidden, for messages. */
    String redacted() {
        if (url.startsWith("redis+sentinel://")) {
            return hide(url); // one URL: its commas separate sentinels
        }
        return Arrays.stream(url.split(",")).map(StoreUrl::hide).collect(Collectors.joining(","));
    }

    private static String hide(String url) {
        return url.replaceFirst("^([\\w+]+://[^:@/]*:).*@", "$1***@");
    }
}
