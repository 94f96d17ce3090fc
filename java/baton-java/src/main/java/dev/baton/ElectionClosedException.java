package dev.baton;

/**
 * The election was closed (by {@link LeaderElection#close()} or at JVM shutdown); build a new
 * {@link LeaderElection} to campaign again.
 */
public class ElectionClosedException extends BatonException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message which election was closed and what to do
     */
    public ElectionClosedException(String message) {
        super(message);
    }
}
