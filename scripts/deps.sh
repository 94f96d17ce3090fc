#!/usr/bin/env bash
# Installs the Debian packages that baton's tests, demo and bench use, when they are missing.
set -euo pipefail
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
# The TLS fixture (testkit/src/tls.rs) makes its CA and certificates with openssl.
command -v openssl >/dev/null 2>&1 || need+=(openssl)
for extra in ${BATON_EXTRA_DEPS:-}; do
  command -v "${extra%%:*}" >/dev/null 2>&1 || need+=("${extra##*:}")
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "baton needs these packages: ${need[*]}; install them (sudo apt-get install -y ${need[*]}) and re-run" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
