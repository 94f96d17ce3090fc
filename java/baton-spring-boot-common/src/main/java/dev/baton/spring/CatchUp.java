package dev.baton.spring;

import dev.baton.ElectionClosedException;
import dev.baton.LeaderElection;
import dev.baton.LeaderInfo;
import dev.baton.LeadershipListener;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

/**
 * {@code @ConditionalOnLeader(catchUp = true)}: remembers a trigger skipped on this instance
 * and runs the method once when this instance is granted, if the trigger fell into a window in
 * which nobody ran it.
 *
 * <p>A skip opens a <em>pending</em> record with the lease this instance saw then: nobody's, or
 * another instance's with its expiry on this instance's monotonic clock. The record is dropped
 * when that instance is later seen alive (its expiry moved forward twice after the skip: the
 * second move can only come from a renewal made after the skip, so it led and ran the trigger),
 * or when a different instance is seen leading (it ran the trigger, or it catches up itself). At
 * this instance's grant a record still pending is a miss if the lease it saw had run out by
 * then: the grant was a takeover at expiry (a crash or a stall), or nobody led. A grant that came
 * while the lease seen was still running was a graceful handover: the old leader ran the trigger.
 */
final class CatchUp {
    private static final Log LOG = LogFactory.getLog(CatchUp.class);
    /** How often pending records look at the lease they saw (no store round trip). */
    private static final long SAMPLE_MILLIS = 100;
    /** An expiry that moved less than this is the same lease read again, not a renewal. */
    private static final long RENEWAL_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    /** One method's missed trigger, and what the instance saw then. */
    private static final class Pending {
        final Object proxy;
        final Method method;
        final Object[] args;
        final String leader; // the candidate id seen leading, or null
        final long seenToken; // the token of the lease seen, live or run out; 0 if none
        long expiry; // latest expiry of that lease seen, System.nanoTime() based
        int moves; // how often that expiry moved forward since the skip

        Pending(Object proxy, Method method, Object[] args, String leader, long seenToken, long expiry) {
            this.proxy = proxy;
            this.method = method;
            this.args = args;
            this.leader = leader;
            this.seenToken = seenToken;
            this.expiry = expiry;
        }
    }

    /** One election's pending records, and its listener. */
    private final class Watch implements LeadershipListener {
        final LeaderElection election;
        final Map<Object, Pending> pending = new ConcurrentHashMap<>(); // by method key

        Watch(LeaderElection election) {
            this.election = election;
        }

        @Override
        public void granted(long token) {
            long g = System.nanoTime();
            for (Map.Entry<Object, Pending> e : pending.entrySet()) {
                Pending p = e.getValue();
                synchronized (p) {
                    boolean ledAfterSkip = sample(this, p);
                    if (!pending.remove(e.getKey(), p)) {
                        continue;
                    }
                    judged.incrementAndGet();
                    if (ledAfterSkip || g - p.expiry < 0) {
                        continue; // the lease it saw was still running: a graceful handover
                    }
                }
                caughtUp.incrementAndGet();
                LOG.info("Catching up " + p.method.getDeclaringClass().getSimpleName() + "." + p.method.getName()
                    + "(): a trigger was skipped while nobody led election '" + election.name() + "'");
                runner.execute(() -> replay(p));
            }
        }

        @Override
        public void leaderChanged(Optional<LeaderInfo> leader) {
            // A grant newer than the lease a skip saw: that leader ran the trigger or catches up.
            String me = election.candidateId();
            leader.filter(l -> !l.candidateId().equals(me))
                .ifPresent(l -> pending.values().removeIf(p -> l.token() > p.seenToken));
        }
    }

