package dev.baton;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * This process's candidacy in one named election. At most one live candidate of an election
 * leads at a time; this one campaigns from the moment it is built until {@link #close()}.
 *
 * <pre>{@code
 * try (LeaderElection election = LeaderElection.builder("redis://127.0.0.1:6379", "nightly-report")
 *         .ttl(Duration.ofSeconds(10))
 *         .build()) {
 *     while (running) {
 *         if (election.isLeader()) {
 *             doWork(election.fencingToken().getAsLong());
 *         }
 *     }
 * }
 * }</pre>
 *
 * <p>All methods may be called from any thread. {@link #isLeader()}, {@link #fencingToken()} and
 * {@link #leader()} never touch the store. {@link #resign()} and {@link #close()} block until the
 * store confirmed the release (a couple of seconds at most when it is unreachable; the lease then
 * expires on its own). Leases are renewed on baton's own native thread, not on any Java thread.
 *
 * <p>{@link #isLeader()} is true only before the lease deadline, {@code ttl * (1 - drift) - 2ms}
 * after the winning request was sent, and is evaluated at every call: a JVM that was paused past
 * its deadline sees {@code false} the moment it resumes. No timeout scheme survives a pause
 * between checking and acting, so pass {@link #fencingToken()} to the resource you write to and
 * let it refuse tokens smaller than one it has seen.
 *
 * <p>Keep a reference to the election while it should campaign, and close it when done: an
 * election that becomes unreachable without being closed (and has no listeners) is closed
 * whenever the garbage collector finds it. Unless the system property {@code baton.shutdownHook}
 * is {@code false}, every election still open at JVM shutdown is closed then, releasing its lease
 * for an immediate handover.
 */
public final class LeaderElection implements AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create(r -> {
        Thread t = new Thread(r, "baton-cleaner");
        t.setDaemon(true);
        return t;
    });
    /** How long {@link #close()} waits for listeners to receive the final revocation. */
    private static final Duration LISTENER_DRAIN = Duration.ofSeconds(5);
    private static final VarHandle CLOSED;

    static {
        try {
            CLOSED = MethodHandles.lookup().findVarHandle(LeaderElection.class, "closed", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * The native election; 0 only while a {@link Builder#connectInBackground(boolean)} election
     * waits for its store, then set once. Never zeroed: another thread may be inside a call
     * with it while {@link #close()} runs, so the memory is freed only by the Cleaner, once this
     * object is unreachable; every call keeps {@code this} reachable until it returned.
     */
    private volatile long handle;
    private final String name;
    private volatile String candidateId;
    private volatile boolean closed; // set once, through CLOSED
    private final Object dispatcherLock = new Object();
    private EventDispatcher dispatcher; // guarded by dispatcherLock
    /** Listeners added before the store answered; guarded by dispatcherLock. */
    private final List<LeadershipListener> waiting = new ArrayList<>();
    /** Why the last attempt to reach the store failed, while connecting in the background. */
    private volatile BatonException connectFailure;
    private volatile Thread connector;
    /** The last reading, kept for after close (the counts only grow). */
    private volatile RenewalStats renewals = new RenewalStats(0, Duration.ZERO);
    private volatile long subscriptionFailures;

    private LeaderElection(long handle, String name, String candidateId) {
        this.handle = handle;
        this.name = name;
        this.candidateId = candidateId;
        CLEANER.register(this, new Free(handle));
    }

    /** An election whose store did not answer yet; {@link Connector} builds it. */
    private LeaderElection(String name, StoreUnreachableException first) {
        this.name = name;
        this.candidateId = "";
        this.connectFailure = first;
    }

    /** The Cleaner's action; must not refer to the election. */
    private static final class Free implements Runnable {
        private final long handle;

        Free(long handle) {
            this.handle = handle;
        }

        @Override
        public void run() {
            Native.free(handle);
        }
    }

    /**
     * Starts configuring an election.
     *
     * @param storeUrl the store: {@code redis://[user:password@]host:port[/db]}, {@code rediss://...}
     *     for TLS, a comma-separated list of Redis Cluster seed URLs,
     *     {@code zookeeper://[user:password@]host:port[,host:port...][/chroot]},
     *     {@code postgres://[user[:password]@]host[:port]/database} or
     *     {@code mysql://[user[:password]@]host[:port]/database}
     * @param name the election's name, shared by every candidate of the election
     * @return a builder with the defaults of baton's Rust builder
     * @throws NullPointerException if an argument is null
     */
    public static Builder builder(String storeUrl, String name) {
        return new Builder(Objects.requireNonNull(storeUrl, "storeUrl must not be null"),
            Objects.requireNonNull(name, "name must not be null"));
    }

    /**
     * Whether this instance leads right now. Cheap enough for every loop iteration: no store round
     * trip, no allocation; true only before the lease deadline, evaluated at this call.
     *
     * @return true while leading; false after {@link #close()}, so that code asking while the
     *     application shuts down gets an answer, not an exception
     */
    public boolean isLeader() {
        long h = handle;
        if (closed || h == 0) {
            return false;
        }
        try {
            return Native.isLeader(h);
        } catch (ElectionClosedException closedMeanwhile) {
            return false;
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * The fencing token of the current grant, while leading. Pass it to the resource you write to:
     * tokens of one election strictly increase across grants, so the resource can refuse writes
     * from a leader that was replaced.
     *
     * @return the token, or empty when not leading (also after {@link #close()})
     */
    public OptionalLong fencingToken() {
        long h = handle;
        if (closed || h == 0) {
            return OptionalLong.empty();
        }
        try {
            long token = Native.token(h);
            return token < 0 ? OptionalLong.empty() : OptionalLong.of(token);
        } catch (ElectionClosedException closedMeanwhile) {
            return OptionalLong.empty();
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Who leads, as last seen in the store (this instance included), with the lease time left.
     *
     * @return the leader, or empty if nobody was seen leading
     * @throws ElectionClosedException after {@link #close()}
     */
    public Optional<LeaderInfo> leader() {
        ensureOpen();
        long h = handle;
        if (h == 0) {
            return Optional.empty(); // the store has not answered yet
        }
        try {
            return Optional.ofNullable(Native.leader(h));
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * This instance's successful lease renewals so far and their summed round trips, for a
     * renewal-latency metric. No store round trip.
     *
     * @return the counts; after {@link #close()}, the last ones read before it
     */
    public RenewalStats renewalStats() {
        long h = handle;
        if (closed || h == 0) {
            return renewals;
        }
        try {
            RenewalStats now = new RenewalStats(Native.renewalCount(h), Duration.ofNanos(Native.renewalNanos(h)));
            renewals = now;
            return now;
        } catch (ElectionClosedException closedMeanwhile) {
            return renewals;
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * How often subscribing to the store's release notifications failed (refused, e.g. by an
     * ACL without {@code &<prefix>*}, or timed out). Until a retry succeeds, a graceful
     * handover reaches this instance only when the lease expires: alert on a count that keeps
     * growing. No store round trip.
     *
     * @return the count; after {@link #close()}, the last one read before it
     */
    public long subscriptionFailures() {
        long h = handle;
        if (closed || h == 0) {
            return subscriptionFailures;
        }
        try {
            long now = Native.subscriptionFailures(h);
            subscriptionFailures = now;
            return now;
        } catch (ElectionClosedException closedMeanwhile) {
            return subscriptionFailures;
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Gives up leadership now (if leading) and lets the other candidates take over at once; this
     * instance sits out one TTL plus one renew interval before it competes again. Listeners receive
     * {@link RevokeReason#RESIGNED}.
     *
     * @throws ElectionClosedException after {@link #close()}
     * @throws BatonException if the store refused or could not be reached (the lease then
     *     expires on its own)
     */
    public void resign() {
        ensureOpen();
        long h = handle;
        if (h == 0) {
            return; // not connected, so not leading
        }
        try {
            Native.resign(h);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Stops campaigning and releases the lease if held, waking the other candidates so that one
     * takes over at once. Blocks until the store confirmed the release (bounded), then until the
     * listeners received the final revocation (up to a few seconds). Calling it again does nothing.
     */
    @Override
    public void close() {
        if (!CLOSED.compareAndSet(this, false, true)) {
            return;
        }
        long h;
        synchronized (dispatcherLock) { // the connector sets the handle under this lock too
            h = handle;
            waiting.clear();
        }
        Thread c = connector;
        if (c != null) {
            c.interrupt();
        }
        if (h == 0) {
            return;
        }
        try {
            Native.close(h);
        } finally {
            Reference.reachabilityFence(this);
        }
        EventDispatcher d;
        synchronized (dispatcherLock) {
            d = dispatcher;
        }
        if (d != null && !d.isDispatcherThread()) {
            try {
                d.awaitFinished(LISTENER_DRAIN);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Whether {@link #close()} was called.
     *
     * @return true once closed
     */
    public boolean isClosed() {
        return closed;
    }

    /**
     * The election's name.
     *
     * @return the name given to the builder
     */
    public String name() {
        return name;
    }

    /**
     * Whether the election reached its store and campaigns. Always true unless it was built with
     * {@link Builder#connectInBackground(boolean) connectInBackground(true)} and its store has
     * not answered yet.
     *
     * @return true once connected
     */
    public boolean isConnected() {
        return handle != 0;
    }

    /**
     * Why the last attempt to reach the store failed, while an election built with
     * {@link Builder#connectInBackground(boolean) connectInBackground(true)} is not connected:
     * a {@link StoreUnreachableException} while it keeps trying, or another
     * {@link BatonException} (a refused password, an eviction policy baton does not accept)
     * after which it stopped trying.
     *
     * @return the failure, or empty once connected (or when nothing failed)
     */
    public Optional<BatonException> connectFailure() {
        return handle != 0 ? Optional.empty() : Optional.ofNullable(connectFailure);
    }

    /**
     * This instance's candidate id ({@code host:pid:nonce}), unique per election handle and
     * process life; it is what {@link LeaderInfo#candidateId()} shows while this instance leads.
     * Empty while an election built with {@code connectInBackground(true)} waits for its store.
     *
     * @return the candidate id
     */
    public String candidateId() {
        return candidateId;
    }

    /**
     * Registers a listener. It receives callbacks on this election's event thread; if the
     * election leads right now, its first callback is {@code granted} with the current token.
     *
     * @param listener the listener
     * @throws NullPointerException if {@code listener} is null
     * @throws ElectionClosedException after {@link #close()}
     */
    public void addListener(LeadershipListener listener) {
        Objects.requireNonNull(listener, "listener must not be null");
        ensureOpen();
        synchronized (dispatcherLock) {
            if (handle == 0) {
                waiting.add(listener); // registered once the store answers
                return;
            }
            if (dispatcher == null) {
                long events;
                try {
                    events = Native.subscribe(handle);
                } finally {
                    Reference.reachabilityFence(this);
                }
                dispatcher = new EventDispatcher(this, events);
                dispatcher.add(listener);
                dispatcher.start();
            } else {
                dispatcher.add(listener);
            }
        }
    }

    /**
     * Unregisters a listener; it receives no callback that was not already under way.
     *
     * @param listener the listener
     * @return whether it was registered
     * @throws NullPointerException if {@code listener} is null
     */
    public boolean removeListener(LeadershipListener listener) {
        Objects.requireNonNull(listener, "listener must not be null");
        synchronized (dispatcherLock) {
            return waiting.remove(listener) || dispatcher != null && dispatcher.remove(listener);
        }
    }

    @Override
    public String toString() {
        return "LeaderElection[name=" + name + ", candidateId=" + candidateId
            + (closed ? ", closed" : "") + "]";
    }

    /**
     * Retries building the native election until the store answers or the election is closed,
     * with exponential backoff; runs on its own daemon thread.
     */
    private static final class Connector implements Runnable {
        private static final System.Logger LOG = System.getLogger("dev.baton");
        private static final long FIRST_PAUSE_MILLIS = 250;
        private static final long LONGEST_PAUSE_MILLIS = 10_000;

        private final LeaderElection election;
        private final Builder builder;

        Connector(LeaderElection election, Builder builder) {
            this.election = election;
            this.builder = builder;
        }

        @Override
        public void run() {
            long pause = FIRST_PAUSE_MILLIS;
            while (!election.closed) {
                try {
                    // Jitter spreads a fleet that lost its store at the same moment.
                    Thread.sleep(pause / 2 + java.util.concurrent.ThreadLocalRandom.current().nextLong(pause / 2 + 1));
                } catch (InterruptedException closedMeanwhile) {
                    return;
                }
                pause = Math.min(pause * 2, LONGEST_PAUSE_MILLIS);
                long h;
                String id;
                try {
                    h = builder.open();
                } catch (StoreUnreachableException e) {
                    election.connectFailure = e;
                    continue;
                } catch (BatonException e) {
                    election.connectFailure = e;
                    LOG.log(System.Logger.Level.ERROR, "election '" + election.name + "' stopped trying to"
                        + " reach its store: " + e.getMessage());
                    return;
                }
                try {
                    id = Native.candidateId(h);
                } catch (RuntimeException e) {
                    Native.close(h);
                    Native.free(h);
                    continue;
                }
                if (election.connected(h, id)) {
                    LOG.log(System.Logger.Level.INFO, "election '" + election.name + "' reached its store and"
                        + " campaigns (candidate " + id + ")");
                }
                return;
            }
        }
    }

    /** The connector built the native election: adopt it, unless closed meanwhile. */
    private boolean connected(long h, String id) {
        List<LeadershipListener> pending;
        synchronized (dispatcherLock) {
            if (closed) {
                Native.close(h);
                Native.free(h);
                return false;
            }
            candidateId = id;
            CLEANER.register(this, new Free(h));
            handle = h;
            pending = List.copyOf(waiting);
            waiting.clear();
        }
        connector = null;
        for (LeadershipListener l : pending) {
            try {
                addListener(l);
            } catch (ElectionClosedException closedMeanwhile) {
                return true;
            }
        }
        return true;
    }

    private void ensureOpen() {
        if (closed) {
            throw closedException();
        }
    }

    private ElectionClosedException closedException() {
        return new ElectionClosedException("election '" + name + "' (candidate " + candidateId
            + ") was closed; build a new LeaderElection to campaign again");
    }

    /**
     * Configures a {@link LeaderElection}; mirrors baton's Rust builder. Every rule is checked at
     * {@link #build()}, and every broken rule is reported at once in a
     * {@link ConfigurationException}. Unset settings keep the Rust defaults.
     */
    public static final class Builder {
        private static final long UNSET = -1;

        private final String storeUrl;
        private final String name;
        private String keyPrefix;
        private long ttl = UNSET;
        private long renewInterval = UNSET;
        private long retryInterval = UNSET;
        private double drift = Double.NaN;
        private boolean campaign = true;
        private int replicas = -1;
        private long replicasTimeout = UNSET;
        private long connectTimeout = UNSET;
        private boolean allowEviction;
        private boolean resignOnRequest = true;
        private String tlsCaPem;
        private String tlsCertPem;
        private String tlsKeyPem;
        private String clientName;
        private boolean connectInBackground;
        private final List<LeadershipListener> listeners = new ArrayList<>();

        private Builder(String storeUrl, String name) {
            this.storeUrl = storeUrl;
            this.name = name;
        }

        /**
         * How long a lease lives in the store without renewal; a dead leader is replaced this
         * long after its last renewal. Between 100ms and 24h. Default: 10s.
         *
         * @param ttl the lease time-to-live
         * @return this builder
         */
        public Builder ttl(Duration ttl) {
            this.ttl = nanos(ttl, "ttl");
            return this;
        }

        /**
         * How often the leader renews its lease; must be shorter than the lease it may trust
         * ({@code ttl * (1 - drift) - 2ms}). Default: a third of the TTL.
         *
         * @param interval the renewal interval
         * @return this builder
         */
        public Builder renewInterval(Duration interval) {
            this.renewInterval = nanos(interval, "renewInterval");
            return this;
        }

        /**
         * Pause between retries of a failed renewal, and the base of followers' backoff; must be
         * shorter than the renewal interval. Default: a twentieth of the TTL.
         *
         * @param interval the retry interval
         * @return this builder
         */
        public Builder retryInterval(Duration interval) {
            this.retryInterval = nanos(interval, "retryInterval");
            return this;
        }

        /**
         * The tolerated difference in clock <em>rate</em> between hosts and the store, as a
         * fraction: a leader trusts its lease for {@code ttl * (1 - drift)}. Between 0 and 0.5.
         * Default: 0.01 (1%).
         *
         * @param drift the fraction
         * @return this builder
         * @throws IllegalArgumentException if {@code drift} is NaN
         */
        public Builder drift(double drift) {
            if (Double.isNaN(drift)) {
                throw new IllegalArgumentException("drift must be a number between 0 and 0.5, got NaN");
            }
            this.drift = drift;
            return this;
        }

        /**
         * Prefix of every key and channel baton uses in the store. Default: {@code baton:}.
         *
         * @param prefix the prefix
         * @return this builder
         */
        public Builder keyPrefix(String prefix) {
            this.keyPrefix = Objects.requireNonNull(prefix, "keyPrefix must not be null");
            return this;
        }

        /**
         * Whether this instance competes for leadership; {@code false} only watches who leads.
         * Default: true.
         *
         * @param campaign whether to campaign
         * @return this builder
         */
        public Builder campaign(boolean campaign) {
            this.campaign = campaign;
            return this;
        }

        /**
         * Waits for {@code count} replicas to acknowledge a grant (Redis {@code WAIT}, up to
         * {@code timeout}) before reporting it; a grant fewer replicas saw is released and
         * retried. Default: off.
         *
         * @param count replicas that must acknowledge
         * @param timeout how long to wait for them
         * @return this builder
         * @throws IllegalArgumentException if {@code count} is negative
         */
        public Builder waitForReplicas(int count, Duration timeout) {
            if (count < 0) {
                throw new IllegalArgumentException("waitForReplicas count must not be negative, got " + count);
            }
            this.replicasTimeout = nanos(timeout, "waitForReplicas timeout");
            this.replicas = count;
            return this;
        }

        /**
         * How long {@link #build()} waits for the first connection to the store. Default: 5s.
         *
         * @param timeout the connect timeout
         * @return this builder
         */
        public Builder connectTimeout(Duration timeout) {
            this.connectTimeout = nanos(timeout, "connectTimeout");
            return this;
        }

        /**
         * Accepts a Redis store whose {@code maxmemory-policy} is {@code allkeys-*}, under which
         * Redis may evict the lease of a live leader and grant it to another instance (two
         * leaders). Without it, {@link #build()} refuses such a store with a
         * {@link ConfigurationException} (setting {@code allow_eviction}); {@code noeviction}
         * and {@code volatile-*} are safe (baton's keys have no TTL). Default: false.
         *
         * @param allow whether to accept the risk
         * @return this builder
         */
        public Builder allowEviction(boolean allow) {
            this.allowEviction = allow;
            return this;
        }

        /**
         * What this leader does when someone asks it to hand over ({@link #requestResign()},
         * {@code baton resign}). {@code true}: it resigns at once. {@code false}: it keeps
         * leading and calls {@link LeadershipListener#resignRequested(long)}; the application
         * stops its leader-only work, then calls {@link LeaderElection#resign()}, so that no
         * work runs after the lease was given away. Default: true.
         *
         * @param immediately whether to resign without asking the application
         * @return this builder
         */
        public Builder resignOnRequest(boolean immediately) {
            this.resignOnRequest = immediately;
            return this;
        }

        /**
         * The CA certificate(s), PEM text, that a {@code rediss://} server's certificate must
         * chain to, instead of the system's trust roots (a private CA). Redis standalone and
         * Cluster; {@link #build()} throws a {@link ConfigurationException} (setting
         * {@code tls_ca}) for PEM without a certificate or a store URL that is not
         * {@code rediss://}. Default: the system's trust roots.
         *
         * @param pem the CA certificate(s), {@code -----BEGIN CERTIFICATE-----...}
         * @return this builder
         */
        public Builder tlsCaPem(String pem) {
            this.tlsCaPem = Objects.requireNonNull(pem, "tlsCaPem must not be null");
            return this;
        }

        /**
         * A client certificate (chain) and its unencrypted private key, both PEM text, that
         * baton presents to a {@code rediss://} server requiring one ({@code tls-auth-clients
         * yes}). Checked by {@link #build()} (settings {@code tls_client_cert},
         * {@code tls_client_key}). Default: none.
         *
         * @param certificatePem the certificate chain, {@code -----BEGIN CERTIFICATE-----...}
         * @param privateKeyPem the private key, {@code -----BEGIN PRIVATE KEY-----...}
         * @return this builder
         */
        public Builder tlsClientCertPem(String certificatePem, String privateKeyPem) {
            this.tlsCertPem = Objects.requireNonNull(certificatePem, "tlsClientCertPem certificate must not be null");
            this.tlsKeyPem = Objects.requireNonNull(privateKeyPem, "tlsClientCertPem key must not be null");
            return this;
        }

        /**
         * The name of baton's Redis connection in {@code CLIENT LIST} ({@code CLIENT SETNAME},
         * sent again after every reconnect): printable ASCII without spaces, at most 128 bytes.
         * Elections that name their connection differently get one connection each.
         * Default: {@code baton:<host>:<pid>}.
         *
         * @param name the client name, for example {@code baton:orders}
         * @return this builder
         */
        public Builder clientName(String name) {
            this.clientName = Objects.requireNonNull(name, "clientName must not be null");
            return this;
        }

        /**
         * What {@link #build()} does when the store cannot be reached within the connect
         * timeout. {@code false}: it throws {@link StoreUnreachableException}. {@code true}: it
         * returns an election that does not lead ({@link LeaderElection#isConnected()} false,
         * {@link LeaderElection#connectFailure()} says why) and keeps trying on a daemon thread
         * of its own, with a backoff from 250ms up to 10s, then campaigns as usual; listeners
         * added meanwhile receive their first callbacks then. Every other failure (a broken
         * setting, a refused password) still throws from {@code build()}. Default: false.
         *
         * @param background whether to start without the store
         * @return this builder
         */
        public Builder connectInBackground(boolean background) {
            this.connectInBackground = background;
            return this;
        }

        /**
         * Registers a listener from the start, as {@link LeaderElection#addListener} would.
         *
         * @param listener the listener
         * @return this builder
         */
        public Builder listener(LeadershipListener listener) {
            listeners.add(Objects.requireNonNull(listener, "listener must not be null"));
            return this;
        }

        /**
         * Validates the configuration, connects to the store (sharing the connection with this
         * JVM's other elections on the same store) and starts campaigning.
         *
         * @return the running election; close it to release leadership
         * @throws ConfigurationException if any rule is broken (all are reported)
         * @throws StoreUnreachableException if the store cannot be reached within the connect timeout
         * @throws NativeLibraryException if baton's native library cannot be loaded
         */
        public LeaderElection build() {
            NativeLoader.load();
            long handle;
            try {
                handle = open();
            } catch (StoreUnreachableException e) {
                if (!connectInBackground) {
                    throw e;
                }
                LeaderElection pending = new LeaderElection(name, e);
                for (LeadershipListener l : listeners) {
                    pending.addListener(l);
                }
                Thread t = new Thread(new Connector(pending, copy()), "baton-connect-" + name);
                t.setDaemon(true);
                pending.connector = t;
                t.start();
                return pending;
            }
            String candidateId;
            try {
                candidateId = Native.candidateId(handle);
            } catch (RuntimeException e) {
                Native.close(handle);
                Native.free(handle);
                throw e;
            }
            LeaderElection election = new LeaderElection(handle, name, candidateId);
            for (LeadershipListener l : listeners) {
                election.addListener(l);
            }
            return election;
        }

        /**
         * Reads who leads right now, straight from the store, without campaigning.
         *
         * @return the leader, or empty if nobody leads
         * @throws ConfigurationException if any rule is broken
         * @throws StoreUnreachableException if the store cannot be reached
         * @throws NativeLibraryException if baton's native library cannot be loaded
         */
        public Optional<LeaderInfo> currentLeader() {
            NativeLoader.load();
            return Optional.ofNullable(Native.currentLeader(storeUrl, name, keyPrefix, ttl, renewInterval,
                retryInterval, drift, campaign, replicas, replicasTimeout, connectTimeout, allowEviction,
                resignOnRequest, tlsCaPem, tlsCertPem, tlsKeyPem, clientName));
        }

        /**
         * Asks the current leader of this election, wherever it runs, to hand over through its
         * normal release path (nobody's lease is deleted); it acts within milliseconds while it
         * can reach the store. A leader built with {@code resignOnRequest(false)} is told through
         * {@link LeadershipListener#resignRequested(long)} and resigns when it is ready.
         *
         * @return who was asked, or empty if nobody leads
         * @throws ConfigurationException if any rule is broken
         * @throws StoreUnreachableException if the store cannot be reached
         * @throws NativeLibraryException if baton's native library cannot be loaded
         */
        public Optional<LeaderInfo> requestResign() {
            NativeLoader.load();
            return Optional.ofNullable(Native.requestResign(storeUrl, name, keyPrefix, ttl, renewInterval,
                retryInterval, drift, campaign, replicas, replicasTimeout, connectTimeout, allowEviction,
                resignOnRequest, tlsCaPem, tlsCertPem, tlsKeyPem, clientName));
        }

        private long open() {
            return Native.open(storeUrl, name, keyPrefix, ttl, renewInterval, retryInterval, drift, campaign,
                replicas, replicasTimeout, connectTimeout, allowEviction, resignOnRequest, tlsCaPem, tlsCertPem,
                tlsKeyPem, clientName);
        }

        /** The settings as of now: the connector must not see later changes to this builder. */
        private Builder copy() {
            Builder b = new Builder(storeUrl, name);
            b.keyPrefix = keyPrefix;
            b.ttl = ttl;
            b.renewInterval = renewInterval;
            b.retryInterval = retryInterval;
            b.drift = drift;
            b.campaign = campaign;
            b.replicas = replicas;
            b.replicasTimeout = replicasTimeout;
            b.connectTimeout = connectTimeout;
            b.allowEviction = allowEviction;
            b.resignOnRequest = resignOnRequest;
            b.tlsCaPem = tlsCaPem;
            b.tlsCertPem = tlsCertPem;
            b.tlsKeyPem = tlsKeyPem;
            b.clientName = clientName;
            return b;
        }

        private static long nanos(Duration d, String setting) {
            Objects.requireNonNull(d, setting + " must not be null");
            if (d.isNegative()) {
                throw new IllegalArgumentException(setting + " must not be negative, got " + d);
            }
            try {
                return d.toNanos();
            } catch (ArithmeticException tooLong) {
                return Long.MAX_VALUE; // beyond any allowed value; validation reports it
            }
        }
    }
}
