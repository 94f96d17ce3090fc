# ZooKeeper store (issue 13): the store suite and ZooKeeper's own faults (tests/zookeeper.rs)
# against real servers from Debian's zookeeper package, a standalone server and a three-node
# ensemble started by testkit. `make test-rust` skips that binary (BATON_SKIP_ZOOKEEPER=1);
# this target runs it, then the chaos run's ZooKeeper phase against a three-server ensemble
# with CI's fixed seed (about 30 s; docs/chaos.md, "The ZooKeeper phase").
# make chaos-zookeeper [SEED=N]   only that phase, CI's seed unless SEED is given

ZOOKEEPER_DEPS := zooinspector:zookeeper java:default-jre-headless

.PHONY: zookeeper-deps test-zookeeper chaos-zookeeper

zookeeper-deps:
	@BATON_EXTRA_DEPS="$(ZOOKEEPER_DEPS)" scripts/deps.sh

ZOOKEEPER_CHAOS = BATON_CHAOS_PHASES=zookeeper $(CARGO) test --release --test chaos -- chaos_short_run

test-zookeeper: deps zookeeper-deps
	$(CARGO) test --release --test zookeeper
	BATON_CHAOS_SEED=20261201 $(ZOOKEEPER_CHAOS)

chaos-zookeeper: deps zookeeper-deps
	BATON_CHAOS_SEED=$(or $(SEED),20261201) $(ZOOKEEPER_CHAOS)

TEST_TARGETS += test-zookeeper
