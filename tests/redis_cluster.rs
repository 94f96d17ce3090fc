//! The store suite against a real six-node Redis Cluster (three masters, three replicas),
//! reached through a seed list and through a single seed node.

mod suite;

use baton_testkit::RedisCluster;

#[test]
fn the_store_suite_passes_on_a_cluster() {
    let cluster = RedisCluster::start();
    let seeds = cluster.url();
    let single_seed = cluster.nodes[4].url();
    for url in [seeds.as_str(), single_seed.as_str()] {
        let tag = if url.contains(',') { "seeds" } else { "single" };
        suite::one_leader_among_three(url, &format!("one-{tag}"));
        suite::close_hands_over_with_a_larger_token(url, &format!("close-{tag}"));
        suite::resign_hands_over(url, &format!("resign-{tag}"));
        suite::a_resign_request_reaches_the_leader(url, &format!("ask-{tag}"));
        suite::status_reads_the_holder(url, &format!("status-{tag}"));
        let name = format!("wipe-{tag}");
        suite::tokens_grow_after_the_store_lost_its_keys(url, &name, &|| {
            // The election's keys vanish, as after a failover to a replica that missed them.
            let lease = format!("baton:{{{name}}}:lease");
            let node = &cluster.nodes[cluster.master_for(&lease)];
            node.cmd(&["DEL", &lease, &format!("baton:{{{name}}}:token")]);
        });
        suite::many_elections_share_a_connection(url, &format!("many-{tag}"), &|| 0);
    }
}
