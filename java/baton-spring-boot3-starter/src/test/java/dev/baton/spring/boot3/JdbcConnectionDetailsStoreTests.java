package dev.baton.spring.boot3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.baton.spring.autoconfigure.BatonStartupException;
import dev.baton.spring.autoconfigure.JdbcConnectionDetailsStore;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.jdbc.JdbcConnectionDetails;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/** baton's store from a JDBC service connection, as Testcontainers or Docker Compose provide one. */
class JdbcConnectionDetailsStoreTests {
    private static JdbcConnectionDetails details(String url, String user, String password) {
        return new JdbcConnectionDetails() {
            @Override
            public String getUsername() {
                return user;
            }

            @Override
            public String getPassword() {
                return password;
            }

            @Override
            public String getJdbcUrl() {
                return url;
            }
        };
    }

    @Test
    void aServiceConnectionGivesTheStore() {
        var pg = BatonJdbcAutoConfiguration.of(details("jdbc:postgresql://localhost:32771/test?loggerLevel=OFF",
            "test", "p@ss"));
        assertThat(pg.url()).isEqualTo("postgres://test:p%40ss@localhost:32771/test");
        assertThat(pg.source()).startsWith("the JDBC service connection ");
        assertThat(BatonJdbcAutoConfiguration.of(details("jdbc:mariadb://127.0.0.1:32772/db", "u", null)).url())
            .isEqualTo("mariadb://u@127.0.0.1:32772/db");
        assertThat(BatonJdbcAutoConfiguration.of(details("jdbc:h2:mem:x", "sa", ""))).isNull();
        assertThat(BatonJdbcAutoConfiguration.of(null)).isNull();
        assertThatThrownBy(() -> BatonJdbcAutoConfiguration.of(details("jdbc:mysql://db/app?sslMode=VERIFY_CA",
            "u", "p"))).isInstanceOf(BatonStartupException.class).hasMessageContaining("sslMode=VERIFY_CA");
    }

    @Test
    void theAutoConfigurationReadsTheContextsDetails() {
        new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(BatonJdbcAutoConfiguration.class))
            .withBean(JdbcConnectionDetails.class, () -> details("jdbc:mysql://localhost:32768/test", "test", null))
            .run(context -> assertThat(context.getBean(JdbcConnectionDetailsStore.class).storeUrl().url())
                .isEqualTo("mysql://test@localhost:32768/test"));
        new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(BatonJdbcAutoConfiguration.class))
            .run(context -> assertThat(context.getBean(JdbcConnectionDetailsStore.class).storeUrl()).isNull());
    }
}
