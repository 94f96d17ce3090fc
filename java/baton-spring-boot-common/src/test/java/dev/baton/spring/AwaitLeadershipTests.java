package dev.baton.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.LeaderElection;
import dev.baton.RedisServer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/** {@code awaitLeadership}: a call on an instance about to be granted waits for the grant instead of being skipped. */
class AwaitLeadershipTests {
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

    static class Job {
        @ConditionalOnLeader(awaitLeadership = "30s")
        public String waits() {
            return "ran " + LeaderContext.currentToken();
        }

        @ConditionalOnLeader
        public String skips() {
            return "ran " + LeaderContext.currentToken();
        }
    }

    @Test
    void aCallWaitsForAPendingGrant() {
        ApplicationContextRunner runner = new ApplicationContextRunner().withConfiguration(BootLine.baton())
            .withPropertyValues("baton.store=" + redis.url(), "spring.application.name=await-" + System.nanoTime(),
                "baton.ttl=60s")
            .withBean(Job.class);
        runner.run(leader -> {
            LeaderElection first = leader.getBean(LeaderElection.class);
            await().atMost(Duration.ofSeconds(20)).until(first::isLeader);
            runner.run(follower -> {
                Job job = follower.getBean(Job.class);
                assertThat(job.skips()).isNull();
                CompletableFuture<String> waiting = CompletableFuture.supplyAsync(job::waits);
                assertThat(waiting).isNotDone();
                first.resign(); // hands over to the follower at once
                assertThat(waiting.get(20, TimeUnit.SECONDS)).startsWith("ran ");
            });
        });
    }

    @Test
    void anInvalidDurationIsRefusedAtStartup() {
        new ApplicationContextRunner().withConfiguration(BootLine.baton())
            .withPropertyValues("baton.store=" + redis.url(), "spring.application.name=await-bad")
            .withBean(BadJob.class)
            .run(context -> {
                assertThat(context).hasFailed();
                assertThat(context.getStartupFailure()).hasStackTraceContaining("awaitLeadership")
                    .hasStackTraceContaining("soon");
            });
    }

    static class BadJob {
        @ConditionalOnLeader(awaitLeadership = "soon")
        public void tick() {}
    }
}
