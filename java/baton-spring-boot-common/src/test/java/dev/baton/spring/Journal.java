package dev.baton.spring;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Predicate;

/** What the instances of a test fleet did, in order; tests wait on it instead of sleeping. */
final class Journal {
    /** One thing an instance did; {@code at} is System.nanoTime(). */
    record Entry(String instance, String what, long token, String detail, long at) {
        boolean is(String instance, String what) {
            return this.instance.equals(instance) && this.what.equals(what);
        }
    }

    private final List<Entry> entries = new ArrayList<>();
    private final Consumer<Entry> echo;

    Journal() {
        this(e -> {});
    }

    /** A journal that also hands each entry to {@code echo} (a fleet process prints them). */
    Journal(Consumer<Entry> echo) {
        this.echo = echo;
    }

    synchronized void add(String instance, String what, long token, String detail) {
        Entry e = new Entry(instance, what, token, detail, System.nanoTime());
        entries.add(e);
        echo.accept(e);
        notifyAll();
    }

    synchronized List<Entry> entries() {
        return List.copyOf(entries);
    }

    synchronized List<Entry> all(Predicate<Entry> p) {
        return entries.stream().filter(p).toList();
    }

    synchronized long count(Predicate<Entry> p) {
        return entries.stream().filter(p).count();
    }

    /** Waits until an entry after position {@code from} matches; fails with the journal after {@code timeout}. */
    synchronized Entry await(int from, Predicate<Entry> p, Duration timeout, String what) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            for (int i = from; i < entries.size(); i++) {
                if (p.test(entries.get(i))) {
                    return entries.get(i);
                }
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new AssertionError("timed out after " + timeout + " waiting for " + what + "; journal: " + tail());
            }
            wait(Math.max(1, left / 1_000_000));
        }
    }

    /** Waits until {@code p} holds for the journal's entries as a whole. */
    synchronized void awaitCount(Predicate<Entry> p, long atLeast, Duration timeout, String what)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (count(p) < atLeast) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new AssertionError("timed out after " + timeout + " waiting for " + what + "; journal: " + tail());
            }
            wait(Math.max(1, left / 1_000_000));
        }
    }

    synchronized int size() {
        return entries.size();
    }

    /** Everything but the job's runs (those repeat), then the last entries. */
    private String tail() {
        List<Entry> notRuns = entries.stream().filter(e -> !e.what().equals("run")).toList();
        int from = Math.max(0, entries.size() - 10);
        return notRuns.subList(Math.max(0, notRuns.size() - 60), notRuns.size()) + "; last: "
            + entries.subList(from, entries.size());
    }
}
