package dev.baton.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.LeaderElection;
import dev.baton.RedisServer;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.Lifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jms.annotation.JmsListener;
import reactor.core.publisher.Mono;

/** What @ConditionalOnLeader accepts, refuses at startup, and how far a class-level one reaches. */
class AnnotationRulesTests {
    private static final AtomicInteger UNIQUE = new AtomicInteger();
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

    private static ApplicationContextRunner runner(boolean campaign) {
        return new ApplicationContextRunner().withConfiguration(BootLine.baton())
            .withPropertyValues("baton.store=" + redis.url(), "spring.application.name=rules-" + UNIQUE.incrementAndGet(),
                "baton.campaign=" + campaign);
    }

    private static String startupFailure(AssertableApplicationContext context) {
        assertThat(context).hasFailed();
        StringBuilder all = new StringBuilder();
        for (Throwable t = context.getStartupFailure(); t != null; t = t.getCause()) {
            all.append(t.getMessage()).append('\n');
        }
        return all.toString();
    }

    static class JmsConsumer {
        @JmsListener(destination = "orders")
        @ConditionalOnLeader
        public void on(String message) {}
    }

    @Test
    void aListenerMethodIsRefusedWithTheRecipe() {
        runner(true).withBean(JmsConsumer.class).run(context -> assertThat(startupFailure(context))
            .contains("@JmsListener").contains("JmsConsumer.on").contains("lost")
            .contains("ContainerLifecycle").contains("autoStartup"));
    }

    static class ReactiveJob {
        @ConditionalOnLeader
        public Mono<Void> tick() {
            return Mono.empty();
        }
    }

    @Test
    void aReactiveMethodIsRefused() {
        runner(true).withBean(ReactiveJob.class).run(context -> assertThat(startupFailure(context))
            .contains("ReactiveJob.tick").contains("Mono").contains("subscri"));
    }

    static class FinalJob {
        @ConditionalOnLeader
        public final void tick() {}
    }

    @Test
    void aFinalMethodIsRefused() {
        runner(true).withBean(FinalJob.class).run(context -> assertThat(startupFailure(context))
            .contains("FinalJob.tick").contains("final"));
    }

    /** Class-level, like @Transactional: every public method is leader-only. */
    @ConditionalOnLeader
    static class Reports {
        final AtomicInteger runs = new AtomicInteger();

        public String send() {
            runs.incrementAndGet();
            return "sent " + LeaderContext.currentToken();
        }

        int runs() { // not public: not leader-only, and read through the proxy
            return runs.get();
        }
    }

    @Test
    void aClassLevelAnnotationGuardsThePublicMethodsOfAPlainBean() {
        runner(false).withBean(Reports.class).run(context -> {
            assertThat(context).hasNotFailed();
            Reports reports = context.getBean(Reports.class);
            assertThat(reports.send()).isNull();
            assertThat(reports.runs()).isZero();
        });
        runner(true).withBean(Reports.class).run(context -> {
            assertThat(context).hasNotFailed();
            LeaderElection election = context.getBean(LeaderElection.class);
            await().atMost(Duration.ofSeconds(20)).until(election::isLeader);
            assertThat(context.getBean(Reports.class).send()).startsWith("sent ");
        });
    }

    @Target(ElementType.METHOD)
    @Retention(RetentionPolicy.RUNTIME)
    @ConditionalOnLeader
    @interface LeaderOnly {}

    static class Composed {
        final AtomicInteger runs = new AtomicInteger();

        @LeaderOnly
        public void tick() {
            runs.incrementAndGet();
        }

        int runs() {
            return runs.get();
        }
    }

    @Test
    void aComposedAnnotationWorksLikeTheAnnotation() {
        runner(false).withBean(Composed.class).run(context -> {
            assertThat(context).hasNotFailed();
            context.getBean(Composed.class).tick();
            assertThat(context.getBean(Composed.class).runs()).isZero();
        });
    }

    static class Pump implements Lifecycle {
        volatile boolean running;

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

    @Configuration(proxyBeanMethods = false)
    static class ContainerConfig {
        @Bean
        @ConditionalOnLeader
        ContainerLifecycle pump() {
            Pump pump = new Pump();
            return ContainerLifecycle.of(() -> pump);
        }
    }

    @Test
    void aLifecycleFromABeanMethodStartsOnGrantAndStopsOnRevoke() {
        runner(true).withUserConfiguration(ContainerConfig.class).run(context -> {
            assertThat(context).hasNotFailed();
            ContainerLifecycle pump = context.getBean(ContainerLifecycle.class);
            LeaderElection election = context.getBean(LeaderElection.class);
            await().atMost(Duration.ofSeconds(20)).until(() -> election.isLeader() && pump.isRunning());
            election.resign();
            await().atMost(Duration.ofSeconds(20)).until(() -> !pump.isRunning());
        });
        runner(false).withUserConfiguration(ContainerConfig.class).run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context.getBean(ContainerLifecycle.class).isRunning()).isFalse();
        });
    }
}
