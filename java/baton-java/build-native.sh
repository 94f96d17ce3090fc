#!/usr/bin/env bash
# Stages libbaton as jar resources under native/<os>-<arch>-<libc>/ and lists them in
# native/platforms.txt (the loader names that list when nothing fits). Called by Maven
# (generate-resources).
# - By default: builds libbaton (release) for this host and stages it.
# - BATON_NATIVE_PREBUILT=DIR: stages DIR/<platform>/libbaton.so for every platform there
#   (what `make dist` builds); no cargo needed.
# - BATON_SKIP_CARGO=1: stages this host's library as already built.
set -euo pipefail
root="$1"    # the repository root (Cargo.toml)
out="$2"     # the staging directory Maven packages
rm -rf "$out/native"
mkdir -p "$out/native"

# Debug info is for profiling the Rust side; the jar only needs the code (39 MB -> 6 MB).
stage() { # stage SRC PLATFORM
  mkdir -p "$out/native/$2"
  if command -v strip >/dev/null 2>&1 && [ "${BATON_NATIVE_PREBUILT:-}" = "" ]; then
    strip --strip-debug -o "$out/native/$2/libbaton.so.tmp" "$1"
  else
    cp "$1" "$out/native/$2/libbaton.so.tmp"
  fi
  mv -f "$out/native/$2/libbaton.so.tmp" "$out/native/$2/libbaton.so"
  echo "$2" >>"$out/native/platforms.txt"
}

if [ -n "${BATON_NATIVE_PREBUILT:-}" ]; then
  found=0
  for lib in "$BATON_NATIVE_PREBUILT"/*/libbaton.so; do
    [ -f "$lib" ] || continue
    stage "$lib" "$(basename "$(dirname "$lib")")"
    found=1
  done
  [ "$found" = 1 ] || { echo "build-native.sh: no <platform>/libbaton.so under BATON_NATIVE_PREBUILT=$BATON_NATIVE_PREBUILT; run make native-all" >&2; exit 1; }
  exit 0
fi

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) arch=x86_64 ;;
  Linux-aarch64) arch=aarch64 ;;
  *) echo "build-native.sh: no packaging rule for $(uname -s)-$(uname -m); see docs/building.md" >&2; exit 1 ;;
esac
if ldd --version 2>&1 | grep -qi musl; then libc=musl; else libc=gnu; fi
if [ "${BATON_SKIP_CARGO:-0}" != 1 ]; then
  (cd "$root" && cargo build --release --lib --quiet)
fi
target="${CARGO_TARGET_DIR:-$root/target}"
src="$target/release/libbaton.so"
[ -f "$src" ] || { echo "build-native.sh: $src is missing; run cargo build --release" >&2; exit 1; }
stage "$src" "linux-$arch-$libc"
