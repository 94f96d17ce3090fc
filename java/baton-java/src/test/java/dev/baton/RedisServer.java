package dev.baton;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A real redis-server on a free port, started as a child process and always stopped. */
public final class RedisServer implements AutoCloseable {
    private final Process process;
    private final int port;
    private final Path log;

    private RedisServer(Process process, int port, Path log) {
        this.process = process;
        this.port = port;
        this.log = log;
    }

    /**
     * Starts a server; {@code extraArgs} are passed on (for example {@code --requirepass x}).
     *
     * @param extraArgs additional redis-server arguments
     * @return the running server
     */
    public static RedisServer start(String... extraArgs) throws Exception {
        return start(-1, extraArgs);
    }

    /**
     * Starts a server on {@code port}, which nothing else may listen on (a client that waits
     * for a store that is not there yet, say).
     *
     * @param port the port
     * @param extraArgs additional redis-server arguments
     * @return the running server
     */
    public static RedisServer startOn(int port, String... extraArgs) throws Exception {
        return start(port, extraArgs);
    }

    private static RedisServer start(int fixedPort, String... extraArgs) throws Exception {
        Exception last = null;
        for (int attempt = 0; attempt < (fixedPort < 0 ? 5 : 1); attempt++) {
            int port = fixedPort < 0 ? freePort() : fixedPort;
            Path log = Files.createTempFile("baton-redis-", ".log");
            // A configuration file must come first; sentinels get theirs that way.
            List<String> cmd = new ArrayList<>(List.of("redis-server"));
            boolean confFirst = extraArgs.length > 0 && !extraArgs[0].startsWith("--");
            if (confFirst) {
                cmd.add(extraArgs[0]);
            }
            cmd.addAll(List.of("--port", String.valueOf(port), "--bind", "127.0.0.1", "--daemonize", "no"));
            if (!List.of(extraArgs).contains("--sentinel")) {
                cmd.addAll(List.of("--save", "", "--appendonly", "no"));
            }
            cmd.addAll(List.of(extraArgs).subList(confFirst ? 1 : 0, extraArgs.length));
            Process p;
            try {
                p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            } catch (IOException e) {
                throw new IllegalStateException("could not start redis-server (is it installed? make deps"
                    + " installs it): " + e.getMessage(), e);
            }
            RedisServer server = new RedisServer(p, port, log);
            if (server.awaitListening()) {
                return server;
            }
            last = new IllegalStateException("redis-server on port " + port + " did not answer: "
                + Files.readString(log));
            server.close();
        }
        throw last;
    }

    /**
     * Starts a sentinel that monitors the master on {@code masterPort} as {@code mymaster} (quorum 1).
     *
     * @param masterPort the master's port
     * @return the running sentinel
     */
    public static RedisServer startSentinel(int masterPort) throws Exception {
        // Sentinel rewrites its configuration file, so each one gets a writable file of its own.
        Path conf = Files.createTempFile("baton-sentinel-", ".conf");
        Files.writeString(conf, "sentinel monitor mymaster 127.0.0.1 " + masterPort + " 1\n");
        try {
            return start(conf.toString(), "--sentinel");
        } finally {
            conf.toFile().deleteOnExit();
        }
    }

    /** @return {@code redis://127.0.0.1:<port>} */
    public String url() {
        return "redis://127.0.0.1:" + port;
    }

    /** @return the port */
    public int port() {
        return port;
    }

    /** Waits until the server answers (PONG, or NOAUTH with a password), or its process died. */
    private boolean awaitListening() throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < until && process.isAlive()) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 500);
                s.setSoTimeout(1000);
                OutputStream out = s.getOutputStream();
                out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                InputStream in = s.getInputStream();
                byte[] buf = new byte[7];
                int n = in.readNBytes(buf, 0, 7);
                String reply = new String(buf, 0, n, StandardCharsets.US_ASCII);
                if (reply.startsWith("+PONG") || reply.startsWith("-NOAUTH")) {
                    return true;
                }
            } catch (IOException notYet) {
                // Not listening yet.
            }
            Thread.sleep(20);
        }
        return false;
    }

    /** @return a port nothing listens on right now */
    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /**
     * Freezes the server (SIGSTOP): connections stay open but nothing is answered, like a hung
     * host; {@link #resume()} or {@link #close()} ends it.
     */
    public void pause() throws Exception {
        signal("STOP");
    }

    /** Lets a {@link #pause() paused} server run again (SIGCONT). */
    public void resume() throws Exception {
        signal("CONT");
    }

    private void signal(String name) throws Exception {
        if (process.isAlive()) {
            new ProcessBuilder("kill", "-" + name, String.valueOf(process.pid())).inheritIO().start().waitFor();
        }
    }

    @Override
    public void close() throws Exception {
        resume();
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
        }
        Files.deleteIfExists(log);
    }
}
