package dev.baton.peers;

import java.io.File;
import java.nio.file.Files;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * `make bench-peers`: each contender's candidates as JVM processes of their own, one table.
 * Arguments (key=value, all optional): rounds (graceful handovers, 50), crashRounds (with the
 * common lease, 5), pauseRounds (2), lease (the common lease in ms, 2000), idleWindow (seconds
 * per idle-cost window, 30), followers (idle followers, 2), contenders (comma-separated, all).
 */
public final class PeerBench {
    private static final Map<String, String> ARGS = new LinkedHashMap<>();
    /** contender -> row -> value (NaN: not measured). */
    private static final Map<String, Map<String, Double>> RESULTS = new ConcurrentHashMap<>();
    private static File logDir;

    private PeerBench() {}

    static long arg(String key, long def) {
        return Long.parseLong(ARGS.getOrDefault(key, Long.toString(def)));
    }

    static void put(String contender, String row, double value) {
        RESULTS.computeIfAbsent(contender, k -> new ConcurrentHashMap<>()).put(row, value);
    }

    /** When the bench started, for the notes' elapsed seconds (where the run's time goes). */
    private static final long START = System.nanoTime();

    static void note(String text) {
        System.out.printf(Locale.ROOT, "  .. [%4.0f s] %s%n", (System.nanoTime() - START) / 1e9, text);
        System.out.flush();
    }

    public static void main(String[] args) throws Exception {
        for (String a : args) {
            String[] kv = a.split("=", 2);
            if (kv.length != 2) {
                throw new IllegalArgumentException("arguments are key=value (rounds=50, crashRounds=5, pauseRounds=2, "
                    + "lease=2000, idleWindow=30, followers=2, contenders=baton,curator,...), got " + a);
            }
            ARGS.put(kv[0], kv[1]);
        }
        List<String> contenders = Arrays.asList(ARGS.getOrDefault("contenders", String.join(",", Contenders.ALL)).split(","));
        logDir = new File(ARGS.getOrDefault("logs", "target/bench-peers"));
        logDir.mkdirs();
        long start = START;
        double[] load = loadAverage();
        System.out.printf(Locale.ROOT, "baton peer bench: %d CPUs, load average %.2f at start, %s%n",
            Runtime.getRuntime().availableProcessors(), load[0], Instant.now());
        // The common-lease phase's stores, started first: their versions are the table's, and
        // they idle through the default-settings phase (which starts stores of its own).
        try (Servers.Redis redis = new Servers.Redis(); Servers.ZooKeeper zk = new Servers.ZooKeeper(new File(logDir, "zk.log"));
             Servers.Postgres pg = contenders.stream().anyMatch(Contenders::onPostgres)
                 ? new Servers.Postgres(new File(logDir, "pg.log")) : null) {
            System.out.println("stores: " + redis.version() + ", " + zk.version() + (pg == null ? "" : ", " + pg.version())
                + " (each started by the bench on 127.0.0.1)");
            defaultsPhase(contenders);
            for (String c : contenders) {
                commonLeasePhase(c, Contenders.onZooKeeper(c) ? zk : Contenders.onPostgres(c) ? pg : redis, redis);
            }
        }
        note("done");
        double[] loadEnd = loadAverage();
        Table.print(contenders, RESULTS, arg("lease", 2000));
        System.out.printf(Locale.ROOT, "%nMeasured in %.0f s; load average %.2f at start, %.2f at the end (1-minute).%n",
            (System.nanoTime() - start) / 1e9, load[0], loadEnd[0]);
    }

    static double[] loadAverage() {
        try {
            String[] p = Files.readString(new File("/proc/loadavg").toPath()).split(" ");
            return new double[] {Double.parseDouble(p[0]), Double.parseDouble(p[1])};
        } catch (Exception e) {
            return new double[] {Double.NaN, Double.NaN};
        }
    }

    private static String election(String contender, String phase) {
        return "peers-" + contender + "-" + phase + "-" + ProcessHandle.current().pid();
    }

    /**
     * Each library with its default settings, every contender at once on a store of its own (the
     * counts are the store's, so contenders must not share one): the leader's and the idle
     * followers' requests per second, then a SIGKILL of the leader and the takeover.
     */
    static void defaultsPhase(List<String> contenders) throws Exception {
        long window = arg("idleWindow", 30);
        int followers = (int) arg("followers", 2);
        note("default settings: every contender at once on its own store: leader alone for " + window
            + " s, then with " + followers + " idle followers for " + window + " s, then SIGKILL of the leader");
        List<Thread> threads = new ArrayList<>();
        for (String c : contenders) {
            if (c.equals("floor")) {
                continue;
            }
            Thread t = new Thread(() -> {
                try {
                    defaults(c, window, followers);
                } catch (Exception e) {
                    System.err.println("  [" + c + "] default-settings phase failed: " + e);
                }
            }, "defaults-" + c);
            t.start();
            threads.add(t);
        }
        for (Thread t : threads) {
            t.join();
        }
    }

