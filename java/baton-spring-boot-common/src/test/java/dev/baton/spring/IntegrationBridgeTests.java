package dev.baton.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.LeaderElection;
import dev.baton.RedisServer;
import dev.baton.RevokeReason;
import dev.baton.spring.autoconfigure.BatonStartupException;
import dev.baton.spring.integration.BatonContext;
import dev.baton.spring.integration.BatonIntegrationAutoConfiguration;
import dev.baton.spring.integration.LeaderEventBridge;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.event.EventListener;
import org.springframework.integration.annotation.Role;
import org.springframework.integration.annotation.ServiceActivator;
import org.springframework.integration.config.EnableIntegration;
import org.springframework.integration.leader.Candidate;
import org.springframework.integration.leader.Context;
import org.springframework.integration.leader.DefaultCandidate;
import org.springframework.integration.leader.event.AbstractLeaderEvent;
import org.springframework.integration.leader.event.OnGrantedEvent;
import org.springframework.integration.leader.event.OnRevokedEvent;
import org.springframework.integration.support.SmartLifecycleRoleController;
import org.springframework.integration.support.leader.LockRegistryLeaderInitiator;
import org.springframework.integration.support.locks.DefaultLockRegistry;
import org.springframework.messaging.MessageHandler;

/**
 * baton in place of Spring Integration's leader initiator, in one JVM: {@code @Role} endpoints
 * follow baton's elections through {@code OnGrantedEvent}/{@code OnRevokedEvent}, {@code Candidate}
 * beans are elected, {@code Context.yield()} hands over, and the bridge backs off when the
 * application keeps its own initiator. Elections between contexts run on a real redis-server.
 */
class IntegrationBridgeTests {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final AtomicInteger UNIQUE = new AtomicInteger();
    private static RedisServer redis;

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
        .withConfiguration(BootLine.baton())
        .withConfiguration(AutoConfigurations.of(BatonIntegrationAutoConfiguration.class))
        .withUserConfiguration(CleanupApp.class);

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

    /** An application written for Spring Integration's leader election: a role's endpoint and a listener. */
    @Configuration(proxyBeanMethods = false)
    @EnableIntegration
    static class CleanupApp {
        @Bean
        @ServiceActivator(inputChannel = "cleanupIn", autoStartup = "false")
        @Role("cleanup")
        MessageHandler cleanupHandler() {
            return message -> {};
        }

        @Bean
        LeaderEvents leaderEvents(Journal journal, @Value("${test.instance:a}") String instance) {
            return new LeaderEvents(journal, instance);
        }
    }

    /** Journals Spring Integration's leader events; keeps each one. */
    static class LeaderEvents {
        final Journal journal;
        final String instance;
        final List<AbstractLeaderEvent> events = new ArrayList<>();

        LeaderEvents(Journal journal, String instance) {
            this.journal = journal;
            this.instance = instance;
        }

        @EventListener
        public void granted(OnGrantedEvent e) {
            record(e, "granted");
        }

        @EventListener
        public void revoked(OnRevokedEvent e) {
            record(e, "revoked");
        }

        private void record(AbstractLeaderEvent e, String what) {
            synchronized (events) {
                events.add(e);
            }
            long token = e.getContext() instanceof BatonContext b ? b.token() : -1;
            journal.add(instance, what, token, e.getRole());
        }

        BatonContext lastGrant(String role) {
            synchronized (events) {
                for (int i = events.size() - 1; i >= 0; i--) {
                    if (events.get(i) instanceof OnGrantedEvent g && g.getRole().equals(role)) {
                        return (BatonContext) g.getContext();
                    }
                }
            }
            throw new AssertionError("no grant of " + role);
        }
    }

    /** One instance with its own journal. */
    private ApplicationContextRunner alone() {
        return runner.withBean(Journal.class, Journal::new);
    }

    private static String unique() {
        return "si-" + UNIQUE.incrementAndGet();
    }

    private static SmartLifecycleRoleController roles(AssertableApplicationContext context) {
        return context.getBean(SmartLifecycleRoleController.class);
    }

    private static Journal.Entry awaitEvent(ConfigurableApplicationContext context, String instance, String what,
            String role) throws InterruptedException {
        return context.getBean(Journal.class).await(0, e -> e.is(instance, what) && role.equals(e.detail()), WAIT,
            what + " of role " + role + " on " + instance);
    }

