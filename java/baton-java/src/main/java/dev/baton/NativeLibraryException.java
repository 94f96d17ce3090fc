package dev.baton;

/**
 * baton's native library could not be found, extracted or loaded. The message says why and
 * which system property fixes it ({@code baton.native.path} or {@code baton.native.dir}).
 */
public class NativeLibraryException extends BatonException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what failed and how to fix it
     */
    public NativeLibraryException(String message) {
        super(message);
    }

    /**
     * Creates the exception with its cause.
     *
     * @param message what failed and how to fix it
     * @param cause the underlying failure
     */
    public NativeLibraryException(String message, Throwable cause) {
        super(message, cause);
    }
}
