package dev.baton.spring.boot4;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.spring.autoconfigure.RedisSettings;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.boot.data.redis.autoconfigure.DataRedisConnectionDetails;

/** baton's store from connection details, as a service connection (Testcontainers) provides them. */
class DataRedisStoreTests {
    @Test
    void connectionDetailsOfAServiceConnection() {
        DataRedisConnectionDetails standalone = new DataRedisConnectionDetails() {
            @Override
            public String getPassword() {
                return "pw";
            }

            @Override
            public Standalone getStandalone() {
                return Standalone.of("container", 32768, 3);
            }
        };
        assertThat(DataRedisStore.of(standalone, null).url()).isEqualTo("redis://:pw@container:32768/3");
        assertThat(DataRedisStore.of(standalone, null).source()).startsWith("the connection details bean ");

        DataRedisConnectionDetails cluster = new DataRedisConnectionDetails() {
            @Override
            public Cluster getCluster() {
                return () -> List.of(new Node("n1", 7000), new Node("n2", 7001));
            }
        };
        assertThat(DataRedisStore.of(cluster, null).url()).isEqualTo("redis://n1:7000,redis://n2:7001");

        DataRedisConnectionDetails sentinel = new DataRedisConnectionDetails() {
            @Override
            public String getUsername() {
                return "app";
            }

            @Override
            public String getPassword() {
                return "pw";
            }

            @Override
            public Sentinel getSentinel() {
                return new Sentinel() {
                    @Override
                    public int getDatabase() {
                        return 0;
                    }

                    @Override
                    public String getMaster() {
                        return "mymaster";
                    }

                    @Override
                    public List<Node> getNodes() {
                        return List.of(new Node("s1", 26379));
                    }

                    @Override
                    public String getUsername() {
                        return null;
                    }

                    @Override
                    public String getPassword() {
                        return null;
                    }
                };
            }
        };
        assertThat(DataRedisStore.of(sentinel, null).url()).isEqualTo("redis+sentinel://app:pw@s1:26379/mymaster");

        RedisSettings tlsUrl = new RedisSettings();
        tlsUrl.setUrl("rediss://container:32768/3");
        assertThat(DataRedisStore.of(standalone, tlsUrl).url()).startsWith("rediss://");
    }
}
