# ZooKeeper store (issue 13): the store suite and ZooKeeper's own faults (tests/zookeeper.rs)
# against real servers from Debian's zookeeper package, a standalone server and a three-node
# ensemble started by testkit. `make test-rust` skips that binary (BATON_SKIP_ZOOKEEPER=1);
# this target runs it.

ZOOKEEPER_DEPS := zooinspector:zookeeper java:default-jre-headless

.PHONY: zookeeper-deps test-zookeeper

zookeeper-deps:
	@BATON_EXTRA_DEPS="$(ZOOKEEPER_DEPS)" scripts/deps.sh

test-zookeeper: deps zookeeper-deps
	$(CARGO) test --release --test zookeeper

TEST_TARGETS += test-zookeeper
