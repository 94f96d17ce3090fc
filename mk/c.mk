# The C ABI (issue 3): the library, the checked-in header's freshness, the C test under
# valgrind, and the Python (ctypes) and Go (cgo) bindings, each against its own redis-server.

C_OUT := target/c
C_FLAGS := -std=c11 -Wall -Wextra -Werror -g -Iinclude
C_LINK := -Ltarget/release -lbaton -Wl,-rpath,$(CURDIR)/target/release -lpthread -lm
# Runtime-thread statics may stay "still reachable"; definite and indirect leaks fail the run.
VALGRIND := valgrind --quiet --error-exitcode=1 --leak-check=full \
  --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect

.PHONY: c-deps c-lib c-header-fresh test-c test-python test-go

# Tools beyond scripts/deps.sh's (command:package pairs), installed when missing.
c-deps:
	@BATON_EXTRA_DEPS="cc:gcc valgrind:valgrind python3:python3 $(BATON_EXTRA_DEPS)" scripts/deps.sh

# Builds target/release/libbaton.so; build.rs regenerates include/baton.h on the way.
c-lib:
	$(CARGO) build --release --lib

# The header in git must be the one the build just generated.
c-header-fresh: c-lib
	@if git ls-files --error-unmatch include/baton.h >/dev/null 2>&1; then \
	  git diff --exit-code --stat -- include/baton.h || { \
	    echo "include/baton.h is stale: the build regenerated it from src/ffi/c; commit the new one" >&2; \
	    exit 1; }; \
	else echo "note: include/baton.h is not in git yet; commit it so that staleness is caught" >&2; fi

test-c: c-deps c-lib c-header-fresh
	@mkdir -p $(C_OUT)
	cc $(C_FLAGS) -pedantic -fsyntax-only -x c -std=c99 include/baton.h
	c++ -Wall -Wextra -Werror -Iinclude -fsyntax-only -x c++ include/baton.h
	cc $(C_FLAGS) tests/c/test_baton.c -o $(C_OUT)/test_baton $(C_LINK)
	$(call doc_example,c) > $(C_OUT)/example.c
	cc $(C_FLAGS) $(C_OUT)/example.c -o $(C_OUT)/example $(C_LINK)
	tests/c/with-redis.sh $(VALGRIND) $(C_OUT)/test_baton
	tests/c/with-redis.sh sh -c '$(C_OUT)/example "$$BATON_TEST_REDIS_URL" 2'

# Each example in docs/c-abi.md is extracted, built and run for two rounds of leadership.
doc_example = awk '/^```$(1)$$/{on=1; next} /^```/{on=0} on' docs/c-abi.md

test-python: c-deps c-lib
	@python3 -c 'import pytest' 2>/dev/null || python3 -m pip install --quiet pytest
	PYTHONDONTWRITEBYTECODE=1 python3 -m pytest -q -p no:cacheprovider tests/python
	@mkdir -p $(C_OUT)
	$(call doc_example,python) > $(C_OUT)/example.py
	tests/c/with-redis.sh sh -c 'PYTHONPATH=tests/python python3 $(C_OUT)/example.py "$$BATON_TEST_REDIS_URL" 2'

GO_EXAMPLE := $(C_OUT)/go-example
test-go: c-deps c-lib
	@command -v go >/dev/null 2>&1 || BATON_EXTRA_DEPS="go:golang-go" scripts/deps.sh
	cd tests/go && go vet ./... && go test -count=1 ./...
	@mkdir -p $(GO_EXAMPLE)
	$(call doc_example,go) > $(GO_EXAMPLE)/main.go
	printf 'module example.com/leader\n\ngo 1.22\n\nrequire example.com/baton v0.0.0\n\nreplace example.com/baton => $(CURDIR)/tests/go\n' > $(GO_EXAMPLE)/go.mod
	cd $(GO_EXAMPLE) && go build -o leader .
	tests/c/with-redis.sh sh -c '$(GO_EXAMPLE)/leader "$$BATON_TEST_REDIS_URL" 2'

TEST_TARGETS += test-c test-python test-go
