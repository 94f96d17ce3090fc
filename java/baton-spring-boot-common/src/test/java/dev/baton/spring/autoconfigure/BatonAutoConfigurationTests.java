package dev.baton.spring.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.LeaderElection;
import dev.baton.StoreAuthenticationException;
import dev.baton.spring.BatonLifecycle;
import dev.baton.spring.BootLine;
import dev.baton.spring.ConditionalOnLeader;
import dev.baton.spring.ConditionalOnLeaderBeanPostProcessor;
import dev.baton.spring.LeaderContext;
import dev.baton.spring.LeaderElections;
import dev.baton.RedisServer;
import dev.baton.spring.actuate.ElectionDescriptor;
import dev.baton.spring.actuate.LeadershipEndpoint;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

class BatonAutoConfigurationTests {
    private static final AtomicInteger UNIQUE = new AtomicInteger();
    private static RedisServer redis;

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
        .withConfiguration(BootLine.baton());

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

    /** A fresh election name, so that tests never compete with each other. */
    private static String app() {
        return "app-" + UNIQUE.incrementAndGet();
    }

    private ApplicationContextRunner withStore() {
        return runner.withPropertyValues("baton.store=" + redis.url(), "spring.application.name=" + app());
    }

    private static String startupFailure(AssertableApplicationContext context) {
        assertThat(context).hasFailed();
        Throwable t = context.getStartupFailure();
        StringBuilder all = new StringBuilder();
        for (; t != null; t = t.getCause()) {
            all.append(t.getMessage()).append('\n');
        }
        return all.toString();
    }

    @Test
    void bindsEveryPropertyAndBuildsTheDefaultElectionFromTheApplicationName() {
        String name = app();
        runner.withPropertyValues("baton.store=" + redis.url(), "spring.application.name=" + name,
                "baton.ttl=2s", "baton.renew-interval=500ms", "baton.retry-interval=100ms", "baton.drift=0.02",
                "baton.key-prefix=t:", "baton.connect-timeout=1s", "baton.interrupt-on-revoke=false",
                "baton.shutdown.timeout=5s", "baton.elections.reports.ttl=3s", "baton.elections.reports.campaign=false")
            .run(context -> {
                assertThat(context).hasNotFailed();
                BatonProperties p = context.getBean(BatonProperties.class);
                assertThat(p.getTtl()).isEqualTo(Duration.ofSeconds(2));
                assertThat(p.getRenewInterval()).isEqualTo(Duration.ofMillis(500));
                assertThat(p.getRetryInterval()).isEqualTo(Duration.ofMillis(100));
                assertThat(p.getDrift()).isEqualTo(0.02);
                assertThat(p.getKeyPrefix()).isEqualTo("t:");
                assertThat(p.getConnectTimeout()).isEqualTo(Duration.ofSeconds(1));
                assertThat(p.isInterruptOnRevoke()).isFalse();
                assertThat(p.getShutdown().getTimeout()).isEqualTo(Duration.ofSeconds(5));
                assertThat(p.getElections().get("reports").getTtl()).isEqualTo(Duration.ofSeconds(3));
                assertThat(p.getElections().get("reports").getCampaign()).isFalse();

                LeaderElection election = context.getBean(LeaderElection.class);
                assertThat(election.name()).isEqualTo(name);
                await().atMost(Duration.ofSeconds(20)).until(election::isLeader);
                // The key prefix reached the store: a reader with the same prefix sees the leader.
                assertThat(LeaderElection.builder(redis.url(), name).keyPrefix("t:").currentLeader())
                    .map(l -> l.candidateId()).contains(election.candidateId());
            });
    }

    @Test
    void electionsUnderBatonElectionsAreBeansQualifiedByName() {
        withStore().withPropertyValues("baton.elections.reports.ttl=3s")
            .withUserConfiguration(QualifiedInjection.class)
            .run(context -> {
                assertThat(context).hasNotFailed();
                assertThat(context.getBean("reportsElection", String.class)).isEqualTo("reports");
                assertThat(context.getBean(LeaderElection.class).name()).startsWith("app-");
                assertThat(context.getBean(LeaderElections.class).find("reports")).isPresent();
            });
    }

    @Configuration(proxyBeanMethods = false)
    static class QualifiedInjection {
        @Bean
        String reportsElection(@Qualifier("reports") LeaderElection reports) {
            return reports.name();
        }
    }

