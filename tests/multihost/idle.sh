#!/usr/bin/env bash
# Idle CPU with the ranks on different hosts (no shared-memory doorbell
# between them): tests/integration/idle_cpu.sh (a sleeping raympi job
# against a sleeping plain MPI job, CPU ticks of every rank and of mpirun
# from /proc) run through the test hosts' mpirun, 5 ranks: 0-2 on h1, 3 on
# h2, 4 on h3. The limit across hosts is 0.5 % of a core per rank above the
# plain MPI job (peers on other hosts ring each other over UCX instead of
# polling: libraympi/transport/README.md); prints the per-rank figure.
# IDLE_WINDOW (seconds, default here 20: 0.5 % is 10 ticks per rank),
# IDLE_SETTLE and IDLE_LIMIT_PCT reach idle_cpu.sh.
#
# usage: idle.sh <idle_cpu.sh> <idle_program> <idle_plain_mpi>
source "$(dirname "${BASH_SOURCE[0]}")/mh_common.sh"
(($# == 3)) || { echo "usage: $0 <idle_cpu.sh> <idle_program> <idle_plain_mpi>" >&2; exit 2; }
judge=$(realpath "$1") idle=$(realpath "$2") plain=$(realpath "$3")
export IDLE_WINDOW=${IDLE_WINDOW:-20} IDLE_LIMIT_PCT=${IDLE_LIMIT_PCT:-0.5} RAYMPI_NUM_CPUS=${RAYMPI_NUM_CPUS:-2} RAYMPI_NUM_GPUS=0
mh_start 3 "idle CPU of a raympi job across hosts"
np=5
mh_job idle 120 bash "$judge" "$TH_MPIRUN" "$np" "$idle" "$plain"
[[ $MH_RC == 0 ]] && ok "idle across hosts: within $IDLE_LIMIT_PCT % of a core per rank" ||
  bad "idle across hosts: over $IDLE_LIMIT_PCT % of a core per rank (idle_cpu.sh exit $MH_RC)"
awk -v np="$np" '
  /^idle_cpu: raympi job:/ {r = $4; w = $8}
  /^idle_cpu: plain MPI job:/ {p = $5}
  END {if (w > 0) printf "idle: across hosts, %.2f %% of a core per rank (plain MPI: %.2f %%), %d ranks, %d s window\n", 100 * r / w / np, 100 * p / w / np, np, w}' \
  "$TH_DIR/idle.out"
mh_no_processes_left "after the idle jobs"
mh_finish