    @Test
    void aGrantStartsTheRolesEndpointsWithBatonsContext() {
        alone().withPropertyValues("baton.leadership=always", "spring.application.name=" + unique()).run(context -> {
            assertThat(context).hasNotFailed();
            Journal.Entry granted = awaitEvent(context, "a", "granted", "cleanup");

            LeaderElection election = context.getBean(LeaderElections.class).find("cleanup").orElseThrow();
            BatonContext ctx = context.getBean(LeaderEvents.class).lastGrant("cleanup");
            assertThat(ctx.getRole()).isEqualTo("cleanup");
            assertThat(ctx.electionName()).isEqualTo("cleanup");
            assertThat(ctx.isLeader()).isTrue();
            assertThat(ctx.token()).isEqualTo(granted.token()).isEqualTo(election.fencingToken().getAsLong());
            await().atMost(WAIT).until(() -> roles(context).allEndpointsRunning("cleanup"));
        });
    }

    @Test
    void aRoleIsElectedUnderTheMappedName() {
        alone().withPropertyValues("baton.leadership=always", "spring.application.name=" + unique(),
            "baton.integration.roles.cleanup=nightly-cleanup").run(context -> {
                assertThat(context).hasNotFailed();
                awaitEvent(context, "a", "granted", "cleanup");
                LeaderElections elections = context.getBean(LeaderElections.class);
                assertThat(elections.find("nightly-cleanup")).isPresent();
                assertThat(elections.find("cleanup")).isEmpty();
                BatonContext ctx = context.getBean(LeaderEvents.class).lastGrant("cleanup");
                assertThat(ctx.electionName()).isEqualTo("nightly-cleanup");
                assertThat(ctx.getRole()).isEqualTo("cleanup");
                assertThat(context.getBean(Journal.class).count(e -> "nightly-cleanup".equals(e.detail())))
                    .as("the election's own name is no role").isZero();
                await().atMost(WAIT).until(() -> roles(context).allEndpointsRunning("cleanup"));
            });
    }

    @Test
    void anEmptyRoleMappingStopsStartupNamingTheProperty() {
        alone().withPropertyValues("baton.leadership=always", "spring.application.name=" + unique(),
            "baton.integration.roles.cleanup= ").run(context -> {
                assertThat(context).hasFailed();
                assertThat(context.getStartupFailure()).rootCause().isInstanceOf(BatonStartupException.class)
                    .hasMessageContaining("baton.integration.roles.cleanup is empty");
            });
    }

    @Test
    void yieldStopsTheEndpointsBeforeAnotherInstanceIsGranted() {
        String app = unique();
        Journal journal = new Journal();
        ApplicationContextRunner fleet = runner.withBean(Journal.class, () -> journal)
            .withPropertyValues("baton.store=" + redis.url(), "spring.application.name=" + app,
                "baton.integration.roles.cleanup=" + app + "-cleanup");
        fleet.withPropertyValues("test.instance=a").run(a -> fleet.withPropertyValues("test.instance=b").run(b -> {
            assertThat(a).hasNotFailed();
            assertThat(b).hasNotFailed();
            Journal.Entry first = journal.await(0, e -> e.what().equals("granted") && "cleanup".equals(e.detail()),
                WAIT, "a grant of cleanup");
            AssertableApplicationContext leader = first.instance().equals("a") ? a : b;
            AssertableApplicationContext follower = leader == a ? b : a;
            String other = leader == a ? "b" : "a";
            await().atMost(WAIT).until(() -> roles(leader).allEndpointsRunning("cleanup"));
            assertThat(roles(follower).noEndpointsRunning("cleanup")).isTrue();

            BatonContext ctx = leader.getBean(LeaderEvents.class).lastGrant("cleanup");
            int mark = journal.size();
            ctx.yield();
            assertThat(ctx.isLeader()).as("after yield()").isFalse();
            assertThat(ctx.revokeReason()).contains(RevokeReason.RESIGNED);
            assertThat(roles(leader).noEndpointsRunning("cleanup")).as("stopped before yield() returns").isTrue();

            Journal.Entry next = journal.await(mark, e -> e.is(other, "granted") && "cleanup".equals(e.detail()),
                WAIT, "the other instance's grant");
            assertThat(next.token()).isGreaterThan(first.token());
            List<Journal.Entry> after = journal.entries().subList(mark, journal.size());
            assertThat(after).as("the revocation comes before the next grant")
                .filteredOn(e -> "cleanup".equals(e.detail())).extracting(e -> e.instance() + " " + e.what())
                .startsWith(first.instance() + " revoked", other + " granted");
            await().atMost(WAIT).until(() -> roles(follower).allEndpointsRunning("cleanup"));
        }));
    }

    /**
     * While a's role is being revoked, watches (for a while) whether b gets granted: it must not,
     * since a releases its lease only after its revocation was told.
     */
    static class WatchesForOverlap implements Candidate {
        final Journal journal;
        volatile String seen;

        WatchesForOverlap(Journal journal) {
            this.journal = journal;
        }

        @Override
        public String getRole() {
            return "cleanup";
        }

        @Override
        public String getId() {
            return "watch";
        }

