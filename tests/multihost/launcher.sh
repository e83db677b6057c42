#!/usr/bin/env bash
# `raympi run --hosts h1,h2,h3` across the test hosts: the launcher writes
# its rank file (GS, GCS and node rank 2 on h1, further node ranks round-robin)
# and starts mpirun, which reaches the hosts through the rsh agent
# (OMPI_MCA_plm_rsh_agent, as a site would set its ssh; th_export_mpi_env).
#   1. -v prints the role map; raympi::nodes() shows node ranks 2, 3, 4 on
#      h1, h2, h3 (hpc_probe nodes);
#   2. tasks spread over the hosts come back right (hpc_probe tasks);
#   3. -n 4: the fourth node rank goes round to h1 again.
#
# usage: launcher.sh <raympi> <hpc_probe>
source "$(dirname "${BASH_SOURCE[0]}")/mh_common.sh"
(($# == 2)) || { echo "usage: $0 <raympi> <hpc_probe>" >&2; exit 2; }
raympi=$(realpath "$1") probe=$(realpath "$2")
unset RAYMPI_LAUNCHER
export RAYMPI_NUM_GPUS=0
mh_start 3 "raympi run --hosts h1,h2,h3"
th_export_mpi_env

mh_job run_nodes 90 "$raympi" run --hosts h1,h2,h3 -v -- "$probe" nodes
[[ $MH_RC == 0 ]] && ok "raympi run --hosts: exit 0 ($MH_TOOK s)" || bad "raympi run --hosts: exit $MH_RC"
has "$TH_DIR/run_nodes.out" "^raympi: 5 ranks with mpirun" "the launcher picked mpirun for 5 ranks"
for want in "0 +global scheduler +h1" "1 +GCS +h1" "2 +node \(driver\) +h1" "3 +node +h2" "4 +node +h3"; do
  has "$TH_DIR/run_nodes.out" "^ +$want " "role map: rank ${want%% *} on ${want##*+}"
done
for want in "2 h1" "3 h2" "4 h3"; do
  has "$TH_DIR/run_nodes.out" "^PROBE_NODE rank=${want% *} host=${want#* } " "raympi::nodes(): node rank ${want% *} on ${want#* }"
done

mh_job run_tasks 90 "$raympi" run --hosts h1,h2,h3 -- "$probe" tasks 300
[[ $MH_RC == 0 ]] && ok "300 tasks over the hosts: exit 0 ($MH_TOOK s)" || bad "300 tasks over the hosts: exit $MH_RC"
has "$TH_DIR/run_tasks.out" "^PROBE_TASKS 300 8955050$" "300 tasks over the hosts: the sum of squares is right"

mh_job run_n4 90 "$raympi" run --hosts h1,h2,h3 -n 4 -v -- "$probe" nodes
[[ $MH_RC == 0 ]] && ok "raympi run --hosts -n 4: exit 0" || bad "raympi run --hosts -n 4: exit $MH_RC"
for want in "2 h1" "3 h2" "4 h3" "5 h1"; do
  has "$TH_DIR/run_n4.out" "^PROBE_NODE rank=${want% *} host=${want#* } " "-n 4: node rank ${want% *} on ${want#* }"
done
mh_no_processes_left "after the jobs"
mh_finish
