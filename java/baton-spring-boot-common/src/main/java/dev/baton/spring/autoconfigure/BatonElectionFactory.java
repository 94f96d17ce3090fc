package dev.baton.spring.autoconfigure;

import dev.baton.ConfigurationException;
import dev.baton.LeaderElection;
import dev.baton.LeaderInfo;
import dev.baton.NativeLoader;
import dev.baton.StoreAuthenticationException;
import dev.baton.StoreUnreachableException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.springframework.boot.context.properties.bind.BindResult;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.convert.DurationStyle;
import org.springframework.boot.ssl.SslBundle;
import org.springframework.core.env.Environment;
import org.springframework.util.StringUtils;

/**
 * Builds elections from the {@code baton.*} properties, on the store that {@code baton.store} or
 * {@code spring.data.redis.*} names, applying every {@link LeaderElectionCustomizer}. Broken
 * settings and an unreachable store become a {@link BatonStartupException} naming the property.
 */
public class BatonElectionFactory {
    private static final Log LOG = LogFactory.getLog(BatonElectionFactory.class);
    private final BatonProperties properties;
    private final Environment environment;
    private final Supplier<RedisConnectionDetailsStore> connectionDetails;
    private final List<LeaderElectionCustomizer> customizers;
    private final Function<String, SslBundle> sslBundles;
    private volatile Supplier<JdbcConnectionDetailsStore> jdbcConnectionDetails = () -> null;
    private volatile StoreUrl store;
    private volatile SslBundlePem tls;

    /**
     * Creates the factory.
     *
     * @param properties the {@code baton.*} properties
     * @param environment the environment, for {@code spring.data.redis.*} and {@code spring.application.name}
     * @param connectionDetails reads Spring Boot's Redis connection details, or a supplier of null
     * @param customizers applied to every builder, in order
     */
    public BatonElectionFactory(BatonProperties properties, Environment environment,
            Supplier<RedisConnectionDetailsStore> connectionDetails, List<LeaderElectionCustomizer> customizers) {
        this(properties, environment, connectionDetails, customizers, null);
    }

    /**
     * Creates the factory with access to Spring's SSL bundles.
     *
     * @param properties the {@code baton.*} properties
     * @param environment the environment, for {@code spring.data.redis.*} and {@code spring.application.name}
     * @param connectionDetails reads Spring Boot's Redis connection details, or a supplier of null
     * @param customizers applied to every builder, in order
     * @param sslBundles looks a bundle up by name ({@code SslBundles::getBundle}), or null without bundles
     */
    public BatonElectionFactory(BatonProperties properties, Environment environment,
            Supplier<RedisConnectionDetailsStore> connectionDetails, List<LeaderElectionCustomizer> customizers,
            Function<String, SslBundle> sslBundles) {
        this.properties = properties;
        this.environment = environment;
        this.connectionDetails = connectionDetails;
        this.customizers = List.copyOf(customizers);
        this.sslBundles = sslBundles;
    }

    /**
     * Reads a JDBC service connection (Testcontainers, Docker Compose) where spring.datasource.*
     * would be read: it takes the place of those properties.
     *
     * @param details reads Spring Boot's JDBC connection details, or a supplier of null
     * @return this factory
     */
    public BatonElectionFactory jdbcConnectionDetails(Supplier<JdbcConnectionDetailsStore> details) {
        this.jdbcConnectionDetails = details;
        return this;
    }

    /**
     * The default election's name: {@code baton.name}, else {@code spring.application.name}.
     *
     * @return the name, or null when neither is set
     */
    public String defaultName() {
        return defaultName(properties, environment);
    }

    static String defaultName(BatonProperties properties, Environment environment) {
        if (StringUtils.hasText(properties.getName())) {
            return properties.getName();
        }
        String app = environment.getProperty("spring.application.name");
        return StringUtils.hasText(app) ? app : null;
    }

