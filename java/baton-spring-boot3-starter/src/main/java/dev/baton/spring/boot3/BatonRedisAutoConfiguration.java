package dev.baton.spring.boot3;

import dev.baton.spring.autoconfigure.BatonAutoConfiguration;
import dev.baton.spring.autoconfigure.RedisConnectionDetailsStore;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.data.redis.RedisAutoConfiguration;
import org.springframework.boot.autoconfigure.data.redis.RedisConnectionDetails;
import org.springframework.context.annotation.Bean;

/**
 * On Spring Boot 3 with Spring Data Redis: baton uses the application's Redis connection details
 * (its {@code spring.data.redis.*}, or a Testcontainers / Docker Compose service connection).
 */
@AutoConfiguration(after = RedisAutoConfiguration.class, before = BatonAutoConfiguration.class)
@ConditionalOnClass(RedisConnectionDetails.class)
public class BatonRedisAutoConfiguration {
    /** Created by Spring Boot. */
    public BatonRedisAutoConfiguration() {}

    /**
     * Reads the connection details when baton resolves its store.
     *
     * @param details the connection details, if Spring Data Redis is set up
     * @return the store reader
     */
    @Bean
    @ConditionalOnMissingBean
    public RedisConnectionDetailsStore batonRedisConnectionDetailsStore(ObjectProvider<RedisConnectionDetails> details) {
        return settings -> {
            RedisConnectionDetails d = details.getIfUnique();
            return d == null ? null : DataRedisStore.of(d, settings);
        };
    }
}
