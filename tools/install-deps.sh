#!/bin/sh
# Installs the Debian packages nnspy's build and tests need (cmocka, jansson, ...),
# when they are missing. Called by `make check` and `make demo` (and, with the
# argument `fuzz`, by `make fuzz`); safe to run again: it installs nothing when
# everything is there.
set -eu
need=""
have_header() { [ -f "/usr/include/$1" ]; }
have_header cmocka.h || need="$need libcmocka-dev"
have_header jansson.h || need="$need libjansson-dev"
# call sites: libunwind reads stacks in the preload, elfutils' libdw names them
[ -n "$(ls /usr/include/libunwind.h /usr/include/*/libunwind.h 2>/dev/null)" ] ||
    need="$need libunwind-dev"
have_header elfutils/libdwfl.h || need="$need libdw-dev"
command -v addr2line >/dev/null 2>&1 || need="$need binutils"
command -v python3 >/dev/null 2>&1 || need="$need python3"
command -v gcc >/dev/null 2>&1 || need="$need gcc"
command -v make >/dev/null 2>&1 || need="$need make"
if [ "${1:-}" = fuzz ]; then
    command -v clang >/dev/null 2>&1 || need="$need clang"
    ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 ||
        need="$need libclang-rt-14-dev"
fi
[ -z "$need" ] && exit 0
echo "nnspy: installing missing packages:$need"
if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "nnspy: please install as root: apt-get install$need" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq $need >/dev/null
