package dev.baton.spring.autoconfigure;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Configuration of baton's leader elections, under {@code baton.}. Nothing is required for an
 * application that configures {@code spring.data.redis.*} and {@code spring.application.name}.
 */
@ConfigurationProperties("baton")
public class BatonProperties {
    /**
     * Whether to enable baton's leader election. When false, there are no elections: every
     * instance runs every @ConditionalOnLeader method, and LeaderContext.currentToken() is 0.
     */
    private boolean enabled = true;

    /**
     * Who leads: "elect" (the default) campaigns on the store; "always" and "never" are for tests
     * and local runs without Redis: each application context gets its own in-process store
     * (memory://), on which it always leads (a real grant and token) or never campaigns.
     */
    private Leadership leadership = Leadership.ELECT;

    /**
     * Store URL: redis://[user:password@]host:port[/db], rediss:// for TLS, a comma-separated
     * list of Redis Cluster seed URLs, zookeeper://[user:password@]host:port[,host:port...][/chroot],
     * postgres://... or mysql://... . Defaults to the Redis that spring.data.redis.* configures, else
     * the PostgreSQL, MySQL or MariaDB database of spring.datasource.* (see store-from).
     */
    private String store;

    /**
     * Where the store comes from when baton.store is not set: "auto" (the default) takes a
     * configured Redis (spring.data.redis.* or a Redis service connection) first, then the
     * PostgreSQL/MySQL/MariaDB of spring.datasource.url; "redis" and "datasource" take only that one.
     */
    private StoreFrom storeFrom = StoreFrom.AUTO;

    /**
     * Name of the default election, the one @ConditionalOnLeader without a value uses. Defaults
     * to spring.application.name.
     */
    private String name;

    /** Prefix of every key and channel baton uses in the store. */
    private String keyPrefix = "baton:";

    /**
     * How long a lease lives in the store without renewal: a crashed leader is replaced this long
     * after its last renewal. Between 100ms and 24h.
     */
    private Duration ttl = Duration.ofSeconds(10);

    /**
     * How often the leader renews its lease; must be shorter than ttl * (1 - drift) - 2ms.
     * Defaults to a third of the ttl.
     */
    private Duration renewInterval;

    /**
     * Pause between retries of a failed renewal, and the base of followers' backoff; must be
     * shorter than the renew interval. Defaults to a twentieth of the ttl.
     */
    private Duration retryInterval;

    /**
     * Tolerated difference in clock rate between hosts and the store, as a fraction: a leader
     * trusts its lease for ttl * (1 - drift). Between 0 and 0.5.
     */
    private double drift = 0.01;

    /** Whether this instance competes for leadership; false only watches who leads. */
    private boolean campaign = true;

    /** How long startup waits for the first connection to the store. */
    private Duration connectTimeout = Duration.ofSeconds(5);

    /**
     * Whether to interrupt the threads of running @ConditionalOnLeader methods when this instance
     * loses leadership.
     */
    private boolean interruptOnRevoke = true;

    /**
     * What startup does when the store cannot be reached within connect-timeout. false: it fails
     * (the deploy is rolled back). true: the application starts with every election a follower
     * (health DOWN, role "connecting"), keeps trying in the background (backoff up to 10s) and
     * campaigns once the store answers. Wrong settings and refused credentials fail either way.
     */
    private boolean connectInBackground = false;

    /**
     * Whether to accept a Redis store whose maxmemory-policy is allkeys-*, under which Redis may
     * evict a live leader's lease and grant it to another instance (two leaders). When false,
     * startup refuses such a store; noeviction and volatile-* are safe either way.
     */
    private boolean allowEviction = false;

    /**
     * What a leader does when asked to hand over from elsewhere (baton resign,
     * LeaderElection.Builder.requestResign). true: it resigns at once,
     * while its leader-only work may still run. false: it first stops its leader-only lifecycle
     * beans and waits for its running leader-only methods (up to shutdown.timeout), then resigns:
     * no leader-only work overlaps the next leader's.
     */
    private boolean resignOnRequest = true;

