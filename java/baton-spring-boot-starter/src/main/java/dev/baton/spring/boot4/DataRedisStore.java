package dev.baton.spring.boot4;

import dev.baton.spring.autoconfigure.RedisConnectionDetailsStore;
import dev.baton.spring.autoconfigure.RedisSettings;
import dev.baton.spring.autoconfigure.StoreUrl;
import java.util.List;
import org.springframework.boot.data.redis.autoconfigure.DataRedisConnectionDetails;
import org.springframework.util.StringUtils;

/**
 * baton's store from Spring Boot 4's {@link DataRedisConnectionDetails}: Sentinel first, then
 * Cluster, then the standalone server, as Spring Data Redis reads them.
 */
final class DataRedisStore implements RedisConnectionDetailsStore {
    private final DataRedisConnectionDetails details;

    DataRedisStore(DataRedisConnectionDetails details) {
        this.details = details;
    }

    @Override
    public StoreUrl storeUrl(RedisSettings settings) {
        return of(details, settings);
    }

    static StoreUrl of(DataRedisConnectionDetails details, RedisSettings settings) {
        String source = StoreUrl.source(details.getClass(), settings);
        boolean tls = details.getSslBundle() != null || StoreUrl.tls(settings);
        if (details.getSentinel() != null) {
            DataRedisConnectionDetails.Sentinel t = details.getSentinel();
            return StoreUrl.sentinel(tls, StringUtils.hasLength(t.getPassword()), details.getUsername(),
                details.getPassword(), nodes(t.getNodes()), t.getMaster(), t.getDatabase(), source);
        }
        if (details.getCluster() != null) {
            return StoreUrl.cluster(tls, details.getUsername(), details.getPassword(),
                nodes(details.getCluster().getNodes()), source);
        }
        DataRedisConnectionDetails.Standalone s = details.getStandalone();
        if (s == null) {
            return null; // a shape baton does not follow (master/replica): spring.data.redis.* decides
        }
        return StoreUrl.standalone(tls, details.getUsername(), details.getPassword(), s.getHost(), s.getPort(),
            s.getDatabase(), source);
    }

    private static List<StoreUrl.Node> nodes(List<DataRedisConnectionDetails.Node> nodes) {
        return nodes.stream().map(n -> new StoreUrl.Node(n.host(), n.port())).toList();
    }
}
