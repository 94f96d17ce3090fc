#!/usr/bin/env bash
# Builds libbaton in release mode and stages it as a jar resource under native/<platform>/.
# Called by Maven (generate-resources); BATON_SKIP_CARGO=1 only stages what is already built.
set -euo pipefail
root="$1"    # the repository root (Cargo.toml)
out="$2"     # the staging directory Maven packages
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) platform=linux-x86_64 lib=libbaton.so ;;
  Linux-aarch64) platform=linux-aarch64 lib=libbaton.so ;;
  *) echo "build-native.sh: no packaging rule for $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac
if [ "${BATON_SKIP_CARGO:-0}" != 1 ]; then
  (cd "$root" && cargo build --release --lib --quiet)
fi
target="${CARGO_TARGET_DIR:-$root/target}"
src="$target/release/$lib"
[ -f "$src" ] || { echo "build-native.sh: $src is missing; run cargo build --release" >&2; exit 1; }
mkdir -p "$out/native/$platform"
# Debug info is for profiling the Rust side; the jar only needs the code (39 MB -> 6 MB).
if command -v strip >/dev/null 2>&1; then
  strip --strip-debug -o "$out/native/$platform/$lib.tmp" "$src"
else
  cp "$src" "$out/native/$platform/$lib.tmp"
fi
mv -f "$out/native/$platform/$lib.tmp" "$out/native/$platform/$lib"
