package dev.baton;

/**
 * Base of every exception baton throws. Unchecked: most failures (a store that cannot be
 * reached, a closed election) are not something a caller can fix on the spot, and the message
 * always says what to do.
 */
public class BatonException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates an exception with a message that names what went wrong and what to do.
     *
     * @param message the explanation
     */
    public BatonException(String message) {
        super(message);
    }

    /**
     * Creates an exception with a message and the failure that caused it.
     *
     * @param message the explanation
     * @param cause the underlying failure
     */
    public BatonException(String message, Throwable cause) {
        super(message, cause);
    }
}
