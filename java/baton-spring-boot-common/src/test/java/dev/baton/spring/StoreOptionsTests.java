package dev.baton.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.LeaderElection;
import dev.baton.RedisServer;
import dev.baton.spring.actuate.ElectionDescriptor;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.SmartLifecycle;

/**
 * The store options: baton.connect-in-background (start as a follower while the store is down),
 * baton.resign-on-request=false (stop the work, then hand over) and baton.allow-eviction.
 */
class StoreOptionsTests {
    private static final AtomicInteger UNIQUE = new AtomicInteger();
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static RedisServer redis;

    @BeforeAll
    static void startRedis() throws Exception {
        redis = RedisServer.start();
    }

    @AfterAll
    static void stopRedis() throws Exception {
        if (redis != null) {
            redis.close();
        }
    }

    private static String app() {
        return "options-" + UNIQUE.incrementAndGet();
    }

    static class Job {
        // Read through methods: the test holds a proxy, whose own fields are empty.
        private final CountDownLatch release = new CountDownLatch(1);
        private final CountDownLatch entered = new CountDownLatch(1);

        public CountDownLatch release() {
            return release;
        }

        public CountDownLatch entered() {
            return entered;
        }

        @ConditionalOnLeader
        public String run() {
            return "ran " + LeaderContext.currentToken();
        }

        /** Holds the leadership's work until {@link #release} opens. */
        @ConditionalOnLeader
        public String hold() throws InterruptedException {
            entered.countDown();
            release.await(WAIT.toSeconds(), TimeUnit.SECONDS);
            return "held";
        }
    }

    @ConditionalOnLeader
    static class Consumer implements SmartLifecycle {
        private volatile boolean running;

        @Override
        public void start() {
            running = true;
        }

        @Override
        public void stop() {
            running = false;
        }

        @Override
        public boolean isRunning() {
            return running;
        }
    }

    @Test
    void startsAsAFollowerWithoutItsStoreAndCampaignsOnceItAnswers() throws Exception {
        int port = RedisServer.freePort();
        new ApplicationContextRunner().withConfiguration(BootLine.baton()).withConfiguration(BootLine.health())
            .withPropertyValues("baton.store=redis://127.0.0.1:" + port, "spring.application.name=" + app(),
                "baton.connect-timeout=300ms", "baton.connect-in-background=true")
            .withBean(Job.class)
            .run(context -> {
                assertThat(context).hasNotFailed();
                LeaderElection e = context.getBean(LeaderElection.class);
                assertThat(e.isLeader()).isFalse();
                assertThat(context.getBean(Job.class).run()).isNull(); // skipped, as on a follower
                BootLine.Checked down = BootLine.checkHealth(context);
                assertThat(down.status()).isEqualTo("DOWN");
                assertThat(down.details().get("error").toString()).contains("127.0.0.1:" + port);
                assertThat(role(down, e.name())).isEqualTo("connecting");

                try (RedisServer late = RedisServer.startOn(port)) {
                    await().atMost(WAIT).until(e::isLeader);
                    assertThat(context.getBean(Job.class).run()).startsWith("ran ");
                    BootLine.Checked up = BootLine.checkHealth(context);
                    assertThat(up.status()).isEqualTo("UP");
                    assertThat(role(up, e.name())).isEqualTo("leader");
                    context.close(); // releases while the store is still there
                }
            });
    }

    @SuppressWarnings("unchecked")
    private static String role(BootLine.Checked health, String election) {
        Map<String, ElectionDescriptor> elections = (Map<String, ElectionDescriptor>) health.details().get("elections");
        return elections.get(election).role();
    }

    @Test
    void withoutTheOptionAnUnreachableStoreStillFailsStartup() throws Exception {
        int port = RedisServer.freePort();
        new ApplicationContextRunner().withConfiguration(BootLine.baton())
            .withPropertyValues("baton.store=redis://127.0.0.1:" + port, "spring.application.name=" + app(),
                "baton.connect-timeout=300ms")
            .run(context -> {
                assertThat(context).hasFailed();
                assertThat(context.getStartupFailure()).hasStackTraceContaining("baton.connect-in-background=true");
            });
    }

    @Test
    void aDeferredResignStopsTheLeaderOnlyWorkBeforeTheLeaseGoes() throws Exception {
        String name = app();
        new ApplicationContextRunner().withConfiguration(BootLine.baton())
            .withPropertyValues("baton.store=" + redis.url(), "spring.application.name=" + name, "baton.ttl=60s",
                "baton.resign-on-request=false")
            .withBean(Job.class).withBean(Consumer.class)
            .run(context -> {
                assertThat(context).hasNotFailed();
                LeaderElection e = context.getBean(LeaderElection.class);
                Consumer consumer = context.getBean(Consumer.class);
                await().atMost(WAIT).until(() -> e.isLeader() && consumer.isRunning());
                Job job = context.getBean(Job.class);
                CompletableFuture<String> held = CompletableFuture.supplyAsync(() -> {
                    try {
                        return job.hold();
                    } catch (InterruptedException ex) {
                        throw new IllegalStateException(ex);
                    }
                });
                assertThat(job.entered().await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();

                // Another instance (or baton resign) asks this leader to hand over.
                assertThat(LeaderElection.builder(redis.url(), name).requestResign()).isPresent();
                await().atMost(WAIT).until(() -> !consumer.isRunning());
                // The lease stays until the running method is done; new calls are skipped meanwhile.
                assertThat(e.isLeader()).isTrue();
                assertThat(job.run()).isNull();
                job.release().countDown();
                assertThat(held.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo("held");
                await().atMost(WAIT).until(() -> !e.isLeader());
            });
    }

    @Test
    void anEvictingStoreIsRefusedNamingThePropertyUnlessAllowed() throws Exception {
        try (RedisServer lru = RedisServer.start("--maxmemory-policy", "allkeys-lru")) {
            ApplicationContextRunner runner = new ApplicationContextRunner().withConfiguration(BootLine.baton())
                .withPropertyValues("baton.store=" + lru.url(), "spring.application.name=" + app());
            runner.run(context -> {
                assertThat(context).hasFailed();
                assertThat(context.getStartupFailure()).hasStackTraceContaining("baton.allow-eviction")
                    .hasStackTraceContaining("allkeys-lru");
            });
            runner.withPropertyValues("baton.allow-eviction=true").run(context -> {
                assertThat(context).hasNotFailed();
                await().atMost(WAIT).until(context.getBean(LeaderElection.class)::isLeader);
            });
        }
    }
}
