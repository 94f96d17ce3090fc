package dev.baton;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NativeLoaderTest {
    @Test
    void supportedPlatformsMapToTheirDirectory() {
        assertEquals("linux-x86_64", NativeLoader.platform("Linux", "amd64"));
        assertEquals("linux-x86_64", NativeLoader.platform("Linux", "x86_64"));
        assertEquals("linux-aarch64", NativeLoader.platform("Linux", "aarch64"));
    }

    @Test
    void anUnsupportedPlatformSaysWhatToDo() {
        NativeLibraryException e = assertThrows(NativeLibraryException.class,
            () -> NativeLoader.platform("Windows 11", "amd64"));
        assertTrue(e.getMessage().contains("Windows 11"), e.getMessage());
        assertTrue(e.getMessage().contains(NativeLoader.PATH_PROPERTY), e.getMessage());
    }

    @Test
    void extractsPrivatelyUnderAContentHashAndReusesIt(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("baton-me");
        Path lib = NativeLoader.extract("linux-x86_64", dir);
        assertEquals(dir, lib.getParent());
        assertTrue(lib.getFileName().toString().matches("libbaton-[0-9a-f]{16}\\.so"), lib.toString());
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(lib)));
        assertEquals(lib, NativeLoader.extract("linux-x86_64", dir));
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "no temporary files left behind");
        }
        // A corrupted copy is replaced, not loaded.
        Files.write(lib, new byte[] {1, 2, 3});
        assertEquals(lib, NativeLoader.extract("linux-x86_64", dir));
        assertTrue(Files.size(lib) > 3);
    }

    @Test
    void aDirectoryOthersCanWriteIsNotTrusted(@TempDir Path tmp) throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("baton-shared"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path lib = NativeLoader.extract("linux-x86_64", dir);
        assertNotEquals(dir, lib.getParent());
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(lib.getParent())));
    }

    @Test
    void aMissingPlatformLibrarySaysWhatToDo(@TempDir Path tmp) {
        NativeLibraryException e = assertThrows(NativeLibraryException.class,
            () -> NativeLoader.extract("plan9-mips", tmp));
        assertTrue(e.getMessage().contains(NativeLoader.PATH_PROPERTY), e.getMessage());
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