    @Test
    void usesSpringDataRedisPropertiesWithoutSpringDataRedis() {
        runner.withPropertyValues("spring.application.name=" + app(), "spring.data.redis.host=127.0.0.1",
                "spring.data.redis.port=" + redis.port())
            .run(context -> {
                assertThat(context).hasNotFailed();
                assertThat(context.getBean(BatonElectionFactory.class).storeUrl())
                    .isEqualTo("redis://127.0.0.1:" + redis.port());
                assertThat(context).hasSingleBean(LeaderElection.class);
            });
    }

    @Test
    void usesSpringDataRedisConnectionDetailsWhenSpringDataRedisIsSetUp() {
        runner.withConfiguration(BootLine.springDataRedis())
            .withPropertyValues("spring.application.name=" + app(),
                "spring.data.redis.url=redis://127.0.0.1:" + redis.port() + "/3")
            .run(context -> {
                assertThat(context).hasNotFailed();
                assertThat(context.getBean(BatonElectionFactory.class).storeUrl())
                    .isEqualTo("redis://127.0.0.1:" + redis.port() + "/3");
                assertThat(context.getBean(BatonElectionFactory.class).storeDescription())
                    .endsWith("(from spring.data.redis.url)");
                assertThat(context).hasSingleBean(LeaderElection.class);
            });
    }

