#!/usr/bin/env bash
# Checks that an installed raympi can be used by an outside project:
#   1. builds the raympi build tree and installs it into a temporary prefix;
#   2. moves the prefix elsewhere and runs the installed commands with a clean
#      environment (RUNPATH relative to $ORIGIN), and loads the modulefile
#      with Lmod;
#   3. then, from the moved prefix, configures and builds
#      tests/install/consumer with find_package(raympi) and runs it under
#      mpiexec (and its ctest tests, which use the installed add_raympi_test /
#      raympi_add_mpi_run);
#   4. compiles the consumer's main.cpp with `pkg-config --cflags --libs raympi`
#      and runs that under mpiexec too.
# Exits non-zero on the first failure; always removes its temporary folder.
#
# usage: check_install.sh [BUILD_DIR] [SOURCE_DIR]
#   SOURCE_DIR defaults to this repository, BUILD_DIR to SOURCE_DIR/build.
set -Eeuo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "${2:-$here/../..}" && pwd)
build=${1:-$src/build}
np=3
run_timeout=${RAYMPI_CHECK_INSTALL_RUN_TIMEOUT:-120}
jobs=$(nproc 2>/dev/null || echo 2)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/raympi-install-check.XXXXXX")
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT
trap 'echo "check_install: FAILED (line $LINENO: $BASH_COMMAND)" >&2' ERR

step() { printf '\n=== check_install: %s\n' "$*"; }
run() {
  printf '+ %s\n' "$*"
  local rc=0
  "$@" || rc=$?
  if ((rc != 0)); then
    echo "check_install: FAILED (exit status $rc): $*" >&2
    exit "$rc"
  fi
}

# mpiexec as the ctest registrations use it.
mpiexec=${MPIEXEC:-mpiexec}
mpi_flags=(-n "$np")
if "$mpiexec" --version 2>&1 | grep -qE 'Open ?MPI|OpenRTE'; then
  mpi_flags+=(--oversubscribe)
  if [[ $(id -u) == 0 ]]; then
    mpi_flags+=(--allow-run-as-root)
  fi
fi
export OMPI_MCA_rmaps_base_oversubscribe=1

prefix=$tmp/prefix

step "build and install $build into $prefix"
if [[ ! -f $build/CMakeCache.txt ]]; then
  run cmake -S "$src" -B "$build"
fi
run cmake --build "$build" -j "$jobs"
run cmake --install "$build" --prefix "$prefix"

config=$(find "$prefix" -name raympiConfig.cmake -print -quit)
pcfile=$(find "$prefix" -name raympi.pc -print -quit)
[[ -n $config ]] || { echo "check_install: raympiConfig.cmake was not installed" >&2; exit 1; }
[[ -n $pcfile ]] || { echo "check_install: raympi.pc was not installed" >&2; exit 1; }
for f in raympiConfigVersion.cmake raympiTargets.cmake RaympiTesting.cmake; do
  [[ -f $(dirname "$config")/$f ]] || { echo "check_install: $f was not installed" >&2; exit 1; }
done
[[ -f $prefix/include/raympi/raympi.hpp ]] || { echo "check_install: headers were not installed" >&2; exit 1; }
[[ -x $prefix/bin/raympi ]] || { echo "check_install: the raympi command was not installed" >&2; exit 1; }
echo "installed: $config, $pcfile"

# The installed commands must run from any prefix with a clean environment:
# move the whole prefix elsewhere, then run each command under `env -i` (no
# LD_LIBRARY_PATH, nothing of this shell's). They find libraympi.so through
# their $ORIGIN-relative RUNPATH.
step "relocated prefix, clean environment"
moved=$tmp/moved/somewhere/else
mkdir -p "$(dirname "$moved")"
run mv "$prefix" "$moved"
clean_env=(env -i PATH=/usr/bin:/bin HOME="$tmp")
if [[ $(id -u) == 0 ]]; then
  clean_env+=(OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1)
