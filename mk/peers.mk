# `make bench-peers` (issue 16): baton against the libraries users would pick instead
# (Redisson, Spring Integration on Redis and on PostgreSQL, ShedLock, Curator) and a
# hand-written raw-Redis floor, each candidate a JVM of its own, one table (docs/bench-peers.md).
# 808 s measured on the quiet 2-core VM, 999 s at load average ~8 (docs/bench-peers.md); not
# part of `make test`, which only compiles the harness (compile-bench-peers, ~30 s once deps
# are cached).
# Round counts: make bench-peers PEERS_ARGS="rounds=50 crashRounds=5 pauseRounds=2 idleWindow=30"

PEERS_DIR := $(JAVA_DIR)/baton-peer-bench
PEERS_ARGS ?=
# The PostgreSQL columns' server (Debian's package; the bench starts it as a plain process).
PEERS_DEPS := pg_ctlcluster:postgresql

.PHONY: bench-peers compile-bench-peers peers-deps

peers-deps:
	@BATON_EXTRA_DEPS="$(PEERS_DEPS)" scripts/deps.sh

compile-bench-peers: spring-install-java
	$(MVN) $(MVN_FLAGS) -f $(JAVA_DIR)/pom.xml -Ppeers -pl baton-peer-bench package -DskipTests

TEST_TARGETS += compile-bench-peers

bench-peers: deps java-deps peers-deps spring-install-java
	$(MVN) $(MVN_FLAGS) -f $(JAVA_DIR)/pom.xml -Ppeers -pl baton-peer-bench package -DskipTests
	cd $(PEERS_DIR) && java -cp target/classes:$$(cat target/classpath.txt) dev.baton.peers.PeerBench $(PEERS_ARGS)
