package dev.baton.peers;

/**
 * One library's way of electing a leader, as a candidate process runs it. Implementations report
 * grants and revocations through {@link Candidate#granted()} and {@link Candidate#revoked()}.
 */
interface Contender {
    /** Starts campaigning; returns at once (a follower keeps waiting in the background). */
    void join() throws Exception;

    /** Gives up leadership the way the library's docs say a shutting-down instance does. */
    void release() throws Exception;

    /** The library's "am I the leader?" question, or throws if it has none. */
    boolean isLeader() throws Exception;

    /** Whether {@link #isLeader()} exists for this library. */
    default boolean canCheck() {
        return true;
    }
}