        @Override
        public void onGranted(Context ctx) {}

        @Override
        public void onRevoked(Context ctx) {
            try {
                journal.await(0, e -> e.is("b", "granted") && "cleanup".equals(e.detail()), Duration.ofSeconds(2), "");
                seen = "b was granted while a was still revoking";
            } catch (AssertionError notGranted) {
                seen = "no overlap";
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Test
    void closingTheLeaderStopsItsEndpointsBeforeTheNextGrant() {
        String app = unique();
        Journal journal = new Journal();
        WatchesForOverlap watch = new WatchesForOverlap(journal);
        ApplicationContextRunner fleet = runner.withBean(Journal.class, () -> journal)
            .withPropertyValues("baton.store=" + redis.url(), "spring.application.name=" + app,
                "baton.integration.roles.cleanup=" + app + "-cleanup");
        fleet.withPropertyValues("test.instance=a").withBean(Candidate.class, () -> watch).run(a -> {
            awaitEvent(a, "a", "granted", "cleanup");
            fleet.withPropertyValues("test.instance=b").run(b -> {
                assertThat(b).hasNotFailed();
                int mark = journal.size();
                a.close();
                assertThat(watch.seen).isEqualTo("no overlap");
                Journal.Entry next = journal.await(mark, e -> e.is("b", "granted") && "cleanup".equals(e.detail()),
                    WAIT, "b's grant");
                assertThat(journal.entries().subList(mark, journal.size()))
                    .filteredOn(e -> "cleanup".equals(e.detail())).extracting(e -> e.instance() + " " + e.what())
                    .startsWith("a revoked", "b granted");
                assertThat(next.token()).isGreaterThan(0);
                await().atMost(WAIT).until(() -> roles(b).allEndpointsRunning("cleanup"));
            });
        });
    }

    /** Records every call with its thread, and whether two calls ever overlapped. */
    static class RecordingCandidate implements Candidate {
        final List<String> calls = new ArrayList<>();
        final CountDownLatch inOnGranted = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        final CountDownLatch revokedOnce = new CountDownLatch(1);
        private final AtomicInteger inside = new AtomicInteger();
        volatile boolean overlapped;
        volatile Context grantedContext;
        final boolean blockUntilReleased;
        final boolean failFirstGrant;

        RecordingCandidate(boolean blockUntilReleased, boolean failFirstGrant) {
            this.blockUntilReleased = blockUntilReleased;
            this.failFirstGrant = failFirstGrant;
        }

        @Override
        public String getRole() {
            return "worker";
        }

        @Override
        public String getId() {
            return "recording";
        }

        @Override
        public void onGranted(Context ctx) throws InterruptedException {
            enter();
            try {
                boolean first;
                synchronized (calls) {
                    first = calls.stream().noneMatch(c -> c.startsWith("granted"));
                    calls.add("granted " + ((BatonContext) ctx).token() + " on " + Thread.currentThread().getName());
                }
                grantedContext = ctx;
                inOnGranted.countDown();
                if (failFirstGrant && first) {
                    throw new IllegalStateException("cannot start the worker");
                }
                if (blockUntilReleased) {
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        synchronized (calls) {
                            calls.add("interrupted");
                        }
                        throw e;
                    }
                }
            } finally {
                exit();
            }
        }

        @Override
        public void onRevoked(Context ctx) {
            enter();
            try {
                synchronized (calls) {
                    calls.add("revoked " + ((BatonContext) ctx).token() + " " + ((BatonContext) ctx).revokeReason()
                        .map(RevokeReason::id).orElse("?") + " on " + Thread.currentThread().getName());
                }
                revokedOnce.countDown();
            } finally {
                exit();
            }
        }

        private void enter() {
            if (inside.incrementAndGet() > 1) {
                overlapped = true;
            }
        }

        private void exit() {
            inside.decrementAndGet();
        }

        List<String> calls() {
            synchronized (calls) {
                return List.copyOf(calls);
            }
        }
    }

    @Test
    void aCandidateBeanIsElectedAndCalledInOrderNeverConcurrentlyOffBatonsThreads() {
        RecordingCandidate candidate = new RecordingCandidate(true, false);
        alone().withPropertyValues("baton.store=" + redis.url(), "spring.application.name=" + unique(),
            "baton.integration.roles.worker=" + unique(), "baton.interrupt-on-revoke=false")
            .withBean(Candidate.class, () -> candidate).run(context -> {
                assertThat(context).hasNotFailed();
                assertThat(candidate.inOnGranted.await(30, TimeUnit.SECONDS)).as("onGranted").isTrue();
                LeaderElection election = context.getBean(LeaderElections.class)
                    .find(((BatonContext) candidate.grantedContext).electionName()).orElseThrow();
                // Revoked while onGranted still runs: onRevoked must wait for it.
                election.resign();
                assertThat(election.isLeader()).isFalse();
                candidate.release.countDown();
                assertThat(candidate.revokedOnce.await(30, TimeUnit.SECONDS)).as("onRevoked").isTrue();
                long token = ((BatonContext) candidate.grantedContext).token();
                String thread = "baton-si-" + election.name();
                assertThat(candidate.calls()).containsExactly("granted " + token + " on " + thread,
                    "revoked " + token + " resigned on " + thread);
                assertThat(candidate.overlapped).as("onGranted and onRevoked overlapped").isFalse();
            });
    }

    @Test
    void aRevocationInterruptsACandidateStillInOnGranted() {
        RecordingCandidate candidate = new RecordingCandidate(true, false);
        alone().withPropertyValues("baton.store=" + redis.url(), "spring.application.name=" + unique(),
            "baton.integration.roles.worker=" + unique())
            .withBean(Candidate.class, () -> candidate).run(context -> {
                assertThat(context).hasNotFailed();
                assertThat(candidate.inOnGranted.await(30, TimeUnit.SECONDS)).as("onGranted").isTrue();
                candidate.grantedContext.yield(); // from another thread: interrupts onGranted, then revokes
                assertThat(candidate.revokedOnce.getCount()).as("onRevoked ran before yield() returned").isZero();
                long token = ((BatonContext) candidate.grantedContext).token();
                assertThat(candidate.calls()).hasSize(3).element(1).isEqualTo("interrupted");
                assertThat(candidate.calls().get(2)).startsWith("revoked " + token + " resigned");
                assertThat(candidate.grantedContext.isLeader()).isFalse();
            });
    }

    @Test
    void aCandidateThatFailsInOnGrantedGivesTheRoleUp() {
        RecordingCandidate candidate = new RecordingCandidate(false, true);
        alone().withPropertyValues("baton.store=" + redis.url(), "spring.application.name=" + unique(),
            "baton.integration.roles.worker=" + unique())
            .withBean(Candidate.class, () -> candidate).run(context -> {
                assertThat(context).hasNotFailed();
                assertThat(candidate.revokedOnce.await(30, TimeUnit.SECONDS)).as("onRevoked").isTrue();
                long token = ((BatonContext) candidate.grantedContext).token();
                assertThat(candidate.calls()).element(1).asString().startsWith("revoked " + token + " resigned");
                // Told first, then released.
                await().atMost(WAIT).until(() -> !candidate.grantedContext.isLeader());
                assertThat(context.getBean(Journal.class).count(e -> e.what().equals("granted") && "worker".equals(e.detail())))
                    .as("no OnGrantedEvent for a grant the candidate refused").isZero();
            });
    }

    @Test
    void theSwitchTurnsTheBridgeOff() {
        alone().withPropertyValues("baton.leadership=always", "spring.application.name=" + unique(),
            "baton.integration.enabled=false").run(context -> {
                assertThat(context).hasNotFailed().doesNotHaveBean(LeaderEventBridge.class);
                LeaderElection app = context.getBean(LeaderElection.class);
                await().atMost(WAIT).until(app::isLeader);
                assertThat(context.getBean(LeaderElections.class).find("cleanup")).isEmpty();
                assertThat(context.getBean(Journal.class).size()).as("no leader events").isZero();
            });
    }

    /** The application before it moved to baton: Spring Integration's own initiator elects the role. */
    @Configuration(proxyBeanMethods = false)
    static class OwnInitiator {
        @Bean
        LockRegistryLeaderInitiator leaderInitiator() {
            return new LockRegistryLeaderInitiator(new DefaultLockRegistry(), new DefaultCandidate("own", "cleanup"));
        }
    }

    @Test
    @ExtendWith(OutputCaptureExtension.class)
    void backsOffWhileTheApplicationKeepsItsOwnInitiator(CapturedOutput output) {
        alone().withPropertyValues("baton.leadership=always", "spring.application.name=" + unique())
            .withUserConfiguration(OwnInitiator.class).run(context -> {
                assertThat(context).hasNotFailed().doesNotHaveBean(LeaderEventBridge.class);
                // The same application runs on Spring Integration's initiator, untouched by baton.
                Journal.Entry granted = awaitEvent(context, "a", "granted", "cleanup");
                assertThat(granted.token()).as("not baton's context").isEqualTo(-1);
                await().atMost(WAIT).until(() -> roles(context).allEndpointsRunning("cleanup"));
                assertThat(context.getBean(LeaderElections.class).find("cleanup")).isEmpty();
                assertThat(output).contains("bean(s) [leaderInitiator] (LockRegistryLeaderInitiator) elect instead")
                    .contains("baton.integration.enabled=false");
            });
    }
}
