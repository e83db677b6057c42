#!/usr/bin/env bash
# A node rank SIGKILLed on its own host while a task runs there
# (tests/integration/node_failure.cpp, mode node) under mpirun
# --enable-recovery across two test hosts: ranks 0-2 on h1, node rank 3 on
# h2. tests/integration/node_failure.sh judges the driver's side (13
# FAULT_OK lines: NodeDiedError naming rank 3 within the heartbeat timeout,
# ObjectLostError, ActorDiedError, retries on rank 2, no hang, no process of
# the job left on this machine); here: rank 3 was on h2 and nothing at all
# (ranks, orted) is left inside either host.
#
# usage: node_failure.sh <tests/integration/node_failure.sh> <node_failure program>
source "$(dirname "${BASH_SOURCE[0]}")/mh_common.sh"
(($# == 2)) || { echo "usage: $0 <node_failure.sh> <node_failure>" >&2; exit 2; }
judge=$(realpath "$1") prog=$(realpath "$2")
export RAYMPI_NUM_CPUS=4 RAYMPI_NUM_GPUS=0 RAYMPI_HEARTBEAT_MS=200 RAYMPI_HEARTBEAT_TIMEOUT_MS=1500
mh_start 2 "node rank 3 (on h2) SIGKILLed while a task runs there"

# mpirun itself on h1, next to ranks 0-2, as in an allocation: started
# outside the hosts (all ranks under remote orteds), Open MPI 4.1's recovery
# mode leaves mpirun and the orteds waiting forever once the ranks are gone.
mh_job node_failure 150 bash "$judge" node 13 any "$TH_ON" h1 "$TH_MPIRUN" --enable-recovery --display-map -np 4 "$prog"
[[ $MH_RC == 0 ]] && ok "node_failure.sh: the driver got the errors it should, nothing left ($MH_TOOK s)" ||
  bad "node_failure.sh: exit $MH_RC (its reasons above)"
# --display-map: "Data for node: h2 ..." then that node's "Process rank: N" lines.
host_of_3=$(awk '/Data for node:/ {host = $4} /Process rank: 3 / {print host}' "$TH_DIR/node_failure.out" | head -1)
[[ $host_of_3 == h2 ]] && ok "rank 3 ran on h2" || bad "rank 3 ran on '${host_of_3:-?}', want h2"
has "$TH_DIR/node_failure.out" "^FAULT_OK running task: NodeDiedError: .*rank 3" "the driver got NodeDiedError naming rank 3"
mh_no_processes_left "after the node's death"
mh_finish