    private static void defaults(String c, long window, int followers) throws Exception {
        boolean zk = Contenders.onZooKeeper(c);
        try (Servers.Store store = zk ? new Servers.ZooKeeper(new File(logDir, c + "-defaults-zk.log"))
            : Contenders.onPostgres(c) ? new Servers.Postgres(new File(logDir, c + "-defaults-pg.log")) : new Servers.Redis()) {
            String name = election(c, "defaults");
            File log = new File(logDir, c + "-defaults.log");
            List<Proc> procs = new ArrayList<>();
            try {
                Proc leader = new Proc(c + "-L", c, store.url(), name, 0, log);
                procs.add(leader);
                if (leader.await("granted", -1, 300_000) == null) {
                    throw new IllegalStateException("the first candidate was never granted (log: " + log + ")");
                }
                Thread.sleep(2000);
                long r0 = store.requests();
                Thread.sleep(window * 1000);
                long r1 = store.requests();
                double leaderRate = (r1 - r0 - 1) / (double) window;
                List<Proc> fs = new ArrayList<>();
                for (int i = 0; i < followers; i++) {
                    Proc f = new Proc(c + "-F" + i, c, store.url(), name, 0, log);
                    procs.add(f);
                    fs.add(f);
                }
                for (Proc f : fs) {
                    f.await("ready", -1, 300_000);
                }
                Thread.sleep(2000);
                long r2 = store.requests();
                Thread.sleep(window * 1000);
                long r3 = store.requests();
                double allRate = (r3 - r2 - 1) / (double) window;
                put(c, "idle.leader", leaderRate);
                put(c, "idle.follower", Math.max(0, allRate - leaderRate) / followers);
                if (c.equals("shedlock")) {
                    return; // no default lease: lockAtMostFor must be set (2 s here)
                }
                long kill = System.nanoTime();
                leader.kill();
                long expiry = expiryNanos(store, c, name, -1);
                long until = 150_000;
                Proc.Line first = null;
                for (long t0 = System.nanoTime(); first == null && System.nanoTime() - t0 < until * 1_000_000; ) {
                    for (Proc f : fs) {
                        Proc.Line g = f.await("granted", kill, 50);
                        if (g != null && (first == null || g.ns() < first.ns())) {
                            first = g;
                        }
                    }
                }
                if (first != null) {
                    put(c, "crash.default.kill", (first.ns() - kill) / 1e6);
                    if (expiry > 0) {
                        put(c, "crash.default.past", (first.ns() - expiry) / 1e6);
                    }
                }
            } finally {
                for (Proc p : procs) {
                    p.kill();
                }
            }
        }
    }

