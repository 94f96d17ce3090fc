package dev.baton.spring.autoconfigure;

import java.util.ArrayList;
import java.util.List;

/**
 * The {@code spring.data.redis.*} properties baton reads, bound by baton itself: Spring Boot's
 * own {@code RedisProperties} class moved between Boot 3 and 4 and is absent from a Boot 4
 * application without Spring Data Redis.
 */
public class RedisSettings {
    private String url;
    private String host = "localhost";
    private int port = 6379;
    private String username;
    private String password;
    private int database;
    private final Ssl ssl = new Ssl();
    private Cluster cluster;
    private Sentinel sentinel;

    /** Created by the binder. */
    public RedisSettings() {}

    public String getUrl() {
        return url;
    }

    public void setUrl(String url) {
        this.url = url;
    }

    public String getHost() {
        return host;
    }

    public void setHost(String host) {
        this.host = host;
    }

    public int getPort() {
        return port;
    }

    public void setPort(int port) {
        this.port = port;
    }

    public String getUsername() {
        return username;
    }

    public void setUsername(String username) {
        this.username = username;
    }

    public String getPassword() {
        return password;
    }

    public void setPassword(String password) {
        this.password = password;
    }

    public int getDatabase() {
        return database;
    }

    public void setDatabase(int database) {
        this.database = database;
    }

    public Ssl getSsl() {
        return ssl;
    }

    public Cluster getCluster() {
        return cluster;
    }

    public void setCluster(Cluster cluster) {
        this.cluster = cluster;
    }

    public Sentinel getSentinel() {
        return sentinel;
    }

    public void setSentinel(Sentinel sentinel) {
        this.sentinel = sentinel;
    }

    /** {@code spring.data.redis.ssl.*}. */
    public static class Ssl {
        private Boolean enabled;
        private String bundle;

        /** Created by the binder. */
        public Ssl() {}

        /**
         * Whether TLS is on: {@code enabled}, or a bundle named without {@code enabled=false}
         * (Spring Boot's rule).
         *
         * @return true for TLS
         */
        public boolean isEnabled() {
            return enabled != null ? enabled : bundle != null;
        }

        public void setEnabled(Boolean enabled) {
            this.enabled = enabled;
        }

        public String getBundle() {
            return bundle;
        }

        public void setBundle(String bundle) {
            this.bundle = bundle;
        }
    }

    /** {@code spring.data.redis.cluster.*}. */
    public static class Cluster {
        private List<String> nodes = new ArrayList<>();

        /** Created by the binder. */
        public Cluster() {}

        public List<String> getNodes() {
            return nodes;
        }

        public void setNodes(List<String> nodes) {
            this.nodes = nodes;
        }
    }

    /** {@code spring.data.redis.sentinel.*}. */
    public static class Sentinel {
        private String master;
        private List<String> nodes = new ArrayList<>();
        private String username;
        private String password;

        /** Created by the binder. */
        public Sentinel() {}

        public String getMaster() {
            return master;
        }

        public void setMaster(String master) {
            this.master = master;
        }

        public List<String> getNodes() {
            return nodes;
        }

        public void setNodes(List<String> nodes) {
            this.nodes = nodes;
        }

        public String getUsername() {
            return username;
        }

        public void setUsername(String username) {
            this.username = username;
        }

        public String getPassword() {
            return password;
        }

        public void setPassword(String password) {
            this.password = password;
        }
    }
}
