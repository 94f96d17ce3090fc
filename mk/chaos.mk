# Chaos: the long fault-injection run and its safety checker (docs/chaos.md). The short run
# (about two minutes, a fixed seed plus a random one) is tests/chaos.rs, part of test-rust.
# make chaos DURATION=30m            a longer run
# make chaos SEED=123 DURATION=10m   replays a run's fault schedule

DURATION ?= 12m
SEED ?=

.PHONY: chaos

chaos: deps
	$(CARGO) run --release --quiet --example chaos -- --duration $(DURATION) $(if $(SEED),--seed $(SEED))
