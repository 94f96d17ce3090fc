package dev.baton.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.LeaderElection;
import dev.baton.TlsRedis;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.ssl.SslAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * A Spring SSL bundle (a private CA and a client certificate) reaches the core, against a real
 * redis-server that requires client certificates; the connection is named after the application.
 */
class SslBundleTests {
    private static final AtomicInteger UNIQUE = new AtomicInteger();
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static TlsRedis redis;

    @BeforeAll
    static void startRedis() throws Exception {
        redis = TlsRedis.start();
    }

    @AfterAll
    static void stopRedis() throws Exception {
        if (redis != null) {
            redis.close();
        }
    }

    private static ApplicationContextRunner runner() {
        return new ApplicationContextRunner().withConfiguration(BootLine.baton())
            .withConfiguration(AutoConfigurations.of(SslAutoConfiguration.class))
            .withPropertyValues(
                "spring.ssl.bundle.pem.redis.truststore.certificate=" + redis.file("ca.crt").toUri(),
                "spring.ssl.bundle.pem.redis.keystore.certificate=" + redis.file("client.crt").toUri(),
                "spring.ssl.bundle.pem.redis.keystore.private-key=" + redis.file("client.key").toUri());
    }

    @Test
    void batonSslBundleCarriesTheCaAndTheClientCertificate() {
        String app = "ssl-app-" + UNIQUE.incrementAndGet();
        runner().withPropertyValues("baton.store=" + redis.url(), "baton.ssl.bundle=redis",
                "spring.application.name=" + app)
            .run(context -> {
                assertThat(context).hasNotFailed();
                LeaderElection e = context.getBean(LeaderElection.class);
                await().atMost(WAIT).until(e::isLeader);
                // The client name defaults to baton:<spring.application.name>.
                await().atMost(WAIT).until(() -> redis.clientList().contains("name=baton:" + app + " "));
            });
    }

    @Test
    void springDataRedisSslBundleIsUsedWhenTheStoreComesFromSpringDataRedis() {
        String app = "ssl-data-" + UNIQUE.incrementAndGet();
        runner().withPropertyValues("spring.data.redis.url=" + redis.url(), "spring.data.redis.ssl.bundle=redis",
                "spring.application.name=" + app, "baton.client-name=baton:custom-" + app)
            .run(context -> {
                assertThat(context).hasNotFailed();
                await().atMost(WAIT).until(context.getBean(LeaderElection.class)::isLeader);
                await().atMost(WAIT).until(() -> redis.clientList().contains("name=baton:custom-" + app + " "));
            });
    }

    @Test
    void withoutTheBundleTheServerRefusesAndAnUnknownBundleIsNamed() {
        String app = "ssl-none-" + UNIQUE.incrementAndGet();
        runner().withPropertyValues("baton.store=" + redis.url(), "spring.application.name=" + app,
                "baton.connect-timeout=2s")
            .run(context -> assertThat(context).hasFailed());
        runner().withPropertyValues("baton.store=" + redis.url(), "baton.ssl.bundle=nope",
                "spring.application.name=" + app)
            .run(context -> {
                assertThat(context).hasFailed();
                assertThat(context.getStartupFailure()).hasStackTraceContaining("baton.ssl.bundle=nope");
            });
    }
}
