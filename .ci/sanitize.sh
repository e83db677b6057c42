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
    # time there; raympi's part is the tree-reduce example (TSan runs it).
    slurm_templates
    # Compares a raympi job's CPU time with plain MPI's: the sanitizer runtime
    # adds CPU time of its own (a release-build specification check).
    idle_cpu_np4
  )
else
  # The tutorial's multi-node runs (no timing windows at np 4) and, at np 4
  # (two node ranks), the integration tests where most threads meet: tasks,
  # nested tasks, actors and their life cycle, objects across nodes (UCX),
  # reference counting, wait, spilling, and the UCX data plane (without its
  # 1 GiB case, see release_only_cases).
  selection=(-R '^(tutorial_(02_task_dependencies|04_actors|12_tree_reduce)_np4|(core_tasks|nested|actors|actor_lifecycle|objects|cross_node|refcount|wait|spill|data_plane)_np4)$')
  excluded=()
fi
# GoogleTest cases left out (GTEST_FILTER, read by every test program):
# specification checks for release builds that a sanitizer breaks by design.
release_only_cases=(
  # a time limit, against a 5-10x slowdown: 100,000 actors created within 2 s
  ActorScale.HundredThousandActorsOnOneNode
  # a time window: 300 pulls served before a node's computation ends
  WorkerPriority.ANodeServesObjectsWhileItsWorkersCompute
  # resident memory returned to the system: ASan's and TSan's allocators
  # (quarantine, shadow memory) replace glibc's malloc and its trimming
  'MemoryReturn.*'
  DataPlaneMemory.CreatingAndDroppingObjectsLeavesMemoryFlat
  # 1 GiB objects: 10+ GB of shadow memory per rank under TSan, minutes
  # under ASan; the 64 MiB case runs the same code (no size threshold above it)
  '*/1073741824B'
)
export GTEST_FILTER="-$(IFS=:; echo "${release_only_cases[*]}")"

# --- configure and build ----------------------------------------------------
launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR=$root CCACHE_NOHASHDIR=true
fi
# The CMake file API tells which target makes which executable (needed_targets.py).
mkdir -p "$build/.cmake/api/v1/query"
touch "$build/.cmake/api/v1/query/codemodel-v2"
# -O1 -g1: half the compile time of -O2 -g on a cold CI machine, with the
# line tables that reports need (file:line per frame); NDEBUG as in release.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRAYMPI_SANITIZE=$sanitize \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" \
  -DRAYMPI_BUILD_TESTS=ON -DRAYMPI_BUILD_EXAMPLES=ON "${launcher[@]}" >/dev/null
# ASan: an integration test registered at np 1, 3 and 4 runs at np 1 and 4
# only (np 3, one node rank, adds no path np 1 and np 4 lack; it would add
# ~25% to the run). RAYMPI_SANITIZE_ALL_NP=1 keeps np 3.
if [[ $mode == address && ${RAYMPI_SANITIZE_ALL_NP:-0} != 1 ]]; then
  mapfile -t names < <(ctest --test-dir "$build" -N "${selection[@]}" | sed -n 's/^ *Test *#[0-9]*: //p')
  for name in "${names[@]}"; do
    base=${name%_np3}
    if [[ $name == *_np3 ]] && printf '%s\n' "${names[@]}" | grep -qx "${base}_np1" &&
       printf '%s\n' "${names[@]}" | grep -qx "${base}_np4"; then
      excluded+=("$name")
    fi
  done
fi
if ((${#excluded[@]})); then
  selection+=(-E "^($(IFS='|'; echo "${excluded[*]}"))\$")
fi
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
reports=$(cd "$build" && pwd)/sanitizer-reports
rm -rf "$reports"
mkdir -p "$reports"
# Every process writes its report to <reports>/report.<program>.<pid> (and exits
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
  # UCX (raympi's data plane, and Open MPI's UCX components even with
  # RAYMPI_UCX=0) patches mmap/munmap to see memory being unmapped; stacked
  # on TSan's own mmap interceptors that crashes (SIGSEGV at exit). The hooks
  # only keep UCX's registration cache right for RDMA devices; the shared
  # memory and tcp transports on one host do not use it.
  export UCX_MEM_MMAP_HOOK_MODE=none
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
