package dev.baton;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real redis-server for all tests of one class, started before the first and always stopped
 * after the last: {@code @RegisterExtension static final RedisExtension redis = new RedisExtension();}
 */
public final class RedisExtension implements BeforeAllCallback, AfterAllCallback {
    private RedisServer server;

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        server = RedisServer.start();
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        if (server != null) {
            server.close();
        }
    }

    /**
     * The server's URL.
     *
     * @return {@code redis://127.0.0.1:<port>}
     */
    public String url() {
        return server.url();
    }
}
