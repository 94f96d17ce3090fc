# Spring Boot starter (java/baton-spring-boot-starter) and its example app (java/examples/leader-demo).
# `make test-spring` runs after test-java built libbaton and tested baton-java; it installs
# baton-java (tests already ran) so that the starter's build can resolve it, then runs the
# starter's tests (ApplicationContextRunner, and three contexts against a real redis-server)
# and packages the example. `make demo-spring` runs three instances of the example.

SPRING_MODULES := baton-spring-boot-starter,examples/leader-demo
LEADER_DEMO_JAR := $(JAVA_DIR)/examples/leader-demo/target/leader-demo-0.1.0-SNAPSHOT.jar

.PHONY: test-spring demo-spring spring-install-java

# baton-java into the local Maven repository, without running its tests again (its build runs
# cargo build --release itself).
spring-install-java: java-deps
	$(MVN) $(MVN_FLAGS) -f $(JAVA_DIR)/pom.xml -pl baton-java -am install -DskipTests

test-spring: test-java spring-install-java
	$(MVN) $(MVN_FLAGS) -f $(JAVA_DIR)/pom.xml -pl $(SPRING_MODULES) verify

TEST_TARGETS += test-spring

demo-spring: deps spring-install-java
	@BATON_EXTRA_DEPS="curl:curl python3:python3-minimal" scripts/deps.sh
	$(MVN) $(MVN_FLAGS) -f $(JAVA_DIR)/pom.xml -pl $(SPRING_MODULES) package -DskipTests
	LEADER_DEMO_JAR=$(LEADER_DEMO_JAR) scripts/demo-spring.sh
