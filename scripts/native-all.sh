#!/usr/bin/env bash
# Builds libbaton for every Linux server into target/dist/native/<platform>/ (stripped):
#   linux-x86_64-gnu, linux-aarch64-gnu   glibc >= 2.17 (zig links against 2.17's symbols)
#   linux-x86_64-musl, linux-aarch64-musl musl (Alpine), dynamically linked against musl
# plus libbaton.a for each (static C programs, and the musl test under qemu). Cross builds are full dependency builds: only the library, no
# debug info. Usage: scripts/native-all.sh [platform...] (default: all four).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/target/dist-tools/bin:$PATH"
command -v cargo-zigbuild >/dev/null || { echo "native-all.sh: cargo-zigbuild is missing; run scripts/dist-deps.sh" >&2; exit 1; }
# glibc 2.17 (CentOS/RHEL 7, Amazon Linux 2, every Debian/Ubuntu still in use) is the oldest
# that Rust's std supports; a library linked against it loads on every newer glibc.
GLIBC=2.17
out=target/dist/native
platforms=("$@")
[ ${#platforms[@]} -gt 0 ] || platforms=(linux-x86_64-gnu linux-aarch64-gnu linux-x86_64-musl linux-aarch64-musl)
for platform in "${platforms[@]}"; do
  case "$platform" in
    linux-x86_64-gnu) triple=x86_64-unknown-linux-gnu suffix=".$GLIBC" ;;
    linux-aarch64-gnu) triple=aarch64-unknown-linux-gnu suffix=".$GLIBC" ;;
    linux-x86_64-musl) triple=x86_64-unknown-linux-musl suffix="" ;;
    linux-aarch64-musl) triple=aarch64-unknown-linux-musl suffix="" ;;
    *) echo "native-all.sh: unknown platform $platform" >&2; exit 1 ;;
  esac
  echo "native-all.sh: building $platform ($triple$suffix)" >&2
  # musl targets link statically by default, which rules out a shared library.
  rustflags=""
  [[ $triple == *musl ]] && rustflags="-C target-feature=-crt-static"
  env_name="CARGO_TARGET_$(echo "$triple" | tr 'a-z-' 'A-Z_')_RUSTFLAGS"
  env "$env_name=$rustflags" CARGO_PROFILE_RELEASE_DEBUG=0 \
    cargo zigbuild --quiet --release --lib --target "$triple$suffix"
  mkdir -p "$out/$platform"
  built="target/$triple/release"
  cp "$built/libbaton.so" "$out/$platform/libbaton.so"
  cp "$built/libbaton.a" "$out/$platform/libbaton.a"
done
