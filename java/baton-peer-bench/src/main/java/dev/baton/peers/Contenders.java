package dev.baton.peers;

import com.zaxxer.hikari.HikariDataSource;
import dev.baton.LeaderElection;
import dev.baton.LeadershipListener;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import net.javacrumbs.shedlock.core.DefaultLockingTaskExecutor;
import net.javacrumbs.shedlock.core.LockConfiguration;
import net.javacrumbs.shedlock.provider.redis.spring.RedisLockProvider;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.redisson.Redisson;
import org.redisson.api.RLock;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;
import org.springframework.data.redis.connection.RedisStandaloneConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.integration.leader.Context;
import org.springframework.integration.leader.DefaultCandidate;
import org.springframework.integration.leader.event.LeaderEventPublisher;
import org.springframework.integration.jdbc.lock.DefaultLockRepository;
import org.springframework.integration.jdbc.lock.JdbcLockRegistry;
import org.springframework.integration.redis.util.RedisLockRegistry;
import org.springframework.integration.support.leader.LockRegistryLeaderInitiator;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPubSub;
import redis.clients.jedis.params.SetParams;

/** The contenders, each configured the way its own documentation shows. */
final class Contenders {
    /** Every contender, in the table's column order. */
    static final String[] ALL = {
        "baton", "redisson-lock", "redisson-fenced", "si-spin", "si-pubsub", "shedlock",
        "baton-zk", "curator", "floor", "baton-pg", "si-jdbc",
    };

    private Contenders() {}

    static boolean onZooKeeper(String kind) {
        return kind.equals("baton-zk") || kind.equals("curator");
    }

    static boolean onPostgres(String kind) {
        return kind.equals("baton-pg") || kind.equals("si-jdbc");
    }

    /** The baton column a contender's ratios are against: baton on the same store. */
    static String batonOf(String kind) {
        return onZooKeeper(kind) ? "baton-zk" : onPostgres(kind) ? "baton-pg" : "baton";
    }

    /**
     * The Redis key a contender keeps its lease in, for the expiry probe. Only that key: a
     * library's other keys of the election can outlive the lease (Redisson's unlock latch,
     * `redisson_unlock_latch:{name}:<request>`, lives 16-20 s after each unlock).
     */
    static String leaseKey(String kind, String election) {
        return switch (kind) {
            case "baton" -> "baton:{" + election + "}:lease"; // a hash: its `expires` field
            case "redisson-lock", "redisson-fenced" -> election; // a hash: owner -> count, the key's TTL
            case "si-spin", "si-pubsub" -> election + ":leader"; // registry key : the candidate's role
            case "shedlock" -> "job-lock:default:" + election; // job-lock:<environment>:<lock name>
            case "floor" -> "floor:" + election + ":lease";
            default -> throw new IllegalArgumentException(kind + " keeps no lease in Redis");
        };
    }

    static Contender create(String kind, String url, String election, long leaseMs) throws Exception {
        return switch (kind) {
            case "baton", "baton-zk", "baton-pg" -> new Baton(url, election, leaseMs);
            case "redisson-lock" -> new RedissonLock(url, election, leaseMs, false);
            case "redisson-fenced" -> new RedissonLock(url, election, leaseMs, true);
            case "si-spin" -> new SpringIntegration(url, election, leaseMs, RedisLockRegistry.RedisLockType.SPIN_LOCK);
            case "si-pubsub" -> new SpringIntegration(url, election, leaseMs, RedisLockRegistry.RedisLockType.PUB_SUB_LOCK);
            case "shedlock" -> new ShedLock(url, election, leaseMs);
            case "curator" -> new Curator(url, election, leaseMs);
            case "floor" -> new Floor(url, election);
            case "si-jdbc" -> new SpringIntegrationJdbc(url, election, leaseMs);
            default -> throw new IllegalArgumentException("unknown contender " + kind + "; one of "
                + String.join(", ", ALL));
        };
    }

    /** baton's Java API: a listener for grants, isLeader() for the check, close() to release. */
    static final class Baton implements Contender {
        private final String url;
        private final String name;
        private final long leaseMs;
        private volatile LeaderElection election;

        Baton(String url, String name, long leaseMs) {
            this.url = url;
            this.name = name;
            this.leaseMs = leaseMs;
        }

