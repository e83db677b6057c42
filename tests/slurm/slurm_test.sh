#!/usr/bin/env bash
# The Slurm side of issue 6 on a real one-host Slurm (tests/slurm/mini_slurm.sh
# starts slurmctld, slurmd and munged from Debian's packages and stops them):
#   1. each template of slurm/ submitted with `sbatch --wait` against the
#      tree-reduce example: exit status 0, the example's checks pass, and
#      `raympi run` inside the batch job picked srun;
#   2. `raympi run` inside `salloc` picks srun too;
#   3. pain point 5: under `srun --cpus-per-task=C` a node reports C CPUs;
#   4. pain point 3 under Slurm: `scancel` of one of two running jobs leaves
#      the other running and nothing of the cancelled one behind;
#   5. `ctest` itself under srun (the unit tests);
#   6. a node rank SIGKILLed under `srun --no-kill`: Slurm's PMIx plugin
#      cancels the whole step all the same, within seconds, nothing left.
#
# usage: slurm_test.sh <slurm/ folder> <raympi> <12_tree_reduce> <hpc_probe> <build dir>
# Needs root and slurm-wlm, munge, libpmix-dev (.ci/setup.sh installs them).
set -uo pipefail
(($# == 5)) || { echo "usage: $0 <slurm dir> <raympi> <12_tree_reduce> <hpc_probe> <build dir>" >&2; exit 2; }
templates=$(realpath "$1") raympi=$(realpath "$2") tree=$(realpath "$3") probe=$(realpath "$4") build=$(realpath "$5")
source "$(dirname "${BASH_SOURCE[0]}")/mini_slurm.sh"
# Start outside any allocation, whatever the caller's environment.
for v in $(env | sed -n 's/^\(SLURM_[A-Z_]*\)=.*/\1/p') RAYMPI_LAUNCHER; do unset "$v"; done
mini_slurm_start || { echo "slurm_test: FAIL: Slurm could not start (reason above)" >&2; exit 1; }
export PATH="$(dirname "$raympi"):$PATH"
jobs=$MINI_SLURM_DIR/jobs
mkdir -p "$jobs"
cd "$jobs" || exit 1
cpus=$(nproc --all)
fail=0
ok() { echo "slurm_test: ok: $*"; }
bad() { echo "slurm_test: FAIL: $*" >&2; fail=1; }
has() {  # has <file> <extended regex> <what>
  if grep -qE -- "$2" "$1"; then ok "$3"; else bad "$3: no /$2/ in $1:"; sed 's/^/    /' "$1" >&2; fi
}

# submit <name> <sbatch options and script...>: sbatch --wait, 150 s at most.
submit() {
  local name=$1
  shift
  local rc=0
  timeout 150 sbatch --wait --quiet --output="$jobs/$name.out" "$@" || rc=$?
  if [[ $rc == 0 ]]; then ok "$name: sbatch --wait exit 0"; else bad "$name: sbatch --wait exit $rc (124: timed out)"; fi
  echo "----- $name.out (sbatch $*)"
  sed 's/^/    /' "$jobs/$name.out" 2>/dev/null
  echo "-----"
}

# 1. The templates, each against the tree reduce (one host here: --nodes=1).
submit single "$templates/raympi-single-node.sbatch" "$tree"
submit multi --nodes=1 "$templates/raympi-multi-node.sbatch" "$tree"
submit gpu --nodes=1 --gres=gpu:2 --cpus-per-task="$cpus" "$templates/raympi-gpu.sbatch" "$tree"
for name in single multi gpu; do
  has "$jobs/$name.out" "^raympi: 3 ranks with srun \(inside Slurm job [0-9]+\)" "$name: raympi run picked srun in the batch job"
  has "$jobs/$name.out" "^PASS: result == 40320 \* ones\(10000\)" "$name: the tree reduce's result"
  if grep -q '^FAIL' "$jobs/$name.out"; then bad "$name: a FAIL line in the output"; fi
done
has "$jobs/single.out" "^  2 +node \(driver\) +$(hostname -s) +$cpus " "single: the node rank owns the node's $cpus CPUs"
has "$jobs/gpu.out" "CUDA_VISIBLE_DEVICES=0,1 \(SLURM_GPUS_ON_NODE=2\)" "gpu: Slurm narrowed the job to its 2 GPUs"
has "$jobs/gpu.out" "^  2 +node \(driver\) +[^ ]+ +[0-9]+ +2$" "gpu: the node rank gets the job's 2 GPUs"
submit gpu_probe --nodes=1 --gres=gpu:1 --cpus-per-task=1 "$templates/raympi-gpu.sbatch" "$probe" nodes
has "$jobs/gpu_probe.out" "CUDA_VISIBLE_DEVICES=0 \(SLURM_GPUS_ON_NODE=1\)" "gpu: with --gres=gpu:1 Slurm narrows the job to 1 of the host's 2 GPUs"
has "$jobs/gpu_probe.out" "^PROBE_NODE rank=2 .* CPU=1 GPU=1( |$)" "gpu: --gres=gpu:1 --cpus-per-task=1: the running node reports CPU=1 GPU=1"

# 2. The launcher inside salloc.
timeout 60 salloc --quiet -N1 --exclusive raympi run -v -- "$probe" nodes >"$jobs/salloc.out" 2>&1 || bad "salloc raympi run: exit $?"
has "$jobs/salloc.out" "^raympi: 3 ranks with srun \(inside Slurm job [0-9]+\)" "salloc: raympi run picked srun"
has "$jobs/salloc.out" "^PROBE_NODE rank=2 .* CPU=$cpus " "salloc: the node reports the allocation's $cpus CPUs"

# 3. Pain point 5: a node's CPUs follow srun --cpus-per-task.
for c in 1 2; do
  ((c > cpus)) && continue
  timeout 60 srun --mpi=pmix -n 3 --overcommit --cpus-per-task=$c "$probe" nodes >"$jobs/cpt$c.out" 2>&1 ||
    bad "srun --cpus-per-task=$c: exit $?"
  has "$jobs/cpt$c.out" "^PROBE_NODE rank=2 .* CPU=$c " "srun --cpus-per-task=$c: the node reports $c CPUs"
done

# 4. Pain point 3: scancel one of two running jobs. `exec raympi run`, as in
# the templates: scancel's SIGTERM then reaches the launcher, which stops its
# step and removes its folder (a shell in between would die at once and
# Slurm would SIGKILL the rest of the batch step, launcher included).
spill=$MINI_SLURM_DIR/spill
mkdir -p "$spill"
export RAYMPI_SPILL_DIR=$spill RAYMPI_OBJECT_STORE_MEMORY=16M
job_a=$(sbatch --parsable -n1 -c1 --oversubscribe --output="$jobs/a.out" --wrap "exec raympi run -- '$probe' hold 90 32")
job_b=$(sbatch --parsable -n1 -c1 --oversubscribe --output="$jobs/b.out" --wrap "exec raympi run -- '$probe' hold 12 32")
ready() { grep -q PROBE_READY "$1" 2>/dev/null; }
for ((i = 0; i < 600; i++)); do ready "$jobs/a.out" && ready "$jobs/b.out" && break; sleep 0.1; done
if ready "$jobs/a.out" && ready "$jobs/b.out"; then
  mapfile -t a_ranks < <(awk '/^PROBE_PID/ {print $2}' "$jobs/a.out")
  mapfile -t b_ranks < <(awk '/^PROBE_PID/ {print $2}' "$jobs/b.out")
  a_folder=$(awk '/^PROBE_SPILL/ {print $2}' "$jobs/a.out")
  [[ -d $a_folder ]] && ok "scancel: job A ($job_a) runs and spills to $a_folder" || bad "scancel: job A's spill folder '$a_folder' missing"
  scancel "$job_a"
  for ((i = 0; i < 300; i++)); do [[ -z $(squeue -h -j "$job_a" 2>/dev/null) ]] && break; sleep 0.1; done
  sleep 1
  alive() { local n=0 p; for p in "$@"; do kill -0 "$p" 2>/dev/null && n=$((n + 1)); done; echo $n; }
  [[ $(alive "${a_ranks[@]}") == 0 ]] && ok "scancel: no process of job A left" || bad "scancel: $(alive "${a_ranks[@]}") of job A's ranks still run"
  [[ ! -e $a_folder && -z $(find "$spill" -maxdepth 1 -name "raympi-launch-*" ! -newer "$jobs/b.out" -path "*$(basename "$(dirname "$(dirname "$a_folder")")")*") ]] &&
    ok "scancel: job A's files are gone" || bad "scancel: job A's folder $(dirname "$(dirname "$a_folder")") is still there"
  [[ $(alive "${b_ranks[@]}") == 3 ]] && ok "scancel: job B ($job_b) untouched, its 3 ranks run" || bad "scancel: job B lost ranks"
  for ((i = 0; i < 600; i++)); do [[ -z $(squeue -h -j "$job_b" 2>/dev/null) ]] && break; sleep 0.1; done
  has "$jobs/b.out" "^PROBE_DONE" "scancel: job B finished normally"
  [[ -z $(ls -A "$spill") ]] && ok "scancel: nothing left in the spill folder" || bad "scancel: left in the spill folder: $(ls -A "$spill")"
else
  bad "scancel: the two jobs did not both start:"
  cat "$jobs/a.out" "$jobs/b.out" >&2
  scancel "$job_a" "$job_b" 2>/dev/null
fi
unset RAYMPI_SPILL_DIR RAYMPI_OBJECT_STORE_MEMORY

# 5. ctest under srun: the unit tests in one task with the node's CPUs.
timeout 120 srun -n1 -c "$cpus" ctest --test-dir "$build" -L unit --output-on-failure >"$jobs/ctest.out" 2>&1 ||
  bad "srun ctest -L unit: exit $?"
has "$jobs/ctest.out" "100% tests passed" "ctest -L unit under srun passes"

# 6. A node rank dies (tests/integration/node_failure.cpp, mode node) under
# srun --no-kill: slurmstepd's PMIx error handler cancels the step anyway
# (docs/reliability.md), so the job ends at once and leaves nothing behind.
if [[ -x $build/tests/node_failure ]]; then
  start=$(date +%s)
  RAYMPI_NUM_CPUS=4 RAYMPI_HEARTBEAT_MS=200 RAYMPI_HEARTBEAT_TIMEOUT_MS=1500 \
    timeout 90 srun --mpi=pmix -n 4 --overcommit --no-kill "$build/tests/node_failure" node >"$jobs/nokill.out" 2>&1
  rc=$? took=$(( $(date +%s) - start ))
  has "$jobs/nokill.out" "STEP [0-9.]+ ON .* CANCELLED" "srun --no-kill: Slurm cancelled the step when a rank died"
  [[ $rc != 0 && $rc != 124 && $took -lt 60 ]] && ok "srun --no-kill: the step ended (exit $rc) in $took s" ||
    bad "srun --no-kill: exit $rc after $took s"
  sleep 1
  [[ -z $(pgrep -f "tests/node_failure node") ]] && ok "srun --no-kill: no process left" || bad "srun --no-kill: processes left"
else
  bad "no $build/tests/node_failure to run"
fi

((fail == 0)) && echo "slurm_test: PASS"
exit "$fail"