    private final Replicas replicas = new Replicas();

    /**
     * Name of baton's Redis connection in CLIENT LIST (printable ASCII, no spaces). Defaults to
     * "baton:" followed by spring.application.name, else "baton:<host>:<pid>".
     */
    private String clientName;

    private final Ssl ssl = new Ssl();

    private final Shutdown shutdown = new Shutdown();

    /**
     * Elections with settings of their own, by election name. Each one also becomes a
     * LeaderElection bean, qualified by its name. Unset settings fall back to baton.*.
     */
    private final Map<String, Election> elections = new LinkedHashMap<>();

    public boolean isEnabled() {
        return enabled;
    }

    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    public String getStore() {
        return store;
    }

    public void setStore(String store) {
        this.store = store;
    }

    public StoreFrom getStoreFrom() {
        return storeFrom;
    }

    public void setStoreFrom(StoreFrom storeFrom) {
        this.storeFrom = storeFrom;
    }

    public String getName() {
        return name;
    }

    public void setName(String name) {
        this.name = name;
    }

    public String getKeyPrefix() {
        return keyPrefix;
    }

    public void setKeyPrefix(String keyPrefix) {
        this.keyPrefix = keyPrefix;
    }

    public Duration getTtl() {
        return ttl;
    }

    public void setTtl(Duration ttl) {
        this.ttl = ttl;
    }

    public Duration getRenewInterval() {
        return renewInterval;
    }

    public void setRenewInterval(Duration renewInterval) {
        this.renewInterval = renewInterval;
    }

    public Duration getRetryInterval() {
        return retryInterval;
    }

    public void setRetryInterval(Duration retryInterval) {
        this.retryInterval = retryInterval;
    }

    public double getDrift() {
        return drift;
    }

    public void setDrift(double drift) {
        this.drift = drift;
    }

    public boolean isCampaign() {
        return campaign;
    }

    public Leadership getLeadership() {
        return leadership;
    }

    public void setLeadership(Leadership leadership) {
        this.leadership = leadership;
    }

    /** Values of {@code baton.store-from}. */
    public enum StoreFrom {
        /** A configured Redis first, then the SQL database of spring.datasource.url. */
        AUTO,
        /** Only spring.data.redis.* (or a Redis service connection). */
        REDIS,
        /** Only spring.datasource.url/username/password (PostgreSQL, MySQL or MariaDB). */
        DATASOURCE
    }

    /** Values of {@code baton.leadership}. */
    public enum Leadership {
        /** Campaign on the configured store. */
        ELECT,
        /** Lead an in-process election of this application context alone (tests, local runs). */
        ALWAYS,
        /** Never lead: an in-process store on which this context does not campaign. */
        NEVER
    }

    public void setCampaign(boolean campaign) {
        this.campaign = campaign;
    }

    public Duration getConnectTimeout() {
        return connectTimeout;
    }

    public void setConnectTimeout(Duration connectTimeout) {
        this.connectTimeout = connectTimeout;
    }

    public boolean isInterruptOnRevoke() {
        return interruptOnRevoke;
    }

    public void setInterruptOnRevoke(boolean interruptOnRevoke) {
        this.interruptOnRevoke = interruptOnRevoke;
    }

    public boolean isConnectInBackground() {
        return connectInBackground;
    }

    public void setConnectInBackground(boolean connectInBackground) {
        this.connectInBackground = connectInBackground;
    }

    public boolean isAllowEviction() {
        return allowEviction;
    }

    public void setAllowEviction(boolean allowEviction) {
        this.allowEviction = allowEviction;
    }

    public boolean isResignOnRequest() {
        return resignOnRequest;
    }

    public void setResignOnRequest(boolean resignOnRequest) {
        this.resignOnRequest = resignOnRequest;
    }