    /** One contender with the common lease on the shared store: handover, check, crash, pause. */
    static void commonLeasePhase(String c, Servers.Store store, Servers.Redis redis) throws Exception {
        long lease = c.equals("floor") ? 0 : arg("lease", 2000);
        int rounds = (int) arg("rounds", 50);
        int crashRounds = c.equals("floor") ? 0 : (int) arg("crashRounds", 5);
        int pauseRounds = c.equals("floor") ? 0 : (int) arg("pauseRounds", 2);
        note(c + ": " + rounds + " graceful handovers, the leadership check, " + crashRounds
            + " crashes and " + pauseRounds + " pauses with a " + lease + " ms lease");
        String name = election(c, "common");
        File log = new File(logDir, c + ".log");
        Proc a = new Proc(c + "-A", c, store.url(), name, lease, log);
        Proc b = null;
        List<Proc> all = new ArrayList<>(List.of(a));
        try {
            if (a.await("granted", -1, 120_000) == null) {
                throw new IllegalStateException("never granted (log: " + log + ")");
            }
            b = new Proc(c + "-B", c, store.url(), name, lease, log);
            all.add(b);
            b.await("ready", -1, 120_000);
            Thread.sleep(1000);
            Proc leader = a;
            Proc follower = b;

            // 1. Graceful handover: leader releases, follower's grant; the old leader joins again.
            // A round without a grant is a stall: reported (with both JVMs' thread dumps in the
            // log) and counted in the table; the rounds go on, unless three stall in a row.
            List<Double> handovers = new ArrayList<>();
            int stalls = 0;
            int stalledInARow = 0;
            for (int i = 0; i < rounds && stalledInARow < 3; i++) {
                // Who leads by the events (a lease lost to a missed renewal moves leadership too).
                if (!leader.leadsByEvents() && follower.leadsByEvents()) {
                    Proc t = leader;
                    leader = follower;
                    follower = t;
                }
                // Stamped before the command: a fast candidate answers before send() returns.
                long sent = System.nanoTime();
                leader.send("release");
                Proc.Line rel = leader.await("released", sent, 10_000);
                Proc.Line g = rel == null ? null : follower.await("granted", rel.ns(), 15_000);
                if (g == null) {
                    stalls++;
                    stalledInARow++;
                    System.err.println("  [" + c + "] handover " + i + ": " + (rel == null
                        ? "no 'released' within 10 s of the command" : "no grant within 15 s of the release")
                        + " (thread dumps in " + log + "). " + leader.label + " (told to release): "
                        + leader.tail(6, sent) + "; " + follower.label + ": " + follower.tail(6, sent));
                    leader.threadDump();
                    follower.threadDump();
                    // Campaign again, so that the next round (and the measures below) have two candidates.
                    leader.send("join");
                    Thread.sleep(1000);
                    continue;
                }
                stalledInARow = 0;
                handovers.add((g.ns() - rel.ns()) / 1e6);
                leader.send("join");
                Thread.sleep(300); // the new follower subscribes / starts waiting
                Proc t = leader;
                leader = follower;
                follower = t;
            }
            put(c, "handover.n", handovers.size());
            put(c, "handover.stalls", stalls);
            if (!handovers.isEmpty()) {
                put(c, "handover.p50", Stats.percentile(handovers, 50));
                put(c, "handover.p99", Stats.percentile(handovers, 99));
            }
            if (c.equals("floor")) {
                return;
            }
            // Followers of ShedLock may grant at their next run: make sure who leads now.
            Thread.sleep(500);

            // 2. The leadership check, in the leading process, with the store's request count.
            long q0 = store.requests();
            leader.send("check");
            Proc.Line chk = leader.await("check", -1, 60_000);
            long q1 = store.requests();
            if (chk != null) {
                String[] p = chk.rest().split(" ");
                double ns = Double.parseDouble(p[0]);
                long calls = Long.parseLong(p[1]);
                if (ns >= 0) {
                    put(c, "check.ns", ns);
                    // Calls also include the warm-up, so this is an upper bound of requests per call.
                    put(c, "check.io", (q1 - q0 - 1) / (double) calls);
                }
            }

            // 3. Crash with the common lease: SIGKILL the leader, the follower's grant vs the expiry.
            // The candidate that replaces the killed one is a standby whose JVM started during
            // the round before (while the last one joined), never while a takeover is timed.
            List<Double> past = new ArrayList<>();
            int noTakeover = 0;
            Proc next = crashRounds > 0 ? standby(c, 0, store, name, lease, log, all) : null;
            for (int i = 0; i < crashRounds; i++) {
                if (next.await("standby", -1, 120_000) == null) {
                    throw new IllegalStateException("standby " + next.label + " never started (log: " + log + ")");
                }
                Thread.sleep(300 + (long) (Math.random() * lease / 2)); // a random point of the renewal cycle
                if (!leader.leadsByEvents() && follower.leadsByEvents()) {
                    Proc t = leader;
                    leader = follower;
                    follower = t;
                }
                if (c.equals("shedlock")) {
                    // ShedLock never revokes, so events do not say who holds the lock: kill the
                    // one whose run starts next, inside its job, while its lock is held.
                    Proc who = nextRun(leader, follower);
                    if (who == follower) {
                        follower = leader;
                        leader = who;
                    }
                }
                long kill = System.nanoTime();
                leader.kill();
                long expiry = expiryNanos(store, c, name, kill + lease * 1_000_000);
                Proc.Line g = follower.await("granted", kill, lease * 5 + 10_000);
                if (g == null) {
                    noTakeover++;
                    System.err.println("  [" + c + "] crash " + i + ": no takeover within " + (lease * 5 + 10_000) + " ms");
                    follower.threadDump();
                } else if (expiry > 0) {
                    past.add((g.ns() - expiry) / 1e6);
                }
                Proc n = next;
                n.send("start");
                next = i + 1 < crashRounds ? standby(c, i + 1, store, name, lease, log, all) : null;
                n.await("ready", -1, 120_000);
                Thread.sleep(1000);
                leader = follower;
                follower = n;
            }
            put(c, "crash.stalls", noTakeover);
            put(c, "crash.rounds", crashRounds);
            if (!past.isEmpty()) {
                put(c, "crash.common.p50", Stats.percentile(past, 50));
                put(c, "crash.common.max", Stats.percentile(past, 100));
            }

            // 4. Paused leader: SIGSTOP beyond the lease, SIGCONT, count its actions until it
            // stops acting or is granted anew.
            long acts = 0;
            double actingMs = 0;
            int paused = 0;
            for (int i = 0; i < pauseRounds; i++) {
                leader.send("act on");
                follower.send("act on");
                Thread.sleep(c.equals("shedlock") ? 1200 : 300);
                if (!leader.leadsByEvents() && follower.leadsByEvents()) {
                    Proc t = leader;
                    leader = follower;
                    follower = t;
                }
                if (c.equals("shedlock")) {
                    // Pause it inside a job (its run started less than 500 ms ago).
                    Proc who = mostRecentGrant(leader, follower);
                    follower = otherOf(all, who);
                    leader = who;
                }
                long stop = System.nanoTime();
                leader.signal("STOP");
                follower.await("granted", stop, lease * 5 + 5_000);
                long resumeAt = stop + lease * 1_500_000L;
                long now = System.nanoTime();
                if (resumeAt > now) {
                    Thread.sleep((resumeAt - now) / 1_000_000);
                }
                long cont = System.nanoTime();
                leader.signal("CONT");
                Thread.sleep(Math.max(3000, lease));
                Proc.Line regrant = leader.await("granted", cont, 0);
                long end = regrant == null ? Long.MAX_VALUE : regrant.ns();
                long last = cont;
                long n = 0;
                for (Proc.Line l : leader.all("act")) {
                    if (l.ns() > cont && l.ns() < end) {
                        n++;
                        last = Math.max(last, l.ns());
                    }
                }
                acts += n;
                actingMs += (last - cont) / 1e6;
                paused++;
                leader.send("act off");
                follower.send("act off");
                Thread.sleep(500);
                Proc t = leader;
                leader = follower;
                follower = t;
            }
            if (paused > 0) {
                put(c, "pause.acts", acts / (double) paused);
                put(c, "pause.ms", actingMs / paused);
            }
        } finally {
            for (Proc p : all) {
                p.kill();
            }
        }
    }

