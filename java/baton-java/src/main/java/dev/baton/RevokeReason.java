package dev.baton;

/** Why leadership ended, as passed to {@link LeadershipListener#revoked(long, RevokeReason)}. */
public enum RevokeReason {
    /** {@link LeaderElection#resign()} was called. */
    RESIGNED("resigned"),
    /** The election was closed, or the JVM shut baton down. */
    CLOSED("closed"),
    /** The store says the lease is gone or held by someone else. */
    LEASE_LOST("lease_lost"),
    /**
     * The lease ran out before a renewal was even attempted (the JVM was paused or starved);
     * {@link LeaderElection#isLeader()} had already turned false at the deadline.
     */
    LEASE_EXPIRED("lease_expired"),
    /** Renewals failed until the lease could no longer be trusted. */
    STORE_UNREACHABLE("store_unreachable");

    private final String id;

    RevokeReason(String id) {
        this.id = id;
    }

    /**
     * A stable lower-case name, the same in every language baton supports (for logs and metrics).
     *
     * @return for example {@code "lease_lost"}
     */
    public String id() {
        return id;
    }

    /** Codes used by the native layer; must match {@code reason_code} in src/ffi/jni. */
    static RevokeReason fromCode(int code) {
        switch (code) {
            case 0: return RESIGNED;
            case 1: return CLOSED;
            case 2: return LEASE_LOST;
            case 3: return LEASE_EXPIRED;
            case 4: return STORE_UNREACHABLE;
            default: throw new IllegalStateException("unknown revoke reason code " + code
                + "; baton's jar and native library do not match");
        }
    }
}
