package dev.baton;

/**
 * The store (Redis) could not be reached: connection refused, timeout, DNS or TLS failure.
 * The message names the store URL (without its password) and what the client reported.
 */
public class StoreUnreachableException extends BatonException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message the store URL and what went wrong
     */
    public StoreUnreachableException(String message) {
        super(message);
    }
}