        @Override
        public void join() {
            LeaderElection.Builder b = LeaderElection.builder(url, name).listener(new LeadershipListener() {
                @Override
                public void granted(long token) {
                    Candidate.granted();
                }

                @Override
                public void revoked(long token, dev.baton.RevokeReason reason) {
                    Candidate.revoked();
                }
            });
            if (leaseMs > 0) {
                b.ttl(Duration.ofMillis(leaseMs));
            }
            election = b.build();
        }

        @Override
        public void release() {
            election.close();
        }

        @Override
        public boolean isLeader() {
            return election.isLeader();
        }
    }

    /**
     * Redisson's RLock (or RFencedLock) with its watchdog: lock() without a lease time on a thread
     * of its own, unlock() on that thread. A common lease sets lockWatchdogTimeout.
     */
    static final class RedissonLock implements Contender {
        private final RLock lock;
        private final boolean fenced;
        private final Semaphore releaseAsked = new Semaphore(0);
        private final Semaphore released = new Semaphore(0);
        private volatile long threadId = -1;
        private volatile boolean holding;

        RedissonLock(String url, String name, long leaseMs, boolean fenced) {
            Config config = new Config();
            config.useSingleServer().setAddress(url);
            if (leaseMs > 0) {
                config.setLockWatchdogTimeout(leaseMs);
            }
            RedissonClient client = Redisson.create(config);
            this.fenced = fenced;
            this.lock = fenced ? client.getFencedLock(name) : client.getLock(name);
        }

        @Override
        public void join() {
            Thread t = new Thread(() -> {
                if (fenced) {
                    ((org.redisson.api.RFencedLock) lock).lockAndGetToken();
                } else {
                    lock.lock();
                }
                holding = true;
                Candidate.granted();
                releaseAsked.acquireUninterruptibly();
                try {
                    lock.unlock();
                } finally {
                    holding = false;
                    Candidate.revoked();
                    released.release();
                }
            }, "redisson-leader");
            threadId = t.getId();
            t.start();
        }

        /** Unlocks on the locking thread; a candidate still waiting in lock() has nothing to release. */
        @Override
        public void release() {
            if (!holding) {
                // Waiting here would block the command loop until this candidate got the lock.
                Candidate.say("error release while not holding the lock (its lock() still waits)");
                return;
            }
            releaseAsked.release();
            released.acquireUninterruptibly();
        }

        /** The lock's owner lives in Redis: a round trip (HEXISTS) per call. */
        @Override
        public boolean isLeader() {
            return lock.isHeldByThread(threadId);
        }
    }

    /**
     * Spring Integration's LockRegistryLeaderInitiator over a RedisLockRegistry (Lettuce), as the
     * reference guide's leadership-event-handling section builds it; the initiator's defaults
     * (heartbeat 500 ms, busy-wait 50 ms). A common lease sets the registry's expireAfter.
     */
    static final class SpringIntegration implements Contender {
        private final LockRegistryLeaderInitiator initiator;

        SpringIntegration(String url, String name, long leaseMs, RedisLockRegistry.RedisLockType type) {
            URI u = URI.create(url);
            LettuceConnectionFactory factory =
                new LettuceConnectionFactory(new RedisStandaloneConfiguration(u.getHost(), u.getPort()));
            factory.afterPropertiesSet();
            factory.start();
            RedisLockRegistry registry = leaseMs > 0
                ? new RedisLockRegistry(factory, name, leaseMs)
                : new RedisLockRegistry(factory, name);
            registry.setRedisLockType(type);
            initiator = new LockRegistryLeaderInitiator(registry, new DefaultCandidate(UUID.randomUUID().toString(), "leader") {
                @Override
                public void onGranted(Context ctx) {
                    Candidate.granted();
                }

                @Override
                public void onRevoked(Context ctx) {
                    Candidate.revoked();
                }
            });
            initiator.setLeaderEventPublisher(new LeaderEventPublisher() {
                @Override
                public void publishOnGranted(Object source, Context context, String role) {}

                @Override
                public void publishOnRevoked(Object source, Context context, String role) {}

                @Override
                public void publishOnFailedToAcquire(Object source, Context context, String role) {}
            });
        }

        @Override
        public void join() {
            initiator.start();
        }

        /** stop() cancels the selector, whose thread unlocks and revokes. */
        @Override
        public void release() {
            initiator.stop();
        }

