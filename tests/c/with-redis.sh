#!/usr/bin/env bash
# Runs "$@" with BATON_TEST_REDIS_URL pointing at a fresh redis-server on a free port, and
# stops that server afterwards, whether the command passed, failed or was interrupted.
set -euo pipefail
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
dir=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
  --dir "$dir" >"$dir/redis.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM
# Wait until the server answers (it usually takes a few milliseconds).
until redis-cli -p "$port" ping >/dev/null 2>&1; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "redis-server did not start:" >&2
    cat "$dir/redis.log" >&2
    exit 1
  fi
  sleep 0.02
done
BATON_TEST_REDIS_URL="redis://127.0.0.1:$port" "$@"
