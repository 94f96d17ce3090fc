package dev.baton.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.LeaderElection;
import dev.baton.RedisExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Three application contexts (instances) on one real redis-server. The lease ttl is a minute,
 * so that anything faster than that can only come from baton's release and notification.
 */
class FleetIntegrationTests {
    private static final Duration TTL = Duration.ofSeconds(60);
    /** Far below the ttl: a handover within this bound cannot be a lease expiry. */
    private static final Duration WAIT = Duration.ofSeconds(20);
    @RegisterExtension
    static final RedisExtension redis = new RedisExtension();

    private final Journal journal = new Journal();
    private final Map<String, ConfigurableApplicationContext> fleet = new LinkedHashMap<>();
    private String election;


    @BeforeEach
    void name(TestInfo test) {
        election = "fleet-" + test.getTestMethod().orElseThrow().getName();
    }

    @AfterEach
    void stopFleet() {
        fleet.values().forEach(ConfigurableApplicationContext::close);
    }

    private void start(String... instances) {
        for (String instance : instances) {
            ConfigurableApplicationContext context = new SpringApplicationBuilder(FleetApp.class)
                .web(WebApplicationType.NONE)
                .bannerMode(org.springframework.boot.Banner.Mode.OFF)
                .logStartupInfo(false)
                .registerShutdownHook(false)
                .initializers(c -> c.getBeanFactory().registerSingleton("journal", journal))
                .properties(
                    "test.instance=" + instance,
                    "spring.application.name=" + election,
                    "baton.store=" + redis.url(),
                    "baton.ttl=" + TTL.toSeconds() + "s")
                .run();
            fleet.put(instance, context);
        }
    }

    private Journal.Entry awaitGrant(int from) throws InterruptedException {
        return journal.await(from, e -> e.what().equals("granted"), WAIT, "a grant");
    }

    @Test
    void exactlyOneInstanceRunsTheScheduledJob() throws Exception {
        start("a", "b", "c");
        String leader = awaitGrant(0).instance();
        List<String> followers = new ArrayList<>(List.of("a", "b", "c"));
        followers.remove(leader);

        // Both followers skipped the job several times while the leader ran it several times.
        journal.awaitCount(e -> e.is(leader, "run"), 10, WAIT, "10 runs on the leader");
        for (String f : followers) {
            journal.awaitCount(e -> e.is(f, "skipped"), 10, WAIT, "10 skips on " + f);
        }

        Set<String> ran = journal.all(e -> e.what().equals("run")).stream()
            .map(Journal.Entry::instance).collect(Collectors.toSet());
        assertThat(ran).containsExactly(leader);
        Set<Long> tokens = journal.all(e -> e.what().equals("run")).stream()
            .map(Journal.Entry::token).collect(Collectors.toSet());
        assertThat(tokens).hasSize(1);
        assertThat(journal.all(e -> e.what().equals("skipped")))
            .allMatch(e -> !e.instance().equals(leader));
        assertThat(fleet.get(leader).getBean(LeaderElection.class).isLeader()).isTrue();
        for (String f : followers) {
            assertThat(fleet.get(f).getBean(LeaderElection.class).isLeader()).isFalse();
        }
    }

    @Test
    void closingTheLeadersContextHandsOverWithoutWaitingForTheTtl() throws Exception {
        start("a", "b", "c");
        Journal.Entry first = awaitGrant(0);
        String leader = first.instance();
        journal.awaitCount(e -> e.is(leader, "run"), 3, WAIT, "runs on the leader");

        int mark = journal.size();
        long closing = System.nanoTime();
        fleet.remove(leader).close();
        long closed = System.nanoTime();
        Journal.Entry next = journal.await(mark, e -> e.what().equals("granted"), WAIT,
            "a grant on another instance (without release it would take the " + TTL + " ttl)");
        Journal.Entry nextRun = journal.await(mark, e -> e.is(next.instance(), "run"), WAIT, "the new leader's run");

        assertThat(next.instance()).isNotEqualTo(leader);
        assertThat(next.token()).isGreaterThan(first.token());
        assertThat(nextRun.token()).isEqualTo(next.token());
        Journal.Entry revoked = journal.await(mark, e -> e.is(leader, "revoked"), WAIT, "the old leader's revocation");
        assertThat(revoked.detail()).isEqualTo("closed");
        // Leader-only work stopped before the release: no run of the old leader after it.
        Journal.Entry lastOldRun = journal.all(e -> e.is(leader, "run")).stream().reduce((x, y) -> y).orElseThrow();
        assertThat(lastOldRun.at()).isLessThan(revoked.at());
        System.out.printf("handover: close() of the leader's context -> grant on %s %.1f ms (close() took %.1f ms);"
                + " last run of the old leader -> first run of the new one %.1f ms (ttl %s)%n",
            next.instance(), (next.at() - closing) / 1e6, (closed - closing) / 1e6,
            (nextRun.at() - lastOldRun.at()) / 1e6, TTL);
    }

