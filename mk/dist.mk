# Packages (issue 12; docs/packaging.md). `make dist` builds every artifact into target/dist:
#   native/<platform>/libbaton.{so,a}  linux-{x86_64,aarch64}-{gnu,musl} (glibc >= 2.17)
#   maven/      a Maven repository: baton-parent, baton-bom, baton-java (every platform's
#               library inside), baton-spring-boot-starter, with sources and Javadoc jars
#   python/     one wheel per platform (manylinux2014 / musllinux_1_2)
#   goproxy/    the Go module github.com/baton-dev/baton/go as a module proxy (GOPROXY=file://...)
#   c/          `make install`'s tree: header, libbaton.so.N + symlinks, libbaton.a, baton.pc
# `make test-dist` checks them as users would get them; it is the last part of `make test`
# (the Makefile), estimated at about 16 minutes of a clean CI run's 40 (docs/packaging.md,
# "What CI pays").
# After the cross builds, its checks run side by side (three at a time): the two qemu suites
# and the Maven chain (maven-dist, then the fresh Spring app) use both cores between them.

DIST := target/dist
NATIVE_DIR := $(DIST)/native
GO_VERSION := v$(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
# Every module of the Java reactor except the examples (and, in the dist profile, the BOM).
DIST_MAVEN_EXCLUDE = $(shell sed -n 's|.*<module>\(examples/[^<]*\)</module>.*|!\1|p' $(JAVA_DIR)/pom.xml | paste -sd, -)

.PHONY: dist dist-deps native-all wheels wheel-host maven-dist go-dist c-dist test-c-dist test-native test-maven-fresh test-dist

dist-deps:
	@scripts/dist-deps.sh

# The cross builds are one cargo invocation; linux-x86_64-gnu is relinked from target/release
# (scripts/native-all.sh says why).
native-all: dist-deps
	scripts/native-all.sh

# test-dist's second half runs with NATIVE_BUILT=1: the libraries were just built, so its
# targets skip native-all (which would otherwise run again in the sub-make).
NATIVE_DEP := $(if $(NATIVE_BUILT),,native-all)
NATIVE_PLATFORMS := linux-x86_64-gnu linux-aarch64-gnu linux-x86_64-musl linux-aarch64-musl
TEST_NATIVE_EACH := $(addprefix test-native-,$(NATIVE_PLATFORMS))
.PHONY: $(TEST_NATIVE_EACH)

wheels: $(NATIVE_DEP)
	rm -rf $(DIST)/python
	python3 scripts/build-wheel.py $(DIST)/python $(NATIVE_DIR)

# clean: a jar must carry exactly the libraries staged now, none left from a host build.
maven-dist: $(NATIVE_DEP) java-deps
	rm -rf $(DIST)/maven
	BATON_NATIVE_PREBUILT=$(CURDIR)/$(NATIVE_DIR) $(MVN) $(MVN_FLAGS) -f $(JAVA_DIR)/pom.xml -Pdist \
	  $(if $(DIST_MAVEN_EXCLUDE),-pl '$(DIST_MAVEN_EXCLUDE)') -DskipTests clean deploy \
	  -DaltDeploymentRepository=baton-dist::file://$(CURDIR)/$(DIST)/maven
	@echo "Maven repository: $(DIST)/maven (add it as a <repository>, or copy it into ~/.m2/repository)"

go-dist:
	rm -rf $(DIST)/goproxy
	python3 scripts/go-proxy.py $(DIST)/goproxy $(GO_VERSION)

# The C tree ships the host platform's portable library (glibc 2.17 on x86_64 and aarch64),
# not target/release's, which needs this build machine's glibc.
C_DIST_LIBS = $(NATIVE_DIR)/linux-$(shell uname -m)-$(if $(shell ldd --version 2>&1 | grep -i musl),musl,gnu)
C_DIST_GLIBC := 2.17
c-dist: $(NATIVE_DEP) c-lib
	rm -rf $(DIST)/c
	$(MAKE) --no-print-directory install PREFIX=$(CURDIR)/$(DIST)/c C_LIB_DIR=$(C_DIST_LIBS)
	@newest=$$(objdump -T $(DIST)/c/lib/libbaton.so | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1); \
	  if [ -n "$$newest" ] && [ "$$(printf '%s\n' "$$newest" $(C_DIST_GLIBC) | sort -V | tail -1)" != $(C_DIST_GLIBC) ]; then \
	    echo "c-dist: $(DIST)/c/lib/libbaton.so needs glibc $$newest, newer than the $(C_DIST_GLIBC) it must run on" >&2; exit 1; fi

# The docs' C example built from that tree as a user would (test-c-install's checks).
test-c-dist: c-dist
	$(MAKE) --no-print-directory test-c-install C_PREFIX=$(CURDIR)/$(DIST)/c C_LIB_DIR=$(C_DIST_LIBS)

dist: native-all wheels maven-dist go-dist c-dist
	@echo "artifacts in $(DIST): native/ maven/ python/ goproxy/ c/"

# Each platform's library: its ELF facts, and the C test suite (natively or under qemu), two
# platforms at a time (a qemu suite is mostly one busy core).
test-native: $(NATIVE_DEP)
	$(MAKE) --no-print-directory -j2 --output-sync=target NATIVE_BUILT=1 $(TEST_NATIVE_EACH)

$(TEST_NATIVE_EACH): test-native-%:
	scripts/test-native.sh $*

# A Spring Boot app generated outside the repository, with an empty local Maven repository,
# no cargo on PATH, only Maven Central and target/dist/maven: builds, runs, gets elected.
test-maven-fresh: maven-dist
	scripts/test-maven-fresh.sh $(CURDIR)/$(DIST)/maven

# Every artifact `make dist` ships, and the checks of the native libraries and the jar. The
# cross builds fill both cores on their own; what follows them shares the cores, the Maven
# chain first (the longest).
test-dist: native-all c-lib java-deps
	$(MAKE) --no-print-directory -j3 --output-sync=target NATIVE_BUILT=1 \
	  test-maven-fresh test-native-linux-aarch64-gnu test-native-linux-aarch64-musl \
	  test-native-linux-x86_64-gnu test-native-linux-x86_64-musl wheels go-dist test-c-dist
	@echo "artifacts in $(DIST): native/ maven/ python/ goproxy/ c/, all checked"

# The wheel for this host only, from the library `make test` builds anyway: what test-python
# installs (the release wheels come from `make wheels`, built against glibc 2.17).
HOST_NATIVE := target/dist/native-host
wheel-host: c-lib
	rm -rf $(HOST_NATIVE) $(DIST)/python-host
	mkdir -p $(HOST_NATIVE)/linux-$(shell uname -m)-gnu
	cp target/release/libbaton.so $(HOST_NATIVE)/linux-$(shell uname -m)-gnu/
	python3 scripts/build-wheel.py $(DIST)/python-host $(HOST_NATIVE)
