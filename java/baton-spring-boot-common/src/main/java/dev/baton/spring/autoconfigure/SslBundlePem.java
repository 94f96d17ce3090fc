package dev.baton.spring.autoconfigure;

import java.security.Key;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.UnrecoverableKeyException;
import java.security.cert.Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import org.springframework.boot.ssl.SslBundle;
import org.springframework.boot.ssl.SslBundleKey;
import org.springframework.boot.ssl.SslStoreBundle;

/**
 * A Spring SSL bundle's trust and key material as PEM text, which is what baton's core takes.
 * Works for JKS, PKCS#12 and PEM bundles alike: Spring exposes each as KeyStores.
 *
 * @param caPem every trusted certificate of the bundle's trust store, or null if it has none
 * @param certPem the client certificate chain of the bundle's key store, or null if it has none
 * @param keyPem that certificate's private key (PKCS#8), or null if the bundle has none
 */
public record SslBundlePem(String caPem, String certPem, String keyPem) {
    private static final Base64.Encoder MIME = Base64.getMimeEncoder(64, new byte[] {'\n'});

    /**
     * Converts a bundle.
     *
     * @param name the bundle's name, for error messages
     * @param bundle the bundle
     * @return its material as PEM
     * @throws IllegalStateException if a store cannot be read, naming the bundle and the fix
     */
    public static SslBundlePem of(String name, SslBundle bundle) {
        SslStoreBundle stores = bundle.getStores();
        try {
            String ca = trusted(stores.getTrustStore());
            KeyStore keys = stores.getKeyStore();
            if (keys == null) {
                return new SslBundlePem(ca, null, null);
            }
            SslBundleKey bundleKey = bundle.getKey();
            String alias = bundleKey.getAlias() != null ? bundleKey.getAlias() : firstKeyAlias(keys, name);
            String password = bundleKey.getPassword() != null ? bundleKey.getPassword()
                : stores.getKeyStorePassword();
            Key key = key(keys, alias, password);
            if (!(key instanceof PrivateKey privateKey) || privateKey.getEncoded() == null) {
                throw new IllegalStateException("SSL bundle '" + name + "' has no readable private key under alias '"
                    + alias + "'; set spring.ssl.bundle.*." + name + ".key.alias (and .key.password) to the client key");
            }
            StringBuilder chain = new StringBuilder();
            for (Certificate c : keys.getCertificateChain(alias)) {
                chain.append(pem("CERTIFICATE", c.getEncoded()));
            }
            return new SslBundlePem(ca, chain.toString(), pem("PRIVATE KEY", privateKey.getEncoded()));
        } catch (IllegalStateException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException("SSL bundle '" + name + "' cannot be read as PEM (" + e
                + "); check its key store, trust store and key password", e);
        }
    }

    /** A PEM bundle's in-memory key store may hold its key under no password at all. */
    private static Key key(KeyStore keys, String alias, String password) throws Exception {
        if (password != null) {
            return keys.getKey(alias, password.toCharArray());
        }
        try {
            return keys.getKey(alias, null);
        } catch (UnrecoverableKeyException | RuntimeException e) {
            return keys.getKey(alias, new char[0]);
        }
    }

    private static String trusted(KeyStore trust) throws Exception {
        if (trust == null) {
            return null;
        }
        StringBuilder pem = new StringBuilder();
        for (String alias : Collections.list(trust.aliases())) {
            Certificate c = trust.getCertificate(alias);
            if (c != null) {
                pem.append(pem("CERTIFICATE", c.getEncoded()));
            }
        }
        return pem.isEmpty() ? null : pem.toString();
    }

    private static String firstKeyAlias(KeyStore keys, String name) throws Exception {
        List<String> aliases = new ArrayList<>();
        for (String alias : Collections.list(keys.aliases())) {
            if (keys.isKeyEntry(alias)) {
                aliases.add(alias);
            }
        }
        if (aliases.size() != 1) {
            throw new IllegalStateException("SSL bundle '" + name + "' has " + aliases.size()
                + " private keys " + aliases + "; set spring.ssl.bundle.*." + name + ".key.alias to the client key's alias");
        }
        return aliases.get(0);
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + MIME.encodeToString(der) + "\n-----END " + type + "-----\n";
    }
}
