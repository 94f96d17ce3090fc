package dev.baton.peers;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.params.ScanParams;
import redis.clients.jedis.resps.ScanResult;

/**
 * The stores: redis-server, ZooKeeper and PostgreSQL processes on free ports, and what the bench
 * reads of them.
 */
final class Servers {
    private Servers() {}

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    interface Store extends AutoCloseable {
        String url();

        /**
         * Requests the server processed so far (Redis commands, ZooKeeper packets received,
         * PostgreSQL statements). Reading it is one request, counted by the next reading.
         */
        long requests() throws IOException;

        String version() throws IOException;

        @Override
        void close() throws InterruptedException;
    }

    static final class Redis implements Store {
        private final Process process;
        private final int port;

        Redis() throws Exception {
            port = freePort();
            process = new ProcessBuilder("redis-server", "--port", Integer.toString(port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            long until = System.nanoTime() + 20_000_000_000L;
            while (true) {
                try (Jedis j = jedis()) {
                    j.ping();
                    return;
                } catch (Exception notYet) {
                    if (System.nanoTime() > until || !process.isAlive()) {
                        process.destroyForcibly();
                        throw new IllegalStateException("redis-server did not start on port " + port
                            + "; install it (make deps) or check that it runs", notYet);
                    }
                    Thread.sleep(20);
                }
            }
        }

        Jedis jedis() {
            return new Jedis("127.0.0.1", port);
        }

        @Override
        public String url() {
            return "redis://127.0.0.1:" + port;
        }

        @Override
        public long requests() {
            try (Jedis j = jedis()) {
                return infoField(j.info("stats"), "total_commands_processed");
            }
        }

        @Override
        public String version() {
            try (Jedis j = jedis()) {
                return "redis-server " + j.info("server").lines().filter(l -> l.startsWith("redis_version:"))
                    .findFirst().orElse(":?").split(":")[1].trim();
            }
        }

        /**
         * When the lease kept in {@code key} ends, in System.nanoTime(): baton's lease hash holds
         * it in its `expires` field (store milliseconds, against TIME), the others in the key's
         * TTL. -1, with the election's keys printed, if the key is missing or has no TTL (a
         * wrong key in {@link Contenders#leaseKey} shows there rather than as a figure).
         */
        long expiryNanos(String key, String election) {
            try (Jedis j = jedis()) {
                long remainingUs;
                long sent;
                // Stamped when the command that reads the server's clock is sent: the server
                // reads it later, so "past expiry" can only be overstated, by the one-way
                // latency. (A stamp on the answer, or the round trip's middle, understated it by
                // the time the bench took to wake up under load: baton's cell came out negative.)
                if (j.type(key).equals("hash") && j.hexists(key, "expires")) {
                    long expires = Long.parseLong(j.hget(key, "expires"));
                    sent = System.nanoTime();
                    List<String> t = j.time();
                    remainingUs = expires * 1000 - (Long.parseLong(t.get(0)) * 1_000_000 + Long.parseLong(t.get(1)));
                } else {
                    sent = System.nanoTime();
                    long pttl = j.pttl(key);
                    remainingUs = pttl < 0 ? pttl : pttl * 1000;
                }
                long now = sent;
                if (remainingUs >= 0) {
                    return now + remainingUs * 1000;
                }
                List<String> keys = new ArrayList<>();
                String cursor = ScanParams.SCAN_POINTER_START;
                do {
                    ScanResult<String> r = j.scan(cursor, new ScanParams().match("*" + election + "*").count(1000));
                    keys.addAll(r.getResult());
                    cursor = r.getCursor();
                } while (!cursor.equals(ScanParams.SCAN_POINTER_START));
                // Missing with no other key: no lease was held (ShedLock between two runs);
                // missing next to other keys: Contenders.leaseKey names the wrong one.
                System.err.println("  expiry probe: " + key + (remainingUs == -2 ? " is missing" : " has no TTL")
                    + " right after the kill (not counted); the election's keys: " + keys);
                return -1;
            }
        }

        @Override
        public void close() throws InterruptedException {
            process.destroy();
            process.waitFor();
        }
    }

    static long infoField(String info, String field) {
        return info.lines().filter(l -> l.startsWith(field + ":")).findFirst()
            .map(l -> Long.parseLong(l.substring(field.length() + 1).trim())).orElse(-1L);
    }

    /**
     * A standalone ZooKeeper server from the zookeeper jar on the bench's class path (the one
     * Curator depends on): tickTime 200 ms, sessions from 400 ms to 60 s so that Curator's
     * default (60 s) and a 2 s lease are both granted as asked.
     */
    static final class ZooKeeper implements Store {
        private final Process process;
        private final int port;
        private final Path dir;

        ZooKeeper(File log) throws Exception {
            port = freePort();
            dir = Files.createTempDirectory("peer-bench-zk");
            Path conf = dir.resolve("zoo.cfg");
            Files.writeString(conf, "tickTime=200\ndataDir=" + dir.resolve("data") + "\nclientPort=" + port
                + "\nclientPortAddress=127.0.0.1\nminSessionTimeout=400\nmaxSessionTimeout=60000\n"
                + "admin.enableServer=false\n4lw.commands.whitelist=*\nautopurge.purgeInterval=0\n");
            process = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"),
                "-Xmx256m", "-XX:+UseSerialGC", "-Dzookeeper.jmx.log4j.disable=true",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "-cp", System.getProperty("java.class.path"),
                "org.apache.zookeeper.server.ZooKeeperServerMain", conf.toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log)).start();
            long until = System.nanoTime() + 180_000_000_000L; // JVM start-up on a loaded machine
            while (true) {
                try {
                    if (fourLetter("srvr").contains("Mode: ")) {
                        return;
                    }
                } catch (IOException notYet) {
                    // not listening yet
                }
                if (System.nanoTime() > until || !process.isAlive()) {
                    process.destroyForcibly(); // no close() follows a constructor that threw
                    throw new IllegalStateException("ZooKeeper did not start on port " + port + "; see " + log);
                }
                Thread.sleep(50);
            }
        }

