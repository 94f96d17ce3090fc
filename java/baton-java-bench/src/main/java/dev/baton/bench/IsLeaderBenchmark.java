package dev.baton.bench;

import dev.baton.LeaderElection;
import dev.baton.LeadershipListener;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost of {@link LeaderElection#isLeader()} while leading (the hot path: a JNI call, two
 * atomic loads and a monotonic clock read), against a redis-server started on a free port.
 * {@code fencingToken} and the JVM's own clock read ({@code nanoTimeBaseline}) are measured
 * beside it for comparison.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Benchmark)
public class IsLeaderBenchmark {
    private Process redis;
    private LeaderElection election;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        redis = new ProcessBuilder("redis-server", "--port", String.valueOf(port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no")
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
        CountDownLatch granted = new CountDownLatch(1);
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try {
                election = LeaderElection.builder("redis://127.0.0.1:" + port, "bench")
                    .ttl(Duration.ofSeconds(30))
                    .listener(new LeadershipListener() {
                        @Override
                        public void granted(long token) {
                            granted.countDown();
                        }
                    })
                    .build();
                break;
            } catch (RuntimeException notUpYet) {
                if (System.nanoTime() > until) {
                    throw notUpYet;
                }
                Thread.sleep(50);
            }
        }
        if (!granted.await(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException("the benchmark election was never granted");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException, InterruptedException {
        if (election != null) {
            election.close();
        }
        redis.destroy();
        redis.waitFor();
    }

    @Benchmark
    public boolean isLeader() {
        return election.isLeader();
    }

    /** Baseline: the JVM's own read of the monotonic clock, which isLeader() also needs. */
    @Benchmark
    public long nanoTimeBaseline() {
        return System.nanoTime();
    }

    @Benchmark
    public long fencingToken() {
        return election.fencingToken().orElse(-1);
    }
}