    public Replicas getReplicas() {
        return replicas;
    }

    public String getClientName() {
        return clientName;
    }

    public void setClientName(String clientName) {
        this.clientName = clientName;
    }

    public Ssl getSsl() {
        return ssl;
    }

    public Shutdown getShutdown() {
        return shutdown;
    }

    public Map<String, Election> getElections() {
        return elections;
    }

    /** Replica acknowledgements a grant waits for (Redis WAIT), for setups with replicas. */
    public static class Replicas {
        /** Number of replicas that must acknowledge a grant before it is reported; 0 is off. */
        private int count;

        /** How long a grant waits for the replicas; must be shorter than the renew interval. */
        private Duration timeout = Duration.ofMillis(500);

        public int getCount() {
            return count;
        }

        public void setCount(int count) {
            this.count = count;
        }

        public Duration getTimeout() {
            return timeout;
        }

        public void setTimeout(Duration timeout) {
            this.timeout = timeout;
        }
    }

    /** How the application gives leadership up when it shuts down. */
    public static class Shutdown {
        /**
         * How long shutdown waits for running @ConditionalOnLeader methods to finish before it
         * releases leadership anyway. Releasing takes at most 5s more (all elections at once), so
         * the default fits Kubernetes' 30s grace period.
         */
        private Duration timeout = Duration.ofSeconds(20);

        public Duration getTimeout() {
            return timeout;
        }

        public void setTimeout(Duration timeout) {
            this.timeout = timeout;
        }
    }

    /** Settings of one election; each unset one falls back to the baton.* setting of that name. */
    public static class Election {
        /** Lease time-to-live of this election. */
        private Duration ttl;

        /** Renewal interval of this election. */
        private Duration renewInterval;

        /** Retry interval of this election. */
        private Duration retryInterval;

        /** Clock-rate drift tolerated by this election, as a fraction. */
        private Double drift;

        /** Whether this instance competes for this election. */
        private Boolean campaign;

        /** Whether this election accepts an allkeys-* eviction policy on its store. */
        private Boolean allowEviction;

        /** Whether this election resigns at once when asked to hand over (see baton.resign-on-request). */
        private Boolean resignOnRequest;

        public Duration getTtl() {
            return ttl;
        }

        public void setTtl(Duration ttl) {
            this.ttl = ttl;
        }

        public Duration getRenewInterval() {
            return renewInterval;
        }

        public void setRenewInterval(Duration renewInterval) {
            this.renewInterval = renewInterval;
        }

        public Duration getRetryInterval() {
            return retryInterval;
        }

        public void setRetryInterval(Duration retryInterval) {
            this.retryInterval = retryInterval;
        }

        public Double getDrift() {
            return drift;
        }

        public void setDrift(Double drift) {
            this.drift = drift;
        }

        public Boolean getCampaign() {
            return campaign;
        }

        public void setCampaign(Boolean campaign) {
            this.campaign = campaign;
        }

        public Boolean getAllowEviction() {
            return allowEviction;
        }

        public void setAllowEviction(Boolean allowEviction) {
            this.allowEviction = allowEviction;
        }

        public Boolean getResignOnRequest() {
            return resignOnRequest;
        }

        public void setResignOnRequest(Boolean resignOnRequest) {
            this.resignOnRequest = resignOnRequest;
        }
    }

    /** TLS material for a rediss:// store. */
    public static class Ssl {
        /**
         * Name of the SSL bundle (spring.ssl.bundle.*) whose trust material (a private CA) and
         * key material (a client certificate) baton uses for its rediss:// connection. Defaults
         * to spring.data.redis.ssl.bundle when the store comes from spring.data.redis.*.
         */
        private String bundle;

        public String getBundle() {
            return bundle;
        }

        public void setBundle(String bundle) {
            this.bundle = bundle;
        }
    }
}
