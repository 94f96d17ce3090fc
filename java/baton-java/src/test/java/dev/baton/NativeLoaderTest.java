package dev.baton;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NativeLoaderTest {
    private static final String HOST = NativeLoader.hostPlatform();

    @Test
    void supportedPlatformsMapToTheirDirectoryByArchAndLibc() {
        assertEquals("linux-x86_64-gnu", NativeLoader.platform("Linux", "amd64", "gnu"));
        assertEquals("linux-x86_64-gnu", NativeLoader.platform("Linux", "x86_64", "gnu"));
        assertEquals("linux-aarch64-gnu", NativeLoader.platform("Linux", "aarch64", "gnu"));
        assertEquals("linux-x86_64-musl", NativeLoader.platform("Linux", "amd64", "musl"));
        assertEquals("linux-aarch64-musl", NativeLoader.platform("Linux", "arm64", "musl"));
    }

    @Test
    void theLibcIsReadFromTheProcessMaps() {
        List<String> musl = List.of(
            "7f0000000000-7f0000001000 r-xp 00000000 08:01 123 /usr/lib/jvm/lib/server/libjvm.so",
            "7f1000000000-7f1000001000 r-xp 00000000 08:01 456 /lib/ld-musl-aarch64.so.1");
        List<String> glibc = List.of(
            "7f0000000000-7f0000001000 r-xp 00000000 08:01 123 /usr/lib/x86_64-linux-gnu/libc.so.6",
            "7f1000000000-7f1000001000 r-xp 00000000 08:01 456 /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
        assertEquals("musl", NativeLoader.libcFromMaps(musl));
        assertEquals("gnu", NativeLoader.libcFromMaps(glibc));
        // This JVM runs on glibc (the build host).
        assertEquals("gnu", NativeLoader.libc());
    }

    @Test
    void anUnsupportedPlatformNamesItsLibcAndWhatTheJarCarries() {
        NativeLibraryException e = assertThrows(NativeLibraryException.class,
            () -> NativeLoader.platform("Windows 11", "amd64", "unknown"));
        assertTrue(e.getMessage().contains("Windows 11 amd64"), e.getMessage());
        assertTrue(e.getMessage().contains("this jar carries: " + NativeLoader.carried()), e.getMessage());
        assertTrue(e.getMessage().contains(NativeLoader.PATH_PROPERTY), e.getMessage());
        assertTrue(e.getMessage().contains("docs/building.md"), e.getMessage());
        assertFalse(e.getMessage().contains("noexec"), e.getMessage());
    }

    @Test
    void theJarListsThePlatformsItCarries() {
        String host = NativeLoader.hostPlatform();
        assertTrue(NativeLoader.carried().contains(host), NativeLoader.carried());
    }

    @Test
    void extractsPrivatelyUnderAContentHashAndReusesIt(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("baton-me");
        Path lib = NativeLoader.extract(HOST, dir);
        assertEquals(dir, lib.getParent());
        assertTrue(lib.getFileName().toString().matches("libbaton-[0-9a-f]{16}\\.so"), lib.toString());
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(lib)));
        assertEquals(lib, NativeLoader.extract(HOST, dir));
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "no temporary files left behind");
        }
        // A corrupted copy is replaced, not loaded.
        Files.write(lib, new byte[] {1, 2, 3});
        assertEquals(lib, NativeLoader.extract(HOST, dir));
        assertTrue(Files.size(lib) > 3);
    }

    @Test
    void aDirectoryOthersCanWriteIsNotTrusted(@TempDir Path tmp) throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("baton-shared"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path lib = NativeLoader.extract(HOST, dir);
        assertNotEquals(dir, lib.getParent());
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(lib.getParent())));
    }

    @Test
    void aMissingPlatformLibrarySaysWhatToDo(@TempDir Path tmp) {
        NativeLibraryException e = assertThrows(NativeLibraryException.class,
            () -> NativeLoader.extract("linux-riscv64-musl", tmp));
        assertTrue(e.getMessage().contains("linux-riscv64-musl"), e.getMessage());
        assertTrue(e.getMessage().contains("this jar carries: " + NativeLoader.carried()), e.getMessage());
        assertTrue(e.getMessage().contains(NativeLoader.PATH_PROPERTY), e.getMessage());
        assertFalse(e.getMessage().contains("noexec"), e.getMessage());
    }

    @Test
    void aBadLibraryPathSaysWhatToDo(@TempDir Path tmp) throws Exception {
        NativeLibraryException missing = assertThrows(NativeLibraryException.class,
            () -> NativeLoader.loadFrom(tmp.resolve("nope.so")));
        assertTrue(missing.getMessage().contains(NativeLoader.PATH_PROPERTY), missing.getMessage());
        // An ELF file dlopen refuses (an executable), without HotSpot's warnings about text files.
        Path notALibrary = Files.copy(Path.of("/bin/true"), tmp.resolve("libfake.so"));
        NativeLibraryException bad = assertThrows(NativeLibraryException.class,
            () -> NativeLoader.loadFrom(notALibrary));
        assertTrue(bad.getMessage().contains("noexec"), bad.getMessage());
        assertTrue(bad.getMessage().contains(NativeLoader.DIR_PROPERTY), bad.getMessage());
    }

    @Test
    void loadingTwiceIsHarmless() {
        NativeLoader.load();
        NativeLoader.load();
        assertTrue(Native.version().matches("\\d+\\.\\d+\\.\\d+.*"), Native.version());
    }
}
