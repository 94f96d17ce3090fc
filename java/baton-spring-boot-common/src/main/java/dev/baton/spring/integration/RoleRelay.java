package dev.baton.spring.integration;

import dev.baton.BatonException;
import dev.baton.LeaderElection;
import dev.baton.LeadershipListener;
import dev.baton.RevokeReason;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.springframework.integration.leader.Candidate;
import org.springframework.integration.leader.event.LeaderEventPublisher;

/**
 * One election's leadership, told to Spring Integration: the election's roles' {@link Candidate}s
 * and the {@code OnGrantedEvent}/{@code OnRevokedEvent} listeners. Everything runs on one thread
 * per election ({@code baton-si-<election>}), task after task, so that the callbacks of a grant
 * and of its revocation never overlap and keep their order, and a slow candidate delays neither
 * baton's renewals nor its other listeners. Grants that arrive before the application context
 * started are told when it starts (if still held), as Spring Integration's initiators do.
 */
final class RoleRelay implements LeadershipListener {
    private static final Log LOG = LogFactory.getLog(RoleRelay.class);
    private static final long NONE = -1;

    private final LeaderElection election;
    private final List<String> roles;
    private final List<Candidate> candidates;
    private final LeaderEventPublisher publisher;
    private final Object source;
    private final boolean interruptOnRevoke;
    private final Duration yieldTimeout;
    private final ThreadPoolExecutor serial;
    private volatile Thread relayThread;

    // Touched only on the relay thread.
    private boolean started;
    private long pending = NONE;
    private List<BatonContext> told = List.of(); // the contexts of the grant the application was told of
    private final List<Candidate> granted = new ArrayList<>(); // the candidates told of that grant
    private boolean published; // whether the OnGrantedEvent listeners were told of it

    // The candidate call that a revocation interrupts.
    private final Object interruptLock = new Object();
    private long granting = NONE; // guarded by interruptLock
    private Thread grantingThread; // guarded by interruptLock

