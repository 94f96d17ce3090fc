# Chaos: the long fault-injection run and its safety checker (docs/chaos.md). The short run
# (about three minutes, a fixed seed plus a random one) is tests/chaos.rs, part of test-rust.
# make chaos DURATION=60m            a longer run
# make chaos SEED=123 DURATION=10m   replays a run's fault schedule
# make test-chaos-mutants            the mutation check (part of make test): every
#                                    purpose-broken engine must fail the checker

DURATION ?= 12m
SEED ?=

.PHONY: chaos test-chaos-mutants

chaos: deps
	$(CARGO) run --release --quiet --example chaos -- --duration $(DURATION) $(if $(SEED),--seed $(SEED))

# Builds the library a second time with the mutants feature (switches compiled out otherwise).
test-chaos-mutants: deps
	$(CARGO) test --release --features mutants --test chaos_mutants

TEST_TARGETS += test-chaos-mutants
