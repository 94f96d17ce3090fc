package dev.baton;

/** One event from the native subscription; kinds must match {@code event_kind} in src/ffi/jni. */
final class NativeEvent {
    static final int GRANTED = 1;
    static final int REVOKED = 2;
    static final int LEADER_CHANGED = 3;
    /** The election was closed and every event was delivered. */
    static final int CLOSED = 4;
    /** Someone asked this leader to hand over; sent only with {@code resignOnRequest(false)}. */
    static final int RESIGN_REQUESTED = 5;

    final int kind;
    final long token;
    final RevokeReason reason;
    final LeaderInfo leader;

    NativeEvent(int kind, long token, RevokeReason reason, LeaderInfo leader) {
        this.kind = kind;
        this.token = token;
        this.reason = reason;
        this.leader = leader;
    }
}