    /**
     * The store URL every election uses.
     *
     * @return the URL, password included
     * @throws BatonStartupException if no store is configured or it is a Sentinel setup
     */
    public String storeUrl() {
        return store().url();
    }

    /**
     * The store URL with any password hidden, and the property it came from.
     *
     * @return for example {@code redis://app:***@redis:6379 (from spring.data.redis.url)}
     * @throws BatonStartupException if no store is configured or it is a Sentinel setup
     */
    public String storeDescription() {
        StoreUrl s = store();
        return s.redacted() + " (from " + s.source() + ")";
    }

    /**
     * Builds and starts an election.
     *
     * @param name the election's name
     * @return the election, campaigning
     * @throws BatonStartupException if a setting is invalid or the store cannot be reached
     */
    public LeaderElection create(String name) {
        StoreUrl s = store();
        LeaderElection.Builder builder;
        try {
            builder = builder(s, name, true);
        } catch (IllegalArgumentException e) {
            throw invalid(name, e);
        }
        releaseOnContextClose();
        try {
            return builder.build();
        } catch (ConfigurationException e) {
            throw invalid(name, e);
        } catch (StoreAuthenticationException e) {
            throw refused(s, name, e);
        } catch (StoreUnreachableException e) {
            throw unreachable(s, name, e);
        }
    }

    /**
     * Reads who leads an election straight from the store: a reachability check for health.
     *
     * @param name the election's name
     * @return the leader, or empty if nobody leads
     * @throws StoreUnreachableException if the store cannot be reached
     */
    public Optional<LeaderInfo> readLeader(String name) {
        return builder(store(), name, false).currentLeader();
    }

    private LeaderElection.Builder builder(StoreUrl s, String name, boolean customize) {
        BatonProperties.Election own = properties.getElections().get(name);
        LeaderElection.Builder b = LeaderElection.builder(s.url(), name)
            .keyPrefix(properties.getKeyPrefix())
            .ttl(pick(own == null ? null : own.getTtl(), properties.getTtl()))
            .drift(pick(own == null ? null : own.getDrift(), properties.getDrift()))
            .campaign(properties.getLeadership() != BatonProperties.Leadership.NEVER
                && pick(own == null ? null : own.getCampaign(), properties.isCampaign()))
            .connectTimeout(properties.getConnectTimeout())
            .allowEviction(pick(own == null ? null : own.getAllowEviction(), properties.isAllowEviction()))
            .resignOnRequest(resignOnRequest(name))
            .connectInBackground(properties.isConnectInBackground());
        String clientName = clientName();
        if (clientName != null) {
            b.clientName(clientName);
        }
        SslBundlePem pem = tls(s);
        if (pem != null && pem.caPem() != null) {
            b.tlsCaPem(pem.caPem());
        }
        if (pem != null && pem.certPem() != null) {
            b.tlsClientCertPem(pem.certPem(), pem.keyPem());
        }
        Duration renew = pick(own == null ? null : own.getRenewInterval(), properties.getRenewInterval());
        if (renew != null) {
            b.renewInterval(renew);
        }
        Duration retry = pick(own == null ? null : own.getRetryInterval(), properties.getRetryInterval());
        if (retry != null) {
            b.retryInterval(retry);
        }
        if (properties.getReplicas().getCount() != 0) {
            b.waitForReplicas(properties.getReplicas().getCount(), properties.getReplicas().getTimeout());
        }
        for (LeaderElectionCustomizer c : customize ? customizers : List.<LeaderElectionCustomizer>of()) {
            c.customize(name, b);
        }
        return b;
    }

    /**
     * Whether an election resigns by itself when asked to hand over ({@code false}: baton's
     * lifecycle stops the election's leader-only work first, then resigns).
     *
     * @param name the election's name
     * @return {@code baton.elections.<name>.resign-on-request}, else {@code baton.resign-on-request}
     */
    public boolean resignOnRequest(String name) {
        BatonProperties.Election own = properties.getElections().get(name);
        return pick(own == null ? null : own.getResignOnRequest(), properties.isResignOnRequest());
    }

