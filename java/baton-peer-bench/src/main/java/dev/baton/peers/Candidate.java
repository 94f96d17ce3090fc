package dev.baton.peers;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A candidate process: runs one contender and talks to {@link PeerBench} through lines.
 * Out: {@code ready}, {@code granted NS}, {@code revoked NS}, {@code released NS}, {@code act NS},
 * {@code check NS_PER_CALL CALLS}, {@code error TEXT}, {@code standby}. In: {@code release},
 * {@code join}, {@code start} (a standby's first join, then {@code ready}), {@code act on|off},
 * {@code check}. Stamps are System.nanoTime(), CLOCK_MONOTONIC on Linux:
 * one clock for every process of the machine, so stamps of two processes can be subtracted.
 * Stdin's end (the bench died) ends the process.
 *
 * <p>Arguments: contender store-url election lease-ms (0: the library's default) [standby]. A
 * standby builds its client, prints {@code standby} and campaigns only at {@code start}: its JVM
 * starts while nothing is measured.
 */
public final class Candidate {
    private static final PrintStream OUT = new PrintStream(System.out, false, StandardCharsets.UTF_8);
    private static volatile boolean acting;
    /** Whether the contender's own work (ShedLock's task) should act. */
    static volatile boolean actEnabled;

    private Candidate() {}

    static synchronized void say(String line) {
        OUT.println(line);
        OUT.flush();
    }

    static void granted() {
        say("granted " + System.nanoTime());
    }

    static void revoked() {
        say("revoked " + System.nanoTime());
    }

    static void act() {
        say("act " + System.nanoTime());
    }

    public static void main(String[] args) throws Exception {
        String kind = args[0];
        String url = args[1];
        String election = args[2];
        long leaseMs = Long.parseLong(args[3]);
        Contender c = Contenders.create(kind, url, election, leaseMs);
        BlockingQueue<String> commands = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    commands.add(line.trim());
                }
            } catch (Exception ignored) {
                // the bench is gone
            }
            Runtime.getRuntime().halt(0);
        }, "stdin");
        reader.setDaemon(true);
        reader.start();
        if (args.length > 4 && args[4].equals("standby")) {
            say("standby");
        } else {
            c.join();
            say("ready");
        }
        while (true) {
            String cmd = commands.poll(10, TimeUnit.MILLISECONDS);
            try {
                if (cmd != null) {
                    run(c, cmd);
                }
                // The leader-only work of the paused-leader measure: one action per 10 ms while
                // the library says we lead (ShedLock's task acts on its own).
                if (acting && c.canCheck() && c.isLeader()) {
                    act();
                }
            } catch (Exception e) {
                say("error " + e.toString().replace('\n', ' '));
            }
        }
    }

    private static void run(Contender c, String cmd) throws Exception {
        switch (cmd) {
            case "release" -> {
                say("released " + System.nanoTime());
                c.release();
            }
            case "join" -> c.join();
            case "start" -> {
                c.join();
                say("ready");
            }
            case "act on" -> {
                acting = true;
                actEnabled = true;
            }
            case "act off" -> {
                acting = false;
                actEnabled = false;
            }
            case "check" -> check(c);
            case "quit" -> System.exit(0);
            default -> say("error unknown command " + cmd);
        }
    }

    /** ns per isLeader()-equivalent: calls for about a second after a warm-up, median of 5. */
    private static void check(Contender c) throws Exception {
        if (!c.canCheck()) {
            say("check -1 0");
            return;
        }
        long total = 0;
        long calls = 1;
        // Size a batch to ~100 ms, warming up on the way.
        for (long t0 = System.nanoTime(); System.nanoTime() - t0 < 300_000_000L; ) {
            long s = System.nanoTime();
            boolean sink = false;
            for (long i = 0; i < calls; i++) {
                sink ^= c.isLeader();
            }
            long took = System.nanoTime() - s;
            if (took < 100_000_000L) {
                calls *= 2;
            }
            if (sink) {
                total++;
            }
        }
        double[] perCall = new double[5];
        long done = 0;
        for (int r = 0; r < perCall.length; r++) {
            long s = System.nanoTime();
            boolean sink = false;
            for (long i = 0; i < calls; i++) {
                sink ^= c.isLeader();
            }
            perCall[r] = (double) (System.nanoTime() - s) / calls;
            done += calls;
            if (sink) {
                total++;
            }
        }
        java.util.Arrays.sort(perCall);
        say("check " + perCall[2] + " " + done + " " + (total % 2));
    }
}
