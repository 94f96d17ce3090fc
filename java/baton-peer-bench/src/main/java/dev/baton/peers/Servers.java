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
import java.util.ArrayList;
import java.util.List;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.params.ScanParams;
import redis.clients.jedis.resps.ScanResult;

/** The stores: redis-server and ZooKeeper processes on free ports, and what the bench reads of them. */
final class Servers {
    private Servers() {}

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    interface Store extends AutoCloseable {
        String url();

        /** Requests the server processed so far (Redis commands, ZooKeeper packets received). */
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
         * When the lease of an election ends, in System.nanoTime(): the latest end among the keys
         * whose name contains the election's (baton keeps it in the lease hash's `expires` field,
         * store milliseconds, the others in the key's TTL). -1 if none has an end.
         */
        long expiryNanos(String election) {
            try (Jedis j = jedis()) {
                List<String> keys = new ArrayList<>();
                String cursor = ScanParams.SCAN_POINTER_START;
                do {
                    ScanResult<String> r = j.scan(cursor, new ScanParams().match("*" + election + "*").count(1000));
                    keys.addAll(r.getResult());
                    cursor = r.getCursor();
                } while (!cursor.equals(ScanParams.SCAN_POINTER_START));
                long best = -1;
                for (String k : keys) {
                    long remainingMs;
                    if (j.type(k).equals("hash") && j.hexists(k, "expires")) {
                        List<String> t = j.time();
                        long nowMs = Long.parseLong(t.get(0)) * 1000 + Long.parseLong(t.get(1)) / 1000;
                        remainingMs = Long.parseLong(j.hget(k, "expires")) - nowMs;
                    } else {
                        remainingMs = j.pttl(k);
                    }
                    long now = System.nanoTime();
                    if (remainingMs >= 0) {
                        best = Math.max(best, now + remainingMs * 1_000_000);
                    }
                }
                return best;
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
}