        @Override
        public boolean isLeader() {
            return initiator.getContext().isLeader();
        }
    }

    /**
     * Spring Integration's LockRegistryLeaderInitiator over a JdbcLockRegistry on PostgreSQL, as
     * the reference guide's JDBC lock registry section sets it up: a DefaultLockRepository on a
     * DataSource (HikariCP, the pool Spring Boot gives) with a DataSourceTransactionManager, the
     * INT_LOCK table of its schema-postgresql.sql (created by the bench), the region set to the
     * election's name; the registry's default TTL (10 s) and the initiator's defaults. A common
     * lease sets the registry's expireAfter.
     */
    static final class SpringIntegrationJdbc implements Contender {
        private final LockRegistryLeaderInitiator initiator;

        SpringIntegrationJdbc(String url, String name, long leaseMs) {
            URI u = URI.create(url);
            String[] user = u.getUserInfo().split(":", 2);
            HikariDataSource ds = new HikariDataSource();
            ds.setJdbcUrl("jdbc:postgresql://" + u.getHost() + ":" + u.getPort() + u.getPath());
            ds.setUsername(user[0]);
            ds.setPassword(user.length > 1 ? user[1] : "");
            DefaultLockRepository repository = new DefaultLockRepository(ds);
            repository.setRegion(name);
            repository.setTransactionManager(new DataSourceTransactionManager(ds));
            repository.afterPropertiesSet();
            repository.afterSingletonsInstantiated();
            repository.start(); // what the context's lifecycle does: checks that INT_LOCK exists
            JdbcLockRegistry registry = leaseMs > 0
                ? new JdbcLockRegistry(repository, Duration.ofMillis(leaseMs))
                : new JdbcLockRegistry(repository);
            initiator = new LockRegistryLeaderInitiator(registry, new DefaultCandidate(UUID.randomUUID().toString(), "leader") {
                @Override
                public void onGranted(Context ctx) {
                    Candidate.granted();
                }

                @Override
                public void onRevoked(Context ctx) {
                    Candidate.revoked();
                }
            });
            initiator.setLeaderEventPublisher(new LeaderEventPublisher() {
                @Override
                public void publishOnGranted(Object source, Context context, String role) {}

                @Override
                public void publishOnRevoked(Object source, Context context, String role) {}

                @Override
                public void publishOnFailedToAcquire(Object source, Context context, String role) {}
            });
        }

        @Override
        public void join() {
            initiator.start();
        }

        /** stop() cancels the selector, whose thread unlocks (DELETE of the row) and revokes. */
        @Override
        public void release() {
            initiator.stop();
        }

        @Override
        public boolean isLeader() {
            return initiator.getContext().isLeader();
        }
    }

    /**
     * ShedLock without Spring (its README's "Running without Spring"): a task scheduled at a fixed
     * rate of 1 s runs through DefaultLockingTaskExecutor with the Redis provider; lockAtMostFor
     * is the lease (ShedLock has no default: it must be set), lockAtLeastFor 0. Each run is a
     * 500 ms job; a run start is a "grant". ShedLock has no leadership to query.
     */
    static final class ShedLock implements Contender {
        static final long PERIOD_MS = 1000;
        static final long JOB_MS = 500;
        private final DefaultLockingTaskExecutor executor;
        private final String name;
        private final Duration atMost;
        private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
        private volatile ScheduledFuture<?> schedule;

        ShedLock(String url, String name, long leaseMs) {
            URI u = URI.create(url);
            LettuceConnectionFactory factory =
                new LettuceConnectionFactory(new RedisStandaloneConfiguration(u.getHost(), u.getPort()));
            factory.afterPropertiesSet();
            factory.start();
            this.executor = new DefaultLockingTaskExecutor(new RedisLockProvider(factory));
            this.name = name;
            this.atMost = Duration.ofMillis(leaseMs > 0 ? leaseMs : 2000);
        }

        @Override
        public void join() {
            schedule = scheduler.scheduleAtFixedRate(() -> runLocked(), 0, PERIOD_MS, TimeUnit.MILLISECONDS);
        }

