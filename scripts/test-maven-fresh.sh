#!/usr/bin/env bash
# A new user's Spring Boot app, generated in a temporary directory outside the repository:
# its local Maven repository starts empty, it sees only Maven Central and the repository that
# `make dist` wrote, cargo is not on its PATH. It must build, start, and be elected leader by
# a real redis-server.   Usage: scripts/test-maven-fresh.sh /abs/path/to/target/dist/maven
set -euo pipefail
repo="$1"
root="$(cd "$(dirname "$0")/.." && pwd)"
version=$(sed -n 's|^  <version>\(.*\)</version>|\1|p' "$root/java/baton-bom/pom.xml" | head -1)
spring_boot=$(sed -n 's|.*<spring-boot.version>\(.*\)</spring-boot.version>.*|\1|p' "$root/java/pom.xml")
app=$(mktemp -d /tmp/baton-fresh-app.XXXXXX)
trap 'rm -rf "$app"' EXIT
mkdir -p "$app/src/main/java/com/example/fresh" "$app/m2"

cat >"$app/pom.xml" <<POM
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <parent>
    <groupId>org.springframework.boot</groupId>
    <artifactId>spring-boot-starter-parent</artifactId>
    <version>$spring_boot</version>
  </parent>
  <groupId>com.example</groupId>
  <artifactId>fresh</artifactId>
  <version>1.0</version>
  <properties>
    <java.version>17</java.version>
  </properties>
  <repositories>
    <repository>
      <id>baton</id>
      <url>file://$repo</url>
      <snapshots><enabled>true</enabled></snapshots>
    </repository>
  </repositories>
  <dependencyManagement>
    <dependencies>
      <dependency>
        <groupId>dev.baton</groupId>
        <artifactId>baton-bom</artifactId>
        <version>$version</version>
        <type>pom</type>
        <scope>import</scope>
      </dependency>
    </dependencies>
  </dependencyManagement>
  <dependencies>
    <dependency>
      <groupId>dev.baton</groupId>
      <artifactId>baton-spring-boot-starter</artifactId>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.springframework.boot</groupId>
        <artifactId>spring-boot-maven-plugin</artifactId>
      </plugin>
    </plugins>
  </build>
</project>
POM

cat >"$app/src/main/java/com/example/fresh/FreshApplication.java" <<'JAVA'
package com.example.fresh;

import dev.baton.spring.LeadershipGrantedEvent;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.event.EventListener;

@SpringBootApplication
public class FreshApplication {
    private final ConfigurableApplicationContext context;

    FreshApplication(ConfigurableApplicationContext context) {
        this.context = context;
    }

    public static void main(String[] args) {
        SpringApplication.run(FreshApplication.class, args);
    }

    @EventListener
    public void elected(LeadershipGrantedEvent event) {
        System.out.println("FRESH-APP ELECTED " + event.getElectionName() + " token=" + event.getToken());
        new Thread(() -> System.exit(SpringApplication.exit(context))).start();
    }
}
JAVA

# No cargo, no rustc: only the system's tools (java, mvn) on PATH.
clean_path=/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin
if PATH=$clean_path command -v cargo >/dev/null; then echo "cargo is on the clean PATH" >&2; exit 1; fi
(cd "$app" && PATH=$clean_path mvn -B -ntp -q -Dstyle.color=never -Dmaven.repo.local="$app/m2" package)
ls "$app/m2/dev/baton" >/dev/null
jar=$(ls "$app"/target/fresh-1.0.jar)
unzip -l "$jar" | grep -q 'BOOT-INF/lib/baton-java-' || { echo "the app jar has no baton-java" >&2; exit 1; }
out="$app/run.log"
"$root/tests/c/with-redis.sh" sh -c "PATH=$clean_path timeout 120 java -jar '$jar' \
  --spring.application.name=fresh-app --baton.store=\"\$BATON_TEST_REDIS_URL\" >'$out' 2>&1" || {
  echo "the fresh app failed:" >&2; tail -50 "$out" >&2; exit 1; }
grep -q 'FRESH-APP ELECTED fresh-app token=' "$out" || { echo "the fresh app was not elected:" >&2; tail -50 "$out" >&2; exit 1; }
grep 'FRESH-APP ELECTED' "$out"
