package dev.baton;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every native entry point, in a JVM run with -Xcheck:jni whose output must be clean. */
class JniCheckTest {
    /** What HotSpot prints when -Xcheck:jni finds misuse. */
    static final List<String> JNI_COMPLAINTS =
        List.of("WARNING in native method", "FATAL ERROR in native method", "JNI local refs");

    static void assertNoJniComplaints(String output) {
        for (String complaint : JNI_COMPLAINTS) {
            assertFalse(output.contains(complaint), "-Xcheck:jni reported '" + complaint + "':\n" + output);
        }
    }

    static String java() {
        return Paths.get(System.getProperty("java.home"), "bin", "java").toString();
    }

    @Test
    void everyEntryPointIsCleanUnderXcheckJni(@TempDir Path tmp) throws Exception {
        try (RedisServer redis = RedisServer.start()) {
            Path out = tmp.resolve("out.txt");
            Process p = new ProcessBuilder(java(), "-Xcheck:jni", "-cp", System.getProperty("baton.test.classpath"),
                    JniExercise.class.getName(), redis.url())
                .redirectErrorStream(true)
                .redirectOutput(out.toFile())
                .start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
            }
            String output = Files.readString(out, StandardCharsets.UTF_8);
            assertEquals(0, p.exitValue(), output);
            assertTrue(output.contains("OK "), output);
            assertNoJniComplaints(output);
        }
    }
}
