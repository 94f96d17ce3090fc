package dev.baton.spring;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.ConfigurableApplicationContext;

/** A leader-only method called through {@code this} bypasses the proxy: reported at startup. */
class SelfInvocationTests {
    private final ApplicationContextRunner runner = new ApplicationContextRunner()
        .withConfiguration(BootLine.baton())
        .withPropertyValues("baton.leadership=never", "spring.application.name=self-invocation");

    static class SelfCalling {
        int ran;

        /** Runs job() on every instance: the call does not pass the proxy. */
        public void tick() {
            job();
        }

        @ConditionalOnLeader
        public void job() {
            ran++;
        }

        /** Fine: the caller is leader-only for the same election. */
        @ConditionalOnLeader
        public void guardedCaller() {
            job();
        }

        /** A lambda run later, by an executor say: bypasses the proxy as well. */
        public Runnable later() {
            return () -> job();
        }

        /** Another election's guard does not cover job()'s. */
        @ConditionalOnLeader("other")
        public void otherElection() {
            job();
        }

        public int ran() {
            return ran;
        }
    }

    static class CallsThroughTheBean {
        @ConditionalOnLeader
        public void job() {}

        public void tick(CallsThroughTheBean self) {
            self.toString();
        }
    }

    private static List<String> reports(ConfigurableApplicationContext context) {
        return context.getBean(ConditionalOnLeaderBeanPostProcessor.class).work().selfInvocations();
    }

    @Test
    void selfInvokedLeaderOnlyMethodsAreReportedAtStartup() {
        runner.withBean(SelfCalling.class).run(context -> {
            assertThat(context).hasNotFailed();
            List<String> reports = reports(context);
            assertThat(reports).anyMatch(r -> r.startsWith("SelfCalling.tick() calls leader-only job()"))
                .anyMatch(r -> r.startsWith("a lambda in SelfCalling.later() calls leader-only job()"))
                .anyMatch(r -> r.startsWith("SelfCalling.otherElection() calls leader-only job()"))
                .noneMatch(r -> r.contains("guardedCaller"))
                .allMatch(r -> r.contains("through the bean"));
            assertThat(reports).hasSize(3);
            // What the report is about: on an instance that never leads, the job ran anyway.
            SelfCalling bean = context.getBean(SelfCalling.class);
            bean.job();
            assertThat(bean.ran()).isZero();
            bean.tick();
            assertThat(bean.ran()).isEqualTo(1);
        });
    }

    @Test
    void aBeanWithoutSelfInvocationsIsNotReported() {
        runner.withBean(CallsThroughTheBean.class).run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(reports(context)).isEmpty();
        });
    }
}
