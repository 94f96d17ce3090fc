package dev.baton.spring.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.mock.env.MockEnvironment;

/** spring.datasource.* to a store URL: pure mapping; DataSourceElectionTests runs it on a real PostgreSQL. */
class DataSourceStoreTests {
    @Test
    void postgresHostPortDatabaseAndEncodedCredentials() {
        StoreUrl s = DataSourceStore.of("jdbc:postgresql://db.internal:5433/app?reWriteBatchedInserts=true",
            "app user", "p@ss:w/rd %&");
        assertThat(s.url()).isEqualTo("postgres://app%20user:p%40ss%3Aw%2Frd%20%25%26@db.internal:5433/app");
        assertThat(s.source()).isEqualTo("spring.datasource.url");
        assertThat(s.redacted()).isEqualTo("postgres://app%20user:***@db.internal:5433/app");
    }

    @Test
    void postgresDefaultsAndOptionsBatonCarriesOver() {
        assertThat(DataSourceStore.of("jdbc:postgresql:app", null, null).url())
            .isEqualTo("postgres://localhost:5432/app");
        assertThat(DataSourceStore.of("jdbc:postgresql://[::1]/app?sslmode=prefer&ApplicationName=my%20app"
            + "&connectTimeout=7&currentSchema=jobs&user=u&password=pw", null, null).url())
            .isEqualTo("postgres://u:pw@[::1]:5432/app?sslmode=prefer&application_name=my%20app"
                + "&connect_timeout=7&table=jobs.baton_leases");
        assertThat(DataSourceStore.of("jdbc:postgresql://h/app?sslmode=allow", "u", "").url())
            .isEqualTo("postgres://u@h:5432/app?sslmode=prefer");
        assertThat(DataSourceStore.of("jdbc:postgresql://h/app?sslmode=disable", "u", "").url())
            .isEqualTo("postgres://u@h:5432/app?sslmode=disable");
    }

    @Test
    void postgresTlsCarriesOverAsLibpqsOptions() {
        assertThat(DataSourceStore.of("jdbc:postgresql://db/app?sslmode=verify-full&sslrootcert=/etc/ssl/db-ca.pem"
            + "&sslcert=/run/c.pem&sslkey=/run/k.pem", "u", "p").url())
            .isEqualTo("postgres://u:p@db:5432/app?sslmode=verify-full&sslrootcert=%2Fetc%2Fssl%2Fdb-ca.pem"
                + "&sslcert=%2Frun%2Fc.pem&sslkey=%2Frun%2Fk.pem");
        // pgjdbc: ssl=true without sslmode is verify-full.
        assertThat(DataSourceStore.of("jdbc:postgresql://db/app?ssl=true&sslrootcert=/ca.pem", "u", "p").url())
            .isEqualTo("postgres://u:p@db:5432/app?sslmode=verify-full&sslrootcert=%2Fca.pem");
        assertThat(DataSourceStore.of("jdbc:postgresql://db/app?sslmode=require", "u", "p").url())
            .isEqualTo("postgres://u:p@db:5432/app?sslmode=require");
        assertThat(DataSourceStore.of("jdbc:postgresql://db/app?sslmode=verify-ca&sslrootcert=/ca.pem", "u", "p")
            .url()).isEqualTo("postgres://u:p@db:5432/app?sslmode=verify-ca&sslrootcert=%2Fca.pem");
    }

