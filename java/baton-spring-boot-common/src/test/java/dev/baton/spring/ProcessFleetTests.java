package dev.baton.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.RedisExtension;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Three application processes on one real redis-server: the leader is SIGKILLed (the next one
 * takes over when its lease expires, not before), then the new leader gets SIGTERM (Spring Boot's
 * shutdown hook releases the lease, and the last one takes over well before any lease could
 * expire). Every run of the leader-only job carries the token of its instance's current grant.
 * Runs on each supported Boot line (mk/spring.mk), in JVMs of the Java that runs the tests.
 */
class ProcessFleetTests {
    private static final Duration TTL = Duration.ofSeconds(6);
    /** A lease renewed at most ttl/3 before SIGTERM expires at least this long after it. */
    private static final Duration EXPIRY_AFTER_SIGNAL = TTL.minus(TTL.dividedBy(3));
    /** Three JVMs start Spring at once on a busy 2-core CI machine: be patient. */
    private static final Duration WAIT = Duration.ofSeconds(120);

    @RegisterExtension
    static final RedisExtension redis = new RedisExtension();

    private final Journal journal = new Journal();
    private final Map<String, Process> fleet = new LinkedHashMap<>();
    private final List<Thread> readers = new ArrayList<>();

    @AfterEach
    void stopFleet() throws InterruptedException {
        for (Process p : fleet.values()) {
            p.destroyForcibly();
            p.waitFor(20, TimeUnit.SECONDS);
        }
        for (Thread t : readers) {
            t.join(5_000);
        }
    }

    private void start(String election, String... instances) throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        for (String instance : instances) {
            ProcessBuilder b = new ProcessBuilder(java, "-cp", classPath, "-XX:TieredStopAtLevel=1",
                "-XX:+UseSerialGC", "-Xmx256m",
                FleetMain.class.getName(), instance, redis.url(), election, TTL.toSeconds() + "s");
            b.redirectErrorStream(true);
            b.redirectOutput(ProcessBuilder.Redirect.PIPE);
            b.directory(new File(System.getProperty("user.dir")));
            Process p = b.start();
            fleet.put(instance, p);
            Thread reader = new Thread(() -> read(instance, p), "fleet-" + instance);
            reader.setDaemon(true);
            reader.start();
            readers.add(reader);
        }
    }

    /** Turns the process's JOURNAL lines into entries; other output is kept for failure messages. */
    private void read(String instance, Process p) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null;) {
                String[] f = line.split(" ", 5);
                if (f.length == 5 && f[0].equals("JOURNAL") && f[3].matches("-?\\d+")) {
                    journal.add(f[1], f[2], Long.parseLong(f[3]), f[4]);
                } else {
                    journal.add(instance, "output", -1, line);
                }
            }
        } catch (IOException e) {
            journal.add(instance, "output", -1, "read failed: " + e);
        }
        journal.add(instance, "exited", -1, null);
    }

    private Journal.Entry awaitGrant(int from, String notBy) throws InterruptedException {
        return journal.await(from, e -> e.what().equals("granted") && !e.instance().equals(notBy), WAIT,
            "a grant" + (notBy == null ? "" : " to an instance other than " + notBy));
    }

    private void awaitRuns(String instance, int from) throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            Journal.Entry run = journal.await(from, e -> e.is(instance, "run"), WAIT, "a run of the job on " + instance);
            from = journal.entries().indexOf(run) + 1;
        }
    }

    @Test
    void sigkillIsTakenOverAtExpiryAndSigtermHandsOverAtOnce() throws Exception {
        start("process-fleet", "a", "b", "c");
        for (String i : fleet.keySet()) {
            journal.await(0, e -> e.is(i, "started"), WAIT, i + " to start");
        }
        Journal.Entry first = awaitGrant(0, null);
        awaitRuns(first.instance(), 0);

        int mark = journal.size();
        long killedAt = System.nanoTime();
        fleet.get(first.instance()).destroyForcibly(); // SIGKILL: no release, the lease must expire
        Journal.Entry second = awaitGrant(mark, first.instance());
        Duration takeover = Duration.ofNanos(second.at() - killedAt);
        assertThat(takeover).as("a SIGKILLed leader's lease is held until it expires")
            .isGreaterThanOrEqualTo(EXPIRY_AFTER_SIGNAL.minusMillis(200));
        assertThat(second.token()).isGreaterThan(first.token());
        awaitRuns(second.instance(), mark);

        mark = journal.size();
        long termAt = System.nanoTime();
        fleet.get(second.instance()).destroy(); // SIGTERM: Spring Boot's shutdown hook releases
        Journal.Entry third = awaitGrant(mark, second.instance());
        Duration handover = Duration.ofNanos(third.at() - termAt);
        assertThat(handover).as("a graceful stop hands over before any lease could expire")
            .isLessThan(EXPIRY_AFTER_SIGNAL);
        assertThat(third.instance()).isNotEqualTo(first.instance());
        assertThat(third.token()).isGreaterThan(second.token());
        assertThat(fleet.get(second.instance()).waitFor(30, TimeUnit.SECONDS)).as("SIGTERM ends the process").isTrue();
        awaitRuns(third.instance(), mark);

        // Every run carried the token of a grant of its own instance (events and runs are on
        // different threads, so a run may be journaled before its grant's event).
        awaitRuns(third.instance(), journal.size());
        Set<String> grants = new HashSet<>();
        for (Journal.Entry e : journal.all(e -> e.what().equals("granted"))) {
            grants.add(e.instance() + "@" + e.token());
        }
        for (Journal.Entry run : journal.all(e -> e.what().equals("run"))) {
            assertThat(grants).as("the grant of a run").contains(run.instance() + "@" + run.token());
        }
    }
}
