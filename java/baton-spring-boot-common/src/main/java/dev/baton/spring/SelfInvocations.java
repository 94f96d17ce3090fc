package dev.baton.spring;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.springframework.asm.ClassReader;
import org.springframework.asm.ClassVisitor;
import org.springframework.asm.MethodVisitor;
import org.springframework.asm.Opcodes;
import org.springframework.asm.SpringAsmInfo;
import org.springframework.asm.Type;

/**
 * Finds calls from a bean's own code to its leader-only methods ({@code this.job()}): such a
 * call does not go through the proxy, so no leader check runs and the method runs on every
 * instance. Reads the class files of the bean's class and its superclasses with Spring's ASM.
 *
 * <p>A call counts when it names a leader-only method of the class hierarchy and comes from a
 * method that is not guarded by the same election: a non-private method (an entry point a proxy
 * would not guard), or a lambda body (run later, typically by an executor). Calls from private
 * helpers are left out, as those usually run inside a guarded method already. A call on
 * another instance of the same class looks the same in bytecode; that rare case is reported too.
 */
final class SelfInvocations {
    private SelfInvocations() {}

    /**
     * The self-invocations of {@code type}.
     *
     * @param type the bean's user class
     * @param guarded each leader-only method, with its election's name
     * @return one line per call: {@code caller() calls job() through this}
     */
    static List<String> find(Class<?> type, Map<Method, String> guarded) {
        Map<String, String> electionOf = new java.util.HashMap<>(); // name + descriptor -> election
        for (Map.Entry<Method, String> e : guarded.entrySet()) {
            electionOf.put(e.getKey().getName() + Type.getMethodDescriptor(e.getKey()), e.getValue());
        }
        Set<String> owners = new HashSet<>();
        for (Class<?> c = type; c != null && c != Object.class; c = c.getSuperclass()) {
            owners.add(Type.getInternalName(c));
        }
        List<String> found = new ArrayList<>();
        for (Class<?> c = type; c != null && c != Object.class && !c.getName().startsWith("java."); c = c.getSuperclass()) {
            byte[] bytes = classFile(c);
            if (bytes != null) {
                scan(c, bytes, owners, electionOf, found);
            }
        }
        return found;
    }

    private static byte[] classFile(Class<?> c) {
        ClassLoader loader = c.getClassLoader() != null ? c.getClassLoader() : ClassLoader.getSystemClassLoader();
        try (InputStream in = loader.getResourceAsStream(Type.getInternalName(c) + ".class")) {
            return in == null ? null : in.readAllBytes();
        } catch (IOException unreadable) {
            return null; // nothing to report on what cannot be read
        }
    }

    private static void scan(Class<?> c, byte[] bytes, Set<String> owners, Map<String, String> electionOf,
            List<String> found) {
        new ClassReader(bytes).accept(new ClassVisitor(SpringAsmInfo.ASM_VERSION) {
            @Override
            public MethodVisitor visitMethod(int access, String name, String descriptor, String signature,
                    String[] exceptions) {
                boolean lambda = name.startsWith("lambda$");
                if ((access & Opcodes.ACC_PRIVATE) != 0 && !lambda || (access & Opcodes.ACC_STATIC) != 0 && !lambda
                        || (access & Opcodes.ACC_BRIDGE) != 0) {
                    return null;
                }
                String callerElection = electionOf.get(name + descriptor);
                return new MethodVisitor(SpringAsmInfo.ASM_VERSION) {
                    @Override
                    public void visitMethodInsn(int opcode, String owner, String callee, String calleeDescriptor,
                            boolean isInterface) {
                        if (opcode == Opcodes.INVOKESTATIC || !owners.contains(owner)) {
                            return;
                        }
                        String election = electionOf.get(callee + calleeDescriptor);
                        if (election != null && !election.equals(callerElection)) {
                            found.add((lambda ? "a lambda in " : "") + c.getSimpleName() + "."
                                + (lambda ? lambdaHost(name) : name) + "() calls leader-only " + callee
                                + "() on this object");
                        }
                    }
                };
            }
        }, ClassReader.SKIP_DEBUG | ClassReader.SKIP_FRAMES);
    }

    /** {@code lambda$tick$0} was written inside {@code tick}. */
    private static String lambdaHost(String lambda) {
        String[] parts = lambda.split("\\$");
        return parts.length > 1 ? parts[1] : lambda;
    }
}
