package dev.baton.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.RedisExtension;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 15's "done when": an application written for Spring Integration's leader election
 * ({@code @Role("cleanup")} endpoint, {@code @EventListener(OnGrantedEvent)}) runs on baton's
 * starter as three processes on a real redis-server. Exactly one runs the role's endpoint; the
 * leader's {@code Context.yield()} hands the role over (its endpoint stopped before the next
 * grant, well before its lease could expire); a SIGKILLed leader is replaced; a SIGTERMed one
 * hands over the same way as a yield. Entries carry each process's System.nanoTime(), so that
 * intervals of different processes compare. Runs on each starter's own Boot line.
 */
class IntegrationFleetTests {
    private static final Duration TTL = Duration.ofSeconds(6);
    /** A lease renewed at most ttl/3 before a release was asked for expires at least this long after it. */
    private static final Duration EXPIRY_AFTER_SIGNAL = TTL.minus(TTL.dividedBy(3));
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

    private void start(String app, String... instances) throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        for (String instance : instances) {
            ProcessBuilder b = new ProcessBuilder(java, "-cp", classPath, "-XX:TieredStopAtLevel=1",
                "-XX:+UseSerialGC", "-Xmx256m",
                IntegrationFleetMain.class.getName(), instance, redis.url(), app, TTL.toSeconds() + "s");
            b.redirectErrorStream(true);
            b.directory(new File(System.getProperty("user.dir")));
            Process p = b.start();
            fleet.put(instance, p);
            Thread reader = new Thread(() -> read(instance, p), "si-fleet-" + instance);
            reader.setDaemon(true);
            reader.start();
            readers.add(reader);
        }
    }

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

    /** The process-side System.nanoTime() of an entry. */
    private static long at(Journal.Entry e) {
        return Long.parseLong(e.detail().split(" ")[1]);
    }

    private Journal.Entry awaitGrant(int from, String notBy) throws InterruptedException {
        return journal.await(from, e -> e.what().equals("granted") && !e.instance().equals(notBy), WAIT,
            "a grant of role cleanup" + (notBy == null ? "" : " to an instance other than " + notBy));
    }

    private Journal.Entry awaitRevoke(int from, String instance) throws InterruptedException {
        return journal.await(from, e -> e.is(instance, "revoked"), WAIT, "the revocation of " + instance);
    }

    private void awaitRuns(String instance, int from) throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            Journal.Entry run = journal.await(from, e -> e.is(instance, "run"), WAIT,
                "a run of the role's endpoint on " + instance);
            from = journal.entries().indexOf(run) + 1;
        }
    }

    @Test
    void oneInstanceRunsTheRoleAndYieldKillAndStopMoveIt() throws Exception {
        start("si-fleet", "a", "b", "c");
        for (String i : fleet.keySet()) {
            journal.await(0, e -> e.is(i, "started"), WAIT, i + " to start");
        }
        Journal.Entry first = awaitGrant(0, null);
        awaitRuns(first.instance(), 0);

        // Context.yield(): the role's endpoint stops, then the lease is released.
        int mark = journal.size();
        OutputStream stdin = fleet.get(first.instance()).getOutputStream();
        stdin.write("yield\n".getBytes(StandardCharsets.UTF_8));
        stdin.flush();
        Journal.Entry yielding = journal.await(mark, e -> e.is(first.instance(), "yielding"), WAIT, "the yield");
        assertThat(yielding.token()).isEqualTo(first.token());
        Journal.Entry yielded = awaitRevoke(mark, first.instance());
        assertThat(yielded.detail()).endsWith(" resigned");
        Journal.Entry second = awaitGrant(mark, first.instance());
        assertThat(second.token()).isGreaterThan(first.token());
        assertThat(at(yielded)).as("the yielding leader stopped before the next grant").isLessThan(at(second));
        assertThat(Duration.ofNanos(at(second) - at(yielding))).as("yield() hands over before the lease could expire")
            .isLessThan(EXPIRY_AFTER_SIGNAL);
        awaitRuns(second.instance(), mark);

        // SIGKILL: nothing is released; the role moves once the lease expired.
        mark = journal.size();
        fleet.get(second.instance()).destroyForcibly();
        Journal.Entry third = awaitGrant(mark, second.instance());
        assertThat(third.token()).isGreaterThan(second.token());
        awaitRuns(third.instance(), mark);

        // SIGTERM: Spring Boot's shutdown hook revokes the role, then releases.
        mark = journal.size();
        long termAt = System.nanoTime();
        fleet.get(third.instance()).toHandle().destroy(); // SIGTERM; Process.destroy() would close its output too
        Journal.Entry stopped = awaitRevoke(mark, third.instance());
        assertThat(stopped.detail()).endsWith(" closed");
        Journal.Entry fourth = awaitGrant(mark, third.instance());
        assertThat(fourth.instance()).isNotEqualTo(second.instance());
        assertThat(fourth.token()).isGreaterThan(third.token());
        assertThat(at(stopped)).as("the stopping leader stopped before the next grant").isLessThan(at(fourth));
        assertThat(Duration.ofNanos(at(fourth) - termAt)).as("a graceful stop hands over before the lease could expire")
            .isLessThan(EXPIRY_AFTER_SIGNAL);
        assertThat(fleet.get(third.instance()).waitFor(30, TimeUnit.SECONDS)).as("SIGTERM ends the process").isTrue();
        awaitRuns(fourth.instance(), mark);

        assertExactlyOneRanTheRole(List.of(first, second, third, fourth));
    }

    /**
     * The endpoint's runs of all processes, in the order of their process-side clocks, come in one
     * unbroken block per grant, in the order of the grants: two instances running the role at
     * once (20 ms polls) would interleave.
     */
    private void assertExactlyOneRanTheRole(List<Journal.Entry> grants) {
        List<Journal.Entry> runs = new ArrayList<>(journal.all(e -> e.what().equals("run")));
        runs.sort(Comparator.comparingLong(IntegrationFleetTests::at));
        List<String> blocks = new ArrayList<>();
        for (Journal.Entry run : runs) {
            if (blocks.isEmpty() || !blocks.get(blocks.size() - 1).equals(run.instance())) {
                blocks.add(run.instance());
            }
        }
        assertThat(blocks).as("who ran the role's endpoint, in time order").containsExactlyElementsOf(
            grants.stream().map(Journal.Entry::instance).toList());
    }
}