    @Test
    void postgresTlsAndSeveralHostsAreRefusedNamingThePropertyAndTheFix() {
        assertThatThrownBy(() -> DataSourceStore.of("jdbc:postgresql://h/app?sslmode=verify-full&password=secret",
            "u", "p"))
            .isInstanceOf(BatonStartupException.class)
            .hasMessageContaining("spring.datasource.url=jdbc:postgresql://h/app?sslmode=verify-full&password=***")
            .hasMessageContaining("sslmode=verify-full checks the server's certificate")
            .hasMessageContaining("add sslrootcert=/path/to/ca.pem")
            .hasMessageContaining("baton.store")
            .hasMessageNotContaining("secret");
        assertThatThrownBy(() -> DataSourceStore.of("jdbc:postgresql://h/app?ssl=true", "u", "p"))
            .hasMessageContaining("ssl=true checks the server's certificate");
        assertThatThrownBy(() -> DataSourceStore.of("jdbc:postgresql://h/app?sslmode=Sometimes", "u", "p"))
            .hasMessageContaining("sslmode=Sometimes is not a mode baton knows");
        assertThatThrownBy(() -> DataSourceStore.of("jdbc:postgresql://h/app?sslrootcert=/ca.pem", "u", "p"))
            .hasMessageContaining("sslrootcert=/ca.pem is given, but no sslmode")
            .hasMessageContaining("add sslmode=verify-full");
        assertThatThrownBy(() -> DataSourceStore.of("jdbc:postgresql://h/app?sslmode=disable&sslcert=/c.pem", "u", "p"))
            .hasMessageContaining("sslcert/sslkey are given with sslmode=disable");
        assertThatThrownBy(() -> DataSourceStore.of("jdbc:postgresql://h/app?sslmode=require&sslpassword=x", "u", "p"))
            .hasMessageContaining("sslpassword=x");
        assertThatThrownBy(() -> DataSourceStore.of("jdbc:postgresql://h1:5432,h2:5432/app?targetServerType=primary",
            "u", "p"))
            .hasMessageContaining("several servers (h1:5432,h2:5432)");
        assertThatThrownBy(() -> DataSourceStore.of("jdbc:postgresql://h/app?socketFactory=x.Y", "u", "p"))
            .hasMessageContaining("socketfactory=x.Y");
        assertThatThrownBy(() -> DataSourceStore.of("jdbc:postgresql://h/app?currentSchema=\"Jobs\"", "u", "p"))
            .hasMessageContaining("currentSchema=\"Jobs\"");
    }

    @Test
    void mysqlAndMariaDb() {
        assertThat(DataSourceStore.of("jdbc:mysql://db:3307/app?serverTimezone=UTC&sslMode=PREFERRED", "root", "pw")
            .url()).isEqualTo("mysql://root:pw@db:3307/app");
        assertThat(DataSourceStore.of("jdbc:mariadb://db/app?useSsl=false", "u", null).url())
            .isEqualTo("mariadb://u@db:3306/app?ssl-mode=DISABLED");
        assertThat(DataSourceStore.of("jdbc:mysql://db/app?sslMode=VERIFY_IDENTITY", "u", "p").url())
            .isEqualTo("mysql://u:p@db:3306/app?ssl-mode=VERIFY_IDENTITY");
        assertThat(DataSourceStore.of("jdbc:mariadb://db/app?useSsl=true", "u", "p").url())
            .isEqualTo("mariadb://u:p@db:3306/app");
        assertThatThrownBy(() -> DataSourceStore.of("jdbc:mysql:loadbalance://a,b/app", "u", "p"))
            .hasMessageContaining("load-balancing mode (loadbalance:)");
        assertThatThrownBy(() -> DataSourceStore.of("jdbc:mariadb:replication://a,b/app", "u", "p"))
            .hasMessageContaining("(replication:)");
        assertThatThrownBy(() -> DataSourceStore.of("jdbc:mysql://db:3306", "u", "p"))
            .hasMessageContaining("names no database");
    }

