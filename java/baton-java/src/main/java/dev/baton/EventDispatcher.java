package dev.baton;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.Optional;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The one Java thread of an election that delivers its events to listeners. It pulls events
 * from the native side (a blocking poll with a timeout), so no native thread ever calls into
 * the JVM and listener code never runs on baton's runtime thread.
 */
final class EventDispatcher implements Runnable {
    private static final System.Logger LOG = System.getLogger("dev.baton");
    /** Bounds how long a listener added between events waits for its first callback. */
    private static final long POLL_MILLIS = 100;
    private static final long NONE = -1;

    /** Keeps the election (and so its native handle) alive while anyone listens. */
    private final LeaderElection election;
    private final long events;
    private final Thread thread;
    private final CopyOnWriteArrayList<LeadershipListener> listeners = new CopyOnWriteArrayList<>();
    /** Listeners not yet told the current state; admitted on the dispatcher thread. */
    private final Queue<LeadershipListener> added = new ConcurrentLinkedQueue<>();
    private final Object admission = new Object();
    private final CountDownLatch finished = new CountDownLatch(1);

    // Confined to the dispatcher thread.
    private long grantedToken = NONE;
    private Optional<LeaderInfo> lastLeader;

    EventDispatcher(LeaderElection election, long events) {
        this.election = election;
        this.events = events;
        this.thread = new Thread(this, "baton-events-" + election.name());
        thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    void add(LeadershipListener listener) {
        added.add(listener);
    }

    boolean remove(LeadershipListener listener) {
        synchronized (admission) {
            boolean wasAdded = added.remove(listener);
            return listeners.remove(listener) || wasAdded;
        }
    }

    boolean isDispatcherThread() {
        return Thread.currentThread() == thread;
    }

    /** Waits until the last event was delivered (after close); false if {@code timeout} passed. */
    boolean awaitFinished(Duration timeout) throws InterruptedException {
        return finished.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void run() {
        try {
            while (true) {
                admitAdded();
                NativeEvent event = (NativeEvent) Native.poll(events, POLL_MILLIS);
                if (event == null) {
                    continue;
                }
                if (event.kind == NativeEvent.CLOSED) {
                    break;
                }
                admitAdded();
                deliver(event);
            }
            admitAdded();
            // The native side revokes before it closes; this keeps the pairing promise regardless.
            if (grantedToken != NONE) {
                deliver(new NativeEvent(NativeEvent.REVOKED, grantedToken, RevokeReason.CLOSED, null));
            }
        } catch (RuntimeException | Error e) {
            LOG.log(Level.ERROR, "baton stopped delivering events of election '" + election.name()
                + "'; listeners receive nothing more", e);
        } finally {
            Native.freeEvents(events);
            finished.countDown();
        }
    }

    /** Tells newly added listeners the current state, so their callbacks pair up. */
    private void admitAdded() {
        while (true) {
            LeadershipListener l;
            // Moving between the two collections under one lock keeps remove() from missing it.
            synchronized (admission) {
                l = added.poll();
                if (l == null) {
                    return;
                }
                listeners.add(l);
            }
            LeadershipListener target = l;
            if (grantedToken != NONE && listeners.contains(target)) {
                long token = grantedToken;
                call(() -> target.granted(token));
            }
            if (lastLeader != null && listeners.contains(target)) {
                Optional<LeaderInfo> leader = lastLeader;
                call(() -> target.leaderChanged(leader));
            }
        }
    }

    private void deliver(NativeEvent e) {
        switch (e.kind) {
            case NativeEvent.GRANTED:
                grantedToken = e.token;
                for (LeadershipListener l : listeners) {
                    call(() -> l.granted(e.token));
                }
                break;
            case NativeEvent.REVOKED:
                grantedToken = NONE;
                for (LeadershipListener l : listeners) {
                    call(() -> l.revoked(e.token, e.reason));
                }
                break;
            case NativeEvent.LEADER_CHANGED:
                lastLeader = Optional.ofNullable(e.leader);
                for (LeadershipListener l : listeners) {
                    call(() -> l.leaderChanged(lastLeader));
                }
                break;
            case NativeEvent.RESIGN_REQUESTED:
                for (LeadershipListener l : listeners) {
                    call(() -> l.resignRequested(e.token));
                }
                break;
            default:
                throw new IllegalStateException("unknown event kind " + e.kind
                    + "; baton's jar and native library do not match");
        }
    }

    private void call(Runnable callback) {
        try {
            callback.run();
        } catch (RuntimeException | Error e) {
            LOG.log(Level.WARNING, "a leadership listener of election '" + election.name()
                + "' threw; delivery continues", e);
        }
    }
}