    /** {@code baton.client-name}, else {@code baton:<spring.application.name>}, else the core's default. */
    private String clientName() {
        if (StringUtils.hasText(properties.getClientName())) {
            return properties.getClientName().trim();
        }
        String app = environment.getProperty("spring.application.name");
        // Redis refuses spaces and non-ASCII in a client name.
        return StringUtils.hasText(app) ? "baton:" + app.trim().replaceAll("[^!-~]", "-") : null;
    }

    /** The property naming the SSL bundle, or null: baton.ssl.bundle, else spring.data.redis.ssl.bundle. */
    private String sslBundleProperty(StoreUrl s) {
        if (StringUtils.hasText(properties.getSsl().getBundle())) {
            return "baton.ssl.bundle";
        }
        if (s.source().startsWith("spring.data.redis")
                && StringUtils.hasText(environment.getProperty("spring.data.redis.ssl.bundle"))) {
            return "spring.data.redis.ssl.bundle";
        }
        return null;
    }

    private SslBundlePem tls(StoreUrl s) {
        SslBundlePem pem = tls;
        if (pem != null) {
            return pem;
        }
        String property = sslBundleProperty(s);
        if (property == null) {
            return null;
        }
        String name = environment.getProperty(property, "").trim();
        if (property.equals("baton.ssl.bundle")) {
            name = properties.getSsl().getBundle().trim();
        }
        if (sslBundles == null) {
            throw new BatonStartupException(property + "=" + name + " names an SSL bundle, but this application"
                + " has no SslBundles bean.", "Configure the bundle under spring.ssl.bundle.pem." + name
                + " (or .jks." + name + "), or remove " + property + ".");
        }
        SslBundle bundle;
        try {
            bundle = sslBundles.apply(name);
        } catch (RuntimeException e) {
            throw new BatonStartupException(property + "=" + name + " names no SSL bundle: " + e.getMessage(),
                "Configure spring.ssl.bundle.pem." + name + " (or .jks." + name + ") with the CA (truststore)"
                    + " and, for client certificates, the keystore; or fix " + property + ".", e);
        }
        try {
            pem = SslBundlePem.of(name, bundle);
        } catch (IllegalStateException e) {
            throw new BatonStartupException(property + ": " + e.getMessage(),
                "Fix the bundle spring.ssl.bundle.*." + name + ".", e);
        }
        tls = pem;
        return pem;
    }

    private static <T> T pick(T own, T shared) {
        return own != null ? own : shared;
    }

    private StoreUrl store() {
        StoreUrl s = store;
        if (s == null) {
            s = resolveStore();
            store = s;
        }
        return s;
    }

