package dev.baton.spring;

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
 * A real MariaDB server (Debian's {@code mariadb-server} package, 10.11) for all tests of one
 * class, on a free port of 127.0.0.1, started before the first and always stopped after the
 * last; the same setup as baton's Rust fixture ({@code testkit/src/mysql.rs}). Under root,
 * {@code mariadb-install-db} and {@code mariadbd} run as the {@code mysql} system user (through
 * {@code setpriv}, which execs). The database {@code app} is the user {@code app}'s, whose
 * password needs percent-encoding in a URL.
 */
final class MariaDbExtension implements BeforeAllCallback, AfterAllCallback {
    static final String USER = "app";
    static final String PASSWORD = "p@ss:w/rd %&";
    private static final Duration START = Duration.ofSeconds(60);

    private Path dir;
    private Process server;
    private int port;

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        dir = Files.createTempDirectory("baton-mariadb");
        if (root()) {
            run(List.of("chown", "-R", "mysql:mysql", dir.toString()));
        }
        Path data = dir.resolve("data");
        run(asServer(List.of("mariadb-install-db", "--no-defaults", "--datadir=" + data,
            "--auth-root-authentication-method=normal", "--skip-test-db")));
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        ProcessBuilder b = new ProcessBuilder(asServer(List.of("mariadbd", "--no-defaults", "--datadir=" + data,
            "--port=" + port, "--bind-address=127.0.0.1", "--socket=" + socket(),
            "--pid-file=" + dir.resolve("mariadb.pid"), "--log-error=" + dir.resolve("mariadb.log"),
            "--skip-log-bin", "--skip-name-resolve", "--innodb-buffer-pool-size=16M",
            "--innodb-log-file-size=8M", "--innodb-flush-log-at-trx-commit=2")));
        b.redirectErrorStream(true);
        b.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        server = b.start();
        long deadline = System.nanoTime() + START.toNanos();
        while (!sql("SELECT 1")) {
            if (!server.isAlive()) {
                throw new IllegalStateException("MariaDB did not start (is Debian's mariadb-server package"
                    + " installed? apt-get install -y mariadb-server); its log: " + dir.resolve("mariadb.log"));
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("MariaDB did not serve within " + START);
            }
            Thread.sleep(50);
        }
        String pw = PASSWORD.replace("'", "''");
        if (!sql("CREATE DATABASE app; CREATE USER '" + USER + "'@'127.0.0.1' IDENTIFIED BY '" + pw + "';"
                + " GRANT ALL ON app.* TO '" + USER + "'@'127.0.0.1'")) {
            throw new IllegalStateException("could not create the app user and database; see " + dir);
        }
    }

    private Path socket() {
        return dir.resolve("mariadb.sock");
    }

    private static boolean root() {
        return "root".equals(System.getProperty("user.name"));
    }

    private static List<String> asServer(List<String> command) {
        if (!root()) {
            return command;
        }
        List<String> c = new ArrayList<>(List.of("setpriv", "--reuid=mysql", "--regid=mysql", "--init-groups"));
        c.addAll(command);
        return c;
    }

    private static void run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
        }
    }

    /** Runs SQL as root over the Unix socket; true when it succeeded. */
    private boolean sql(String sql) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("mariadb", "--no-defaults", "--socket=" + socket(), "-u", "root",
            "-N", "-B", "-e", sql).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        if (server != null) {
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

    /** {@code jdbc:mariadb://127.0.0.1:<port>/app}. */
    String jdbcUrl() {
        return "jdbc:mariadb://127.0.0.1:" + port + "/app";
    }
}
