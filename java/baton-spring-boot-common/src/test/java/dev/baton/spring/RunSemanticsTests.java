package dev.baton.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.LeaderElection;
import dev.baton.RedisServer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Per-run semantics across instances: {@code minSpacing} (runs spaced fleet-wide without comparing
 * clocks) and {@code catchUp} (a trigger missed while nobody led runs once on the next leader),
 * with two application contexts on one real redis-server.
 */
class RunSemanticsTests {
    private static final AtomicInteger UNIQUE = new AtomicInteger();
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Duration SPACING = Duration.ofSeconds(1);
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

    /** Run start times (System.nanoTime) and tokens; read through methods, as the test holds a proxy. */
    static class Jobs {
        private final List<long[]> spacedRuns = new CopyOnWriteArrayList<>();
        private final List<Long> reports = new CopyOnWriteArrayList<>();

        @ConditionalOnLeader(minSpacing = "1s")
        public String spaced() {
            spacedRuns.add(new long[] {System.nanoTime(), LeaderContext.currentToken()});
            return "ran";
        }

        /** Far longer than this test: whatever runs it right after a grant is a bug. */
        @ConditionalOnLeader(minSpacing = "10m")
        public String rare() {
            return "ran";
        }

        @ConditionalOnLeader(catchUp = true)
        public void report() {
            reports.add(LeaderContext.currentToken());
        }

        public List<long[]> spacedRuns() {
            return spacedRuns;
        }

        public List<Long> reports() {
            return reports;
        }
    }

    private static ApplicationContextRunner instance(String name) {
        return new ApplicationContextRunner().withConfiguration(BootLine.baton())
            .withPropertyValues("baton.store=" + redis.url(), "spring.application.name=" + name, "baton.ttl=60s")
            .withBean(Jobs.class);
    }

    private static String app() {
        return "runs-" + UNIQUE.incrementAndGet();
    }

    private static CatchUp catchUpOf(ConfigurableApplicationContext context) {
        return context.getBean(ConditionalOnLeaderBeanPostProcessor.class).work().catchUp();
    }

    @Test
    void minSpacingHoldsAcrossAHandover() {
        String name = app();
        instance(name).run(a -> instance(name).run(b -> {
            LeaderElection ea = a.getBean(LeaderElection.class);
            LeaderElection eb = b.getBean(LeaderElection.class);
            await().atMost(WAIT).until(() -> ea.isLeader() || eb.isLeader());
            LeaderElection first = ea.isLeader() ? ea : eb;
            Jobs firstJobs = (ea.isLeader() ? a : b).getBean(Jobs.class);
            Jobs nextJobs = (ea.isLeader() ? b : a).getBean(Jobs.class);
            LeaderElection next = first == ea ? eb : ea;

            // A fresh leader skips its first minSpacing: the previous one may just have run.
            assertThat(firstJobs.rare()).isNull();
            await().atMost(WAIT).pollInterval(10, TimeUnit.MILLISECONDS).until(() -> firstJobs.spaced() != null);
            assertThat(firstJobs.spaced()).as("a second run within minSpacing").isNull();

            first.resign(); // after the run returned: the next grant comes after it
            await().atMost(WAIT).until(next::isLeader);
            assertThat(nextJobs.rare()).isNull();
            // Triggers as fast as the test can: the first one allowed is the first run.
            await().atMost(WAIT).pollInterval(10, TimeUnit.MILLISECONDS).until(() -> nextJobs.spaced() != null);
            long[] before = firstJobs.spacedRuns().get(0);
            long[] after = nextJobs.spacedRuns().get(0);
            assertThat(after[1]).isGreaterThan(before[1]);
            // A lower bound only: a slow machine makes the gap longer, never shorter.
            assertThat(Duration.ofNanos(after[0] - before[0])).isGreaterThanOrEqualTo(SPACING);
        }));
    }

    @Test
    void aTriggerMissedWhileACrashedLeadersLeaseRanOutRunsOnceOnTheNextLeader() throws Exception {
        String name = app();
        // A leader that crashed: its lease lives 3s more and is never renewed nor released.
        long ghostToken = ghostLease(name, 3000);
        instance(name).run(b -> {
            Jobs jobs = b.getBean(Jobs.class);
            LeaderElection e = b.getBean(LeaderElection.class);
            await().atMost(WAIT).until(() -> e.leader().isPresent());
            assertThat(e.isLeader()).isFalse();
            jobs.report(); // skipped: the crashed leader's lease still runs
            jobs.report(); // skipped again: still one missed window
            assertThat(jobs.reports()).isEmpty();

            await().atMost(WAIT).until(() -> !jobs.reports().isEmpty());
            assertThat(jobs.reports()).hasSize(1);
            assertThat(jobs.reports().get(0)).isEqualTo(e.fencingToken().getAsLong()).isGreaterThan(ghostToken);
            assertThat(catchUpOf(b).judged.get()).isEqualTo(1);
            assertThat(catchUpOf(b).caughtUp.get()).isEqualTo(1);
        });
    }

    @Test
    void aTriggerTheOldLeaderRanIsNotRepeatedAfterAGracefulHandover() {
        String name = app();
        instance(name).run(a -> {
            LeaderElection ea = a.getBean(LeaderElection.class);
            await().atMost(WAIT).until(ea::isLeader);
            instance(name).run(b -> {
                LeaderElection eb = b.getBean(LeaderElection.class);
                await().atMost(WAIT).until(() -> eb.leader().isPresent());
                // The trigger fires on both: the leader runs it, the follower skips it.
                a.getBean(Jobs.class).report();
                b.getBean(Jobs.class).report();
                assertThat(a.getBean(Jobs.class).reports()).hasSize(1);

                a.close(); // a graceful stop: released at once
                await().atMost(WAIT).until(eb::isLeader);
                await().atMost(WAIT).until(() -> catchUpOf(b).judged.get() == 1);
                assertThat(catchUpOf(b).caughtUp.get()).isZero();
                assertThat(b.getBean(Jobs.class).reports()).isEmpty();
            });
        });
    }

    @Test
    void anInvalidMinSpacingIsRefusedAtStartup() {
        new ApplicationContextRunner().withConfiguration(BootLine.baton())
            .withPropertyValues("baton.store=" + redis.url(), "spring.application.name=" + app())
            .withBean(BadJob.class)
            .run(context -> {
                assertThat(context).hasFailed();
                assertThat(context.getStartupFailure()).hasStackTraceContaining("minSpacing = \"often\"");
            });
    }

    static class BadJob {
        @ConditionalOnLeader(minSpacing = "often")
        public void tick() {}
    }

    /** Writes a lease of another (crashed) candidate that expires in {@code millis}; returns its token. */
    private static long ghostLease(String name, long millis) throws Exception {
        String script = "local t = redis.call('TIME');"
            + " local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000);"
            + " redis.call('HSET', KEYS[1], 'candidate', 'ghost:1:dead', 'host', 'ghost', 'pid', '1', 'token', '7',"
            + " 'since', string.format('%d', now), 'expires', string.format('%d', now + tonumber(ARGV[1])));"
            + " redis.call('SET', KEYS[2], '7'); return 7";
        Process p = new ProcessBuilder("redis-cli", "-p", String.valueOf(redis.port()), "EVAL", script, "2",
            "baton:{" + name + "}:lease", "baton:{" + name + "}:token", String.valueOf(millis))
            .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        assertThat(p.waitFor()).isZero();
        assertThat(out).as("redis-cli answered").isEqualTo("7");
        return 7;
    }
}
