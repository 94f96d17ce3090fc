package dev.baton.peers;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** One candidate JVM and the lines it printed, each with its CLOCK_MONOTONIC stamp. */
final class Proc {
    record Line(String kind, long ns, String rest) {}

    final String label;
    private final Process process;
    private final OutputStream in;
    private final List<Line> lines = new ArrayList<>();
    private final File log;

    Proc(String label, String kind, String url, String election, long leaseMs, File log) throws IOException {
        this(label, kind, url, election, leaseMs, log, false);
    }

    /** A standby starts its JVM and client but campaigns only when sent {@code start}. */
    Proc(String label, String kind, String url, String election, long leaseMs, File log, boolean standby)
        throws IOException {
        this.label = label;
        this.log = log;
        List<String> cmd = new ArrayList<>(List.of(
            ProcessHandle.current().info().command().orElse("java"),
            "-XX:+UseSerialGC", "-Xmx256m", "-XX:-UsePerfData",
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
            "-cp", System.getProperty("java.class.path"),
            Candidate.class.getName(), kind, url, election, Long.toString(leaseMs)));
        if (standby) {
            cmd.add("standby");
        }
        process = new ProcessBuilder(cmd)
            .redirectError(ProcessBuilder.Redirect.appendTo(log))
            .start();
        in = process.getOutputStream();
        Thread reader = new Thread(this::read, "read-" + label);
        reader.setDaemon(true);
        reader.start();
    }

    private void read() {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            for (String l; (l = r.readLine()) != null; ) {
                String[] p = l.split(" ", 2);
                long ns = -1;
                String rest = p.length > 1 ? p[1] : "";
                if (p.length > 1 && !p[0].equals("check") && !p[0].equals("error")) {
                    try {
                        ns = Long.parseLong(p[1]);
                    } catch (NumberFormatException ignored) {
                        // keep -1
                    }
                }
                if (p[0].equals("error")) {
                    System.err.println("  [" + label + "] " + l);
                }
                synchronized (lines) {
                    lines.add(new Line(p[0], ns, rest));
                    lines.notifyAll();
                }
            }
        } catch (IOException ignored) {
            // the process ended
        }
    }

    void send(String command) throws IOException {
        in.write((command + "\n").getBytes(StandardCharsets.UTF_8));
        in.flush();
    }

    /** The first line of this kind stamped at or after {@code afterNs} (any stamp if -1), or null. */
    Line await(String kind, long afterNs, long timeoutMs) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        synchronized (lines) {
            while (true) {
                for (Line l : lines) {
                    if (l.kind.equals(kind) && (afterNs < 0 || l.ns >= afterNs)) {
                        return l;
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0 || !process.isAlive()) {
                    return null;
                }
                lines.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            }
        }
    }

    /** The last line of this kind, or null. */
    Line last(String kind) {
        synchronized (lines) {
            for (int i = lines.size() - 1; i >= 0; i--) {
                if (lines.get(i).kind.equals(kind)) {
                    return lines.get(i);
                }
            }
            return null;
        }
    }

    List<Line> all(String kind) {
        synchronized (lines) {
            return lines.stream().filter(l -> l.kind.equals(kind)).toList();
        }
    }

    /** Its last {@code n} lines, stamps relative to {@code zeroNs} in ms, for a failure report. */
    String tail(int n, long zeroNs) {
        synchronized (lines) {
            return lines.subList(Math.max(0, lines.size() - n), lines.size()).stream()
                .map(l -> l.ns < 0 ? l.kind + " " + l.rest : String.format("%s %+.1fms", l.kind, (l.ns - zeroNs) / 1e6))
                .collect(java.util.stream.Collectors.joining(", "));
        }
    }

    /** Whether it leads now by its own events: its last grant is later than its last revocation. */
    boolean leadsByEvents() {
        Line g = last("granted");
        Line r = last("revoked");
        return g != null && (r == null || g.ns > r.ns);
    }

    /** Appends the JVM's thread dump (jcmd Thread.print) to its log: where a stalled candidate waits. */
    void threadDump() {
        if (!process.isAlive()) {
            return;
        }
        try {
            String java = ProcessHandle.current().info().command().orElse("java");
            File jcmd = new File(new File(java).getParentFile(), "jcmd");
            new ProcessBuilder(jcmd.canExecute() ? jcmd.getPath() : "jcmd", Long.toString(process.pid()), "Thread.print")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log))
                .start().waitFor(30, TimeUnit.SECONDS);
        } catch (IOException e) {
            System.err.println("  [" + label + "] no thread dump (jcmd, from the JDK): " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    boolean alive() {
        return process.isAlive();
    }

    long pid() {
        return process.pid();
    }

    void signal(String sig) throws IOException, InterruptedException {
        new ProcessBuilder("kill", "-" + sig, Long.toString(process.pid())).start().waitFor();
    }

    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor();
    }

    void stop() throws InterruptedException {
        try {
            send("quit");
        } catch (IOException ignored) {
            // already gone
        }
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
            kill();
        }
    }
}
