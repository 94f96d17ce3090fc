package dev.baton.spring.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.LeaderElection;
import dev.baton.RedisServer;
import dev.baton.spring.BootLine;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/** {@code baton.renewal.latency}: the leader's renewals and their round trips, from startup. */
class RenewalLatencyMetricTests {
    @Test
    void theLeadersRenewalsAreTimed() throws Exception {
        try (RedisServer redis = RedisServer.start()) {
            new ApplicationContextRunner().withConfiguration(BootLine.baton())
                .withConfiguration(AutoConfigurations.of(BatonMetricsAutoConfiguration.class))
                .withBean(MeterRegistry.class, SimpleMeterRegistry::new)
                .withPropertyValues("baton.store=" + redis.url(), "spring.application.name=renewal-latency",
                    "baton.ttl=300ms")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    String name = context.getBean(LeaderElection.class).name();
                    FunctionTimer timer = context.getBean(MeterRegistry.class).get("baton.renewal.latency")
                        .tag("election", name).functionTimer();
                    assertThat(timer.count()).isZero(); // registered before the first renewal
                    // A renewal every 100ms once leading: no event announces one.
                    await().atMost(Duration.ofSeconds(30)).until(() -> timer.count() >= 3);
                    assertThat(timer.totalTime(TimeUnit.NANOSECONDS)).isPositive();
                    FunctionCounter failures = context.getBean(MeterRegistry.class)
                        .get("baton.subscription.failures").tag("election", name).functionCounter();
                    assertThat(failures.count()).isZero();
                });
        }
    }
}
