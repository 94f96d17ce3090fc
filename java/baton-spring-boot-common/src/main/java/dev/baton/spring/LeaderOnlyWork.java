package dev.baton.spring;

import dev.baton.LeaderElection;
import dev.baton.RevokeReason;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.springframework.context.Lifecycle;

/**
 * What the application marked {@code @ConditionalOnLeader}: the elections it names, its
 * leader-only lifecycle beans, and the leader-only methods running right now. Shared by the
 * bean post-processor (which finds them), the interceptor and {@link BatonLifecycle}.
 */
final class LeaderOnlyWork {
    /** A leader-only lifecycle bean: {@code bean} is the proxy the context holds. */
    record LifecycleBean(String beanName, Lifecycle bean, String election) {}

    private final Set<String> elections = new LinkedHashSet<>(); // guarded by this
    /** Elections whose grant times matter (minSpacing, catchUp): clocked from startup. */
    private final Set<String> clocked = new LinkedHashSet<>(); // guarded by this
    private final java.util.Map<LeaderElection, GrantClock> clocks = new java.util.concurrent.ConcurrentHashMap<>();
    private final List<LifecycleBean> lifecycleBeans = new CopyOnWriteArrayList<>();
    private final Set<LeaderContext> running = new LinkedHashSet<>(); // guarded by this
    private volatile boolean accepting = true;
    /** Elections handing over on request: their leader-only methods are skipped meanwhile. */
    private final Set<LeaderElection> handingOver = java.util.concurrent.ConcurrentHashMap.newKeySet();

    synchronized void referenceElection(String name) {
        elections.add(name);
    }

    synchronized List<String> referencedElections() {
        return new ArrayList<>(elections);
    }

    synchronized void referenceClock(String name) {
        clocked.add(name);
    }

    synchronized List<String> clockedElections() {
        return new ArrayList<>(clocked);
    }

    /** The grant clock of {@code election}, listening from the first time anyone asks. */
    GrantClock clock(LeaderElection election) {
        return clocks.computeIfAbsent(election, GrantClock::on);
    }

    private final CatchUp catchUp = new CatchUp();
    private final Set<Class<?>> scanned = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final List<String> selfInvocations = new CopyOnWriteArrayList<>();

    /** Whether {@code type} is looked at for self-invocations for the first time. */
    boolean firstScan(Class<?> type) {
        return scanned.add(type);
    }

    void selfInvocation(String report) {
        selfInvocations.add(report);
    }

    /** The self-invocations found at startup, as logged. */
    List<String> selfInvocations() {
        return selfInvocations;
    }

    /** The missed triggers of {@code catchUp} methods. */
    CatchUp catchUp() {
        return catchUp;
    }

    void addLifecycleBean(LifecycleBean bean) {
        lifecycleBeans.add(bean);
    }

    List<LifecycleBean> lifecycleBeans() {
        return lifecycleBeans;
    }

    /** Whether new leader-only invocations may start (false while shutting down). */
    boolean isAccepting() {
        return accepting;
    }

    void setAccepting(boolean accepting) {
        this.accepting = accepting;
    }

    boolean isHandingOver(LeaderElection election) {
        return handingOver.contains(election);
    }

    void setHandingOver(LeaderElection election, boolean on) {
        if (on) {
            handingOver.add(election);
        } else {
            handingOver.remove(election);
        }
    }

    synchronized void started(LeaderContext context) {
        running.add(context);
    }

    synchronized void finished(LeaderContext context) {
        running.remove(context);
        notifyAll(); // waiters count per election
    }

    /** Marks (and optionally interrupts) every method running under {@code token} of {@code election}. */
    synchronized int revoke(LeaderElection election, long token, RevokeReason reason, boolean interrupt) {
        int interrupted = 0;
        for (LeaderContext c : running) {
            if (c.election() == election && c.revoke(token, reason, interrupt)) {
                interrupted++;
            }
        }
        return interrupted;
    }

    /**
     * Waits until no leader-only method runs, at most {@code timeout}.
     *
     * @return how many still run
     */
    synchronized int awaitIdle(Duration timeout) throws InterruptedException {
        return awaitIdle(null, timeout);
    }

    /**
     * Waits until no leader-only method of {@code election} (of any, if null) runs, at most
     * {@code timeout}.
     *
     * @return how many still run
     */
    synchronized int awaitIdle(LeaderElection election, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (runningFor(election) > 0) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                break;
            }
            wait(Math.max(1, left / 1_000_000));
        }
        return runningFor(election);
    }

    private int runningFor(LeaderElection election) {
        if (election == null) {
            return running.size();
        }
        int n = 0;
        for (LeaderContext c : running) {
            if (c.election() == election) {
                n++;
            }
        }
        return n;
    }
}
