package dev.baton.spring.autoconfigure;

/**
 * Derives baton's store from a {@code JdbcConnectionDetails} bean that a Testcontainers or Docker
 * Compose service connection provides. The class lives in a different package on Boot 3 and
 * Boot 4, so each starter supplies its own implementation as a bean; without one, or for the
 * details Boot makes from {@code spring.datasource.*} itself, baton reads those properties.
 */
@FunctionalInterface
public interface JdbcConnectionDetailsStore {
    /**
     * The store URL of the application's JDBC service connection.
     *
     * @return the store, or null when there is no service connection (or only {@code spring.datasource.*})
     * @throws BatonStartupException for a PostgreSQL/MySQL/MariaDB URL with settings baton cannot carry over
     */
    StoreUrl storeUrl();

    /**
     * The store for a service connection's URL and credentials.
     *
     * @param jdbcUrl the JDBC URL
     * @param username the user, or null
     * @param password the password, or null
     * @param bean the connection details' class, for messages
     * @return the store, or null for a database baton has no store for
     */
    static StoreUrl of(String jdbcUrl, String username, String password, Class<?> bean) {
        StoreUrl s = DataSourceStore.of(jdbcUrl, username, password);
        return s == null ? null : new StoreUrl(s.url(), "the JDBC service connection " + bean.getName());
    }
}
