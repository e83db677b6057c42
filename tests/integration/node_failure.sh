#!/usr/bin/env bash
# node_failure.sh MODE OK_COUNT WANT_EXIT LAUNCH... : runs the node_failure
# program (tests/integration/node_failure.cpp) in MODE under LAUNCH (mpiexec
# with recovery enabled, or srun --no-kill) and passes when
#   * the driver printed exactly OK_COUNT "FAULT_OK" lines and no "FAULT_FAIL",
#   * the job's exit status is 0 (WANT_EXIT=zero) or not (WANT_EXIT=nonzero);
#     WANT_EXIT=ranksN: N ranks said they leave with exit status 1 (under
#     Open MPI's recovery mode mpiexec itself exits 0 whatever its ranks do),
#   * it ended within its time limit (never a hang), and
#   * no process of the job is left anywhere on this host.
set -uo pipefail
mode=$1 want=$2 want_exit=$3
shift 3
start=$(date +%s)
out=$(timeout -k 5 120 "$@" "$mode" 2>&1)
rc=$?
echo "$out"
took=$(( $(date +%s) - start ))
n=$(grep -c '^FAULT_OK' <<<"$out")
fail=0
if grep -q '^FAULT_FAIL' <<<"$out" || [[ $n != "$want" ]]; then
  echo "node_failure.sh: $n FAULT_OK line(s), want $want, or a FAULT_FAIL line" >&2; fail=1
fi
if [[ $rc == 124 || $rc == 137 ]]; then echo "node_failure.sh: the job hung (killed after 120 s)" >&2; fail=1; fi
if [[ $want_exit == zero && $rc != 0 ]] || [[ $want_exit == nonzero && $rc == 0 ]]; then
  echo "node_failure.sh: exit status $rc, want $want_exit" >&2; fail=1
fi
if [[ $want_exit == ranks* ]]; then
  left_nonzero=$(grep -c 'leaving it with exit status 1' <<<"$out")
  if [[ $left_nonzero != "${want_exit#ranks}" ]]; then
    echo "node_failure.sh: $left_nonzero rank(s) left with status 1, want ${want_exit#ranks}" >&2; fail=1
  fi
fi
sleep 1
left=$(pgrep -f "node_failure $mode\$" | grep -v "^$$\$" || true)
if [[ -n $left ]]; then
  echo "node_failure.sh: processes left: $(ps -o pid,args -p ${left//$'\n'/,} 2>/dev/null)" >&2
  pkill -9 -f "node_failure $mode\$"; fail=1
fi
echo "node_failure.sh: mode $mode, exit $rc, $took s"
exit $fail