    @Test
    void passesAPasswordWithReservedCharactersThrough() throws Exception {
        String password = "p@ss:w/rd %x";
        try (RedisServer locked = RedisServer.start("--requirepass", password)) {
            runner.withPropertyValues("spring.application.name=" + app(), "spring.data.redis.host=127.0.0.1",
                    "spring.data.redis.port=" + locked.port(), "spring.data.redis.password=" + password)
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    LeaderElection e = context.getBean(LeaderElection.class);
                    await().atMost(Duration.ofSeconds(20)).until(e::isLeader);
                });
        }
    }

    @Test
    void aWrongPasswordFailsWithTheAuthenticationTypeNamingTheProperties() throws Exception {
        try (RedisServer locked = RedisServer.start("--requirepass", "right")) {
            runner.withPropertyValues("spring.application.name=" + app(), "spring.data.redis.host=127.0.0.1",
                    "spring.data.redis.port=" + locked.port(), "spring.data.redis.password=wrong")
                .run(context -> {
                    String failure = startupFailure(context);
                    assertThat(context.getStartupFailure()).hasRootCauseInstanceOf(StoreAuthenticationException.class);
                    BatonStartupException startup = findCause(context.getStartupFailure(), BatonStartupException.class);
                    FailureAnalysis analysis = new BatonFailureAnalyzer().analyze(context.getStartupFailure());
                    assertThat(analysis.getDescription()).contains("refused").contains("spring.data.redis.host/port");
                    assertThat(analysis.getAction()).contains("spring.data.redis.username")
                        .contains("spring.data.redis.password").contains("ACL");
                    assertThat(failure).doesNotContain("wrong@");
                    assertThat(startup).isNotNull();
                });
        }
    }

    private static <T extends Throwable> T findCause(Throwable t, Class<T> type) {
        for (; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return type.cast(t);
            }
        }
        return null;
    }

    @Test
    void usesSpringDataRedisSentinel() throws Exception {
        try (RedisServer master = RedisServer.start(); RedisServer sentinel = RedisServer.startSentinel(master.port())) {
            runner.withPropertyValues("spring.application.name=" + app(), "spring.data.redis.sentinel.master=mymaster",
                    "spring.data.redis.sentinel.nodes=127.0.0.1:" + sentinel.port())
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context.getBean(BatonElectionFactory.class).storeUrl())
                        .isEqualTo("redis+sentinel://127.0.0.1:" + sentinel.port() + "/mymaster");
                    LeaderElection e = context.getBean(LeaderElection.class);
                    await().atMost(Duration.ofSeconds(20)).until(e::isLeader);
                    // The lease lives on the master the sentinel named.
                    assertThat(LeaderElection.builder(master.url(), e.name()).currentLeader())
                        .map(l -> l.candidateId()).contains(e.candidateId());
                });
        }
    }

    @Test
    void sentinelOverTlsFailsNamingThePropertyAndTheFix() {
        runner.withPropertyValues("spring.application.name=" + app(), "spring.data.redis.sentinel.master=mymaster",
                "spring.data.redis.sentinel.nodes=127.0.0.1:26379", "spring.data.redis.ssl.enabled=true")
            .run(context -> assertThat(startupFailure(context))
                .contains("spring.data.redis.sentinel").contains("over TLS").contains("Set baton.store"));
    }

    @Test
    void invalidSettingsFailNamingEveryProperty() {
        withStore().withPropertyValues("baton.ttl=50ms", "baton.drift=0.9")
            .run(context -> {
                String failure = startupFailure(context);
                assertThat(failure).contains("baton.ttl: 50ms is out of range")
                    .contains("baton.drift: 0.9 is out of range");
                FailureAnalysis analysis = new BatonFailureAnalyzer().analyze(context.getStartupFailure());
                assertThat(analysis).isNotNull();
                assertThat(analysis.getDescription()).contains("baton.ttl");
                assertThat(analysis.getAction()).contains("Fix the properties");
            });
        withStore().withPropertyValues("baton.ttl=1s", "baton.renew-interval=2s")
            .run(context -> assertThat(startupFailure(context)).contains("baton.renew-interval: 2s must be shorter"));
        withStore().withPropertyValues("baton.elections.reports.ttl=50ms")
            .run(context -> assertThat(startupFailure(context)).contains("baton.elections.reports.ttl: 50ms"));
        withStore().withPropertyValues("baton.connect-timeout=-1s")
            .run(context -> assertThat(startupFailure(context)).contains("baton.connect-timeout: connectTimeout must not be negative"));
        runner.withPropertyValues("baton.store=http://localhost:6379", "spring.application.name=" + app())
            .run(context -> assertThat(startupFailure(context)).contains("baton.store: http://localhost:6379 is not a store URL baton knows"));
    }

    @Test
    void aMissingStoreFailsSayingWhatToSet() {
        runner.withPropertyValues("spring.application.name=" + app())
            .run(context -> assertThat(startupFailure(context))
                .contains("baton has no store").contains("baton.store=redis://").contains("spring.data.redis.url")
                .contains("baton.enabled=false"));
    }

    @Test
    void anUnreachableStoreFailsNamingItsSource() throws Exception {
        int closed = RedisServer.freePort();
        runner.withPropertyValues("spring.application.name=" + app(), "baton.store=redis://127.0.0.1:" + closed,
                "baton.connect-timeout=500ms")
            .run(context -> assertThat(startupFailure(context))
                .contains("could not reach its store redis://127.0.0.1:" + closed + " (from baton.store)")
                .contains("baton.connect-timeout = 500ms"));
    }

    @Test
    void disabledHasNoElections() {
        withStore().withPropertyValues("baton.enabled=false")
            .run(context -> assertThat(context).hasNotFailed()
                .doesNotHaveBean(LeaderElection.class)
                .doesNotHaveBean(LeaderElections.class)
                .doesNotHaveBean(BatonLifecycle.class)
                .hasSingleBean(ConditionalOnLeaderBeanPostProcessor.class)); // runs every call
    }

    @Test
    void backsOffWhenTheApplicationDefinesItsOwnElection() {
        withStore().withUserConfiguration(OwnElection.class)
            .run(context -> {
                assertThat(context).hasNotFailed().hasSingleBean(LeaderElection.class);
                assertThat(context.getBean(LeaderElection.class).name()).isEqualTo("mine");
                assertThat(context.getBean(LeaderElections.class).getDefault().name()).isEqualTo("mine");
            });
    }

    @Configuration(proxyBeanMethods = false)
    static class OwnElection {
        @Bean
        LeaderElection mine() {
            return LeaderElection.builder(redis.url(), "mine").build();
        }
    }

    @Test
    void backsOffWhenTheApplicationDefinesItsOwnRegistryAndFactory() {
        withStore().withUserConfiguration(OwnRegistry.class)
            .run(context -> {
                assertThat(context).hasNotFailed().hasSingleBean(LeaderElections.class)
                    .hasSingleBean(BatonElectionFactory.class);
                assertThat(context.getBean(LeaderElections.class)).isSameAs(OwnRegistry.REGISTRY);
                assertThat(context.getBean(BatonElectionFactory.class)).isSameAs(OwnRegistry.FACTORY);
            });
    }

    @Configuration(proxyBeanMethods = false)
    static class OwnRegistry {
        static final BatonElectionFactory FACTORY = new BatonElectionFactory(new BatonProperties(),
            new org.springframework.mock.env.MockEnvironment().withProperty("baton.store", "unused"), () -> null,
            java.util.List.of());
        static final LeaderElections REGISTRY = new LeaderElections(n -> {
            throw new AssertionError("not used");
        }, "own");

        @Bean
        BatonElectionFactory ownFactory() {
            return FACTORY;
        }

        @Bean
        LeaderElections ownRegistry() {
            return REGISTRY;
        }

        @Bean
        LeaderElection ownDefault() {
            return LeaderElection.builder(redis.url(), "own").build();
        }
    }

    @Test
    void withoutANameThereIsNoDefaultElectionAndAnAnnotationWithoutValueFails() {
        runner.withPropertyValues("baton.store=" + redis.url())
            .run(context -> assertThat(context).hasNotFailed().doesNotHaveBean(LeaderElection.class));
        runner.withPropertyValues("baton.store=" + redis.url()).withUserConfiguration(DefaultElectionJob.class)
            .run(context -> assertThat(startupFailure(context))
                .contains("set spring.application.name or baton.name"));
    }

    @Configuration(proxyBeanMethods = false)
    static class DefaultElectionJob {
        @Bean
        Jobs jobs() {
            return new Jobs();
        }
    }

    static class Jobs {
        @ConditionalOnLeader
        public void run() {}
    }

    @Test
    void aPrimitiveReturnTypeIsRejectedAtStartup() {
        withStore().withBean(Counting.class)
            .run(context -> assertThat(startupFailure(context))
                .contains("Counting.count() returns int").contains("Integer (null when skipped)"));
    }

    static class Counting {
        @ConditionalOnLeader
        public int count() {
            return 1;
        }
    }

    @Test
    void aBeanMethodMustReturnALifecycle() {
        withStore().withUserConfiguration(LeaderOnlyBeanMethod.class)
            .run(context -> assertThat(startupFailure(context))
                .contains("@ConditionalOnLeader on @Bean method").contains("decides at run time")
                .contains("return a Lifecycle"));
    }

    @Configuration(proxyBeanMethods = false)
    static class LeaderOnlyBeanMethod {
        @Bean
        @ConditionalOnLeader
        Object onlyOnTheLeader() {
            return new Object();
        }
    }

    @Test
    void customizersAdjustEveryElectionTheStarterBuilds() {
        java.util.List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        withStore().withPropertyValues("baton.elections.reports.ttl=3s")
            .withBean(LeaderElectionCustomizer.class, () -> (name, builder) -> seen.add(name))
            .run(context -> {
                assertThat(context).hasNotFailed();
                assertThat(seen).containsExactlyInAnyOrder(context.getBean(LeaderElection.class).name(), "reports");
            });
    }

    @Test
    void aSkippedInvocationReturnsNullOrEmptyAndIsCounted() {
        withStore().withPropertyValues("baton.elections.watch-only.campaign=false")
            .withConfiguration(AutoConfigurations.of(BatonMetricsAutoConfiguration.class))
            .withBean(MeterRegistry.class, SimpleMeterRegistry::new)
            .withBean(WatchOnly.class)
            .run(context -> {
                assertThat(context).hasNotFailed();
                WatchOnly bean = context.getBean(WatchOnly.class);
                assertThat(bean.name()).isNull();
                assertThat(bean.maybe()).isEqualTo(Optional.empty());
                assertThat(bean.calls()).isZero();
                assertThat(context.getBean(MeterRegistry.class).get("baton.invocations.skipped")
                    .tag("election", "watch-only").tag("method", "WatchOnly.maybe").counter().count()).isEqualTo(1);
            });
    }

    static class WatchOnly {
        private final AtomicInteger calls = new AtomicInteger();

        public int calls() {
            return calls.get();
        }

        @ConditionalOnLeader("watch-only")
        public String name() {
            calls.incrementAndGet();
            return "ran";
        }

        @ConditionalOnLeader("watch-only")
        public Optional<String> maybe() {
            calls.incrementAndGet();
            return Optional.of("ran");
        }
    }

    @Test
    void metricsShowLeadershipAndGrants() {
        withStore().withConfiguration(AutoConfigurations.of(BatonMetricsAutoConfiguration.class))
            .withBean(MeterRegistry.class, SimpleMeterRegistry::new)
            .run(context -> {
                assertThat(context).hasNotFailed();
                MeterRegistry registry = context.getBean(MeterRegistry.class);
                String name = context.getBean(LeaderElection.class).name();
                await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                    assertThat(registry.get("baton.leader").tag("election", name).gauge().value()).isEqualTo(1.0);
                    assertThat(registry.get("baton.grants").tag("election", name).counter().count()).isEqualTo(1.0);
                });
                context.getBean(LeaderElection.class).resign();
                await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(registry.get("baton.revocations")
                    .tag("election", name).tag("reason", "resigned").counter().count()).isEqualTo(1.0));
                assertThat(registry.get("baton.leader").tag("election", name).gauge().value()).isEqualTo(0.0);
            });
    }

    @Test
    void countersExistAtStartupBeforeAnyEvent() {
        withStore().withConfiguration(AutoConfigurations.of(BatonMetricsAutoConfiguration.class))
            .withBean(MeterRegistry.class, SimpleMeterRegistry::new)
            .withPropertyValues("baton.campaign=false")
            .run(context -> {
                assertThat(context).hasNotFailed();
                MeterRegistry registry = context.getBean(MeterRegistry.class);
                String name = context.getBean(LeaderElection.class).name();
                assertThat(registry.get("baton.grants").tag("election", name).counter().count()).isZero();
                for (String reason : new String[] {"resigned", "closed", "lease_lost", "lease_expired", "store_unreachable"}) {
                    assertThat(registry.get("baton.revocations").tag("election", name).tag("reason", reason)
                        .counter().count()).isZero();
                }
            });
    }

    private ApplicationContextRunner withActuator() {
        return withStore().withConfiguration(AutoConfigurations.of(BatonActuatorAutoConfiguration.class))
            .withConfiguration(BootLine.health())
            .withPropertyValues("management.endpoints.web.exposure.include=leadership",
                "management.endpoints.jmx.exposure.include=leadership", "spring.jmx.enabled=true");
    }

    @Test
    void actuatorShowsEachElectionAndResignsOnRequest() {
        withActuator().run(context -> {
            assertThat(context).hasNotFailed().hasSingleBean(BootLine.healthIndicator())
                .hasSingleBean(LeadershipEndpoint.class);
            LeaderElection election = context.getBean(LeaderElection.class);
            await().atMost(Duration.ofSeconds(20)).until(election::isLeader);

            BootLine.Checked health = BootLine.checkHealth(context);
            assertThat(health.status()).isEqualTo("UP");
            @SuppressWarnings("unchecked")
            Map<String, ElectionDescriptor> details = (Map<String, ElectionDescriptor>) health.details().get("elections");
            assertThat(details.get(election.name()).role()).isEqualTo("leader");
            assertThat(health.details().get("store")).isEqualTo(redis.url() + " (from baton.store)");

            LeadershipEndpoint endpoint = context.getBean(LeadershipEndpoint.class);
            ElectionDescriptor before = endpoint.elections().get(election.name());
            assertThat(before.token()).isEqualTo(election.fencingToken().getAsLong());
            assertThat(before.leader().candidateId()).isEqualTo(election.candidateId());
            assertThat(endpoint.resign(election.name()).role()).isEqualTo("follower");
            assertThat(endpoint.election("no-such-election")).isNull();
        });
    }

    @Test
    void healthIsDownWhenTheStoreIsGone() throws Exception {
        RedisServer lost = RedisServer.start();
        try {
            runner.withConfiguration(AutoConfigurations.of(BatonActuatorAutoConfiguration.class))
                .withConfiguration(BootLine.health())
                .withPropertyValues("baton.store=" + lost.url(), "spring.application.name=" + app(),
                    "baton.connect-timeout=500ms")
                .run(context -> {
                    assertThat(BootLine.checkHealth(context).status()).isEqualTo("UP");
                    lost.close();
                    BootLine.Checked down = BootLine.checkHealth(context);
                    assertThat(down.status()).isEqualTo("DOWN");
                    assertThat(down.details().get("error").toString()).contains(lost.url());
                });
        } finally {
            lost.close();
        }
    }

    @Test
    void withoutActuatorThereIsNoHealthOrEndpoint() {
        withStore().withConfiguration(AutoConfigurations.of(BatonActuatorAutoConfiguration.class))
            .withConfiguration(BootLine.batonHealth())
            .withClassLoader(new FilteredClassLoader("org.springframework.boot.actuate", "org.springframework.boot.health"))
            .run(context -> assertThat(context).hasNotFailed().doesNotHaveBean(BootLine.healthIndicator())
                .doesNotHaveBean(LeadershipEndpoint.class).hasSingleBean(LeaderElection.class));
    }

    @Test
    void afterTheContextClosedIsLeaderIsFalseNotAnException() {
        withStore().run(context -> {
            LeaderElection e = context.getBean(LeaderElection.class);
            await().atMost(Duration.ofSeconds(20)).until(e::isLeader);
            context.close();
            assertThat(e.isClosed()).isTrue();
            assertThat(e.isLeader()).isFalse();
            assertThat(e.fencingToken()).isEmpty();
        });
    }

    @Test
    void leaderContextOutsideALeaderOnlyMethodSaysWhereToCallIt() {
        assertThat(LeaderContext.current()).isEmpty();
        org.assertj.core.api.Assertions.assertThatThrownBy(LeaderContext::currentToken)
            .isInstanceOf(IllegalStateException.class).hasMessageContaining("@ConditionalOnLeader method");
    }
}
