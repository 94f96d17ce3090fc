package dev.baton;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The JNI entry points (src/ffi/jni) and the factories the native side calls back into. Only
 * {@link NativeLoader} and {@link LeaderElection} use this class; they check arguments and the
 * closed state before every call.
 */
final class Native {
    private Native() {}

    /** Caches this class and its factories on the native side; called once, after loading. */
    static native void init();

    static native String version();

    /** Starts an election; {@code -1}, {@code NaN} and {@code null} leave a setting at its default. */
    static native long open(String store, String name, String prefix, long ttlNanos, long renewNanos,
            long retryNanos, double drift, boolean campaign, int replicas, long replicasTimeoutNanos,
            long connectTimeoutNanos, boolean allowEviction, boolean resignOnRequest, String tlsCaPem,
            String tlsCertPem, String tlsKeyPem, String clientName);

    /** One store read of who leads, without campaigning; arguments as for {@link #open}. */
    static native LeaderInfo currentLeader(String store, String name, String prefix, long ttlNanos,
            long renewNanos, long retryNanos, double drift, boolean campaign, int replicas,
            long replicasTimeoutNanos, long connectTimeoutNanos, boolean allowEviction,
            boolean resignOnRequest, String tlsCaPem, String tlsCertPem, String tlsKeyPem, String clientName);

    /** Asks the current leader to hand over; arguments as for {@link #open}; null if nobody leads. */
    static native LeaderInfo requestResign(String store, String name, String prefix, long ttlNanos,
            long renewNanos, long retryNanos, double drift, boolean campaign, int replicas,
            long replicasTimeoutNanos, long connectTimeoutNanos, boolean allowEviction,
            boolean resignOnRequest, String tlsCaPem, String tlsCertPem, String tlsKeyPem, String clientName);

    static native boolean isLeader(long handle);

    /** The fencing token while leading, else -1. */
    static native long token(long handle);

    static native LeaderInfo leader(long handle);

    static native long renewalCount(long handle);

    static native long renewalNanos(long handle);

    static native long subscriptionFailures(long handle);

    static native String candidateId(long handle);

    static native void resign(long handle);

    /** Closes the election; the handle stays valid until {@link #free}. */
    static native void close(long handle);

    /** Frees the handle; only the election's Cleaner calls this. */
    static native void free(long handle);

    /** A new subscription, owned by the one thread that polls it. */
    static native long subscribe(long handle);

    /** The next {@link NativeEvent}, or null after {@code timeoutMillis}. */
    static native Object poll(long events, long timeoutMillis);

    static native void freeEvents(long events);

    /** Closes every election of the process, releasing its lease. */
    static native void shutdown();

    // ---- Called from native code (signatures cached in src/ffi/jni/cache.rs) ----

    /** Kinds must match {@code failure::kind} in src/ffi/jni. */
    static Throwable error(int kind, String message, String[] problems) {
        switch (kind) {
            case 0:
                List<ConfigurationException.Problem> list = new ArrayList<>();
                for (int i = 0; i + 1 < problems.length; i += 2) {
                    list.add(new ConfigurationException.Problem(problems[i], problems[i + 1]));
                }
                return new ConfigurationException(message, list);
            case 1:
                return StoreAuthenticationException.isRefusal(message)
                    ? new StoreAuthenticationException(message) : new StoreUnreachableException(message);
            case 2:
                // The core reports a refusal as a store error; Redis's error code types it.
                return StoreAuthenticationException.isRefusal(message)
                    ? new StoreAuthenticationException(message) : new BatonException(message);
            case 3:
                return new ElectionClosedException(message);
            case 5:
                return new NullPointerException(message);
            case 6:
                return new IllegalArgumentException(message);
            default:
                return new BatonException(message);
        }
    }

    static LeaderInfo leader(String candidateId, String host, long pid, long token, long sinceMillis,
            long remainingNanos) {
        return new LeaderInfo(candidateId, host, pid, token, Instant.ofEpochMilli(sinceMillis),
            Duration.ofNanos(remainingNanos));
    }

    static Object event(int kind, long token, int reason, LeaderInfo leader) {
        return new NativeEvent(kind, token, kind == NativeEvent.REVOKED ? RevokeReason.fromCode(reason) : null,
            leader);
    }
}
