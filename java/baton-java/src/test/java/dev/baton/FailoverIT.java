package dev.baton;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Leadership across JVM processes, with the packaged jar: the other process is a plain Java
 * program ({@code src/test/programs/Elect.java}) with only the jar on its class path.
 */
class FailoverIT {
    @RegisterExtension
    static final RedisExtension redis = new RedisExtension();
    final List<Child> children = new ArrayList<>();


    @AfterEach
    void stopChildren() throws Exception {
        for (Child c : children) {
            c.process.destroyForcibly().waitFor();
        }
        for (Child c : children) {
            synchronized (c.lines) {
                JniCheckTest.assertNoJniComplaints(String.join("\n", c.lines));
            }
        }
    }

    /** A child JVM running Elect.java; its output lines collect in {@link #lines}. */
    static final class Child {
        final Process process;
        final List<String> lines = new ArrayList<>();

        Child(Process process) {
            this.process = process;
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(
                        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = r.readLine()) != null) {
                        synchronized (lines) {
                            lines.add(line);
                            lines.notifyAll();
                        }
                    }
                } catch (Exception ignored) {
                    // The process ended.
                }
            }, "child-output");
            reader.setDaemon(true);
            reader.start();
        }

        /** The second word of the first line starting with {@code prefix}, waiting for it. */
        String first(String prefix) throws InterruptedException {
            long until = System.nanoTime() + Recorder.WAIT.toNanos() * 2; // includes JVM start
            synchronized (lines) {
                while (true) {
                    for (String line : lines) {
                        if (line.startsWith(prefix)) {
                            return line.substring(prefix.length()).split(" ")[0];
                        }
                    }
                    long left = until - System.nanoTime();
                    if (left <= 0) {
                        throw new AssertionError("child never printed '" + prefix + "'; output: " + lines);
                    }
                    TimeUnit.NANOSECONDS.timedWait(lines, left);
                }
            }
        }
    }

    Child elect(String name, Duration ttl) throws Exception {
        String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
        String program = Paths.get(System.getProperty("baton.test.programs"), "Elect.java").toString();
        Process p = new ProcessBuilder(java, "-Xcheck:jni", "-cp", System.getProperty("baton.test.jar"), program,
                redis.url(), name, String.valueOf(ttl.toMillis()))
            .redirectErrorStream(true)
            .start();
        Child c = new Child(p);
        children.add(c);
        return c;
    }

    @Test
    void aKilledLeaderProcessIsReplacedAfterItsLeaseExpires() throws Exception {
        String name = LeaderElectionTest.unique();
        Duration ttl = Duration.ofSeconds(2);
        Child child = elect(name, ttl);
        long childToken = Long.parseLong(child.first("GRANTED "));
        String childId = child.first("CANDIDATE ");
        Recorder r = new Recorder();
        try (LeaderElection here = LeaderElection.builder(redis.url(), name).ttl(ttl).listener(r).build()) {
            r.nextLeader(childId);
            child.process.destroyForcibly(); // SIGKILL: no release, the lease must expire
            long token = r.next("granted").token();
            assertTrue(token > childToken, "the new leader's token " + token + " > " + childToken);
            assertTrue(here.isLeader());
            assertEquals(here.candidateId(), here.leader().orElseThrow().candidateId());
        }
    }

    @Test
    void aTerminatedLeaderProcessReleasesItsLeaseAtShutdown() throws Exception {
        String name = LeaderElectionTest.unique();
        Duration ttl = Duration.ofMinutes(5); // far beyond the wait: only a release hands over
        Child child = elect(name, ttl);
        long childToken = Long.parseLong(child.first("GRANTED "));
        String childId = child.first("CANDIDATE ");
        Recorder r = new Recorder();
        try (LeaderElection here = LeaderElection.builder(redis.url(), name).ttl(ttl).listener(r).build()) {
            r.nextLeader(childId);
            child.process.destroy(); // SIGTERM: the shutdown hook releases the lease
            long token = r.next("granted").token();
            assertTrue(token > childToken, "the new leader's token " + token + " > " + childToken);
        }
    }
}