        String fourLetter(String cmd) throws IOException {
            try (Socket s = new Socket("127.0.0.1", port)) {
                s.setSoTimeout(5000);
                OutputStream o = s.getOutputStream();
                o.write(cmd.getBytes(StandardCharsets.US_ASCII));
                o.flush();
                InputStream i = s.getInputStream();
                return new String(i.readAllBytes(), StandardCharsets.UTF_8);
            }
        }

        @Override
        public String url() {
            return "zookeeper://127.0.0.1:" + port;
        }

        @Override
        public long requests() throws IOException {
            return fourLetter("mntr").lines().filter(l -> l.startsWith("zk_packets_received"))
                .findFirst().map(l -> Long.parseLong(l.split("\\s+")[1])).orElse(-1L);
        }

        @Override
        public String version() throws IOException {
            return "ZooKeeper " + fourLetter("mntr").lines().filter(l -> l.startsWith("zk_version"))
                .findFirst().map(l -> l.split("\\s+")[1].replaceAll(",.*", "").replaceAll("-.*", "")).orElse("?");
        }

        @Override
        public void close() throws InterruptedException {
            process.destroy();
            process.waitFor();
        }
    }

    /**
     * A PostgreSQL server from Debian's packages (the newest /usr/lib/postgresql/<v>/bin, or
     * POSTGRES_BIN): initdb into a temporary directory, postgres on a free port of 127.0.0.1,
     * stopped by close() or, if the bench ends without it, by a shutdown hook (and by
     * setpriv's parent-death signal if the bench is killed). PostgreSQL refuses to run as root:
     * under root both run as the `postgres` system user the Debian package creates, which owns
     * the directory. Clients use the database `bench` as `postgres` with a password over TCP.
     *
     * <p>requests() counts the statements the server received, from its log (log_statement=all):
     * pg_stat_statements (preloaded; its summary is appended to the log at the end) skips
     * statements that fail, such as JdbcLockRegistry's duplicate-key INSERT, and the ROLLBACK
     * after it; pg_stat_database's transaction counters reach the shared statistics only when a
     * backend flushes them (up to 10 s later when it idles), too late for windows of seconds.
     */
    static final class Postgres implements Store {
        static final String PASSWORD = "peer-bench";
        private final Path dir;
        private final File log;
        private final Thread hook;
        private volatile Process process;
        private volatile int port;
        private Connection monitor;
        private long logOffset;
        private long statements;
        private static final java.util.regex.Pattern STATEMENT_LINE =
            java.util.regex.Pattern.compile("^\\S+ \\S+ \\S+ \\[\\d+\\] LOG:  (statement|execute [^:]*): ");

