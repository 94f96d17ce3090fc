package dev.baton;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A private CA and a required client certificate reach the core, against a real redis-server
 * listening with TLS; the connection carries its client name in {@code CLIENT LIST}.
 */
class TlsTest {
    private static TlsRedis redis;

    @BeforeAll
    static void start() throws Exception {
        redis = TlsRedis.start();
    }

    @AfterAll
    static void stop() throws Exception {
        if (redis != null) {
            redis.close();
        }
    }

    @Test
    void withTheCaAndAClientCertificateBatonLeadsAndNamesItsConnection() throws Exception {
        String name = LeaderElectionTest.unique();
        Recorder r = new Recorder();
        try (LeaderElection e = LeaderElection.builder(redis.url(), name).ttl(LeaderElectionTest.LONG_TTL)
                .tlsCaPem(redis.pem("ca.crt")).tlsClientCertPem(redis.pem("client.crt"), redis.pem("client.key"))
                .clientName("baton:java-test").listener(r).build()) {
            assertTrue(r.next("granted").token() > 0);
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (!redis.clientList().contains("name=baton:java-test ")) {
                assertTrue(System.nanoTime() < deadline, "no client named baton:java-test: " + redis.clientList());
                Thread.sleep(20);
            }
        }
    }

    @Test
    void withoutTheClientCertificateTheServerRefuses() throws Exception {
        String name = LeaderElectionTest.unique();
        String ca = redis.pem("ca.crt");
        assertThrows(StoreUnreachableException.class, () -> LeaderElection.builder(redis.url(), name)
            .connectTimeout(Duration.ofSeconds(2)).tlsCaPem(ca).build().close());
    }

    @Test
    void badPemAndAPlainUrlAreNamedWithTheirFix() throws Exception {
        String name = LeaderElectionTest.unique();
        String cert = redis.pem("client.crt");
        ConfigurationException e = assertThrows(ConfigurationException.class, () -> LeaderElection
            .builder(redis.url(), name).tlsCaPem("not pem").tlsClientCertPem(cert, cert)
            .clientName("two words").build().close());
        assertEquals(List.of("tls_ca", "tls_client_key", "client_name"),
            e.problems().stream().map(ConfigurationException.Problem::setting).toList());
        String ca = redis.pem("ca.crt");
        e = assertThrows(ConfigurationException.class, () -> LeaderElection.builder(redis.plain().url(), name)
            .tlsCaPem(ca).build().close());
        assertTrue(e.getMessage().contains("use rediss://"), e.getMessage());
        assertThrows(NullPointerException.class, () -> LeaderElection.builder(redis.url(), name).tlsCaPem(null));
    }
}
