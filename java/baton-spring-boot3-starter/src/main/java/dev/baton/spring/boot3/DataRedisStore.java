package dev.baton.spring.boot3;

import dev.baton.spring.autoconfigure.RedisConnectionDetailsStore;
import dev.baton.spring.autoconfigure.RedisSettings;
import dev.baton.spring.autoconfigure.StoreUrl;
import java.util.List;
import org.springframework.boot.autoconfigure.data.redis.RedisConnectionDetails;
import org.springframework.util.StringUtils;

/**
 * baton's store from Spring Boot 3's {@link RedisConnectionDetails}: Sentinel first, then
 * Cluster, then the standalone server, as Spring Data Redis reads them.
 */
final class DataRedisStore implements RedisConnectionDetailsStore {
    private final RedisConnectionDetails details;

    DataRedisStore(RedisConnectionDetails details) {
        this.details = details;
    }

    @Override
    public StoreUrl storeUrl(RedisSettings settings) {
        return of(details, settings);
    }

    static StoreUrl of(RedisConnectionDetails details, RedisSettings settings) {
        String source = StoreUrl.source(details.getClass(), settings);
        // Only spring.data.redis.ssl / rediss:// say TLS: the details' getSslBundle() exists since
        // Boot 3.5 only, and calling it on 3.2-3.4 fails with NoSuchMethodError.
        boolean tls = StoreUrl.tls(settings);
        if (details.getSentinel() != null) {
            RedisConnectionDetails.Sentinel t = details.getSentinel();
            return StoreUrl.sentinel(tls, StringUtils.hasLength(t.getPassword()), details.getUsername(),
                details.getPassword(), nodes(t.getNodes()), t.getMaster(), t.getDatabase(), source);
        }
        if (details.getCluster() != null) {
            return StoreUrl.cluster(tls, details.getUsername(), details.getPassword(),
                nodes(details.getCluster().getNodes()), source);
        }
        RedisConnectionDetails.Standalone s = details.getStandalone();
        if (s == null) {
            return null; // a shape baton does not follow (master/replica): spring.data.redis.* decides
        }
        return StoreUrl.standalone(tls, details.getUsername(), details.getPassword(), s.getHost(), s.getPort(),
            s.getDatabase(), source);
    }

    private static List<StoreUrl.Node> nodes(List<RedisConnectionDetails.Node> nodes) {
        return nodes.stream().map(n -> new StoreUrl.Node(n.host(), n.port())).toList();
    }
}
