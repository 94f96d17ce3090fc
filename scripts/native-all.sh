#!/usr/bin/env bash
# Builds libbaton for every Linux server into target/dist/native/<platform>/:
#   linux-x86_64-gnu, linux-aarch64-gnu   glibc >= 2.17 (zig links against 2.17's symbols)
#   linux-x86_64-musl, linux-aarch64-musl musl (Alpine), dynamically linked against musl
# plus libbaton.a for each (static C programs, and the musl test under qemu).
# One cargo invocation for all of them: cargo then packs both cores with the four graphs' jobs
# (separate invocations serialize on cargo's build-directory lock and leave a core idle at each
# graph's serial tail), and builds the host-side build scripts and proc macros once.
# Only the library, without the CLI's dependencies (--no-default-features), with the
# dist-native profile (Cargo.toml: release without debug info, opt-level "s").
# Usage: scripts/native-all.sh [platform...] (default: all four).
# NATIVE_CARGO_FLAGS adds cargo flags, e.g. --timings to see where the build time goes.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/target/dist-tools/bin:$PATH"
command -v cargo-zigbuild >/dev/null || { echo "native-all.sh: cargo-zigbuild is missing; run scripts/dist-deps.sh" >&2; exit 1; }
# glibc 2.17 (CentOS/RHEL 7, Amazon Linux 2, every Debian/Ubuntu still in use) is the oldest
# that Rust's std supports; a library linked against it loads on every newer glibc.
GLIBC=2.17
PROFILE=dist-native
out=target/dist/native
platforms=("$@")
[ ${#platforms[@]} -gt 0 ] || platforms=(linux-x86_64-gnu linux-aarch64-gnu linux-x86_64-musl linux-aarch64-musl)
triple_of() {
  case "$1" in
    linux-x86_64-gnu) echo x86_64-unknown-linux-gnu ;;
    linux-aarch64-gnu) echo aarch64-unknown-linux-gnu ;;
    linux-x86_64-musl) echo x86_64-unknown-linux-musl ;;
    linux-aarch64-musl) echo aarch64-unknown-linux-musl ;;
    *) echo "native-all.sh: unknown platform $1 (known: linux-{x86_64,aarch64}-{gnu,musl})" >&2; exit 1 ;;
  esac
}
args=()
for platform in "${platforms[@]}"; do
  triple=$(triple_of "$platform")
  if [[ $triple == *musl ]]; then
    # musl targets link statically by default, which rules out a shared library.
    export "CARGO_TARGET_$(echo "$triple" | tr 'a-z-' 'A-Z_')_RUSTFLAGS=-C target-feature=-crt-static"
    args+=(--target "$triple")
  else
    args+=(--target "$triple.$GLIBC")
  fi
done
echo "native-all.sh: building ${platforms[*]} (profile $PROFILE)" >&2
cargo zigbuild --quiet --profile "$PROFILE" --no-default-features --lib "${args[@]}" ${NATIVE_CARGO_FLAGS:-}
for platform in "${platforms[@]}"; do
  built="target/$(triple_of "$platform")/$PROFILE"
  mkdir -p "$out/$platform"
  cp "$built/libbaton.so" "$out/$platform/libbaton.so"
  cp "$built/libbaton.a" "$out/$platform/libbaton.a"
done