    @Test
    void mysqlTlsCarriesOverAsMysqlsOptions() {
        assertThat(DataSourceStore.of("jdbc:mysql://db/app?sslMode=REQUIRED", "u", "p").url())
            .isEqualTo("mysql://u:p@db:3306/app?ssl-mode=REQUIRED");
        assertThat(DataSourceStore.of("jdbc:mysql://db/app?sslMode=disabled", "u", "p").url())
            .isEqualTo("mysql://u:p@db:3306/app?ssl-mode=DISABLED");
        assertThat(DataSourceStore.of("jdbc:mysql://db/app?useSSL=true&requireSSL=true", "u", "p").url())
            .isEqualTo("mysql://u:p@db:3306/app?ssl-mode=REQUIRED");
        assertThat(DataSourceStore.of("jdbc:mysql://db/app?useSSL=false", "u", "p").url())
            .isEqualTo("mysql://u:p@db:3306/app?ssl-mode=DISABLED");
        // MariaDB Connector/J's modes and its PEM CA file.
        assertThat(DataSourceStore.of("jdbc:mariadb://db/app?sslMode=trust", "u", "p").url())
            .isEqualTo("mariadb://u:p@db:3306/app?ssl-mode=REQUIRED");
        assertThat(DataSourceStore.of("jdbc:mariadb://db/app?sslMode=verify-full&serverSslCert=/etc/db/ca.pem",
            "u", "p").url())
            .isEqualTo("mariadb://u:p@db:3306/app?ssl-mode=VERIFY_IDENTITY&ssl-ca=%2Fetc%2Fdb%2Fca.pem");
        assertThat(DataSourceStore.of("jdbc:mariadb://db/app?serverSslCert=/ca.pem", "u", "p").url())
            .isEqualTo("mariadb://u:p@db:3306/app?ssl-mode=VERIFY_IDENTITY&ssl-ca=%2Fca.pem");
    }

    @Test
    void mysqlTlsThatCannotBeCarriedOverIsRefused() {
        assertThatThrownBy(() -> DataSourceStore.of("jdbc:mysql://db/app?sslMode=VERIFY_CA", "u", "p"))
            .isInstanceOf(BatonStartupException.class)
            .hasMessageContaining("sslMode=VERIFY_CA checks the CA without the host name")
            .hasMessageContaining("use sslMode=VERIFY_IDENTITY");
        assertThatThrownBy(() -> DataSourceStore.of("jdbc:mariadb://db/app?sslMode=verify-ca", "u", "p"))
            .hasMessageContaining("sslMode=verify-ca checks the CA");
        assertThatThrownBy(() -> DataSourceStore.of("jdbc:mysql://db/app?verifyServerCertificate=true", "u", "p"))
            .hasMessageContaining("verifyServerCertificate=true");
        assertThatThrownBy(() -> DataSourceStore.of("jdbc:mysql://db/app?sslMode=VERIFY_IDENTITY"
            + "&trustCertificateKeyStoreUrl=file:/ts.jks", "u", "p"))
            .hasMessageContaining("trustcertificatekeystoreurl=file:/ts.jks names a Java key store")
            .hasMessageContaining("ssl-ca=/path/to/ca.pem");
        assertThatThrownBy(() -> DataSourceStore.of("jdbc:mysql://db/app?sslMode=sometimes", "u", "p"))
            .hasMessageContaining("sslMode=sometimes is not a mode baton knows");
        assertThatThrownBy(() -> DataSourceStore.of("jdbc:mariadb://db/app?sslMode=trust&serverSslCert=/ca.pem",
            "u", "p")).hasMessageContaining("does not check the server's certificate");
        assertThatThrownBy(() -> DataSourceStore.of("jdbc:mariadb://db/app?serverSslCert=classpath:ca.pem", "u", "p"))
            .hasMessageContaining("give it as a file path");
    }

    @Test
    void otherDatabasesHaveNoStore() {
        assertThat(DataSourceStore.of("jdbc:h2:mem:test", "sa", "")).isNull();
        assertThat(DataSourceStore.of(null, "sa", "")).isNull();
    }

    private static final String PG = "jdbc:postgresql://db/app";
    /** What Spring Data Redis's connection details give when nothing about Redis is configured. */
    private static final RedisConnectionDetailsStore DEFAULTS = settings ->
        new StoreUrl("redis://localhost:6379", settings == null ? StoreUrl.REDIS_DEFAULTS : "spring.data.redis.host/port");

    private static String chosen(RedisConnectionDetailsStore details, String... properties) {
        MockEnvironment env = new MockEnvironment();
        BatonProperties p = new BatonProperties();
        for (String kv : properties) {
            String[] pair = kv.split("=", 2);
            if (pair[0].equals("baton.store")) {
                p.setStore(pair[1]);
            } else if (pair[0].equals("baton.store-from")) {
                p.setStoreFrom(BatonProperties.StoreFrom.valueOf(pair[1].toUpperCase(java.util.Locale.ROOT)));
            } else {
                env.setProperty(pair[0], pair[1]);
            }
        }
        return new BatonElectionFactory(p, env, () -> details, List.of()).storeDescription();
    }

