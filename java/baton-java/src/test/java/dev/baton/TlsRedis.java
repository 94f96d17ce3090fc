package dev.baton;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A real redis-server with a TLS port whose clients must present a certificate signed by a
 * private CA; the CA, server and client certificates are made with openssl for the test. The
 * plain port stays open for the test's own commands ({@link #clientList()}).
 */
public final class TlsRedis implements AutoCloseable {
    private final Path dir;
    private final RedisServer server;
    private final int tlsPort;

    private TlsRedis(Path dir, RedisServer server, int tlsPort) {
        this.dir = dir;
        this.server = server;
        this.tlsPort = tlsPort;
    }

    /**
     * Makes the certificates and starts the server.
     *
     * @return the running server
     */
    public static TlsRedis start() throws Exception {
        Path dir = Files.createTempDirectory("baton-tls-");
        openssl(dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=baton test CA");
        Files.writeString(dir.resolve("server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
        Files.writeString(dir.resolve("client.ext"), "extendedKeyUsage=clientAuth\n");
        for (String who : List.of("server", "client")) {
            openssl(dir, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", who + ".key", "-out", who + ".csr", "-subj", "/CN=baton test " + who);
            openssl(dir, "x509", "-req", "-in", who + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "1", "-out", who + ".crt", "-extfile", who + ".ext");
        }
        int tlsPort = RedisServer.freePort();
        RedisServer server = RedisServer.start("--tls-port", String.valueOf(tlsPort),
            "--tls-cert-file", dir.resolve("server.crt").toString(),
            "--tls-key-file", dir.resolve("server.key").toString(),
            "--tls-ca-cert-file", dir.resolve("ca.crt").toString(), "--tls-auth-clients", "yes");
        return new TlsRedis(dir, server, tlsPort);
    }

    private static void openssl(Path dir, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("openssl " + cmd + " failed (scripts/deps.sh installs openssl): " + out);
        }
    }

    /** @return {@code rediss://127.0.0.1:<tls port>} */
    public String url() {
        return "rediss://127.0.0.1:" + tlsPort;
    }

    /** @return the plain server, for commands and a {@code redis://} URL */
    public RedisServer plain() {
        return server;
    }

    /**
     * A file made for the test: {@code ca.crt}, {@code client.crt}, {@code client.key}.
     *
     * @param name the file name
     * @return its path
     */
    public Path file(String name) {
        return dir.resolve(name);
    }

    /**
     * A file's PEM text.
     *
     * @param name the file name
     * @return its contents
     */
    public String pem(String name) throws Exception {
        return Files.readString(file(name));
    }

    /** @return {@code CLIENT LIST}, asked on the plain port (it lists TLS clients too) */
    public String clientList() throws Exception {
        Process p = new ProcessBuilder("redis-cli", "-p", String.valueOf(server.port()), "CLIENT", "LIST")
            .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return out;
    }

    @Override
    public void close() throws Exception {
        server.close();
    }
}