    /**
     * The dead lease's end read from the store right after a kill (Redis, PostgreSQL), or
     * {@code otherwise} where the store cannot say (ZooKeeper sessions).
     */
    private static long expiryNanos(Servers.Store store, String c, String name, long otherwise) {
        if (store instanceof Servers.Redis r) {
            return r.expiryNanos(Contenders.leaseKey(c, name), name);
        }
        if (store instanceof Servers.Postgres p) {
            return p.expiryNanos(name);
        }
        return otherwise;
    }

    private static Proc standby(String c, int i, Servers.Store store, String name, long lease, File log, List<Proc> all)
        throws java.io.IOException {
        Proc p = new Proc(c + "-C" + i, c, store.url(), name, lease, log, true);
        all.add(p);
        return p;
    }

    private static Proc otherOf(List<Proc> all, Proc who) {
        for (int i = all.size() - 1; i >= 0; i--) {
            Proc p = all.get(i);
            if (p != who && p.last("ready") != null && p.alive()) {
                return p;
            }
        }
        throw new IllegalStateException("no live second candidate");
    }

    /** The first of the two to start a run (ShedLock's grant) from now on. */
    private static Proc nextRun(Proc x, Proc y) throws InterruptedException {
        long now = System.nanoTime();
        for (long t0 = now; System.nanoTime() - t0 < 10_000_000_000L; ) {
            if (x.await("granted", now, 10) != null) {
                return x;
            }
            if (y.await("granted", now, 10) != null) {
                return y;
            }
        }
        throw new IllegalStateException("no ShedLock run started within 10 s");
    }

    /** The process whose latest grant is the most recent one. */
    private static Proc mostRecentGrant(Proc x, Proc y) {
        long gx = lastStamp(x, "granted");
        long gy = lastStamp(y, "granted");
        return gx >= gy ? x : y;
    }

    private static long lastStamp(Proc p, String kind) {
        Proc.Line l = p.last(kind);
        return l == null ? -1 : l.ns();
    }
}
