package dev.baton;

import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** A listener that records every callback, with the thread it ran on. */
final class Recorder implements LeadershipListener {
    /** Generous: the machine is shared and slow; a correct run takes milliseconds. */
    static final Duration WAIT = Duration.ofSeconds(30);

    record Call(String kind, long token, RevokeReason reason, Optional<LeaderInfo> leader, String thread) {}

    private final BlockingQueue<Call> pending = new LinkedBlockingQueue<>();
    private final List<Call> all = new ArrayList<>();

    @Override
    public void granted(long token) {
        record(new Call("granted", token, null, null, Thread.currentThread().getName()));
    }

    @Override
    public void revoked(long token, RevokeReason reason) {
        record(new Call("revoked", token, reason, null, Thread.currentThread().getName()));
    }

    @Override
    public void resignRequested(long token) {
        record(new Call("resignRequested", token, null, null, Thread.currentThread().getName()));
    }

    @Override
    public void leaderChanged(Optional<LeaderInfo> leader) {
        record(new Call("leaderChanged", leader.map(LeaderInfo::token).orElse(-1L), null, leader,
            Thread.currentThread().getName()));
    }

    private void record(Call c) {
        synchronized (all) {
            all.add(c);
        }
        pending.add(c);
    }

    /** The next call of {@code kind}, skipping others; fails after {@link #WAIT}. */
    Call next(String kind) throws InterruptedException {
        return next(kind, c -> true);
    }

    /** The next {@code leaderChanged} naming {@code candidateId} as leader. */
    Call nextLeader(String candidateId) throws InterruptedException {
        return next("leaderChanged",
            c -> c.leader().map(l -> l.candidateId().equals(candidateId)).orElse(false));
    }

    /** The next {@code leaderChanged} saying nobody leads. */
    Call nextNoLeader() throws InterruptedException {
        return next("leaderChanged", c -> c.leader().isEmpty());
    }

    /** The next call of {@code kind} that matches, skipping others; fails after {@link #WAIT}. */
    Call next(String kind, Predicate<Call> matching) throws InterruptedException {
        long until = System.nanoTime() + WAIT.toNanos();
        while (true) {
            long left = until - System.nanoTime();
            Call c = left > 0 ? pending.poll(left, TimeUnit.NANOSECONDS) : null;
            if (c == null) {
                fail("no '" + kind + "' callback within " + WAIT + "; calls so far: " + all());
            }
            if (c.kind().equals(kind) && matching.test(c)) {
                return c;
            }
        }
    }

    /** The granted and revoked calls so far, in order. */
    List<Call> leadership() {
        synchronized (all) {
            return all.stream().filter(c -> !c.kind().equals("leaderChanged")).toList();
        }
    }

    List<Call> all() {
        synchronized (all) {
            return List.copyOf(all);
        }
    }
}