    private StoreUrl resolveStore() {
        if (properties.getLeadership() != BatonProperties.Leadership.ELECT) {
            // One store per context: cached test contexts in one JVM never compete.
            return new StoreUrl("memory://baton-" + UUID.randomUUID(), "baton.leadership="
                + properties.getLeadership().name().toLowerCase(Locale.ROOT));
        }
        if (StringUtils.hasText(properties.getStore())) {
            return chosen(new StoreUrl(properties.getStore().trim(), "baton.store"), "set explicitly");
        }
        BatonProperties.StoreFrom from = properties.getStoreFrom();
        StoreUrl redis = from == BatonProperties.StoreFrom.DATASOURCE ? null : redisStore();
        // Spring Data Redis on the classpath alone yields localhost:6379 details: not a choice the
        // application made, so a configured DataSource goes first then.
        boolean redisConfigured = redis != null && !redis.source().equals(StoreUrl.REDIS_DEFAULTS);
        if (redisConfigured) {
            return chosen(redis, "Redis is configured; baton.store-from=datasource would take spring.datasource.*");
        }
        String jdbcUrl = environment.getProperty("spring.datasource.url");
        StoreUrl sql = from == BatonProperties.StoreFrom.REDIS ? null : jdbcServiceConnection();
        if (sql == null && from != BatonProperties.StoreFrom.REDIS) {
            sql = DataSourceStore.of(jdbcUrl, environment.getProperty("spring.datasource.username"),
                environment.getProperty("spring.datasource.password"));
        }
        if (sql != null) {
            return chosen(sql, "no Redis is configured");
        }
        if (redis != null) {
            return chosen(redis, "Spring Data Redis's defaults");
        }
        String datasource = StringUtils.hasText(jdbcUrl) && from != BatonProperties.StoreFrom.REDIS
            ? " spring.datasource.url=" + DataSourceStore.redact(jdbcUrl.trim()) + " is not PostgreSQL, MySQL or MariaDB."
            : "";
        throw new BatonStartupException(
            "baton has no store: baton.store is not set, and " + switch (from) {
                case AUTO -> "neither spring.data.redis.*, a Redis service connection nor spring.datasource.url";
                case REDIS -> "(baton.store-from=redis) neither spring.data.redis.* nor a Redis service connection";
                case DATASOURCE -> "(baton.store-from=datasource) no PostgreSQL/MySQL/MariaDB spring.datasource.url";
            } + " describes one." + datasource,
            "Set baton.store=redis://host:6379 (rediss:// for TLS, a comma-separated list for a Redis"
                + " Cluster, or postgres://, mysql://, zookeeper://), or configure spring.data.redis.url,"
                + " spring.data.redis.host or a PostgreSQL/MySQL/MariaDB spring.datasource.url; or set"
                + " baton.enabled=false to run without leader election.");
    }

    /** The store of a JDBC service connection, or null. */
    private StoreUrl jdbcServiceConnection() {
        JdbcConnectionDetailsStore details = jdbcConnectionDetails.get();
        return details == null ? null : details.storeUrl();
    }

    /** Whether the store is the application's database (for messages). */
    private static boolean database(StoreUrl s) {
        return s.source().equals(DataSourceStore.URL) || s.source().startsWith("the JDBC service connection");
    }

    /** The Redis of spring.data.redis.* or of the connection details, or null. */
    private StoreUrl redisStore() {
        BindResult<RedisSettings> bound = Binder.get(environment).bind("spring.data.redis", RedisSettings.class);
        RedisConnectionDetailsStore details = connectionDetails.get();
        StoreUrl fromDetails = details == null ? null : details.storeUrl(bound.orElse(null));
        if (fromDetails != null) {
            return fromDetails;
        }
        return bound.isBound() ? StoreUrl.of(bound.get()) : null;
    }

    private static StoreUrl chosen(StoreUrl s, String why) {
        LOG.info("baton's store: " + s.redacted() + " (from " + s.source() + "; " + why + ")");
        return s;
    }

    /**
     * Spring releases leadership when the context closes, after leader-only work stopped; baton's
     * own JVM shutdown hook would race with it and release first. Done before the first election
     * loads the native library, unless the application chose a value itself.
     */
    private void releaseOnContextClose() {
        boolean springHook = environment.getProperty("spring.main.register-shutdown-hook", Boolean.class, true);
        if (springHook && System.getProperty(NativeLoader.SHUTDOWN_HOOK_PROPERTY) == null) {
            System.setProperty(NativeLoader.SHUTDOWN_HOOK_PROPERTY, "false");
        }
    }

    private BatonStartupException invalid(String name, ConfigurationException e) {
        String problems = e.problems().stream()
            .map(p -> "  - " + property(p.setting(), name) + ": " + p.message())
            .collect(Collectors.joining("\n"));
        return new BatonStartupException("baton's settings for election '" + name + "' are invalid:\n"
            + problems, "Fix the properties listed above.", e);
    }

    /** The Java builder rejects negative durations itself; its message starts with the setting. */
    private BatonStartupException invalid(String name, IllegalArgumentException e) {
        String m = String.valueOf(e.getMessage());
        String setting = m.split(" ", 2)[0].replaceAll("([a-z])([A-Z])", "$1_$2").toLowerCase(Locale.ROOT);
        return new BatonStartupException("baton's settings for election '" + name + "' are invalid:\n  - "
            + property(setting, name) + ": " + m, "Fix the property listed above.", e);
    }

