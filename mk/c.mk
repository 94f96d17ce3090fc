# The C ABI (issue 3): the library, the checked-in header's freshness, the C test under
# valgrind, and the Python (ctypes) and Go (cgo) bindings, each against its own redis-server.

C_OUT := target/c
C_FLAGS := -std=c11 -Wall -Wextra -Werror -g -Iinclude
C_LINK := -Ltarget/release -lbaton -Wl,-rpath,$(CURDIR)/target/release -lpthread -lm
# Runtime-thread statics may stay "still reachable"; definite and indirect leaks fail the run.
VALGRIND := valgrind --quiet --error-exitcode=1 --leak-check=full --suppressions=tests/c/valgrind.supp \
  --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect

.PHONY: c-deps c-lib c-header-fresh test-c test-c-install test-python test-go install

# `make install PREFIX=/usr/local` (DESTDIR honoured): the header, libbaton.so.$(C_SOVERSION)
# with its SONAME and symlinks, libbaton.a and baton.pc, from this host's release build (or
# the libraries in C_LIB_DIR: `make c-dist` ships native-all's portable ones).
PREFIX ?= /usr/local
C_LIB_DIR ?= target/release
C_VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
C_SOVERSION := $(shell sed -n 's/^const SOVERSION: u32 = \([0-9]*\);/\1/p' build.rs)
# What Rust's std needs when a program links libbaton.a (rustc --print native-static-libs).
C_STATIC_LIBS := -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
C_PREFIX := $(CURDIR)/$(C_OUT)/prefix

install: c-lib
	@test -n "$(C_SOVERSION)" || { echo "install: no SOVERSION in build.rs" >&2; exit 1; }
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 0644 include/baton.h $(DESTDIR)$(PREFIX)/include/baton.h
	install -m 0755 $(C_LIB_DIR)/libbaton.so $(DESTDIR)$(PREFIX)/lib/libbaton.so.$(C_VERSION)
	install -m 0644 $(C_LIB_DIR)/libbaton.a $(DESTDIR)$(PREFIX)/lib/libbaton.a
	@# Debug info is for profiling baton itself (40 MB); installed copies carry the code only.
	strip --strip-debug $(DESTDIR)$(PREFIX)/lib/libbaton.so.$(C_VERSION) $(DESTDIR)$(PREFIX)/lib/libbaton.a
	ln -sfn libbaton.so.$(C_VERSION) $(DESTDIR)$(PREFIX)/lib/libbaton.so.$(C_SOVERSION)
	ln -sfn libbaton.so.$(C_SOVERSION) $(DESTDIR)$(PREFIX)/lib/libbaton.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(C_VERSION)|' -e 's|@STATIC_LIBS@|$(C_STATIC_LIBS)|' \
	  packaging/baton.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/baton.pc
	@echo "installed baton $(C_VERSION) into $(DESTDIR)$(PREFIX); on a non-standard prefix set PKG_CONFIG_PATH=$(PREFIX)/lib/pkgconfig"


# Tools beyond scripts/deps.sh's (command:package pairs), installed when missing.
c-deps:
	@BATON_EXTRA_DEPS="cc:gcc valgrind:valgrind python3:python3 pkg-config:pkg-config readelf:binutils $(BATON_EXTRA_DEPS)" scripts/deps.sh
	@python3 -c 'import ensurepip' 2>/dev/null || BATON_EXTRA_DEPS="no-python3-venv:python3-venv" scripts/deps.sh

# Builds target/release/libbaton.so; build.rs regenerates include/baton.h on the way.
c-lib:
	$(CARGO) build --release --lib
	@# Programs linked against the build tree ask for the SONAME, as installed ones do.
	ln -sfn libbaton.so target/release/libbaton.so.0

# The header in git must be the one the build just generated.
c-header-fresh: c-lib
	@if git ls-files --error-unmatch include/baton.h >/dev/null 2>&1; then \
	  git diff --exit-code --stat -- include/baton.h || { \
	    echo "include/baton.h is stale: the build regenerated it from src/ffi/c; commit the new one" >&2; \
	    exit 1; }; \
	else echo "note: include/baton.h is not in git yet; commit it so that staleness is caught" >&2; fi

test-c: c-deps c-lib c-header-fresh test-c-install
	@mkdir -p $(C_OUT)
	cc $(C_FLAGS) -pedantic -fsyntax-only -x c -std=c99 include/baton.h
	c++ -Wall -Wextra -Werror -Iinclude -fsyntax-only -x c++ include/baton.h
	cc $(C_FLAGS) tests/c/test_baton.c -o $(C_OUT)/test_baton $(C_LINK)
	tests/c/with-redis.sh $(VALGRIND) $(C_OUT)/test_baton