    @Test
    void aDataSourceGoesBeforeRedisDefaultsButAfterAConfiguredRedis() {
        assertThat(chosen(DEFAULTS, "spring.datasource.url=" + PG, "spring.datasource.username=u"))
            .isEqualTo("postgres://u@db:5432/app (from spring.datasource.url)");
        assertThat(chosen(null, "spring.datasource.url=" + PG))
            .isEqualTo("postgres://db:5432/app (from spring.datasource.url)");
        assertThat(chosen(DEFAULTS, "spring.datasource.url=" + PG, "spring.data.redis.host=cache"))
            .isEqualTo("redis://localhost:6379 (from spring.data.redis.host/port)");
        assertThat(chosen(null, "spring.datasource.url=" + PG, "spring.data.redis.host=cache"))
            .isEqualTo("redis://cache:6379 (from spring.data.redis.host/port)");
        assertThat(chosen(DEFAULTS, "spring.datasource.url=jdbc:h2:mem:x"))
            .isEqualTo("redis://localhost:6379 (from spring.data.redis.* (defaults))");
    }

    @Test
    void aJdbcServiceConnectionTakesThePlaceOfSpringDatasource() {
        JdbcConnectionDetailsStore container = () -> JdbcConnectionDetailsStore.of(
            "jdbc:mysql://localhost:32768/test", "test", null, Object.class);
        java.util.function.BiFunction<RedisConnectionDetailsStore, String, String> chosen = (redis, from) -> {
            MockEnvironment env = new MockEnvironment().withProperty("spring.datasource.url", PG);
            BatonProperties p = new BatonProperties();
            if (from != null) {
                p.setStoreFrom(BatonProperties.StoreFrom.valueOf(from));
            }
            return new BatonElectionFactory(p, env, () -> redis, List.of()).jdbcConnectionDetails(() -> container)
                .storeDescription();
        };
        assertThat(chosen.apply(DEFAULTS, null))
            .isEqualTo("mysql://test@localhost:32768/test (from the JDBC service connection java.lang.Object)");
        assertThat(chosen.apply(null, "DATASOURCE"))
            .isEqualTo("mysql://test@localhost:32768/test (from the JDBC service connection java.lang.Object)");
        assertThat(chosen.apply(DEFAULTS, "REDIS"))
            .isEqualTo("redis://localhost:6379 (from spring.data.redis.* (defaults))");
        // Without a service connection, spring.datasource.* as before.
        assertThat(new BatonElectionFactory(new BatonProperties(), new MockEnvironment()
            .withProperty("spring.datasource.url", PG), () -> null, List.of()).jdbcConnectionDetails(() -> () -> null)
            .storeDescription()).isEqualTo("postgres://db:5432/app (from spring.datasource.url)");
    }

    @Test
    void storeFromAndAnExplicitStoreDecide() {
        assertThat(chosen(null, "spring.datasource.url=" + PG, "spring.data.redis.host=cache",
            "baton.store-from=datasource")).isEqualTo("postgres://db:5432/app (from spring.datasource.url)");
        assertThat(chosen(DEFAULTS, "spring.datasource.url=" + PG, "baton.store-from=redis"))
            .isEqualTo("redis://localhost:6379 (from spring.data.redis.* (defaults))");
        assertThat(chosen(DEFAULTS, "spring.datasource.url=" + PG, "spring.data.redis.host=cache",
            "baton.store=zookeeper://zk:2181")).isEqualTo("zookeeper://zk:2181 (from baton.store)");
        assertThatThrownBy(() -> chosen(null, "spring.datasource.url=jdbc:h2:mem:x"))
            .isInstanceOf(BatonStartupException.class)
            .hasMessageContaining("spring.datasource.url=jdbc:h2:mem:x is not PostgreSQL, MySQL or MariaDB")
            .hasMessageContaining("Set baton.store=");
        assertThatThrownBy(() -> chosen(null, "spring.data.redis.host=cache", "baton.store-from=datasource"))
            .hasMessageContaining("(baton.store-from=datasource) no PostgreSQL/MySQL/MariaDB spring.datasource.url");
    }
}
