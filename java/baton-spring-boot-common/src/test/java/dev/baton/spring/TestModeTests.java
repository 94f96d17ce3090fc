package dev.baton.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.LeaderElection;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * Tests and local runs without Redis: {@code baton.leadership=always|never} (an in-process store
 * per context, so cached test contexts never compete), and {@code baton.enabled=false}.
 */
class TestModeTests {
    private final ApplicationContextRunner runner = new ApplicationContextRunner()
        .withConfiguration(BootLine.baton()).withPropertyValues("spring.application.name=test-mode")
        .withBean(Job.class);

    static class Job {
        @ConditionalOnLeader
        public String run() {
            return "ran " + LeaderContext.currentToken();
        }
    }

    @Test
    void alwaysLeadsWithoutRedisAndEveryContextLeadsItsOwn() {
        runner.withPropertyValues("baton.leadership=always").run(a -> runner.withPropertyValues("baton.leadership=always")
            .run(b -> {
                assertThat(a).hasNotFailed();
                assertThat(b).hasNotFailed();
                for (var context : java.util.List.of(a, b)) {
                    LeaderElection e = context.getBean(LeaderElection.class);
                    await().atMost(Duration.ofSeconds(10)).until(e::isLeader);
                    assertThat(context.getBean(Job.class).run()).isEqualTo("ran " + e.fencingToken().getAsLong());
                }
            }));
    }

    @Test
    void neverLeadsWithoutRedis() {
        runner.withPropertyValues("baton.leadership=never").run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context.getBean(Job.class).run()).isNull();
            assertThat(context.getBean(LeaderElection.class).isLeader()).isFalse();
        });
    }

    @Test
    void disabledRunsEverywhereAndLeaderContextStillAnswers() {
        runner.withPropertyValues("baton.enabled=false").run(context -> {
            assertThat(context).hasNotFailed().doesNotHaveBean(LeaderElection.class);
            assertThat(context.getBean(Job.class).run()).isEqualTo("ran 0");
        });
    }
}