# The docs' example built as a user would: from `make install`'s output, through pkg-config,
# linked to libbaton.so.N (found by its SONAME, no rpath) and, separately, to libbaton.a.
test-c-install: c-deps c-lib
	@mkdir -p $(C_OUT)
	rm -rf $(C_PREFIX) && $(MAKE) --no-print-directory install PREFIX=$(C_PREFIX) >/dev/null
	test "$$(readelf -d $(C_PREFIX)/lib/libbaton.so | sed -n 's/.*soname: \[\(.*\)\]/\1/p')" = libbaton.so.$(C_SOVERSION)
	test "$$(readlink $(C_PREFIX)/lib/libbaton.so)" = libbaton.so.$(C_SOVERSION)
	$(call doc_example,c) > $(C_OUT)/example.c
	export PKG_CONFIG_PATH=$(C_PREFIX)/lib/pkgconfig && \
	  cc $(C_FLAGS) $(C_OUT)/example.c -o $(C_OUT)/example $$(pkg-config --cflags --libs baton) && \
	  cc $(C_FLAGS) $(C_OUT)/example.c -o $(C_OUT)/example-static $$(pkg-config --cflags baton) \
	    $(C_PREFIX)/lib/libbaton.a $$(pkg-config --static --libs-only-l baton | sed 's/-lbaton//')
	readelf -d $(C_OUT)/example | grep -q 'NEEDED.*libbaton.so.$(C_SOVERSION)'
	! readelf -d $(C_OUT)/example | grep -qiE 'rpath|runpath'
	! readelf -d $(C_OUT)/example-static | grep -q 'libbaton'
	tests/c/with-redis.sh sh -c 'LD_LIBRARY_PATH=$(C_PREFIX)/lib $(C_OUT)/example "$$BATON_TEST_REDIS_URL" 2'
	tests/c/with-redis.sh sh -c '$(C_OUT)/example-static "$$BATON_TEST_REDIS_URL" 2'

# Each example in docs/c-abi.md is extracted, built and run for two rounds of leadership.
doc_example = awk '/^```$(1)$$/{on=1; next} /^```/{on=0} on' docs/c-abi.md

# This host's wheel (`make wheel-host`), installed into a fresh venv with pytest; the tests
# import the installed package (and check that they do), then the docs' example runs.
PY_VENV := $(C_OUT)/python-venv
test-python: c-deps wheel-host
	rm -rf $(PY_VENV) && python3 -m venv $(PY_VENV)
	$(PY_VENV)/bin/pip install --quiet --disable-pip-version-check \
	  $(DIST)/python-host/*-manylinux_2_17_$(shell uname -m).*.whl pytest
	cd bindings/python/tests && PYTHONDONTWRITEBYTECODE=1 \
	  $(CURDIR)/$(PY_VENV)/bin/python -m pytest -q -p no:cacheprovider .
	$(call doc_example,python) > $(C_OUT)/example.py
	tests/c/with-redis.sh sh -c '$(PY_VENV)/bin/python $(C_OUT)/example.py "$$BATON_TEST_REDIS_URL" 2'

# The module in go/, linked through pkg-config against `make install`'s output; then a fresh
# module gets it with `go get github.com/baton-dev/baton/go` from the module proxy directory
# `make go-dist` wrote (no replace directive, no rpath), and the docs' example runs. Its module cache is its
# own, as on a fresh machine: a shared one keeps the first download of a version forever.
GO_EXAMPLE := $(C_OUT)/go-example
GO_ENV := PKG_CONFIG_PATH=$(C_PREFIX)/lib/pkgconfig LD_LIBRARY_PATH=$(C_PREFIX)/lib
test-go: c-deps test-c-install go-dist
	@command -v go >/dev/null 2>&1 || BATON_EXTRA_DEPS="go:golang-go" scripts/deps.sh
	cd go && $(GO_ENV) go vet ./... && $(GO_ENV) go test -count=1 ./...
	chmod -R u+w $(GO_EXAMPLE) 2>/dev/null; rm -rf $(GO_EXAMPLE) && mkdir -p $(GO_EXAMPLE)
	$(call doc_example,go) > $(GO_EXAMPLE)/main.go
	printf 'module example.com/leader\n\ngo 1.22\n' > $(GO_EXAMPLE)/go.mod
	cd $(GO_EXAMPLE) && export $(GO_ENV) GOPROXY=file://$(CURDIR)/$(DIST)/goproxy GOSUMDB=off \
	  GOFLAGS=-mod=mod GOMODCACHE=$(CURDIR)/$(GO_EXAMPLE)/modcache && go get github.com/baton-dev/baton/go@$(GO_VERSION) && go build -o leader .
	tests/c/with-redis.sh sh -c '$(GO_ENV) $(GO_EXAMPLE)/leader "$$BATON_TEST_REDIS_URL" 2'

TEST_TARGETS += test-c test-python test-go
