#!/usr/bin/env bash
# Installs what `make native-all` needs on a fresh machine: the Rust targets, zig and
# cargo-zigbuild (from PyPI, into target/dist-tools), and for testing the foreign builds
# qemu-user with the aarch64 C library, musl, and unzip for test-maven-fresh (Debian packages).
set -euo pipefail
cd "$(dirname "$0")/.."
BATON_EXTRA_DEPS="qemu-aarch64-static:qemu-user-static musl-gcc:musl-tools readelf:binutils pkg-config:pkg-config unzip:unzip ${BATON_EXTRA_DEPS:-}" scripts/deps.sh
# Not commands, so deps.sh's command check is fed a name that never exists when they are missing.
[ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ] || BATON_EXTRA_DEPS="no-aarch64-libc:libc6-arm64-cross" scripts/deps.sh
python3 -c 'import ensurepip' 2>/dev/null || BATON_EXTRA_DEPS="no-python3-venv:python3-venv" scripts/deps.sh
rustup target add x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu \
  x86_64-unknown-linux-musl aarch64-unknown-linux-musl >/dev/null 2>&1
tools=target/dist-tools
if [ ! -x "$tools/bin/cargo-zigbuild" ] || [ ! -x "$tools/bin/python-zig" ]; then
  python3 -m venv "$tools"
  # Pinned: the glibc 2.17 baseline and the musl builds are tested with these.
  "$tools/bin/pip" install --quiet --disable-pip-version-check ziglang==0.17.1 cargo-zigbuild==0.24.1
fi
