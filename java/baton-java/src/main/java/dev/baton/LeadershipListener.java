package dev.baton;

import java.util.Optional;

/**
 * Receives an election's leadership changes. Callbacks run one at a time on a daemon thread that
 * baton owns for the election ({@code baton-events-<name>}), never on baton's runtime thread, so
 * a slow listener delays other listeners but never a lease renewal.
 *
 * <p>For each listener, {@link #granted(long)} always comes before the matching
 * {@link #revoked(long, RevokeReason)}, and every grant is eventually revoked (at the latest
 * when the election is closed). A listener added while the election leads first receives
 * {@code granted} with the current token. An exception thrown by a callback is logged and does
 * not stop delivery.
 */
public interface LeadershipListener {
    /**
     * This instance became leader.
     *
     * @param token the fencing token of this grant, larger than every earlier grant's
     */
    default void granted(long token) {}

    /**
     * This instance stopped leading. By the time this runs, {@link LeaderElection#isLeader()}
     * already returns false.
     *
     * @param token the token of the grant that ended
     * @param reason why it ended
     */
    default void revoked(long token, RevokeReason reason) {}

    /**
     * The observed leader changed (this instance included).
     *
     * @param leader the new leader, or empty while nobody is known to lead
     */
    default void leaderChanged(Optional<LeaderInfo> leader) {}

    /**
     * Someone asked this leader to hand over ({@link LeaderElection.Builder#requestResign()},
     * {@code baton resign}), and the election was built with
     * {@link LeaderElection.Builder#resignOnRequest(boolean) resignOnRequest(false)}: it still
     * leads under {@code token}. Stop the leader-only work, then call
     * {@link LeaderElection#resign()}, so that no work runs after the lease was given away. Sent
     * at most once per grant; never with the default {@code resignOnRequest(true)}, where the
     * election resigns by itself.
     *
     * @param token the token of the grant asked to hand over
     */
    default void resignRequested(long token) {}
}
