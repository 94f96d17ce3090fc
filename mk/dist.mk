# Packages (issue 12; docs/packaging.md). `make dist` builds every artifact into target/dist:
#   native/<platform>/libbaton.{so,a}  linux-{x86_64,aarch64}-{gnu,musl} (glibc >= 2.17)
#   maven/      a Maven repository: baton-parent, baton-bom, baton-java (every platform's
#               library inside), baton-spring-boot-starter, with sources and Javadoc jars
#   python/     one wheel per platform (manylinux2014 / musllinux_1_2)
#   goproxy/    the Go module github.com/baton-dev/baton/go as a module proxy (GOPROXY=file://...)
#   c/          `make install`'s tree: header, libbaton.so.N + symlinks, libbaton.a, baton.pc
# `make test-dist` checks them as users would get them. It is not part of `make test`: measured
# on 2026-12-01 (docs/packaging.md, "What CI pays": 1,804 s CPU for the four cross builds even
# without the CLI's dependencies and with opt-level "s"), it would take CI to 47-52 minutes,
# past the 45-minute limit; run it before a release, or in CI with the cross builds cached.

DIST := target/dist
NATIVE_DIR := $(DIST)/native
GO_VERSION := v$(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
# Every module of the Java reactor except the examples (and, in the dist profile, the BOM).
DIST_MAVEN_EXCLUDE = $(shell sed -n 's|.*<module>\(examples/[^<]*\)</module>.*|!\1|p' $(JAVA_DIR)/pom.xml | paste -sd, -)

.PHONY: dist dist-deps native-all wheels wheel-host maven-dist go-dist c-dist test-native test-maven-fresh test-dist

dist-deps:
	@scripts/dist-deps.sh

# The four cross builds are one cargo invocation (scripts/native-all.sh says why).
native-all: dist-deps
	scripts/native-all.sh

wheels: native-all
	rm -rf $(DIST)/python
	python3 scripts/build-wheel.py $(DIST)/python $(NATIVE_DIR)

# clean: a jar must carry exactly the libraries staged now, none left from a host build.
maven-dist: native-all java-deps
	rm -rf $(DIST)/maven
	BATON_NATIVE_PREBUILT=$(CURDIR)/$(NATIVE_DIR) $(MVN) $(MVN_FLAGS) -f $(JAVA_DIR)/pom.xml -Pdist \
	  $(if $(DIST_MAVEN_EXCLUDE),-pl '$(DIST_MAVEN_EXCLUDE)') -DskipTests clean deploy \
	  -DaltDeploymentRepository=baton-dist::file://$(CURDIR)/$(DIST)/maven
	@echo "Maven repository: $(DIST)/maven (add it as a <repository>, or copy it into ~/.m2/repository)"

go-dist:
	rm -rf $(DIST)/goproxy
	python3 scripts/go-proxy.py $(DIST)/goproxy $(GO_VERSION)

c-dist: c-lib
	rm -rf $(DIST)/c
	$(MAKE) --no-print-directory install PREFIX=$(CURDIR)/$(DIST)/c

dist: native-all wheels maven-dist go-dist c-dist
	@echo "artifacts in $(DIST): native/ maven/ python/ goproxy/ c/"

# Each platform's library: its ELF facts, and the C test suite (natively or under qemu).
test-native: native-all
	scripts/test-native.sh

# A Spring Boot app generated outside the repository, with an empty local Maven repository,
# no cargo on PATH, only Maven Central and target/dist/maven: builds, runs, gets elected.
test-maven-fresh: maven-dist
	scripts/test-maven-fresh.sh $(CURDIR)/$(DIST)/maven

# CI builds every artifact `make dist` ships, and checks the native libraries and the jar.
test-dist: dist test-native test-maven-fresh

# The wheel for this host only, from the library `make test` builds anyway: what test-python
# installs (the release wheels come from `make wheels`, built against glibc 2.17).
HOST_NATIVE := target/dist/native-host
wheel-host: c-lib
	rm -rf $(HOST_NATIVE) $(DIST)/python-host
	mkdir -p $(HOST_NATIVE)/linux-$(shell uname -m)-gnu
	cp target/release/libbaton.so $(HOST_NATIVE)/linux-$(shell uname -m)-gnu/
	python3 scripts/build-wheel.py $(DIST)/python-host $(HOST_NATIVE)
