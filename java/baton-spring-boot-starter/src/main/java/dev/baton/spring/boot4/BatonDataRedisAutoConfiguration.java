package dev.baton.spring.boot4;

import dev.baton.spring.autoconfigure.BatonAutoConfiguration;
import dev.baton.spring.autoconfigure.RedisConnectionDetailsStore;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration;
import org.springframework.boot.data.redis.autoconfigure.DataRedisConnectionDetails;
import org.springframework.context.annotation.Bean;

/**
 * On Spring Boot 4 with Spring Data Redis: baton uses the application's Redis connection details
 * (its {@code spring.data.redis.*}, or a Testcontainers / Docker Compose service connection).
 */
@AutoConfiguration(after = DataRedisAutoConfiguration.class, before = BatonAutoConfiguration.class)
@ConditionalOnClass(DataRedisConnectionDetails.class)
public class BatonDataRedisAutoConfiguration {
    /** Created by Spring Boot. */
    public BatonDataRedisAutoConfiguration() {}

    /**
     * Reads the connection details when baton resolves its store.
     *
     * @param details the connection details, if Spring Data Redis is set up
     * @return the store reader
     */
    @Bean
    @ConditionalOnMissingBean
    public RedisConnectionDetailsStore batonRedisConnectionDetailsStore(ObjectProvider<DataRedisConnectionDetails> details) {
        return settings -> {
            DataRedisConnectionDetails d = details.getIfUnique();
            return d == null ? null : DataRedisStore.of(d, settings);
        };
    }
}
