# Java: the JNI binding's Maven build (java/). `make test-java` builds libbaton (release), then
# baton-java, whose tests run against a real redis-server, with -Xcheck:jni on every test JVM.

MVN ?= mvn
MVN_FLAGS ?= -q -B -ntp -Dstyle.color=never
JAVA_DIR := java
JAVA_DEPS := javac:openjdk-17-jdk-headless mvn:maven strip:binutils
JNI_COMPLAINTS := WARNING in native method|FATAL ERROR in native method|JNI local refs

.PHONY: java-deps test-java bench-java

java-deps:
	@BATON_EXTRA_DEPS="$(JAVA_DEPS)" scripts/deps.sh

test-java: deps java-deps
	$(CARGO) build --release
	$(MVN) $(MVN_FLAGS) -f $(JAVA_DIR)/pom.xml -pl baton-java -am verify
	@! grep -rlE "$(JNI_COMPLAINTS)" $(JAVA_DIR)/baton-java/target/surefire-reports \
		$(JAVA_DIR)/baton-java/target/failsafe-reports 2>/dev/null \
		|| { echo "-Xcheck:jni reported JNI misuse in the files above" >&2; exit 1; }

TEST_TARGETS += test-java

# JMH: the cost of LeaderElection.isLeader() against a local redis-server (not part of make test).
bench-java: deps java-deps
	$(CARGO) build --release
	$(MVN) $(MVN_FLAGS) -f $(JAVA_DIR)/pom.xml -Pbench -pl baton-java-bench -am package -DskipTests
	java -jar $(JAVA_DIR)/baton-java-bench/target/benchmarks.jar
