#!/usr/bin/env bash
# `make demo-spring`: three instances of java/examples/leader-demo (a Spring Boot app with one
# @Scheduled @ConditionalOnLeader job) against one redis-server. Shows that exactly one instance
# runs the job, then a redeploy (graceful stop: handover in milliseconds), then a crash (SIGKILL:
# takeover at the lease's expiry). REDIS_URL=redis://host:port uses that Redis instead of starting
# one. Everything this script starts is stopped on exit or Ctrl-C.
set -euo pipefail

jar="${LEADER_DEMO_JAR:-java/examples/leader-demo/target/leader-demo-0.1.0-SNAPSHOT.jar}"
ttl_ms=3000 # baton.ttl in the demo's application.properties
startup_timeout=240
[ -f "$jar" ] || { echo "demo-spring: $jar is missing; build it with make demo-spring" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/baton-demo-spring.XXXXXX")"
declare -A pid=() port=() log=()
redis_pid=""

cleanup() {
  trap - EXIT INT TERM
  for i in "${!pid[@]}"; do
    kill -KILL "${pid[$i]}" 2>/dev/null || true
  done
  if [ -n "$redis_pid" ]; then
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'echo; echo "interrupted; cleaning up"; exit 130' INT TERM

say() { printf '\n==> %s\n' "$*"; }
now_us() { date +%s%6N; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null \
  || shuf -i 20000-60000 -n 1; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1000 }'; }

# Demo lines look like: demo instance=a event=job token=42 at=<epoch microseconds>
events() { # every demo line of every instance's life, in time order
  grep -h -o 'demo instance=.*' "$work"/*.log 2>/dev/null \
    | awk '{ at = $NF; sub("at=", "", at); print at, $0 }' | sort -n -k1,1 | cut -d' ' -f2- || true
}
field() { sed -n "s/.*$1=\\([^ ]*\\).*/\\1/p"; }

start_redis() {
  if [ -n "${REDIS_URL:-}" ]; then
    echo "using REDIS_URL=$REDIS_URL"
    return
  fi
  local p
  p="$(free_port)"
  redis-server --port "$p" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
    >"$work/redis.out" 2>&1 &
  redis_pid=$!
  for _ in $(seq 100); do
    redis-cli -p "$p" ping >/dev/null 2>&1 && break
    sleep 0.05
  done
  redis-cli -p "$p" ping >/dev/null || { cat "$work/redis.out" >&2; exit 1; }
  REDIS_URL="redis://127.0.0.1:$p"
  echo "redis-server on $REDIS_URL (pid $redis_pid)"
}

start_instance() {
  local i="$1"
  port[$i]="$(free_port)"
  log[$i]="$work/$i.$(ls "$work" | grep -c "^$i\." || true).log" # one log per life of an instance
  # C1 only and serial GC: these JVMs live for a minute on a shared machine; start them fast.
  REDIS_URL="$REDIS_URL" DEMO_INSTANCE="$i" PORT="${port[$i]}" \
    java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xss512k -jar "$jar" >"${log[$i]}" 2>&1 &
  pid[$i]=$!
}

await_started() {
  local i="$1" deadline=$((SECONDS + startup_timeout))
  until grep -q 'Started LeaderDemoApplication' "${log[$i]}" 2>/dev/null; do
    if ! kill -0 "${pid[$i]}" 2>/dev/null; then
      echo "instance $i exited during startup:" >&2; tail -30 "${log[$i]}" >&2; exit 1
    fi
    [ $SECONDS -lt $deadline ] || { echo "instance $i did not start in ${startup_timeout}s" >&2; exit 1; }
    sleep 0.2
  done
}

# Prints the first demo line matching $1 stamped at or after $2 (epoch us), waiting up to $3 s.
await_event() {
  local pattern="$1" since="$2" deadline=$((SECONDS + ${3:-60})) line
  while :; do
    line=$(events | grep -- "$pattern" | awk -v s="$since" '{ at = $NF; sub("at=", "", at); if (at + 0 >= s) { print; exit } }')
    [ -n "$line" ] && { echo "$line"; return; }
    [ $SECONDS -lt $deadline ] || { echo "timed out waiting for '$pattern'" >&2; exit 1; }
    sleep 0.05
  done
}

leader_now() { # the instance with the latest grant that has no revocation after it
  events | awk '/event=granted/ { split($2, a, "="); l = a[2] } /event=revoked/ { split($2, a, "="); if (a[2] == l) l = "" } END { print l }'
}

count_jobs() { events | grep -c "instance=$1 event=job" || true; }

say "starting redis and three instances of the leader-demo app (a, b, c)"
start_redis
for i in a b c; do start_instance "$i"; done
echo "instances: a (pid ${pid[a]}, http :${port[a]}), b (pid ${pid[b]}, :${port[b]}), c (pid ${pid[c]}, :${port[c]}); logs in $work"
for i in a b c; do await_started "$i"; done
echo "all three started"

say "exactly one instance runs the @Scheduled @ConditionalOnLeader job"
await_event 'event=granted' 0 >/dev/null
leader="$(leader_now)"
base=$(count_jobs "$leader")
until [ "$(count_jobs "$leader")" -ge $((base + 6)) ]; do sleep 0.1; done
events | grep 'event=job' | tail -4 | sed 's/ at=.*//; s/^demo /   /'
for i in a b c; do
  printf '   instance %s ran the job %3d times%s\n' "$i" "$(count_jobs "$i")" "$([ "$i" = "$leader" ] && echo '  <- leader' || echo '')"
done
others=$(for i in a b c; do [ "$i" = "$leader" ] || count_jobs "$i"; done | awk '{ s += $1 } END { print s + 0 }')
[ "$others" -eq 0 ] || { echo "followers ran the job $others times" >&2; exit 1; }

follower=$(for i in a b c; do [ "$i" = "$leader" ] || { echo "$i"; break; }; done)
say "GET /actuator/leadership on follower $follower"
curl -s "http://127.0.0.1:${port[$follower]}/actuator/leadership" \
  | { python3 -m json.tool 2>/dev/null || cat; } | sed 's/^/   /'

say "redeploy: graceful stop (SIGTERM) of leader $leader"
stop_at=$(now_us)
kill -TERM "${pid[$leader]}"
grant=$(await_event 'event=granted' "$stop_at" 30)
wait "${pid[$leader]}" 2>/dev/null || true
exited_at=$(now_us)
new=$(echo "$grant" | field instance)
revoked=$(await_event "instance=$leader event=revoked" "$stop_at" 30)
first_job=$(await_event "instance=$new event=job" "$stop_at" 30)
last_old_job=$(events | grep "instance=$leader event=job" | tail -1)
echo "   $leader: revoked, reason $(echo "$revoked" | field reason) (after its leader-only work stopped)"
[ "$(echo "$last_old_job" | field at)" -lt "$(echo "$grant" | field at)" ] \
  || { echo "the old leader ran its job after the new leader's grant" >&2; exit 1; }
echo "   $new: granted, token $(echo "$grant" | field token)"
row() { printf '   %-36s %8s ms%s\n' "$1" "$2" "${3:-}"; }
row "SIGTERM to $leader -> grant on $new" "$(ms "$stop_at" "$(echo "$grant" | field at)")" "  (lease ttl: ${ttl_ms} ms)"
row "grant on $new -> its first job" "$(ms "$(echo "$grant" | field at)" "$(echo "$first_job" | field at)")" "  (next tick of its 500 ms schedule)"
row "SIGTERM to $leader -> $leader exited" "$(ms "$stop_at" "$exited_at")"

say "restarting $leader: it joins as a follower"
unset "pid[$leader]"
start_instance "$leader"
await_started "$leader"
role=$(curl -s "http://127.0.0.1:${port[$leader]}/actuator/leadership" | grep -o '"role":"[a-z]*"' | head -1)
echo "   $leader is back: $role; $new still leads"

say "crash: SIGKILL of leader $new (no release: the others wait for the lease to expire)"
kill_at=$(now_us)
kill -KILL "${pid[$new]}"
wait "${pid[$new]}" 2>/dev/null || true
unset "pid[$new]"
grant=$(await_event 'event=granted' "$kill_at" 30)
took=$(ms "$kill_at" "$(echo "$grant" | field at)")
echo "   $(echo "$grant" | field instance): granted, token $(echo "$grant" | field token)"
row "SIGKILL of $new -> grant" "$took" "  (lease ttl: ${ttl_ms} ms, counted from $new's last renewal)"

say "done; stopping everything"
