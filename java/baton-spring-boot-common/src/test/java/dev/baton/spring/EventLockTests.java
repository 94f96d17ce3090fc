package dev.baton.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.RedisServer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.event.EventListener;

/** Grant events are published outside baton's per-election lock: a listener may wait for work that needs it. */
class EventLockTests {
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

    /** On a grant, waits for another thread to stop the leader-only work (which takes baton's lock). */
    static class StopsOnGrant {
        final AtomicReference<String> outcome = new AtomicReference<>();
        private final ObjectProvider<BatonLifecycle> lifecycle;

        StopsOnGrant(ObjectProvider<BatonLifecycle> lifecycle) {
            this.lifecycle = lifecycle;
        }

        @EventListener
        public void granted(LeadershipGrantedEvent e) {
            try {
                CompletableFuture.runAsync(() -> lifecycle.getObject().stop()).get(10, TimeUnit.SECONDS);
                outcome.set("stopped");
            } catch (Exception timeout) {
                outcome.set("blocked: " + timeout);
            }
        }

        String outcome() {
            return outcome.get();
        }
    }

    @Test
    void aGrantListenerCanWaitForWorkThatTakesTheElectionsLock() {
        new ApplicationContextRunner().withConfiguration(BootLine.baton())
            .withPropertyValues("baton.store=" + redis.url(), "spring.application.name=event-lock-" + System.nanoTime())
            .withBean(StopsOnGrant.class)
            .run(context -> {
                assertThat(context).hasNotFailed();
                StopsOnGrant listener = context.getBean(StopsOnGrant.class);
                await().atMost(Duration.ofSeconds(30)).until(() -> listener.outcome() != null);
                assertThat(listener.outcome()).isEqualTo("stopped");
            });
    }
}