    @Test
    void shutdownReleasesLeadershipOnlyAfterRunningLeaderOnlyWorkFinished() throws Exception {
        start("a", "b");
        Journal.Entry grant = awaitGrant(0);
        ConfigurableApplicationContext leader = fleet.remove(grant.instance());
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            CountDownLatch started = new CountDownLatch(1);
            CountDownLatch go = new CountDownLatch(1);
            Future<String> work = pool.submit(() -> leader.getBean(FleetApp.Worker.class).runUntil(started, go));
            assertThat(started.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
            int mark = journal.size();
            AtomicReference<Thread> closer = new AtomicReference<>();
            Future<?> closing = pool.submit(() -> {
                closer.set(Thread.currentThread());
                leader.close();
            });
            // The close is parked in baton's wait for leader-only work, and nobody took over.
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (closer.get() == null || !waitingForLeaderOnlyWork(closer.get())) {
                assertThat(System.nanoTime()).as("close() waits for the running method").isLessThan(deadline);
                assertThat(closing.isDone()).as("close() finished while a leader-only method ran").isFalse();
                Thread.onSpinWait();
            }
            assertThat(journal.count(e -> e.what().equals("granted"))).as("grants so far").isEqualTo(1);
            go.countDown();
            assertThat(work.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo("finished");
            closing.get(WAIT.toSeconds(), TimeUnit.SECONDS);
            Journal.Entry next = journal.await(mark, e -> e.what().equals("granted"), WAIT, "the other instance's grant");
            assertThat(next.instance()).isNotEqualTo(grant.instance());
        } finally {
            pool.shutdownNow();
        }
    }

    private static boolean waitingForLeaderOnlyWork(Thread t) {
        if (t.getState() != Thread.State.TIMED_WAITING) {
            return false;
        }
        for (StackTraceElement frame : t.getStackTrace()) {
            if (frame.getClassName().equals(LeaderOnlyWork.class.getName()) && frame.getMethodName().equals("awaitIdle")) {
                return true;
            }
        }
        return false;
    }

    @Test
    void aLifecycleBeanFollowsLeadership() throws Exception {
        start("a", "b", "c");
        String leader = awaitGrant(0).instance();
        journal.await(0, e -> e.is(leader, "pump-started"), WAIT, "the leader's pump to start");
        for (String i : fleet.keySet()) {
            assertThat(fleet.get(i).getBean(FleetApp.Pump.class).isRunning()).as(i).isEqualTo(i.equals(leader));
        }
        assertThat(journal.all(e -> e.what().equals("pump-started"))).extracting(Journal.Entry::instance)
            .containsExactly(leader);

        int mark = journal.size();
        fleet.get(leader).getBean(LeaderElection.class).resign();
        Journal.Entry next = journal.await(mark, e -> e.what().equals("granted"), WAIT, "the next grant");
        journal.await(mark, e -> e.is(next.instance(), "pump-started"), WAIT, "the new leader's pump to start");
        journal.await(mark, e -> e.is(leader, "pump-stopped"), WAIT, "the old leader's pump to stop");
        assertThat(fleet.get(leader).getBean(FleetApp.Pump.class).isRunning()).isFalse();
        assertThat(fleet.get(next.instance()).getBean(FleetApp.Pump.class).isRunning()).isTrue();
    }

    @Test
    void anInterruptedLeaderOnlyMethodSeesItsToken() throws Exception {
        start("a", "b", "c");
        Journal.Entry grant = awaitGrant(0);
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            CountDownLatch started = new CountDownLatch(1);
            Future<String> onLeader = pool.submit(() ->
                fleet.get(grant.instance()).getBean(FleetApp.Worker.class).blockUntilInterrupted(started));
            assertThat(started.await(WAIT.toSeconds(), TimeUnit.SECONDS)).as("the leader's method started").isTrue();
            for (String i : fleet.keySet()) {
                if (!i.equals(grant.instance())) {
                    assertThat(fleet.get(i).getBean(FleetApp.Worker.class).blockUntilInterrupted(new CountDownLatch(1)))
                        .as("skipped on follower " + i).isNull();
                }
            }
            fleet.get(grant.instance()).getBean(LeaderElection.class).resign();
            assertThat(onLeader.get(WAIT.toSeconds(), TimeUnit.SECONDS))
                .isEqualTo("interrupted token=" + grant.token() + " reason=resigned leader=false");
        } finally {
            pool.shutdownNow();
        }
    }
}
