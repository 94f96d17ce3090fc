package dev.baton.spring;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real PostgreSQL server (Debian's {@code postgresql} package) for all tests of one class, on a
 * free port of 127.0.0.1, started before the first and always stopped after the last; the same
 * setup as baton's Rust fixture ({@code testkit/src/postgres.rs}). PostgreSQL refuses to run as
 * root: under root, initdb and the server run as the {@code postgres} system user (through
 * {@code setpriv}, which execs, so the process we hold is the postmaster). The database
 * {@code app} belongs to the user {@code app}, whose password needs percent-encoding in a URL.
 * {@code POSTGRES_BIN} overrides where the server's programs are.
 */
final class PostgresExtension implements BeforeAllCallback, AfterAllCallback {
    static final String USER = "app";
    static final String PASSWORD = "p@ss:w/rd %&";
    private static final Duration START = Duration.ofSeconds(60);

    private Path dir;
    private Process server;
    private int port;

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        dir = Files.createTempDirectory("baton-postgres");
        Files.writeString(dir.resolve("pw"), "baton-test");
        run(List.of("chown", "-R", "postgres:postgres", dir.toString()), true);
        Path data = dir.resolve("data");
        run(asServer(List.of(bin("initdb"), "-D", data.toString(), "-U", "postgres", "--auth-local=trust",
            "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
            "--pwfile=" + dir.resolve("pw"))), false);
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        ProcessBuilder b = new ProcessBuilder(asServer(List.of(bin("postgres"), "-D", data.toString(),
            "-p", String.valueOf(port), "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + dir,
            "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "shared_buffers=16MB")));
        b.redirectErrorStream(true);
        b.redirectOutput(dir.resolve("postgres.log").toFile());
        server = b.start();
        long deadline = System.nanoTime() + START.toNanos();
        while (!psql("SELECT 1")) {
            if (!server.isAlive()) {
                throw new IllegalStateException("PostgreSQL did not start (is Debian's postgresql package installed?"
                    + " apt-get install -y postgresql); its log:\n" + Files.readString(dir.resolve("postgres.log")));
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("PostgreSQL did not serve within " + START);
            }
            Thread.sleep(50);
        }
        String pw = PASSWORD.replace("'", "''");
        if (!psql("CREATE ROLE " + USER + " LOGIN PASSWORD '" + pw + "'") || !psql("CREATE DATABASE app OWNER " + USER)) {
            throw new IllegalStateException("could not create the app user and database; see " + dir);
        }
    }

    private static boolean root() {
        return "root".equals(System.getProperty("user.name"));
    }

    private static List<String> asServer(List<String> command) {
        if (!root()) {
            return command;
        }
        List<String> c = new ArrayList<>(List.of("setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"));
        c.addAll(command);
        return c;
    }

    /** The newest {@code /usr/lib/postgresql/<version>/bin}, or {@code POSTGRES_BIN}. */
    private static String bin(String program) {
        String dir = System.getenv("POSTGRES_BIN");
        if (dir == null) {
            File[] versions = new File("/usr/lib/postgresql").listFiles(f -> f.getName().matches("\\d+")
                && new File(f, "bin/postgres").exists());
            if (versions == null || versions.length == 0) {
                throw new IllegalStateException("no PostgreSQL server in /usr/lib/postgresql; install it"
                    + " (apt-get install -y postgresql) or set POSTGRES_BIN");
            }
            dir = Stream.of(versions).max(Comparator.comparingInt(f -> Integer.parseInt(f.getName())))
                .orElseThrow().getPath() + "/bin";
        }
        return dir + "/" + program;
    }

    private void run(List<String> command, boolean onlyAsRoot) throws IOException, InterruptedException {
        if (onlyAsRoot && !root()) {
            return;
        }
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
        }
    }

    /** Runs SQL as the superuser over the Unix socket; true when it succeeded. */
    private boolean psql(String sql) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(bin("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-U", "postgres",
            "-h", dir.toString(), "-p", String.valueOf(port), "-d", "postgres", "-c", sql)
            .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        if (server != null) {
            // The backends are the postmaster's children: stop them too, then the postmaster.
            server.descendants().forEach(ProcessHandle::destroyForcibly);
            server.destroyForcibly();
            server.waitFor(20, TimeUnit.SECONDS);
        }
        if (dir != null) {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** {@code jdbc:postgresql://127.0.0.1:<port>/app}. */
    String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/app";
    }
}