fi
for program in raympi raympi-bench raympi-startup-bench raympi-metg; do
  [[ -x $moved/bin/$program ]] || { echo "check_install: bin/$program was not installed" >&2; exit 1; }
  runpath=$(readelf -d "$moved/bin/$program" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
  if [[ $runpath != '$ORIGIN/'* ]]; then
    echo "check_install: bin/$program has RUNPATH '$runpath', not one relative to \$ORIGIN" >&2
    exit 1
  fi
  if "${clean_env[@]}" ldd "$moved/bin/$program" | grep -q 'not found'; then
    echo "check_install: bin/$program misses libraries in a clean environment:" >&2
    "${clean_env[@]}" ldd "$moved/bin/$program" | grep 'not found' >&2
    exit 1
  fi
  echo "bin/$program: RUNPATH $runpath"
done
run "${clean_env[@]}" "$moved/bin/raympi" run --dry-run -- ./app
run "${clean_env[@]}" "$moved/bin/raympi-bench" --help
run "${clean_env[@]}" timeout "$run_timeout" "$moved/bin/raympi-startup-bench" --runs 1 --np 3

# The modulefile, through Lmod (the module system of most HPC sites; it also
# reads Environment Modules' Tcl files) in a clean login-like shell.
step "modulefile: module use + module load raympi"
modulefile=$(find "$moved" -path '*/modulefiles/raympi/*' -type f -print -quit)
[[ -n $modulefile ]] || { echo "check_install: the modulefile was not installed" >&2; exit 1; }
lmod_init=/usr/share/lmod/lmod/init/bash
[[ -f $lmod_init ]] || { echo "check_install: Lmod is not installed ($lmod_init); apt-get install lmod" >&2; exit 1; }
module_check=$("${clean_env[@]}" bash -c '
  set -e
  source "$1"
  module use "$2"
  module load raympi
  echo "RAYMPI_ROOT=$RAYMPI_ROOT"
  echo "raympi=$(command -v raympi)"
  pkg-config --variable=prefix raympi >/dev/null && echo "pkgconfig=ok"
  raympi run --dry-run -- ./app >/dev/null && echo "runs=ok"
' _ "$lmod_init" "$(dirname "$(dirname "$modulefile")")" 2>&1) || {
  echo "check_install: module load raympi failed:" >&2
  echo "$module_check" >&2
  exit 1
}
echo "$module_check"
grep -qx "RAYMPI_ROOT=$moved" <<<"$module_check" &&
  grep -qx "raympi=$moved/bin/raympi" <<<"$module_check" &&
  grep -qx "pkgconfig=ok" <<<"$module_check" && grep -qx "runs=ok" <<<"$module_check" || {
  echo "check_install: the modulefile did not point at $moved" >&2
  exit 1
}
prefix=$moved
config=$(find "$prefix" -name raympiConfig.cmake -print -quit)
pcfile=$(find "$prefix" -name raympi.pc -print -quit)

step "CMake consumer: find_package(raympi) with CMAKE_PREFIX_PATH=$prefix"
consumer=$tmp/consumer-build
run cmake -S "$here/consumer" -B "$consumer" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo
found_dir=$(sed -n 's/^raympi_DIR:[A-Z]*=//p' "$consumer/CMakeCache.txt")
if [[ $found_dir != "$prefix"/* ]]; then
  echo "check_install: the consumer found raympi in '$found_dir', not under $prefix" >&2
  exit 1
fi
run cmake --build "$consumer" -j "$jobs"
run timeout "$run_timeout" "$mpiexec" "${mpi_flags[@]}" "$consumer/app"
run ctest --test-dir "$consumer" --output-on-failure --timeout "$run_timeout"

pcdir=$(dirname "$pcfile")
step "pkg-config consumer: PKG_CONFIG_PATH=$pcdir"
export PKG_CONFIG_PATH=$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
pc_flags=$(pkg-config --cflags --libs raympi)
pc_libdir=$(pkg-config --variable=libdir raympi)
echo "pkg-config --cflags --libs raympi: $pc_flags"
# shellcheck disable=SC2086  # the flags are meant to split into words
run "${CXX:-g++}" -o "$tmp/app-pkgconfig" "$here/consumer/main.cpp" $pc_flags \
    "-Wl,-rpath,$pc_libdir"
run timeout "$run_timeout" "$mpiexec" "${mpi_flags[@]}" "$tmp/app-pkgconfig"

step "OK: the installed raympi works with CMake and with pkg-config"
