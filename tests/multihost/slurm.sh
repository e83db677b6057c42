#!/usr/bin/env bash
# Real Slurm across three test hosts (host_slurm.sh: slurmctld, munged, one
# slurmd inside each of h1, h2, h3), with slurm/raympi-multi-node.sbatch:
#   1. sbatch --nodes=3 --wait: the template's `raympi run` picks srun, the
#      role map shows one node rank per host (2 on h1, 3 on h2, 4 on h3) and
#      the tree reduce's result is right, exit 0; with hpc_probe instead,
#      raympi::nodes() shows node ranks 2, 3, 4 on h1, h2, h3;
#   2. the same template inside `salloc --nodes=3` (raympi run -> srun from
#      the submit host);
#   3. plain srun, as a user would start it by hand: `srun --mpi=pmix -N3 -n5
#      --distribution=arbitrary` with a host list (SLURM_HOSTFILE) that puts
#      ranks 0-2 on h1: raympi::nodes() shows h1, h2, h3;
# and afterwards no job process is left on any host (the slurmds stay until
# the end).
#
# usage: slurm.sh <slurm/ folder> <raympi> <12_tree_reduce> <hpc_probe>
source "$(dirname "${BASH_SOURCE[0]}")/mh_common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/host_slurm.sh"
(($# == 4)) || { echo "usage: $0 <slurm dir> <raympi> <12_tree_reduce> <hpc_probe>" >&2; exit 2; }
templates=$(realpath "$1") raympi=$(realpath "$2") tree=$(realpath "$3") probe=$(realpath "$4")
unset RAYMPI_LAUNCHER RAYMPI_NUM_CPUS
export RAYMPI_NUM_GPUS=0
mh_start 3 "slurm/raympi-multi-node.sbatch with --nodes=3 on a Slurm of h1, h2, h3"
host_slurm_start || { bad "Slurm could not start (reason above)"; mh_finish; }
MH_IGNORE_PIDS=$(cat "$HOST_SLURM_DIR"/slurmd-*.pid | tr '\n' ' ')
# Open MPI over the hosts' subnet (srun starts the ranks: no mpirun options).
th_export_mpi_env
export PATH="$(dirname "$raympi"):$PATH"
cd "$HOST_SLURM_DIR/jobs" || exit 1
echo "slurm.sh: sinfo -N"
sinfo -N | sed 's/^/    /'

# check_job <name>: the role map and the tree reduce in <name>.out
check_job() {
  local out=$HOST_SLURM_DIR/jobs/$1.out
  has "$out" "^raympi: 5 ranks with srun \(inside Slurm job [0-9]+\)" "$1: raympi run picked srun for 5 ranks"
  for want in "0 +global scheduler +h1" "1 +GCS +h1" "2 +node \(driver\) +h1" "3 +node +h2" "4 +node +h3"; do
    has "$out" "^ +$want " "$1: role map: rank ${want%% *} on ${want##*+}"
  done
  has "$out" "^PASS: result == 40320 \* ones\(10000\)" "$1: the tree reduce's result"
  if grep -q '^FAIL' "$out"; then bad "$1: $(grep '^FAIL' "$out" | head -3 | tr '\n' ';')"; fi
}

# 1. sbatch
echo "slurm.sh: \$ sbatch --wait --nodes=3 --output=multi.out $templates/raympi-multi-node.sbatch $tree"
start=$(date +%s)
timeout 150 sbatch --wait --quiet --nodes=3 --output="$HOST_SLURM_DIR/jobs/multi.out" \
  "$templates/raympi-multi-node.sbatch" "$tree"
rc=$?
echo "----- multi.out (exit $rc, $(($(date +%s) - start)) s)"
sed 's/^/    /' "$HOST_SLURM_DIR/jobs/multi.out" 2>/dev/null
echo "-----"
[[ $rc == 0 ]] && ok "sbatch --nodes=3: exit 0" || bad "sbatch --nodes=3: exit $rc (124: timed out)"
check_job multi

# The hosts the node ranks really run on (the role map is the launcher's plan).
timeout 150 sbatch --wait --quiet --nodes=3 --output="$HOST_SLURM_DIR/jobs/multi_probe.out" \
  "$templates/raympi-multi-node.sbatch" "$probe" nodes
rc=$?
echo "----- multi_probe.out (exit $rc): sbatch --wait --nodes=3 raympi-multi-node.sbatch hpc_probe nodes"
sed 's/^/    /' "$HOST_SLURM_DIR/jobs/multi_probe.out" 2>/dev/null
echo "-----"
[[ $rc == 0 ]] && ok "sbatch --nodes=3 hpc_probe: exit 0" || bad "sbatch --nodes=3 hpc_probe: exit $rc"
for want in "2 h1" "3 h2" "4 h3"; do
  has "$HOST_SLURM_DIR/jobs/multi_probe.out" "^PROBE_NODE rank=${want% *} host=${want#* } " \
    "sbatch: raympi::nodes(): node rank ${want% *} on ${want#* }"
done

# 2. The template in an interactive allocation: raympi run starts srun.
mh_job salloc 150 salloc --quiet --nodes=3 --exclusive bash "$templates/raympi-multi-node.sbatch" "$tree"
cp "$TH_DIR/salloc.out" "$HOST_SLURM_DIR/jobs/salloc.out"
[[ $MH_RC == 0 ]] && ok "salloc --nodes=3 + template: exit 0" || bad "salloc --nodes=3 + template: exit $MH_RC"
check_job salloc

# 3. srun by hand, raympi's layout as a host list.
printf '%s\n' h1 h1 h1 h2 h3 >"$HOST_SLURM_DIR/jobs/hostlist"
mh_job srun 120 env SLURM_HOSTFILE="$HOST_SLURM_DIR/jobs/hostlist" \
  srun --mpi=pmix -N3 -n5 --overcommit --distribution=arbitrary "$probe" nodes
[[ $MH_RC == 0 ]] && ok "srun -N3 -n5: exit 0" || bad "srun -N3 -n5: exit $MH_RC"
for want in "2 h1" "3 h2" "4 h3"; do
  has "$TH_DIR/srun.out" "^PROBE_NODE rank=${want% *} host=${want#* } " "srun: node rank ${want% *} on ${want#* }"
done

[[ -z $(squeue -h 2>/dev/null) ]] && ok "no job left in the queue" || bad "jobs left: $(squeue -h)"
mh_no_processes_left "after the jobs (slurmd aside)"
mh_finish