    private final Map<LeaderElection, Watch> watches = new ConcurrentHashMap<>();
    private final ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "baton-catch-up");
        t.setDaemon(true);
        return t;
    });
    private final java.util.concurrent.Executor runner = r -> {
        Thread t = new Thread(r, "baton-catch-up-run");
        t.setDaemon(true);
        t.start();
    };
    private volatile boolean sampling;
    /** Pending records judged at a grant, and how many of them were run: for tests and logs. */
    final java.util.concurrent.atomic.AtomicInteger judged = new java.util.concurrent.atomic.AtomicInteger();
    final java.util.concurrent.atomic.AtomicInteger caughtUp = new java.util.concurrent.atomic.AtomicInteger();

    /**
     * Records a call skipped because this instance did not lead.
     *
     * @param key the method (and target class)
     * @param election its election
     * @param proxy the bean to call back through (its advice applies again)
     * @param method the method
     * @param args the call's arguments
     */
    void skipped(Object key, LeaderElection election, Object proxy, Method method, Object[] args) {
        Watch w = watches.computeIfAbsent(election, this::watch);
        long now = System.nanoTime();
        Optional<LeaderInfo> seen;
        try {
            seen = election.leader();
        } catch (ElectionClosedException closed) {
            return;
        }
        String me = election.candidateId();
        Optional<LeaderInfo> other = seen.filter(l -> !l.candidateId().equals(me) && !l.leaseRemaining().isZero());
        Pending fresh = new Pending(proxy, method, args, other.map(LeaderInfo::candidateId).orElse(null),
            seen.map(LeaderInfo::token).orElse(0L), now + other.map(l -> l.leaseRemaining().toNanos()).orElse(0L));
        // The first skip of a window decides what was seen; later ones only refresh it.
        w.pending.putIfAbsent(key, fresh);
        startSampling();
    }

    private Watch watch(LeaderElection election) {
        Watch w = new Watch(election);
        try {
            election.addListener(w);
        } catch (ElectionClosedException closed) {
            // Never granted again: records stay pending and are never run.
        }
        return w;
    }

    private synchronized void startSampling() {
        if (!sampling) {
            sampling = true;
            sampler.scheduleWithFixedDelay(this::sampleAll, SAMPLE_MILLIS, SAMPLE_MILLIS, TimeUnit.MILLISECONDS);
        }
    }

    private void sampleAll() {
        try {
            for (Watch w : watches.values()) {
                for (Map.Entry<Object, Pending> e : w.pending.entrySet()) {
                    Pending p = e.getValue();
                    synchronized (p) {
                        if (sample(w, p)) {
                            w.pending.remove(e.getKey(), p);
                        }
                    }
                }
            }
        } catch (RuntimeException e) {
            LOG.warn("baton's catch-up sampler failed; it goes on", e);
        }
    }

    /**
     * Follows the lease {@code p} saw: true once its holder proved it led after the skip.
     * Caller holds {@code p}'s lock.
     */
    private static boolean sample(Watch w, Pending p) {
        if (p.leader == null) {
            return false;
        }
        Optional<LeaderInfo> now;
        try {
            now = w.election.leader();
        } catch (ElectionClosedException closed) {
            return false;
        }
        if (now.isEmpty() || !now.get().candidateId().equals(p.leader)) {
            return false;
        }
        long expiry = System.nanoTime() + now.get().leaseRemaining().toNanos();
        if (expiry - p.expiry > RENEWAL_NANOS) {
            p.expiry = expiry;
            p.moves++;
        }
        return p.moves >= 2;
    }

    private static void replay(Pending p) {
        try {
            org.springframework.util.ReflectionUtils.makeAccessible(p.method);
            p.method.invoke(p.proxy, p.args);
        } catch (InvocationTargetException e) {
            LOG.error("The catch-up run of " + p.method.getName() + "() failed", e.getCause());
        } catch (IllegalAccessException | RuntimeException e) {
            LOG.error("The catch-up run of " + p.method.getName() + "() could not be started", e);
        }
    }

    /** Stops the sampler (the context closes). */
    void shutdown() {
        sampler.shutdownNow();
    }
}