    RoleRelay(LeaderElection election, List<String> roles, List<Candidate> candidates, LeaderEventPublisher publisher,
            Object source, boolean interruptOnRevoke, Duration yieldTimeout) {
        this.election = election;
        this.roles = List.copyOf(roles);
        this.candidates = List.copyOf(candidates);
        this.publisher = publisher;
        this.source = source;
        this.interruptOnRevoke = interruptOnRevoke;
        this.yieldTimeout = yieldTimeout;
        this.serial = new ThreadPoolExecutor(1, 1, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "baton-si-" + election.name());
            relayThread = t;
            t.setDaemon(true);
            return t;
        });
        serial.allowCoreThreadTimeOut(true);
    }

    @Override
    public void granted(long token) {
        run(() -> {
            if (started) {
                tell(token);
            } else {
                pending = token;
            }
        });
    }

    @Override
    public void revoked(long token, RevokeReason reason) {
        interruptGrant(token);
        run(() -> {
            if (pending == token) {
                pending = NONE;
            }
            if (!told.isEmpty() && told.get(0).token() == token) {
                untell(reason);
            }
        });
    }

    /**
     * {@link BatonContext#yield()}: tells this instance of the revocation before the lease is
     * released, so that the next leader never overlaps with this one's endpoints.
     */
    void yield(BatonContext context) {
        Runnable untell = () -> {
            if (!told.isEmpty() && told.get(0).token() == context.token()) {
                untell(RevokeReason.RESIGNED);
            }
        };
        if (Thread.currentThread() == relayThread) {
            untell.run(); // from a candidate or a listener
            return;
        }
        interruptGrant(context.token());
        awaitStopped(submit(untell), System.nanoTime() + yieldTimeout.toNanos(), "Yielding");
    }

    /** Candidate.onGranted's contract: an interrupt means "no longer leader". */
    private void interruptGrant(long token) {
        if (interruptOnRevoke) {
            synchronized (interruptLock) {
                if (granting == token && grantingThread != null) {
                    grantingThread.interrupt();
                }
            }
        }
    }

    /** The application context started: tell a grant that came before. */
    void start() {
        run(() -> {
            started = true;
            long token = pending;
            pending = NONE;
            if (token != NONE && stillLeads(token)) {
                tell(token);
            }
        });
    }

    /**
     * The application context stops: revokes what it was told (stopping the roles' endpoints)
     * before baton releases the lease, so that the next leader never overlaps with them.
     *
     * @return done when the revocation was told, or null if the relay is closed
     */
    Future<?> stop() {
        return submit(() -> {
            started = false;
            if (!told.isEmpty()) {
                untell(RevokeReason.CLOSED);
            }
        });
    }

    /** Waits for {@link #stop()}'s revocation until {@code deadline} (System.nanoTime()). */
    void awaitStopped(Future<?> done, long deadline) {
        awaitStopped(done, deadline, "Revoking");
    }

    private void awaitStopped(Future<?> done, long deadline, String what) {
        if (done == null) {
            return;
        }
        try {
            done.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            LOG.warn(what + " Spring Integration role(s) " + roles + " of election '" + election.name()
                + "' did not finish within baton.shutdown.timeout (a Candidate or OnRevokedEvent listener"
                + " blocks); releasing leadership anyway");
        } catch (ExecutionException e) {
            LOG.error(what + " Spring Integration role(s) " + roles + " failed", e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    void close() {
        serial.shutdown();
    }

    private void tell(long token) {
        List<BatonContext> contexts = roles.stream().map(r -> new BatonContext(election, r, token, this)).toList();
        told = contexts;
        published = false;
        boolean refused = false;
        boolean interrupted = false;
        synchronized (interruptLock) {
            granting = token;
            grantingThread = Thread.currentThread();
        }
        try {
            for (Candidate c : candidates) {
                if (told != contexts) {
                    return; // a candidate yielded
                }
                granted.add(c);
                try {
                    c.onGranted(contextOf(contexts, c.getRole()));
                } catch (InterruptedException e) {
                    LOG.debug("Candidate " + c.getId() + " was interrupted: leadership of '" + election.name()
                        + "' ended");
                    interrupted = true; // the revocation is queued behind this task
                    break;
                } catch (RuntimeException e) {
                    LOG.error("Candidate " + c.getId() + " (role " + c.getRole() + ") failed in onGranted;"
                        + " resigning election '" + election.name() + "' so that another instance takes the role", e);
                    refused = true;
                    break;
                }
            }
        } finally {
            synchronized (interruptLock) {
                granting = NONE;
                grantingThread = null;
                Thread.interrupted(); // an interrupt meant for this grant must not reach the next task
            }
        }
        if (refused && told == contexts) {
            contexts.get(0).yield();
            return;
        }
        if (interrupted || told != contexts) {
            return;
        }
        published = true;
        for (BatonContext context : contexts) {
            if (told != contexts) {
                return; // yielded meanwhile
            }
            try {
                publisher.publishOnGranted(source, context, context.getRole());
            } catch (RuntimeException e) {
                LOG.error("An OnGrantedEvent listener failed (role " + context.getRole() + ")", e);
            }
        }
    }

    private void untell(RevokeReason reason) {
        List<BatonContext> contexts = told;
        boolean wasPublished = published;
        told = List.of();
        published = false;
        for (BatonContext context : contexts) {
            context.revoked(reason);
        }
        List<Candidate> revoked = List.copyOf(granted);
        granted.clear();
        for (Candidate c : revoked) {
            try {
                c.onRevoked(contextOf(contexts, c.getRole()));
            } catch (RuntimeException e) {
                LOG.error("Candidate " + c.getId() + " (role " + c.getRole() + ") failed in onRevoked", e);
            }
        }
        if (!wasPublished) {
            return; // the listeners never heard of this grant
        }
        for (BatonContext context : contexts) {
            try {
                publisher.publishOnRevoked(source, context, context.getRole());
            } catch (RuntimeException e) {
                LOG.error("An OnRevokedEvent listener failed (role " + context.getRole() + ")", e);
            }
        }
    }

    private static BatonContext contextOf(List<BatonContext> contexts, String role) {
        for (BatonContext c : contexts) {
            if (c.getRole().equals(role)) {
                return c;
            }
        }
        return contexts.get(0);
    }

    private boolean stillLeads(long token) {
        try {
            OptionalLong now = election.fencingToken();
            return now.isPresent() && now.getAsLong() == token;
        } catch (BatonException e) {
            return false;
        }
    }

    private void run(Runnable task) {
        submit(task);
    }

    private Future<?> submit(Runnable task) {
        try {
            return serial.submit(() -> {
                try {
                    task.run();
                } catch (RuntimeException | Error e) {
                    LOG.error("Telling Spring Integration about election '" + election.name() + "' failed", e);
                }
            });
        } catch (RejectedExecutionException closed) {
            return null; // the context is closed
        }
    }
}
