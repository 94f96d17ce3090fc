package dev.baton.spring.autoconfigure;

/**
 * Derives baton's store from the Redis connection details of Spring Boot (its Spring Data Redis
 * auto-configuration, or a Testcontainers / Docker Compose service connection). Those classes
 * differ between Boot 3 and Boot 4, so each starter supplies its own implementation as a bean;
 * without one, baton reads {@code spring.data.redis.*} itself.
 */
@FunctionalInterface
public interface RedisConnectionDetailsStore {
    /**
     * The store URL of the application's Redis connection details.
     *
     * @param settings {@code spring.data.redis.*} as bound, or null when none is set; only to
     *     name the property in messages and to see a {@code rediss://} URL
     * @return the store, or null when the application has no connection details
     */
    StoreUrl storeUrl(RedisSettings settings);
}
