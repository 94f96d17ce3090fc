# ZooKeeper store (issue 13): the store suite and ZooKeeper's own faults (tests/zookeeper.rs)
# against real servers from Debian's zookeeper package, a standalone server and a three-node
# ensemble started by testkit. `make test-rust` skips that binary (BATON_SKIP_ZOOKEEPER=1);
# this target runs it, then the chaos run's ZooKeeper phase (about 25 s, CI's seed) against a
# three-server ensemble (docs/chaos.md).

ZOOKEEPER_DEPS := zooinspector:zookeeper java:default-jre-headless

.PHONY: zookeeper-deps test-zookeeper

zookeeper-deps:
	@BATON_EXTRA_DEPS="$(ZOOKEEPER_DEPS)" scripts/deps.sh

test-zookeeper: deps zookeeper-deps
	$(CARGO) test --release --test zookeeper
	BATON_CHAOS_PHASES=zookeeper BATON_CHAOS_SEED=20261201 $(CARGO) test --release --test chaos

TEST_TARGETS += test-zookeeper
