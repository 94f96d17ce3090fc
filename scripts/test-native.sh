#!/usr/bin/env bash
# Checks each library `make native-all` built, and runs the C test suite (tests/c) against it
# and a real redis-server, the way its platform would:
#   linux-x86_64-gnu    natively; no glibc symbol newer than 2.17 (versioned or not)
#   linux-aarch64-gnu   under qemu-aarch64 with Debian's aarch64 glibc; no symbol newer than 2.17
#   linux-x86_64-musl   linked to the musl libbaton.so with musl-gcc, run by musl's loader
#   linux-aarch64-musl  a static musl program (zig, libbaton.a) under qemu-aarch64
# Every library must also export the same C ABI and JNI functions as the others.
# Usage: scripts/test-native.sh [platform...] (default: every one built). Platforms can be
# tested side by side (make test-native runs two at a time): each has its own files.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/target/dist-tools/bin:$PATH"
native=target/dist/native
out=target/dist/test-native
mkdir -p "$out"
platforms=("$@")
[ ${#platforms[@]} -gt 0 ] || platforms=($(cd "$native" && ls -d linux-* 2>/dev/null))
[ ${#platforms[@]} -gt 0 ] || { echo "test-native.sh: nothing under $native; run make native-all" >&2; exit 1; }
cflags=(-std=c11 -Wall -Wextra -Werror -O1 -Iinclude)
fail() { echo "test-native.sh: $*" >&2; exit 1; }

# The newest GLIBC_x.y symbol version a library needs.
max_glibc() { readelf -W --dyn-syms "$1" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1; }
# Strong undefined symbols without a version: on glibc, functions the baseline does not have.
unversioned_undefined() { readelf -W --dyn-syms "$1" | awk '$7 == "UND" && $5 != "WEAK" && $8 != "" && $8 !~ /@/ { print $8 }' | paste -sd' ' -; }
# The C ABI's and JNI's functions a library exports.
exports() { readelf -W --dyn-syms "$1" | awk '$7 != "UND" && $8 ~ /^(baton_|Java_|JNI_)/ { print $8 }' | sort; }
check_elf() { # check_elf LIB MACHINE LIBC
  local lib=$1
  [ -f "$lib" ] || fail "$lib is missing; run make native-all"
  # Every platform exports the same functions: linux-x86_64-gnu is relinked by native-all.sh
  # from the host build's objects, the others are rustc's own links.
  local mine other; mine=$(exports "$lib")
  [ -n "$mine" ] || fail "$lib exports no baton_ or Java_ function"
  for other in "$PWD/$native"/*/libbaton.so; do
    [ "$other" = "$lib" ] || [ "$mine" = "$(exports "$other")" ] || fail "$lib and $other export \
different functions (< only in the first, > only in the second): $(diff <(echo "$mine") <(exports "$other") | grep '^[<>]' | paste -sd' ')"
  done
  readelf -h "$lib" | grep -q "Machine:.*$2" || fail "$lib is not a $2 library"
  readelf -d "$lib" | grep -q 'SONAME.*libbaton.so.0' || fail "$lib has no SONAME libbaton.so.0"
  if [ "$3" = gnu ]; then
    readelf -d "$lib" | grep -q 'NEEDED.*libc.so.6' || fail "$lib does not link glibc"
    local v; v=$(max_glibc "$lib")
    [ "$(printf '%s\n2.17\n' "$v" | sort -V | tail -1)" = 2.17 ] || fail "$lib needs GLIBC_$v, newer than the 2.17 baseline"
    # zig links against 2.17's symbol stubs: a libc function newer than that (getrandom: 2.25)
    # stays undefined without a version, and loading fails on an older glibc.
    local unversioned; unversioned=$(unversioned_undefined "$lib")
    [ -z "$unversioned" ] || fail "$lib needs symbols glibc 2.17 lacks (undefined, unversioned): $unversioned; call them through libc::syscall or dlsym instead"
    echo "$lib: $2, glibc symbols up to $v" >&2
  else
    readelf -d "$lib" | grep -q 'NEEDED.*libc.musl\|NEEDED.*libc.so' || fail "$lib does not link musl"
    ! readelf -d "$lib" | grep -q 'NEEDED.*libc.so.6' || fail "$lib links glibc, not musl"
    echo "$lib: $2, musl" >&2
  fi
}

for platform in "${platforms[@]}"; do
  lib="$PWD/$native/$platform"
  bin="$out/test_baton-$platform"
  # Programs ask for the SONAME, as they would from an installed copy.
  mkdir -p "$out/$platform" && ln -sfn "$lib/libbaton.so" "$out/$platform/libbaton.so.0"
  run_dir="$PWD/$out/$platform"
  echo "== $platform" >&2
  case "$platform" in
    linux-x86_64-gnu)
      check_elf "$lib/libbaton.so" X86-64 gnu
      cc "${cflags[@]}" tests/c/test_baton.c -o "$bin" -L"$lib" -lbaton -lpthread -lm
      tests/c/with-redis.sh env LD_LIBRARY_PATH="$run_dir" "$bin" ;;
    linux-aarch64-gnu)
      check_elf "$lib/libbaton.so" AArch64 gnu
      python-zig cc -target aarch64-linux-gnu.2.17 "${cflags[@]}" tests/c/test_baton.c -o "$bin" \
        -L"$lib" -lbaton -lpthread -lm
      tests/c/with-redis.sh qemu-aarch64-static -L /usr/aarch64-linux-gnu -E LD_LIBRARY_PATH="$run_dir" "$bin" ;;
    linux-x86_64-musl)
      check_elf "$lib/libbaton.so" X86-64 musl
      musl-gcc "${cflags[@]}" -Wno-error tests/c/test_baton.c -o "$bin" -L"$lib" -lbaton -lpthread -lm
      readelf -l "$bin" | grep -q 'ld-musl' || fail "$bin is not a musl program"
      tests/c/with-redis.sh env LD_LIBRARY_PATH="$run_dir" "$bin" ;;
    linux-aarch64-musl)
      check_elf "$lib/libbaton.so" AArch64 musl
      python-zig cc -target aarch64-linux-musl -static "${cflags[@]}" tests/c/test_baton.c -o "$bin" \
        "$lib/libbaton.a" -lunwind -lpthread -lm
      tests/c/with-redis.sh qemu-aarch64-static "$bin" ;;
    *) fail "unknown platform $platform" ;;
  esac
done
