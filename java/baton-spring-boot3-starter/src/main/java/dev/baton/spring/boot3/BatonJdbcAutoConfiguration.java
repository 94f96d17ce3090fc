package dev.baton.spring.boot3;

import dev.baton.spring.autoconfigure.BatonAutoConfiguration;
import dev.baton.spring.autoconfigure.JdbcConnectionDetailsStore;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.jdbc.DataSourceAutoConfiguration;
import org.springframework.boot.autoconfigure.jdbc.JdbcConnectionDetails;
import org.springframework.context.annotation.Bean;

/**
 * On Spring Boot 3 with spring-jdbc: baton uses a JDBC service connection (Testcontainers,
 * Docker Compose) as it would use {@code spring.datasource.*}.
 */
@AutoConfiguration(after = DataSourceAutoConfiguration.class, before = BatonAutoConfiguration.class)
@ConditionalOnClass(JdbcConnectionDetails.class)
public class BatonJdbcAutoConfiguration {
    /** Created by Spring Boot. */
    public BatonJdbcAutoConfiguration() {}

    /**
     * Reads the connection details when baton resolves its store.
     *
     * @param details the connection details, if the application has a DataSource
     * @return the store reader
     */
    @Bean
    @ConditionalOnMissingBean
    public JdbcConnectionDetailsStore batonJdbcConnectionDetailsStore(ObjectProvider<JdbcConnectionDetails> details) {
        return () -> of(details.getIfUnique());
    }

    /**
     * The store of a service connection; null without one, and for the details Boot makes from
     * {@code spring.datasource.*} (baton reads those properties itself, with their names).
     *
     * @param d the connection details, or null
     * @return the store, or null
     */
    static dev.baton.spring.autoconfigure.StoreUrl of(JdbcConnectionDetails d) {
        if (d == null || d.getClass().getSimpleName().equals("PropertiesJdbcConnectionDetails")) {
            return null;
        }
        return JdbcConnectionDetailsStore.of(d.getJdbcUrl(), d.getUsername(), d.getPassword(), d.getClass());
    }
}
