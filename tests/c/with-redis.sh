#!/usr/bin/env bash
# Runs "$@" with BATON_TEST_REDIS_URL pointing at a fresh redis-server on a free port, and
# stops that server afterwards, whether the command passed, failed or was interrupted. The
# server also listens with TLS (BATON_TEST_REDISS_URL), requiring a client certificate; the
# private CA and the client's certificate and key are in BATON_TEST_TLS_DIR (ca.crt,
# client.crt, client.key), made here with openssl.
set -euo pipefail
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
tls_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
dir=$(mktemp -d)
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
(
  cd "$dir"
  openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.crt -days 1 -subj "/CN=baton test CA"
  for who in server client; do
    openssl req -new "${ec[@]}" -keyout "$who.key" -out "$who.csr" -subj "/CN=baton test $who"
  done
  echo "subjectAltName=IP:127.0.0.1,DNS:localhost" >server.ext
  echo "extendedKeyUsage=clientAuth" >client.ext
  for who in server client; do
    openssl x509 -req -in "$who.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 \
      -out "$who.crt" -extfile "$who.ext"
  done
) >"$dir/openssl.log" 2>&1 || { cat "$dir/openssl.log" >&2; exit 1; }
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
  --tls-port "$tls_port" --tls-cert-file "$dir/server.crt" --tls-key-file "$dir/server.key" \
  --tls-ca-cert-file "$dir/ca.crt" --tls-auth-clients yes \
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
BATON_TEST_REDIS_URL="redis://127.0.0.1:$port" BATON_TEST_REDISS_URL="rediss://127.0.0.1:$tls_port" \
  BATON_TEST_TLS_DIR="$dir" "$@"
