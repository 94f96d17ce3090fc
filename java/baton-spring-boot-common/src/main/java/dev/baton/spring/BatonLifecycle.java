package dev.baton.spring;

import dev.baton.BatonException;
import dev.baton.LeaderElection;
import dev.baton.LeadershipListener;
import dev.baton.RevokeReason;
import java.time.Duration;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.boot.convert.DurationStyle;
import org.springframework.context.ApplicationContext;
import org.springframework.context.ApplicationContextAware;
import org.springframework.context.ApplicationListener;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.event.ContextClosedEvent;

/**
 * Connects the elections to the application: on a grant it starts the election's
 * {@code @ConditionalOnLeader} lifecycle beans and publishes a {@link LeadershipGrantedEvent}; on
 * a revocation it interrupts the election's running leader-only methods (if configured), stops
 * its lifecycle beans and publishes a {@link LeadershipRevokedEvent}.
 *
 * <p>Shutdown order: this lifecycle stops in phase {@link #PHASE}, after the application's own
 * default-phase lifecycle beans and before the web server's graceful shutdown, so that a redeploy
 * hands leadership over without waiting for the web server to drain. By then the context's
 * schedulers stopped triggering tasks (they do so on the context-closed event). It refuses new
 * leader-only invocations, stops the leader-only lifecycle beans, waits for running leader-only
 * methods (up to the shutdown timeout), and only then closes every election: the leases are
 * released and another instance takes over at once.
 *
 * <p>A {@code stop()} without closing the context (as a checkpoint does) stops the same work and
 * resigns every election led instead, so that {@code start()} can resume.
 */
