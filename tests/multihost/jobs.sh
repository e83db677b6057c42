#!/usr/bin/env bash
# raympi jobs across three test hosts under mpirun (hostfile + rsh agent):
# ranks 0-2 (GS, GCS, the driver's node) on h1, node rank 3 on h2, 4 on h3.
#   1. the layout: every rank's `hostname` is its intended host, and Open
#      MPI's orted runs inside each host (its network namespace);
#   2. raympi::nodes() names h1, h2, h3 for node ranks 2, 3, 4;
#   3. the tutorial examples that run on several nodes, and the integration
#      tests with cross-node work (GoogleTest programs), exit 0. A program
#      given as PATH:4 runs with 4 ranks (h1 and h2 only): cross_node's
#      tests count on exactly two node ranks.
#
# usage: jobs.sh <hpc_probe> <examples folder> <integration test program>[:NP]...
source "$(dirname "${BASH_SOURCE[0]}")/mh_common.sh"
(($# >= 2)) || { echo "usage: $0 <hpc_probe> <examples folder> <test program>..." >&2; exit 2; }
probe=$(realpath "$1") examples=$(realpath "$2")
shift 2
export RAYMPI_NUM_CPUS=4 RAYMPI_NUM_GPUS=0
mh_start 3 "tutorial examples and cross-node integration tests on h1 (ranks 0-2), h2 (3), h3 (4)"

# 1. Where each rank runs, as the rank itself sees it.
mh_job layout 60 "$TH_MPIRUN" -np 5 sh -c 'echo "MH_RANK $OMPI_COMM_WORLD_RANK $(hostname)"'
for want in "0 h1" "1 h1" "2 h1" "3 h2" "4 h3"; do
  has "$TH_DIR/layout.out" "^MH_RANK $want$" "rank ${want% *} runs on ${want#* }"
done

# The Open MPI daemons: one inside every host, next to that host's ranks.
"$TH_MPIRUN" -np 5 "$probe" hold 4 >"$TH_DIR/hold.out" 2>&1 &
job=$!
for _ in $(seq 1 300); do grep -q PROBE_READY "$TH_DIR/hold.out" && break; sleep 0.1; done
if grep -q PROBE_READY "$TH_DIR/hold.out"; then
  for host in "${TH_HOSTS[@]}"; do
    procs=$(for p in $(th_pids "$host"); do ps -o args= -p "$p"; done)
    want_ranks=$([[ $host == h1 ]] && echo 3 || echo 1)
    grep -q '^orted ' <<<"$procs" && ok "orted runs inside $host" || bad "no orted inside $host: $procs"
    n=$(grep -c "^$probe hold" <<<"$procs")
    [[ $n == "$want_ranks" ]] && ok "$n rank(s) run inside $host" || bad "$n rank(s) inside $host, want $want_ranks"
  done
else
  bad "the hold job did not start: $(cat "$TH_DIR/hold.out")"
fi
wait "$job" || bad "the hold job failed: $(cat "$TH_DIR/hold.out")"

# 2. raympi's own view of the hosts.
mh_job nodes 60 "$TH_MPIRUN" -np 5 "$probe" nodes
[[ $MH_RC == 0 ]] && ok "hpc_probe nodes: exit 0" || bad "hpc_probe nodes: exit $MH_RC"
for want in "2 h1" "3 h2" "4 h3"; do
  has "$TH_DIR/nodes.out" "^PROBE_NODE rank=${want% *} host=${want#* } " "raympi::nodes(): node rank ${want% *} on ${want#* }"
done

# 3. The examples registered for several node ranks (examples/CMakeLists.txt),
# then the integration tests given on the command line.
# 09_gpus with 4 ranks (h1, h2): it checks that two of its three GPU tasks
# that ran at once on one node got different GPUs, and three node ranks may
# well run them one per node.
for spec in 01_parallel_tasks 02_task_dependencies 04_actors 05_actor_handles 09_gpus:4 11_passing_weights \
            12_tree_reduce; do
  ex=${spec%:*} np=5
  [[ $spec == *:[0-9] ]] && np=${spec##*:}
  mh_job "$ex" 120 "$TH_MPIRUN" -np "$np" "$examples/$ex"
  if [[ $MH_RC == 0 ]] && ! grep -q '^FAIL' "$TH_DIR/$ex.out"; then ok "$ex across hosts, np $np ($MH_TOOK s)"
  else bad "$ex across hosts, np $np: exit $MH_RC$(grep '^FAIL' "$TH_DIR/$ex.out" | sed 's/^/; /' | tr -d '\n')"; fi
done
for spec in "$@"; do
  prog=${spec%:*} np=5
  [[ $spec == *:[0-9] ]] && np=${spec##*:}
  name=$(basename "$prog")
  cpus=4
  [[ $name == nested ]] && cpus=3  # as tests/CMakeLists.txt runs it
  mh_job "$name" 180 env RAYMPI_NUM_CPUS=$cpus "$TH_MPIRUN" -np "$np" "$prog"
  if [[ $MH_RC == 0 ]] && grep -q '^\[  PASSED  \]' "$TH_DIR/$name.out"; then ok "$name across hosts, np $np ($MH_TOOK s)"
  else bad "$name across hosts, np $np: exit $MH_RC$(grep '^\[  FAILED  \] [A-Za-z]' "$TH_DIR/$name.out" | sed 's/^\[  FAILED  \]/;/' | tr -d '\n')"; fi
done
mh_no_processes_left "after the jobs"
mh_finish
