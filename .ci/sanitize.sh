#!/usr/bin/env bash
# Sanitizer CI step (docs/sanitizers.md):
#
#   bash .ci/sanitize.sh address   # ASan + UBSan (+ LSan) over ctest labels unit and integration
#   bash .ci/sanitize.sh thread    # TSan over a chosen subset
#
# Configures build-asan/ or build-tsan/ (RAYMPI_SANITIZE_BUILD_DIR overrides)
# with -DRAYMPI_SANITIZE, builds only the targets the selected tests run, runs
# them with the sanitizer options and the suppressions of tests/sanitizers/,
# and fails when a test fails or when any process wrote a sanitizer report
# (reports go to files as well, so that a test script that swallows a rank's
# stderr cannot hide one). Needs the packages of .ci/setup.sh.
set -euo pipefail
# The whole script is one compound command, read before it starts: editing
# the file during a run cannot change the run.
{
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
supp=$root/tests/sanitizers

mode=${1:-}
case "$mode" in
  address) sanitize=address,undefined; default_build=build-asan ;;
  thread) sanitize=thread; default_build=build-tsan ;;
  *)
    echo "usage: bash .ci/sanitize.sh address|thread (docs/sanitizers.md)" >&2
    exit 2
    ;;
esac
build=${RAYMPI_SANITIZE_BUILD_DIR:-$default_build}
jobs=${RAYMPI_SANITIZE_JOBS:-$(nproc)}
started=$SECONDS

if [[ $(id -u) == 0 ]]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

# --- which tests ----------------------------------------------------------
# ctest selection per mode; each exclusion says why (docs/sanitizers.md).
if [[ $mode == address ]]; then
  selection=(-L '^(unit|integration)$')
  excluded=(
    # Starts a real one-host Slurm (slurmctld, slurmd, munge) and spends its
    # time there; raympi's part is the tree-reduce example, run below anyway.
    slurm_templates
    # Compares a raympi job's CPU time with plain MPI's: the sanitizer runtime
    # adds CPU time of its own (a release-build specification check).
    idle_cpu_np4
  )
else
  # The tutorial's multi-node runs (no timing windows at np 4) and the
  # integration tests that exercise the most threads per rank: task fan-out,
  # actors, cross-node objects and the UCX data plane.
  selection=(-R '^(tutorial_(02_task_dependencies|04_actors|12_tree_reduce)_np4|core_tasks_np4|actors_np4|objects_np4|data_plane_np4)$')
  excluded=()
fi
exclude_regex=""
if ((${#excluded[@]})); then
  exclude_regex="^($(IFS='|'; echo "${excluded[*]}"))\$"
  selection+=(-E "$exclude_regex")
fi

# --- configure and build ----------------------------------------------------
launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR=$root CCACHE_NOHASHDIR=true
fi
# The CMake file API tells which target makes which executable (needed_targets.py).
mkdir -p "$build/.cmake/api/v1/query"
touch "$build/.cmake/api/v1/query/codemodel-v2"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRAYMPI_SANITIZE=$sanitize \
  -DRAYMPI_BUILD_TESTS=ON -DRAYMPI_BUILD_EXAMPLES=ON "${launcher[@]}" >/dev/null
read -r -a targets <<<"$(python3 "$supp/needed_targets.py" "$build" "${selection[@]}")"
read -r -a dependencies <<<"$(python3 "$supp/needed_targets.py" --dependencies "$build" "${selection[@]}")"
echo "sanitize[$mode]: building ${dependencies[*]}, then ${#targets[@]} programs: ${targets[*]}"
if ((${#dependencies[@]})); then
  cmake --build "$build" -j "$jobs" --target "${dependencies[@]}"
fi
if grep -q '^CMAKE_GENERATOR:INTERNAL=Unix Makefiles' "$build/CMakeCache.txt"; then
  # CMake's Makefiles build the targets of one command line one after the
  # other, and most test programs are one source file: build them side by
  # side instead (<target>/fast: without re-checking the dependencies built
  # just above, which concurrent makes would race on).
  printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} cmake --build "$build" --target {}/fast
else
  cmake --build "$build" -j "$jobs" --target "${targets[@]}"
fi
built_at=$SECONDS

# --- run ------------------------------------------------------------------
reports=$root/$build/sanitizer-reports
rm -rf "$reports"
mkdir -p "$reports"
# Every process writes its report to <reports>/<tool>.<exe>.<pid> (and exits
# non-zero); Open MPI's mpiexec passes the launching environment to the ranks
# it starts on this host.
log="log_path=$reports/report:log_exe_name=1"
if [[ $mode == address ]]; then
  # fast_unwind_on_malloc=0: Open MPI unloads its components (dlclose) at
  # MPI_Finalize, so frames inside them are "<unknown module>" at the exit
  # leak check; the full (slow) unwind also records the libmpi/libopen-pal
  # frames below them, which lsan.supp names.
  export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:fast_unwind_on_malloc=0:strict_init_order=1:$log"
  export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$supp/ubsan.supp:$log"
else
  # btl self,vader: Open MPI's tcp btl takes its two locks in both orders
  # (mca_btl_tcp_add_procs / _proc_remove), a lock-order report of its own;
  # on one host shared memory carries every message anyway.
  export OMPI_MCA_btl=self,vader
  export TSAN_OPTIONS="halt_on_error=0:second_deadlock_stack=1:suppressions=$supp/tsan.supp:print_suppressions=0:$log"
fi
status=0
ctest --test-dir "$build" "${selection[@]}" --output-on-failure -j1 --no-tests=error </dev/null || status=$?

# --- reports --------------------------------------------------------------
shopt -s nullglob
found=("$reports"/report*)
if ((${#found[@]})); then
  echo "sanitize[$mode]: ${#found[@]} process(es) wrote a sanitizer report:"
  for f in "${found[@]}"; do
    echo "===== $f"
    cat "$f"
  done
  ((status)) || status=1
fi
echo "sanitize[$mode]: build $((built_at - started)) s, tests $((SECONDS - built_at)) s, status $status"
exit "$status"
}
