package dev.baton;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Loads baton's native library, once per JVM.
 *
 * <p>The jar carries one library per Linux platform, {@code native/<os>-<arch>-<libc>/libbaton.so}
 * ({@code linux-x86_64-gnu}, {@code linux-aarch64-gnu}, {@code linux-x86_64-musl},
 * {@code linux-aarch64-musl}; listed in {@code native/platforms.txt}); the JVM's architecture and
 * C library (musl when the JVM has {@code ld-musl} mapped, as on Alpine) pick one.
 *
 * <p>By default the library is extracted from this jar
 * into a private directory ({@code <java.io.tmpdir>/baton-<user>}, mode 0700) under a file name
 * carrying a hash of its content (mode 0600), so concurrent JVMs and different baton versions
 * never overwrite each other's library, and another user cannot plant one. Two system properties
 * change this:
 * <ul>
 *   <li>{@code baton.native.path}: load this library file instead of extracting one;</li>
 *   <li>{@code baton.native.dir}: extract into this directory instead of the temporary one
 *       (for hosts whose temporary directory is mounted {@code noexec}).</li>
 * </ul>
 * Setting {@code baton.shutdownHook=false} stops baton from releasing every lease at JVM
 * shutdown (then close your elections yourself, or the leases expire after their TTL).
 *
 * <p>Calling {@link #load()} is optional: building an election loads the library. Call it at
 * startup to fail fast on a host where the library cannot load.
 */
public final class NativeLoader {
    /** System property naming a library file to load instead of the bundled one. */
    public static final String PATH_PROPERTY = "baton.native.path";
    /** System property naming the directory to extract the bundled library into. */
    public static final String DIR_PROPERTY = "baton.native.dir";
    /** System property that, set to {@code false}, disables the release-all shutdown hook. */
    public static final String SHUTDOWN_HOOK_PROPERTY = "baton.shutdownHook";

    private static final Set<PosixFilePermission> DIR_MODE = PosixFilePermissions.fromString("rwx------");
    private static final Set<PosixFilePermission> FILE_MODE = PosixFilePermissions.fromString("rw-------");

    private static boolean loaded;
    private static NativeLibraryException failure;

    private NativeLoader() {}

    /**
     * Loads the native library if this JVM has not yet; later calls return at once (or throw the
     * first call's failure again).
     *
     * @throws NativeLibraryException if the platform is not supported or the library cannot be
     *     extracted or loaded; the message says which property fixes it
     */
    public static synchronized void load() {
        if (loaded) {
            return;
        }
        if (failure != null) {
            throw new NativeLibraryException(failure.getMessage(), failure);
        }
        try {
            String override = System.getProperty(PATH_PROPERTY);
            Path library = override != null && !override.isBlank()
                ? Paths.get(override)
                : extract(hostPlatform(), extractDir());
            loadFrom(library);
            try {
                Native.init();
            } catch (RuntimeException | LinkageError e) {
                throw new NativeLibraryException("baton's native library " + library + " does not"
                    + " match this jar (" + e + "); use the library built with this jar, or remove -D"
                    + PATH_PROPERTY, e);
            }
            if (!"false".equalsIgnoreCase(System.getProperty(SHUTDOWN_HOOK_PROPERTY))) {
                Runtime.getRuntime().addShutdownHook(new Thread(Native::shutdown, "baton-shutdown"));
            }
            loaded = true;
        } catch (NativeLibraryException e) {
            failure = e;
            throw e;
        }
    }

    /** The platform directory for this JVM. */
    static String hostPlatform() {
        String os = System.getProperty("os.name", "");
        boolean linux = os.toLowerCase(Locale.ROOT).startsWith("linux");
        return platform(os, System.getProperty("os.arch"), linux ? libc() : "none");
    }

    /**
     * The platform directory for an OS and architecture, as named by the JVM, and a C library
     * ({@link #libc()}).
     */
    static String platform(String os, String arch, String libc) {
        String o = os == null ? "" : os.toLowerCase(Locale.ROOT);
        String a = arch == null ? "" : arch.toLowerCase(Locale.ROOT);
        String cpu = switch (a) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> null;
        };
        if (o.startsWith("linux") && cpu != null && ("gnu".equals(libc) || "musl".equals(libc))) {
            return "linux-" + cpu + "-" + libc;
        }
        throw new NativeLibraryException("baton has no native library for " + os + " " + arch
            + " (C library: " + libc + "); this jar carries: " + carried() + ". Build libbaton for"
            + " this platform from source (docs/building.md in baton's repository) and start the JVM"
            + " with -D" + PATH_PROPERTY + "=/path/to/the/library");
    }

    /**
     * The C library this JVM runs on, {@code musl} or {@code gnu} (glibc): read from the files
     * the process has mapped; failing that, musl if its loader is installed ({@code /lib/ld-musl-*}).
     */
    static String libc() {
        String mapped = "unknown";
        try (var lines = Files.lines(Paths.get("/proc/self/maps"))) {
            mapped = libcFromMaps(lines.toList());
        } catch (IOException | java.io.UncheckedIOException e) {
            // Not Linux, or /proc is hidden: decided below.
        }
        if (!"unknown".equals(mapped)) {
            return mapped;
        }
        try (var libs = Files.newDirectoryStream(Paths.get("/lib"), "ld-musl-*")) {
            return libs.iterator().hasNext() ? "musl" : "gnu";
        } catch (IOException e) {
            return "gnu";
        }
    }

    /** The C library named by the mapped files of a process ({@code /proc/self/maps} lines). */
    static String libcFromMaps(List<String> maps) {
        boolean glibc = false;
        for (String line : maps) {
            // musl's dynamic linker is also its libc: ld-musl-<arch>.so.1 (libc.musl-*.so.1).
            if (line.contains("/ld-musl-") || line.contains("/libc.musl-")) {
                return "musl";
            }
            glibc |= line.contains("/libc.so.6") || line.contains("/ld-linux-");
        }
        return glibc ? "gnu" : "unknown";
    }

    /** The platforms this jar carries a library for, as listed in {@code native/platforms.txt}. */
    static String carried() {
        try (InputStream in = NativeLoader.class.getResourceAsStream("/native/platforms.txt")) {
            if (in == null) {
                return "none (native/platforms.txt is missing)";
            }
            String list = String.join(", ", new String(in.readAllBytes(), StandardCharsets.UTF_8)
                .lines().map(String::strip).filter(l -> !l.isEmpty()).sorted().toList());
            return list.isEmpty() ? "none" : list;
        } catch (IOException e) {
            return "unknown (" + e + ")";
        }
    }

    private static Path extractDir() {
        String dir = System.getProperty(DIR_PROPERTY);
        if (dir != null && !dir.isBlank()) {
            return Paths.get(dir);
        }
        String user = System.getProperty("user.name", "user").replaceAll("[^A-Za-z0-9._-]", "_");
        return Paths.get(System.getProperty("java.io.tmpdir"), "baton-" + user);
    }

    /**
     * Extracts the bundled library for {@code platform} into {@code dir} (created 0700 if absent)
     * as {@code libbaton-<hash>.so} (0600), reusing an identical earlier extraction.
     */
    static Path extract(String platform, Path dir) {
        String resource = "/native/" + platform + "/libbaton.so";
        byte[] bytes;
        try (InputStream in = NativeLoader.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new NativeLibraryException("this baton jar has no native library for "
                    + platform + " (" + resource + "); this jar carries: " + carried() + ". Use"
                    + " the jar built by `make dist`, which carries every Linux platform, or build"
                    + " libbaton from source (docs/building.md) and start the JVM with -D"
                    + PATH_PROPERTY + "=/path/to/libbaton.so");
            }
            bytes = in.readAllBytes();
        } catch (IOException e) {
            throw new NativeLibraryException("could not read " + resource + " from baton's jar: " + e, e);
        }
        String hash = sha256(bytes).substring(0, 16);
        try {
            Path home = privateDir(dir);
            Path target = home.resolve("libbaton-" + hash + ".so");
            if (isOurs(target, FILE_MODE) && hash.equals(sha256(Files.readAllBytes(target)).substring(0, 16))) {
                return target;
            }
            // Write beside the target, then rename: a concurrent JVM never loads a partial file.
            Path tmp = Files.createTempFile(home, "libbaton-", ".tmp", attrs(FILE_MODE));
            try {
                try (OutputStream out = Files.newOutputStream(tmp)) {
                    out.write(bytes);
                }
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } finally {
                Files.deleteIfExists(tmp);
            }
            return target;
        } catch (IOException | UnsupportedOperationException e) {
            throw new NativeLibraryException("could not extract baton's native library into " + dir
                + ": " + e + ". Start the JVM with -D" + DIR_PROPERTY
                + "=<a writable private directory>, or -D" + PATH_PROPERTY + "=/path/to/libbaton.so", e);
        }
    }

    /**
     * {@code dir} if it is a directory of ours with mode 0700 (creating it if absent); otherwise
     * a fresh private directory inside its parent, so a directory planted by another user is
     * never trusted.
     */
    private static Path privateDir(Path dir) throws IOException {
        Path parent = dir.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        try {
            Files.createDirectory(dir, attrs(DIR_MODE));
        } catch (FileAlreadyExistsException e) {
            // Checked below.
        }
        if (isOurs(dir, DIR_MODE)) {
            return dir;
        }
        Path fresh = Files.createTempDirectory(parent, dir.getFileName() + "-", attrs(DIR_MODE));
        fresh.toFile().deleteOnExit();
        return fresh;
    }

    /** Whether {@code p} exists (not as a symlink), belongs to this user and has exactly {@code mode}. */
    private static boolean isOurs(Path p, Set<PosixFilePermission> mode) throws IOException {
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        PosixFileAttributes a = Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        boolean kind = mode.contains(PosixFilePermission.OWNER_EXECUTE) ? a.isDirectory() : a.isRegularFile();
        return kind && a.permissions().equals(mode) && a.owner().equals(currentUser(p));
    }

    /**
     * This process's user. By name first; a container user without a passwd entry has no
     * usable name, so then by the owner of a file we create.
     */
    private static UserPrincipal currentUser(Path near) throws IOException {
        try {
            return near.getFileSystem().getUserPrincipalLookupService()
                .lookupPrincipalByName(System.getProperty("user.name"));
        } catch (IOException e) {
            Path probe = Files.createTempFile(".baton-probe-", null);
            try {
                return Files.getOwner(probe);
            } finally {
                Files.deleteIfExists(probe);
            }
        }
    }

    private static FileAttribute<Set<PosixFilePermission>> attrs(Set<PosixFilePermission> mode) {
        return PosixFilePermissions.asFileAttribute(mode);
    }

    /** {@code System.load} with an exception that says what to do. */
    static void loadFrom(Path library) {
        Path abs = library.toAbsolutePath();
        if (!Files.isRegularFile(abs)) {
            throw new NativeLibraryException("baton's native library " + abs + " does not exist or is"
                + " not a file; fix -D" + PATH_PROPERTY + " or remove it to use the bundled library");
        }
        try {
            System.load(abs.toString());
        } catch (UnsatisfiedLinkError e) {
            throw new NativeLibraryException("could not load baton's native library " + abs + ": "
                + e.getMessage() + ". If its directory is on a filesystem mounted noexec (common for"
                + " /tmp on hardened hosts), start the JVM with -D" + DIR_PROPERTY
                + "=<a private directory on an executable filesystem>, or -D" + PATH_PROPERTY
                + "=/path/to/libbaton.so", e);
        }
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every Java platform", e);
        }
    }
}