    private BatonStartupException refused(StoreUrl s, String name, StoreAuthenticationException e) {
        if (database(s)) {
            return new BatonStartupException("baton's store " + s.redacted() + " (from " + s.source()
                + ") refused baton's credentials or permissions for election '" + name + "': " + e.getMessage(),
                "Set spring.datasource.username and spring.datasource.password to a database user with the"
                    + " grants in baton's docs/postgres.md or docs/mysql.md (SELECT, INSERT, UPDATE on the lease"
                    + " table), or set baton.store to another user's URL.", e);
        }
        String credentials = s.source().startsWith("spring.data.redis")
            ? "spring.data.redis.username and spring.data.redis.password"
            : s.source().equals("baton.store") ? "the user:password in baton.store"
            : "the credentials of " + s.source() + " (spring.data.redis.username / spring.data.redis.password)";
        return new BatonStartupException("baton's store " + s.redacted() + " (from " + s.source()
            + ") refused baton's credentials or permissions for election '" + name + "': " + e.getMessage(),
            "Set " + credentials + " to a Redis user that exists with that password. With Redis ACLs, that"
                + " user needs baton's keys, channels and commands: ACL SETUSER <user> on ><password> resetkeys"
                + " ~" + properties.getKeyPrefix() + "* resetchannels &" + properties.getKeyPrefix()
                + "* plus the commands listed in baton's README (\"ACL\").", e);
    }

    private BatonStartupException unreachable(StoreUrl s, String name, StoreUnreachableException e) {
        return new BatonStartupException("baton could not reach its store " + s.redacted() + " (from "
            + s.source() + ") for election '" + name + "': " + e.getMessage(),
            "Start " + (database(s) ? "the database" : "Redis") + " there, or point"
                + " baton.store at a store this host can reach (startup waits"
                + " baton.connect-timeout = " + DurationStyle.SIMPLE.print(properties.getConnectTimeout()) + " for it);"
                + " or set baton.connect-in-background=true to start as a follower and campaign once it answers.", e);
    }

    /** The property behind one of baton's setting names. */
    private String property(String setting, String election) {
        BatonProperties.Election own = properties.getElections().get(election);
        String ownPrefix = "baton.elections." + election + ".";
        switch (setting) {
            case "ttl":
                return own != null && own.getTtl() != null ? ownPrefix + "ttl" : "baton.ttl";
            case "renew_interval":
                return own != null && own.getRenewInterval() != null ? ownPrefix + "renew-interval"
                    : "baton.renew-interval";
            case "retry_interval":
                return own != null && own.getRetryInterval() != null ? ownPrefix + "retry-interval"
                    : "baton.retry-interval";
            case "drift":
                return own != null && own.getDrift() != null ? ownPrefix + "drift" : "baton.drift";
            case "wait_for_replicas":
                return "baton.replicas.count/timeout";
            case "allow_eviction":
                return own != null && own.getAllowEviction() != null ? ownPrefix + "allow-eviction"
                    : "baton.allow-eviction";
            case "store":
                return store().source();
            case "tls_ca":
            case "tls_client_cert":
            case "tls_client_key": {
                String bundle = sslBundleProperty(store());
                return bundle != null ? bundle + " (" + setting + ")" : "baton." + setting.replace('_', '-');
            }
            case "election":
                if (election.equals(properties.getName())) {
                    return "baton.name";
                }
                if (own != null) {
                    return "baton.elections (key '" + election + "')";
                }
                if (election.equals(environment.getProperty("spring.application.name"))) {
                    return "spring.application.name";
                }
                return "@ConditionalOnLeader(\"" + election + "\")";
            default:
                return "baton." + setting.replace('_', '-');
        }
    }
}
