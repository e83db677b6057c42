#!/usr/bin/env bash
# Shared by the multi-host test scripts (tests/multihost/*.sh): sourced.
# Brings up the test hosts (test_hosts.sh) and gives the checks:
#
#   mh_start 3 "what this test checks"   # th_up 3, or FAIL (never a skip)
#   mh_job <name> <seconds> cmd...       # runs cmd, output in $TH_DIR/<name>.out
#                                        # (and on stdout); sets MH_RC, MH_TOOK
#   ok "what" / bad "what"               # one verdict line each
#   has <file> <regex> "what"            # ok when the file has a matching line
#   mh_no_processes_left "what"          # nothing runs in any test host (but
#                                        # the pids in MH_IGNORE_PIDS)
#   mh_finish                            # "PASS" or exits 1
set -uo pipefail
export GTEST_COLOR=no  # plain "[  PASSED  ]" lines to look for
source "$(dirname "${BASH_SOURCE[0]}")/test_hosts.sh"

_mh_name=$(basename "$0" .sh)
_mh_fail=0
MH_RC=0
MH_TOOK=0

ok() { echo "$_mh_name: ok: $*"; }
bad() { echo "$_mh_name: FAIL: $*" >&2; _mh_fail=1; }
has() {  # has <file> <extended regex> <what>
  if grep -qE -- "$2" "$1"; then ok "$3"; else bad "$3: no line matches /$2/ in $1"; fi
}

mh_start() {
  local n=$1
  shift
  echo "$_mh_name: $*"
  # Start outside any Slurm allocation, whatever the caller's environment.
  local v
  for v in $(env | sed -n 's/^\(SLURM_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
  th_up "$n" || { echo "$_mh_name: FAIL: the test hosts could not be made (reason above)" >&2; exit 1; }
}

mh_job() {
  local name=$1 limit=$2 start
  shift 2
  start=$(date +%s.%N)
  timeout -k 5 "$limit" "$@" >"$TH_DIR/$name.out" 2>&1
  MH_RC=$?
  MH_TOOK=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
  echo "----- $name (exit $MH_RC, $MH_TOOK s): $*"
  sed 's/^/    /' "$TH_DIR/$name.out"
  echo "-----"
  if [[ $MH_RC == 124 || $MH_RC == 137 ]]; then bad "$name: still running after $limit s (killed)"; fi
}

# Every process left inside a test host, as "host: pid args" lines.
mh_processes_left() {
  local host pid
  for host in "${TH_HOSTS[@]}"; do
    for pid in $(th_pids "$host"); do
      [[ " ${MH_IGNORE_PIDS:-} " == *" $pid "* ]] && continue  # daemons the test keeps (slurmd)
      echo "$host: $(ps -o pid=,args= -p "$pid" 2>/dev/null)"
    done
  done
}

# Waits up to 10 s for every test host to be empty, then judges.
mh_no_processes_left() {
  local left
  for _ in $(seq 1 50); do
    left=$(mh_processes_left)
    [[ -z $left ]] && break
    sleep 0.2
  done
  if [[ -z $left ]]; then ok "$1: no process left on ${TH_HOSTS[*]}"; else bad "$1: processes left: $left"; fi
}

mh_finish() {
  if ((_mh_fail == 0)); then
    echo "$_mh_name: PASS"
    exit 0
  fi
  echo "$_mh_name: FAIL (see the FAIL lines above)" >&2
  exit 1
}