        Postgres(File log) throws Exception {
            this.log = log;
            Path bin = binDir();
            dir = Files.createTempDirectory("peer-bench-pg");
            hook = new Thread(this::stop, "peer-bench-postgres-stop");
            Runtime.getRuntime().addShutdownHook(hook);
            try {
                ownByServer(dir);
                Path pw = dir.resolve("pw");
                Files.writeString(pw, PASSWORD);
                ownByServer(pw);
                Path data = dir.resolve("data");
                Process initdb = new ProcessBuilder(asServer(bin.resolve("initdb").toString(), "-D", data.toString(),
                    "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                    "--locale=C.UTF-8", "--no-sync", "--pwfile", pw.toString()))
                    .directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log)).start();
                if (!initdb.waitFor(300, TimeUnit.SECONDS) || initdb.exitValue() != 0) {
                    initdb.destroyForcibly();
                    throw new IllegalStateException("initdb failed; see " + log);
                }
                port = freePort();
                process = new ProcessBuilder(asServer(bin.resolve("postgres").toString(), "-D", data.toString(),
                    "-p", Integer.toString(port), "-c", "listen_addresses=127.0.0.1",
                    "-c", "unix_socket_directories=" + dir,
                    // Bench speed; a candidate's kill still loses nothing (only an OS crash would).
                    "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_connections=200",
                    "-c", "shared_buffers=16MB", "-c", "shared_preload_libraries=pg_stat_statements",
                    // Every statement a client sends, failed ones included, is a line of the log: the count.
                    "-c", "log_statement=all", "-c", "log_line_prefix=%m [%p] "))
                    .directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log)).start();
                long until = System.nanoTime() + 180_000_000_000L; // start-up on a loaded machine
                while (monitor == null) {
                    try {
                        monitor = connect("postgres");
                    } catch (SQLException notYet) {
                        if (System.nanoTime() > until || !process.isAlive()) {
                            throw new IllegalStateException("postgres did not start on port " + port + "; see " + log
                                + " (install it: make sql-deps, or set POSTGRES_BIN)", notYet);
                        }
                        Thread.sleep(50);
                    }
                }
                try (Statement s = monitor.createStatement()) {
                    s.execute("CREATE EXTENSION pg_stat_statements");
                    s.execute("CREATE DATABASE bench");
                }
                try (Connection c = connect("bench"); Statement s = c.createStatement()) {
                    s.execute(intLockDdl());
                }
            } catch (Exception e) {
                close(); // no close() follows a constructor that threw
                throw e;
            }
        }

        /** The INT_LOCK table as spring-integration-jdbc's own schema-postgresql.sql creates it. */
        static String intLockDdl() throws IOException {
            String res = "/org/springframework/integration/jdbc/schema-postgresql.sql";
            try (InputStream in = Servers.class.getResourceAsStream(res)) {
                if (in == null) {
                    throw new IllegalStateException(res + " is not on the class path: spring-integration-jdbc is missing");
                }
                String script = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                return Stream.of(script.split(";")).filter(s -> s.contains("CREATE TABLE INT_LOCK")).findFirst()
                    .orElseThrow(() -> new IllegalStateException(res + " has no CREATE TABLE INT_LOCK")).trim();
            }
        }

        private static Path binDir() {
            String env = System.getenv("POSTGRES_BIN");
            if (env != null) {
                return Path.of(env);
            }
            File[] versions = new File("/usr/lib/postgresql").listFiles();
            return Stream.of(versions == null ? new File[0] : versions)
                .filter(f -> f.getName().matches("\\d+") && new File(f, "bin/postgres").exists())
                .max(Comparator.comparingInt(f -> Integer.parseInt(f.getName())))
                .map(f -> f.toPath().resolve("bin"))
                .orElseThrow(() -> new IllegalStateException("no PostgreSQL server in /usr/lib/postgresql; "
                    + "install it (make sql-deps, or apt-get install -y postgresql) or set POSTGRES_BIN"));
        }

        private static boolean root() {
            return new com.sun.security.auth.module.UnixSystem().getUid() == 0;
        }

        /**
         * The command as the server's user: setpriv switches to `postgres` under root (the
         * server refuses root) and, always, has the kernel kill the server if the bench dies.
         */
        private static List<String> asServer(String... command) {
            List<String> cmd = new ArrayList<>(List.of("setpriv", "--pdeathsig", "KILL"));
            if (root()) {
                cmd.addAll(List.of("--reuid", "postgres", "--regid", "postgres", "--init-groups"));
            }
            cmd.addAll(List.of(command));
            return cmd;
        }

        private static void ownByServer(Path path) throws IOException {
            if (!root()) {
                return;
            }
            UserPrincipalLookupService users = path.getFileSystem().getUserPrincipalLookupService();
            try {
                Files.setOwner(path, users.lookupPrincipalByName("postgres"));
                GroupPrincipal group = users.lookupPrincipalByGroupName("postgres");
                Files.getFileAttributeView(path, PosixFileAttributeView.class).setGroup(group);
            } catch (java.nio.file.attribute.UserPrincipalNotFoundException e) {
                throw new IllegalStateException("PostgreSQL refuses to run as root and there is no postgres user; "
                    + "install the server's Debian package (make sql-deps creates it) or run the bench as another user", e);
            }
        }

        Connection connect(String db) throws SQLException {
            return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/" + db, "postgres", PASSWORD);
        }

        @Override
        public String url() {
            return "postgres://postgres:" + PASSWORD + "@127.0.0.1:" + port + "/bench";
        }

        /**
         * Statements the server received so far: the `statement:` and `execute` lines
         * log_statement=all writes when a statement starts, read on from where the last reading
         * stopped. A reading sends one statement on the bench's long-lived connection (logged
         * before its answer), so that, as with the other stores, it counts itself.
         */
        @Override
        public synchronized long requests() throws IOException {
            try (Statement s = monitor.createStatement()) {
                s.execute("SELECT 1");
            } catch (SQLException e) {
                throw new IOException("PostgreSQL did not answer: " + e.getMessage(), e);
            }
            try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(log, "r")) {
                f.seek(logOffset);
                byte[] rest = new byte[(int) (f.length() - logOffset)];
                f.readFully(rest);
                int end = new String(rest, StandardCharsets.ISO_8859_1).lastIndexOf('\n') + 1;
                new String(rest, 0, end, StandardCharsets.UTF_8).lines()
                    .filter(l -> STATEMENT_LINE.matcher(l).find()).forEach(l -> statements++);
                logOffset += end; // a line being written is read next time
            }
            return statements;
        }

        @Override
        public synchronized String version() throws IOException {
            try (Statement s = monitor.createStatement(); ResultSet r = s.executeQuery("SHOW server_version")) {
                r.next();
                return "PostgreSQL " + r.getString(1).split(" ")[0];
            } catch (SQLException e) {
                throw new IOException("SHOW server_version: " + e.getMessage(), e);
            }
        }

        /**
         * When the lease of an election ends, in System.nanoTime(), by the server's clock: baton's
         * row in baton_leases (`expires`, written by the server as now() + ttl), or Spring
         * Integration's INT_LOCK row of the region (`EXPIRED_AFTER`, written by the client as its
         * UTC wall time + the registry's expireAfter; one machine, one clock). -1 if none.
         */
        synchronized long expiryNanos(String election) {
            String[] queries = {
                "SELECT (extract(epoch FROM max(expires) - now()) * 1000)::bigint FROM baton_leases"
                    + " WHERE name = ? AND candidate IS NOT NULL",
                "SELECT (extract(epoch FROM max(EXPIRED_AFTER) - (now() AT TIME ZONE 'UTC')) * 1000)::bigint"
                    + " FROM INT_LOCK WHERE REGION = ?",
            };
            try (Connection c = connect("bench")) {
                for (String q : queries) {
                    try (java.sql.PreparedStatement s = c.prepareStatement(q)) {
                        s.setString(1, election);
                        long sent = System.nanoTime();
                        try (ResultSet r = s.executeQuery()) {
                            // The server's now() came after the send: stamped there, as for Redis.
                            long now = sent;
                            if (r.next()) {
                                long remainingMs = r.getLong(1);
                                if (!r.wasNull() && remainingMs >= 0) {
                                    return now + remainingMs * 1_000_000;
                                }
                            }
                        }
                    } catch (SQLException noSuchTable) {
                        // baton creates its table on first use: the other contender's may be missing
                    }
                }
            } catch (SQLException e) {
                System.err.println("  reading the lease's end from PostgreSQL: " + e.getMessage());
            }
            return -1;
        }

        /**
         * Fast shutdown (SIGINT: clients are disconnected), then the directory goes; the counted
         * statements go to the log first, to show what each library sends.
         */
        private synchronized void stop() {
            try {
                if (monitor != null) {
                    try (Statement s = monitor.createStatement();
                         ResultSet r = s.executeQuery("SELECT calls, regexp_replace(query, '\\s+', ' ', 'g')"
                             + " FROM pg_stat_statements ORDER BY calls DESC")) {
                        StringBuilder out = new StringBuilder("-- statements counted (pg_stat_statements), most called first\n");
                        while (r.next()) {
                            out.append(r.getLong(1)).append('\t').append(r.getString(2)).append('\n');
                        }
                        Files.writeString(log.toPath(), out, StandardCharsets.UTF_8,
                            java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
                    } catch (SQLException | IOException e) {
                        // a report only
                    }
                    monitor.close();
                    monitor = null;
                }
            } catch (SQLException ignored) {
                // the server may be gone already
            }
            Process p = process;
            if (p != null && p.isAlive()) {
                try {
                    new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
                    if (!p.waitFor(60, TimeUnit.SECONDS)) {
                        p.destroyForcibly().waitFor();
                    }
                } catch (IOException | InterruptedException e) {
                    p.destroyForcibly();
                }
            }
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            } catch (IOException ignored) {
                // a temporary directory left behind
            }
        }

        @Override
        public void close() {
            stop();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running or ran
            }
        }
    }
}