public class BatonLifecycle implements SmartLifecycle, SmartInitializingSingleton,
        ApplicationContextAware, ApplicationListener<ContextClosedEvent> {
    /** Before {@code WebServerGracefulShutdownLifecycle} (DEFAULT_PHASE - 1024) stops. */
    public static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 512;
    private static final Log LOG = LogFactory.getLog(BatonLifecycle.class);
    private static final long NONE = -1;

    private final LeaderElections elections;
    private final LeaderOnlyWork work;
    private final boolean interruptOnRevoke;
    private final Duration shutdownTimeout;
    private final Map<LeaderElection, Bridge> bridges = new ConcurrentHashMap<>();
    /** Each leader-only lifecycle bean's election, resolved once (not while the context is closing). */
    private final Map<LeaderOnlyWork.LifecycleBean, LeaderElection> electionOf = new ConcurrentHashMap<>();
    private ApplicationContext context;
    private volatile boolean running;
    private volatile boolean closing;

    /**
     * Creates the lifecycle.
     *
     * @param elections the application's elections
     * @param postProcessor the post-processor that found the leader-only methods and beans
     * @param interruptOnRevoke whether to interrupt leader-only methods when leadership is lost
     * @param shutdownTimeout how long shutdown waits for running leader-only methods
     */
    public BatonLifecycle(LeaderElections elections, ConditionalOnLeaderBeanPostProcessor postProcessor,
            boolean interruptOnRevoke, Duration shutdownTimeout) {
        this.elections = elections;
        this.work = postProcessor.work();
        this.interruptOnRevoke = interruptOnRevoke;
        this.shutdownTimeout = shutdownTimeout;
    }

    @Override
    public void setApplicationContext(ApplicationContext applicationContext) {
        this.context = applicationContext;
    }

    /** Builds the elections that only annotations name, so they campaign from startup. */
    @Override
    public void afterSingletonsInstantiated() {
        for (String name : work.referencedElections()) {
            elections.get(name);
        }
        for (LeaderOnlyWork.LifecycleBean b : work.lifecycleBeans()) {
            electionOf.put(b, elections.get(b.election()));
        }
        for (String name : work.clockedElections()) {
            work.clock(elections.get(name)); // grant times count from startup, not from a first call
        }
        elections.observe(e -> bridges.computeIfAbsent(e, this::attach));
    }

    private Bridge attach(LeaderElection election) {
        Bridge b = new Bridge(election);
        if (!election.isClosed()) {
            election.addListener(b);
        }
        return b;
    }

    @Override
    public void onApplicationEvent(ContextClosedEvent event) {
        // A child context's close reaches its parent's listeners too; only ours counts.
        if (event.getApplicationContext() == context) {
            closing = true;
            work.catchUp().shutdown();
        }
    }

    @Override
    public void start() {
        work.setAccepting(true);
        running = true;
        for (Bridge b : bridges.values()) {
            b.announcePending();
        }
    }

    @Override
    public void stop() {
        running = false;
        work.setAccepting(false);
        for (Bridge b : bridges.values()) {
            b.stopLifecycleBeans();
        }
        try {
            int left = work.awaitIdle(shutdownTimeout);
            if (left > 0) {
                LOG.warn(left + " @ConditionalOnLeader method(s) still running after baton.shutdown.timeout ("
                    + DurationStyle.SIMPLE.print(shutdownTimeout) + "); releasing leadership anyway"
                    + (interruptOnRevoke ? ", which interrupts them" : ""));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (closing) {
            elections.closeAll();
        } else {
            resignAll();
        }
    }

    private void resignAll() {
        for (LeaderElection e : elections.all()) {
            try {
                if (!e.isClosed() && e.isLeader()) {
                    e.resign();
                }
            } catch (BatonException ex) {
                LOG.warn("Resigning election '" + e.name() + "' failed; its lease expires on its own", ex);
            }
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public int getPhase() {
        return PHASE;
    }

    /**
     * One election's listener. Runs on the election's event thread; {@link #start()} may announce
     * a grant that came during startup, hence the lock.
     */
    private final class Bridge implements LeadershipListener {
        private final LeaderElection election;
        private long granted = NONE; // guarded by this: the grant baton holds
        private long announced = NONE; // guarded by this: the grant the application was told of

        Bridge(LeaderElection election) {
            this.election = election;
        }

        @Override
        public void granted(long token) {
            synchronized (this) {
                granted = token;
                if (!running) {
                    return; // start() announces it
                }
                startLifecycleBeans(token);
            }
            announce(token);
        }

        @Override
        public void revoked(long token, RevokeReason reason) {
            int interrupted = work.revoke(election, token, reason, interruptOnRevoke);
            if (interrupted > 0) {
                LOG.info("Interrupted " + interrupted + " @ConditionalOnLeader method(s): leadership of '"
                    + election.name() + "' (token " + token + ") ended: " + reason.id());
            }
            synchronized (this) {
                granted = NONE;
                if (announced != token) {
                    return;
                }
                announced = NONE;
                stopLifecycleBeans();
            }
            LOG.info("Leadership of '" + election.name() + "' ended (token " + token + ", " + reason.id() + ")");
            publish(new LeadershipRevokedEvent(election, token, reason));
        }

        /**
         * Sent only with {@code resign-on-request=false}: the leader-only work of this election
         * stops before the lease goes, so it never overlaps the next leader's. Runs on the
         * election's event thread, which has nothing else to deliver until the revocation.
         */
        @Override
        public void resignRequested(long token) {
            LOG.info("Handing over leadership of '" + election.name() + "' (token " + token + ") on request:"
                + " stopping its leader-only work first");
            work.setHandingOver(election, true);
            try {
                stopLifecycleBeans();
                int left = work.awaitIdle(election, shutdownTimeout);
                if (left > 0) {
                    LOG.warn(left + " @ConditionalOnLeader method(s) of '" + election.name() + "' still running after"
                        + " baton.shutdown.timeout (" + DurationStyle.SIMPLE.print(shutdownTimeout)
                        + "); resigning anyway" + (interruptOnRevoke ? ", which interrupts them" : ""));
                }
                if (!election.isClosed()) {
                    election.resign();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (BatonException e) {
                LOG.warn("Resigning election '" + election.name() + "' on request failed; its lease expires on its own", e);
            } finally {
                work.setHandingOver(election, false);
            }
        }

        void announcePending() {
            long token;
            synchronized (this) {
                token = granted;
                if (token == NONE || announced == token || !stillLeads(token)) {
                    return;
                }
                startLifecycleBeans(token);
            }
            announce(token);
        }

        /** Caller holds the lock: bean starts and stops stay ordered; listeners run outside it. */
        private void startLifecycleBeans(long token) {
            announced = token;
            LOG.info("Leadership of '" + election.name() + "' granted (token " + token + ")");
            for (LeaderOnlyWork.LifecycleBean b : work.lifecycleBeans()) {
                if (isMine(b) && !b.bean().isRunning()) {
                    try {
                        LeaderLifecycleAdvisor.startOnGrant(b.bean());
                    } catch (RuntimeException e) {
                        LOG.error("Starting leader-only bean '" + b.beanName() + "' failed", e);
                    }
                }
            }
        }

        /** Outside the lock: a listener may wait for anything, including work that takes it. */
        private void announce(long token) {
            publish(new LeadershipGrantedEvent(election, token));
        }

        synchronized void stopLifecycleBeans() {
            for (LeaderOnlyWork.LifecycleBean b : work.lifecycleBeans()) {
                if (isMine(b) && b.bean().isRunning()) {
                    try {
                        b.bean().stop();
                    } catch (RuntimeException e) {
                        LOG.error("Stopping leader-only bean '" + b.beanName() + "' failed", e);
                    }
                }
            }
        }

        private boolean isMine(LeaderOnlyWork.LifecycleBean b) {
            LeaderElection e = electionOf.get(b);
            if (e == null) { // a lazy bean, created after startup
                try {
                    e = electionOf.computeIfAbsent(b, x -> elections.get(x.election()));
                } catch (RuntimeException unavailable) {
                    return false;
                }
            }
            return e == election;
        }

        private boolean stillLeads(long token) {
            try {
                OptionalLong now = election.fencingToken();
                return now.isPresent() && now.getAsLong() == token;
            } catch (BatonException e) {
                return false;
            }
        }

        private void publish(Object event) {
            if (context != null) {
                context.publishEvent(event);
            }
        }
    }
}
