package dev.baton.spring.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class StoreUrlTests {
    @Test
    void hostPortCredentialsTlsAndDatabase() {
        RedisSettings p = new RedisSettings();
        p.setHost("redis.internal");
        p.setPort(6380);
        p.setUsername("app");
        p.setPassword("p@ss:w/rd %");
        p.getSsl().setEnabled(true);
        p.setDatabase(2);
        StoreUrl url = StoreUrl.of(p);
        assertThat(url.url()).isEqualTo("rediss://app:p%40ss%3Aw%2Frd%20%25@redis.internal:6380/2");
        assertThat(url.source()).isEqualTo("spring.data.redis.host/port");
        assertThat(url.redacted()).isEqualTo("rediss://app:***@redis.internal:6380/2");
    }

    @Test
    void urlIsUsedAsIsAndSslUpgradesIt() {
        RedisSettings p = new RedisSettings();
        p.setUrl("redis://:secret@cache:6379/1");
        assertThat(StoreUrl.of(p).url()).isEqualTo("redis://:secret@cache:6379/1");
        p.getSsl().setEnabled(true);
        assertThat(StoreUrl.of(p).url()).isEqualTo("rediss://:secret@cache:6379/1");
        assertThat(StoreUrl.of(p).source()).isEqualTo("spring.data.redis.url");
    }

    @Test
    void clusterNodesBecomeSeeds() {
        RedisSettings p = new RedisSettings();
        p.setCluster(new RedisSettings.Cluster());
        p.getCluster().setNodes(List.of("10.0.0.1:7000", "10.0.0.2:7001", "::1:7002"));
        p.setPassword("pw");
        assertThat(StoreUrl.of(p).url())
            .isEqualTo("redis://:pw@10.0.0.1:7000,redis://:pw@10.0.0.2:7001,redis://:pw@[::1]:7002");
        assertThat(StoreUrl.of(p).source()).isEqualTo("spring.data.redis.cluster.nodes");
    }

    @Test
    void sentinelBecomesASentinelUrlWithTheMastersCredentialsAsTheyAre() {
        RedisSettings p = new RedisSettings();
        p.setSentinel(new RedisSettings.Sentinel());
        p.getSentinel().setMaster("mymaster");
        p.getSentinel().setNodes(List.of("s1:26379", "s2:26380"));
        p.setPassword("p@ss:w/rd");
        p.setDatabase(2);
        StoreUrl url = StoreUrl.of(p);
        assertThat(url.url()).isEqualTo("redis+sentinel://:p%40ss%3Aw%2Frd@s1:26379,s2:26380/mymaster/2");
        assertThat(url.source()).isEqualTo("spring.data.redis.sentinel.*");
        assertThat(url.redacted()).isEqualTo("redis+sentinel://:***@s1:26379,s2:26380/mymaster/2");
    }

    @Test
    void sentinelOverTlsOrWithSentinelPasswordsIsRejectedNamingThePropertyAndTheFix() {
        RedisSettings p = new RedisSettings();
        p.setSentinel(new RedisSettings.Sentinel());
        p.getSentinel().setMaster("mymaster");
        p.getSentinel().setNodes(List.of("s1:26379"));
        p.getSentinel().setPassword("sentinel-secret");
        assertThatThrownBy(() -> StoreUrl.of(p))
            .isInstanceOf(BatonStartupException.class)
            .hasMessageContaining("spring.data.redis.sentinel.password")
            .hasMessageContaining("Set baton.store");
        p.getSentinel().setPassword(null);
        p.getSsl().setEnabled(true);
        assertThatThrownBy(() -> StoreUrl.of(p)).hasMessageContaining("over TLS");
        p.getSsl().setEnabled(false);
        p.getSentinel().setMaster(null);
        assertThatThrownBy(() -> StoreUrl.of(p)).hasMessageContaining("without a master name");
    }
}
