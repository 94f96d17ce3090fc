package dev.baton.spring;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real standalone ZooKeeper server (Debian's {@code zookeeper} package) for all tests of one
 * class, on a free port, started before the first and always stopped after the last. The same
 * fast configuration as baton's Rust fixture ({@code testkit/src/zookeeper.rs}): 200 ms ticks,
 * sessions from 400 ms to 20 s. {@code ZOOKEEPER_CLASSPATH} overrides where the server's jars are.
 */
final class ZooKeeperExtension implements BeforeAllCallback, AfterAllCallback {
    private static final String CLASSPATH = System.getenv().getOrDefault("ZOOKEEPER_CLASSPATH",
        "/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar");
    private static final Duration START = Duration.ofSeconds(60);

    private Path dir;
    private Process server;
    private int port;

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        dir = Files.createTempDirectory("baton-zookeeper");
        Path data = Files.createDirectories(dir.resolve("data"));
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Files.writeString(dir.resolve("zoo.cfg"), String.join("\n",
            "tickTime=200", "initLimit=20", "syncLimit=5", "dataDir=" + data,
            "clientPort=" + port, "clientPortAddress=127.0.0.1",
            "minSessionTimeout=400", "maxSessionTimeout=20000",
            "admin.enableServer=false", "4lw.commands.whitelist=*", ""));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder b = new ProcessBuilder(java, "-Xmx128m", "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
            "-cp", CLASSPATH, "org.apache.zookeeper.server.quorum.QuorumPeerMain",
            dir.resolve("zoo.cfg").toString());
        b.redirectErrorStream(true);
        b.redirectOutput(dir.resolve("zookeeper.log").toFile());
        server = b.start();
        long deadline = System.nanoTime() + START.toNanos();
        while (!serving()) {
            if (!server.isAlive()) {
                throw new IllegalStateException("ZooKeeper did not start (is Debian's zookeeper package "
                    + "installed? apt-get install -y zookeeper); its log:\n"
                    + Files.readString(dir.resolve("zookeeper.log")));
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("ZooKeeper did not serve within " + START);
            }
            Thread.sleep(50);
        }
    }

    /** Whether the server answers {@code srvr} with its mode (it serves clients then). */
    private boolean serving() {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(2_000);
            OutputStream out = s.getOutputStream();
            out.write("srvr".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII).contains("Mode:");
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        if (server != null) {
            server.destroyForcibly();
            server.waitFor(20, TimeUnit.SECONDS);
        }
        if (dir != null) {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** The store URL: {@code zookeeper://127.0.0.1:<port>}. */
    String url() {
        return "zookeeper://127.0.0.1:" + port;
    }
}
