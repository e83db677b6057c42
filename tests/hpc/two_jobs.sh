#!/usr/bin/env bash
# HPC pain points 2 and 3 (issue 6): Ray shares /tmp/ray between all jobs and
# users of a host, and `ray stop` stops every instance on it. In raympi:
#   2. each job's temporary and spill files live in a per-job, per-user folder
#      (mode 0700), removed at the end; two jobs on one host at once do not
#      collide;
#   3. stopping one job (SIGTERM to its `raympi run`) leaves the other running
#      job untouched and leaves no process or file behind.
#
# usage: two_jobs.sh <mpiexec> <raympi launcher> <hpc_probe>
#
# Job A: `raympi run -n 2 -- hpc_probe hold 60 48` (stopped with SIGTERM).
# Job B: `mpiexec -n 4 hpc_probe hold 6 48` (no launcher: the runtime's own
#        clean-up). Both spill (RAYMPI_OBJECT_STORE_MEMORY=16M) into the same
#        RAYMPI_SPILL_DIR at the same time.
set -uo pipefail
(($# == 3)) || { echo "usage: $0 <mpiexec> <raympi launcher> <hpc_probe>" >&2; exit 2; }
mpiexec=$1 raympi=$2 probe=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/raympi-two-jobs.XXXXXX")
a_pid="" b_pid=""
cleanup() {
  for p in $a_pid $b_pid; do kill -9 "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
spill=$tmp/spill
mkdir -p "$spill"
export RAYMPI_SPILL_DIR=$spill RAYMPI_OBJECT_STORE_MEMORY=16M
fail=0
check() {  # check <ok?> <what>
  if [[ $1 == 0 ]]; then echo "two_jobs: ok: $2"; else echo "two_jobs: FAIL: $2" >&2; fail=1; fi
}
wait_ready() {  # wait_ready <out> <ranks> <pid>
  local i
  for ((i = 0; i < 900; i++)); do
    grep -q PROBE_READY "$1" 2>/dev/null && (($(grep -c '^PROBE_PID' "$1") == $2)) && return 0
    kill -0 "$3" 2>/dev/null || break
    sleep 0.1
  done
  echo "two_jobs: job ($1) not ready:" >&2
  cat "$1" >&2
  return 1
}
alive() {  # how many of the pids still run
  local n=0 p
  for p in "$@"; do kill -0 "$p" 2>/dev/null && n=$((n + 1)); done
  echo "$n"
}

"$raympi" run -n 2 -- "$probe" hold 60 48 >"$tmp/a.out" 2>&1 &
a_pid=$!
"$mpiexec" -n 4 --oversubscribe "$probe" hold 6 48 >"$tmp/b.out" 2>&1 &
b_pid=$!
wait_ready "$tmp/a.out" 4 "$a_pid" && wait_ready "$tmp/b.out" 4 "$b_pid" || exit 1
mapfile -t a_ranks < <(awk '/^PROBE_PID/ {print $2}' "$tmp/a.out")
mapfile -t b_ranks < <(awk '/^PROBE_PID/ {print $2}' "$tmp/b.out")
a_folder=$(awk '/^PROBE_SPILL/ {print $2}' "$tmp/a.out")
b_folder=$(awk '/^PROBE_SPILL/ {print $2}' "$tmp/b.out")
a_job=$(dirname "$a_folder") b_job=$(dirname "$b_folder")
echo "two_jobs: job A (raympi run, pid $a_pid) spills to $a_folder"
echo "two_jobs: job B (mpiexec, pid $b_pid) spills to $b_folder"

# Pain point 2: separate per-job, per-user 0700 folders, both in use at once.
check "$([[ -n $a_folder && -n $b_folder && $a_job != "$b_job" ]]; echo $?)" "the two jobs' spill folders differ"
for d in "$a_job" "$b_job" "$a_folder" "$b_folder"; do
  check "$([[ -d $d && $(stat -c %a "$d") == 700 && $(stat -c %u "$d") == $(id -u) ]]; echo $?)" \
    "$d: mode $(stat -c %a "$d" 2>/dev/null), owner uid $(stat -c %u "$d" 2>/dev/null) (want 700, $(id -u))"
done
user=$(id -un)
check "$([[ $(basename "$b_job") == raympi-*"$user"-* ]]; echo $?)" "the job folder names the user ($(basename "$b_job"))"
for f in "$a_folder" "$b_folder"; do
  check "$([[ $(find "$f" -name '*.h5' | wc -l) -gt 0 ]]; echo $?)" "$f holds spill files ($(find "$f" -name '*.h5' | wc -l))"
done

# Pain point 3: SIGTERM to A's launcher stops A only.
kill -TERM "$a_pid"
a_status=0
timeout 20 tail --pid="$a_pid" -f /dev/null
wait "$a_pid" 2>/dev/null || a_status=$?
a_pid=""
sleep 0.5
check "$([[ $a_status -ne 0 ]]; echo $?)" "job A's launcher ended on SIGTERM (status $a_status)"
check "$([[ $(alive "${a_ranks[@]}") == 0 ]]; echo $?)" "job A left no rank process ($(alive "${a_ranks[@]}") of ${#a_ranks[@]} alive)"
left=$(find "$spill" -maxdepth 1 -name 'raympi-launch-*' | wc -l)
check "$([[ $left == 0 && ! -e $a_folder ]]; echo $?)" "job A left no file (launch folders left: $left)"
check "$([[ $(alive "${b_ranks[@]}") == 4 ]]; echo $?)" "job B untouched: $(alive "${b_ranks[@]}") of 4 ranks still run"

b_status=0
wait "$b_pid" || b_status=$?
b_pid=""
check "$([[ $b_status == 0 ]] && grep -q PROBE_DONE "$tmp/b.out"; echo $?)" "job B finished normally (status $b_status)"
check "$([[ -z $(ls -A "$spill") ]]; echo $?)" "nothing left in the spill folder after both jobs: '$(ls -A "$spill" | paste -sd' ')'"
((fail == 0)) || { echo "--- job A:"; cat "$tmp/a.out"; echo "--- job B:"; cat "$tmp/b.out"; } >&2
((fail == 0)) && echo "two_jobs: PASS"
exit "$fail"
