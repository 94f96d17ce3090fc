package dev.baton;

/**
 * The store refused baton's credentials or permissions: a wrong user or password
 * ({@code WRONGPASS}), none given where one is required ({@code NOAUTH}), or an ACL user that
 * lacks a command, key or channel baton needs ({@code NOPERM}). Retrying does not help; fixing
 * the credentials or the ACL (the README has the exact {@code ACL SETUSER} line) does.
 */
public class StoreAuthenticationException extends BatonException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message the store URL and what the store answered
     */
    public StoreAuthenticationException(String message) {
        super(message);
    }

    /** Whether a store error's message carries one of Redis's refusal codes (any case: "NoPerm"). */
    static boolean isRefusal(String message) {
        if (message == null) {
            return false;
        }
        String m = message.toUpperCase(java.util.Locale.ROOT);
        return m.contains("WRONGPASS") || m.contains("NOAUTH") || m.contains("NOPERM");
    }
}