        /** One scheduled run; a failure is reported (a scheduled executor would swallow it). */
        private void runLocked() {
            try {
                executor.executeWithLock((Runnable) () -> {
                Candidate.granted();
                long end = System.nanoTime() + JOB_MS * 1_000_000;
                while (System.nanoTime() < end) {
                    if (Candidate.actEnabled) {
                        Candidate.act();
                    }
                    try {
                        Thread.sleep(10);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
            }, new LockConfiguration(Instant.now(), name, atMost, Duration.ZERO));
            } catch (RuntimeException e) {
                Candidate.say("error " + e);
            }
        }

        /** A graceful shutdown lets the running job finish (then ShedLock unlocks). */
        @Override
        public void release() throws Exception {
            ScheduledFuture<?> s = schedule;
            s.cancel(false);
            // Wait for a running job to end: the single scheduler thread runs this marker after it.
            scheduler.submit(() -> { }).get();
        }

        @Override
        public boolean isLeader() {
            throw new UnsupportedOperationException("ShedLock has no leadership to query");
        }

        @Override
        public boolean canCheck() {
            return false;
        }
    }

    /**
     * Curator's LeaderLatch (its recipe page): a CuratorFramework with ExponentialBackoffRetry,
     * a listener, hasLeadership() for the check, close() to release. A common lease sets the
     * session timeout.
     */
    static final class Curator implements Contender {
        private final CuratorFramework client;
        private final String path;
        private volatile LeaderLatch latch;

        Curator(String url, String name, long leaseMs) {
            String connect = url.replaceFirst("^zookeeper://", "");
            CuratorFrameworkFactory.Builder b = CuratorFrameworkFactory.builder()
                .connectString(connect)
                .retryPolicy(new ExponentialBackoffRetry(1000, 3));
            if (leaseMs > 0) {
                b.sessionTimeoutMs((int) leaseMs).connectionTimeoutMs((int) Math.min(leaseMs, 15_000));
            }
            client = b.build();
            client.start();
            path = "/curator/" + name;
        }

        @Override
        public void join() throws Exception {
            LeaderLatch l = new LeaderLatch(client, path, UUID.randomUUID().toString());
            l.addListener(new LeaderLatchListener() {
                @Override
                public void isLeader() {
                    Candidate.granted();
                }

                @Override
                public void notLeader() {
                    Candidate.revoked();
                }
            });
            l.start();
            latch = l;
        }

        @Override
        public void release() throws Exception {
            latch.close(LeaderLatch.CloseMode.NOTIFY_LEADER);
        }

        @Override
        public boolean isLeader() {
            return latch.hasLeadership();
        }
    }

    /**
     * The floor: the same handover by hand with raw Redis commands. A follower subscribes to a
     * channel, then tries SET NX PX; the leader's release is one script (delete if ours, then
     * PUBLISH); the woken follower's SET NX is the grant. Two round trips and one push.
     */
    static final class Floor implements Contender {
        private static final String RELEASE =
            "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]);"
                + " redis.call('PUBLISH', KEYS[2], ARGV[1]) return 1 end return 0";
        private final URI uri;
        private final String key;
        private final String channel;
        private final String me = UUID.randomUUID().toString();
        private final Jedis commands;
        private volatile boolean leading;
        private volatile boolean campaigning;

        Floor(String url, String name) {
            uri = URI.create(url);
            key = "floor:" + name + ":lease";
            channel = "floor:" + name + ":released";
            commands = new Jedis(uri.getHost(), uri.getPort());
            Jedis sub = new Jedis(uri.getHost(), uri.getPort());
            Thread t = new Thread(() -> sub.subscribe(new JedisPubSub() {
                @Override
                public void onMessage(String ch, String message) {
                    tryAcquire();
                }
            }, channel), "floor-subscriber");
            t.setDaemon(true);
            t.start();
        }

        private synchronized void tryAcquire() {
            if (campaigning && !leading
                && "OK".equals(commands.set(key, me, SetParams.setParams().nx().px(600_000)))) {
                leading = true;
                Candidate.granted();
            }
        }

        @Override
        public void join() throws Exception {
            Thread.sleep(200); // let the subscriber thread subscribe before the first attempt
            campaigning = true;
            tryAcquire();
        }

        @Override
        public synchronized void release() {
            campaigning = false;
            leading = false;
            commands.eval(RELEASE, 2, key, channel, me);
        }

        @Override
        public boolean isLeader() {
            return leading;
        }
    }
}
