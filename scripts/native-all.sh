#!/usr/bin/env bash
# Builds libbaton for every Linux server into target/dist/native/<platform>/:
#   linux-x86_64-gnu, linux-aarch64-gnu   glibc >= 2.17 (zig links against 2.17's symbols)
#   linux-x86_64-musl, linux-aarch64-musl musl (Alpine), dynamically linked against musl
# plus libbaton.a for each (static C programs, and the musl test under qemu).
# One cargo invocation for the cross builds: cargo then packs both cores with their graphs' jobs
# (separate invocations serialize on cargo's build-directory lock and leave a core idle at each
# graph's serial tail), and builds the host-side build scripts and proc macros once.
# Only the library, without the CLI's dependencies (--no-default-features), with the
# dist-native profile (Cargo.toml: release without debug info, opt-level "s").
# linux-x86_64-gnu on an x86_64 glibc host is not cross-built: `make test`'s own release build
# (target/release) already compiled every crate for that target, and only its final link bound
# the build host's glibc; relink_host_gnu redoes that link against glibc 2.17 (one cross build
# fewer: about a quarter of the CPU, docs/packaging.md, "What CI pays").
# Usage: scripts/native-all.sh [platform...] (default: all four).
# NATIVE_CARGO_FLAGS adds cargo flags, e.g. --timings to see where the build time goes.
# NATIVE_RELINK_HOST=0 cross-builds linux-x86_64-gnu like the others.
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
# The host's release objects, linked into a shared library against glibc 2.17's stubs the way
# rustc links the cdylib: the same exported symbols (the C ABI and JNI), SONAME, full RELRO,
# unused sections dropped, zig's libunwind in place of libgcc_s (as cargo-zigbuild does).
# target/release/libbaton.a holds exactly the objects rustc linked into target/release/libbaton.so
# (one rustc run emits both crate types).
relink_host_gnu() {
  local rel=target/release dst="$out/linux-x86_64-gnu" tmp=target/dist/relink
  local soversion; soversion=$(sed -n 's/^const SOVERSION: u32 = \([0-9]*\);/\1/p' build.rs)
  [ -n "$soversion" ] || { echo "native-all.sh: no SOVERSION in build.rs" >&2; exit 1; }
  # `make test`'s build (c-lib, test-java): fresh in CI, so nothing is compiled here.
  cargo build --quiet --release --lib
  rm -rf "$tmp" && mkdir -p "$tmp" "$dst"
  local syms; syms=($(readelf -W --dyn-syms "$rel/libbaton.so" | awk '$7 != "UND" && $8 ~ /^(baton_|Java_|JNI_)/ { print $8 }'))
  [ ${#syms[@]} -gt 0 ] || { echo "native-all.sh: $rel/libbaton.so exports no baton_ or Java_ symbol" >&2; exit 1; }
  { echo '{ global:'; printf '  %s;\n' "${syms[@]}"; echo '  local: *;'; echo '};'; } >"$tmp/exports.map"
  python-zig cc -target x86_64-linux-gnu.$GLIBC -shared -o "$tmp/libbaton.so" \
    -Wl,-soname,libbaton.so."$soversion" -Wl,--version-script,"$tmp/exports.map" \
    $(printf -- '-Wl,-u,%s ' "${syms[@]}") "$rel/libbaton.a" \
    -lunwind -lutil -lrt -lpthread -lm -ldl -lc \
    -Wl,--gc-sections -Wl,-z,relro,-z,now -Wl,-z,noexecstack -Wl,--eh-frame-hdr
  # Debug info is for profiling baton itself; the shipped copies carry the code only.
  strip --strip-debug -o "$dst/libbaton.so" "$tmp/libbaton.so"
  strip --strip-debug -o "$dst/libbaton.a" "$rel/libbaton.a"
}

relink=0
args=()
cross=()
for platform in "${platforms[@]}"; do
  triple=$(triple_of "$platform")
  if [ "$platform" = linux-x86_64-gnu ] && [ "${NATIVE_RELINK_HOST:-1}" = 1 ] \
    && [ "$(uname -sm)" = "Linux x86_64" ] && ! ldd --version 2>&1 | grep -qi musl; then
    relink=1
    continue
  fi
  cross+=("$platform")
  if [[ $triple == *musl ]]; then
    # musl targets link statically by default, which rules out a shared library.
    export "CARGO_TARGET_$(echo "$triple" | tr 'a-z-' 'A-Z_')_RUSTFLAGS=-C target-feature=-crt-static"
    args+=(--target "$triple")
  else
    args+=(--target "$triple.$GLIBC")
  fi
done
if [ "$relink" = 1 ]; then
  echo "native-all.sh: linux-x86_64-gnu from target/release, relinked against glibc $GLIBC" >&2
  relink_host_gnu
fi
[ ${#cross[@]} -gt 0 ] || exit 0
echo "native-all.sh: building ${cross[*]} (profile $PROFILE)" >&2
cargo zigbuild --quiet --profile "$PROFILE" --no-default-features --lib "${args[@]}" ${NATIVE_CARGO_FLAGS:-}
for platform in "${cross[@]}"; do
  built="target/$(triple_of "$platform")/$PROFILE"
  mkdir -p "$out/$platform"
  cp "$built/libbaton.so" "$out/$platform/libbaton.so"
  cp "$built/libbaton.a" "$out/$platform/libbaton.a"
done
