#!/usr/bin/env bash
# Idle CPU check: a raympi job whose driver sleeps must cost (almost) no more
# CPU than a plain MPI job that sleeps.
#
# usage: idle_cpu.sh <mpiexec> <np> <raympi_idle_program> <plain_mpi_program> [mpiexec options...]
#
# Both programs print "IDLE_PID <pid>" on every rank, then start (raympi::init
# / MPI_Init_thread), print "IDLE_READY" once ready and sleep. For each job
# this script waits for IDLE_READY, lets it settle for SETTLE seconds (so that
# start-up — MPI wire-up, raympi's init exchange, the first heartbeats — is not
# counted: start-up CPU is not idle CPU), then reads utime+stime of every rank
# process and of mpiexec from /proc/<pid>/stat (all threads of a process are
# included) at the start and at the end of a WINDOW-second window.
#
# Pass:  raympi <= plain + 1% of a core per rank over the window
#                        + one clock tick per sampled process
# The tick allowance covers /proc's granularity: utime/stime are whole clock
# ticks (1/CLK_TCK s), so each process's delta can read up to one tick high.
set -uo pipefail

if (($# < 4)); then
  echo "usage: $0 <mpiexec> <np> <raympi_idle_program> <plain_mpi_program> [mpiexec options...]" >&2
  exit 2
fi
mpiexec=$1 np=$2 raympi_prog=$3 plain_prog=$4
shift 4
mpi_opts=("$@")

SETTLE=${IDLE_SETTLE:-1}
WINDOW=${IDLE_WINDOW:-3}
LIMIT_PCT=${IDLE_LIMIT_PCT:-1}  # % of a core per rank above the plain MPI job
SLEEP=$((SETTLE + WINDOW + 2))  # the programs outlive the window comfortably
TICK=$(getconf CLK_TCK)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/raympi-idle.XXXXXX")
job_pid=""
cleanup() {
  if [[ -n $job_pid ]] && kill -0 "$job_pid" 2>/dev/null; then kill "$job_pid" 2>/dev/null; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# utime+stime (ticks) of one process: fields 14 and 15, counted after the
# ")" that ends the command name (which may contain spaces).
ticks_of() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo "gone"; return; }
  stat=${stat##*) }
  read -r -a f <<<"$stat"
  echo $((f[11] + f[12]))  # fields 14, 15 are the 12th, 13th after the name
}

# measure <label> <program>: writes the job's CPU ticks over the window to $tmp/<label>.ticks.
measure() {
  local label=$1 prog=$2 out="$tmp/$1.out"
  "$mpiexec" -n "$np" "${mpi_opts[@]}" "$prog" "$SLEEP" >"$out" 2>&1 &
  job_pid=$!
  local waited=0
  while ! grep -q IDLE_READY "$out" || (($(grep -c '^IDLE_PID' "$out") < np)); do
    if ! kill -0 "$job_pid" 2>/dev/null; then
      echo "idle_cpu: $label job ended before it was ready:" >&2
      cat "$out" >&2
      return 1
    fi
    sleep 0.1
    waited=$((waited + 1))
    if ((waited > 1200)); then
      echo "idle_cpu: $label job not ready after 120 s" >&2
      cat "$out" >&2
      return 1
    fi
  done
  mapfile -t pids < <(awk '/^IDLE_PID/ {print $2}' "$out")
  pids+=("$job_pid")  # mpiexec itself is part of the job
  sleep "$SETTLE"
  local -a before after
  for p in "${pids[@]}"; do before+=("$(ticks_of "$p")"); done
  sleep "$WINDOW"
  for p in "${pids[@]}"; do after+=("$(ticks_of "$p")"); done
  local total=0 i detail=""
  for i in "${!pids[@]}"; do
    if [[ ${before[$i]} == gone || ${after[$i]} == gone ]]; then
      echo "idle_cpu: $label: process ${pids[$i]} ended inside the window" >&2
      cat "$out" >&2
      return 1
    fi
    local d=$((after[i] - before[i]))
    total=$((total + d))
    detail+=" pid ${pids[$i]}=${d}"
  done
  if ! wait "$job_pid"; then
    echo "idle_cpu: $label job failed:" >&2
    cat "$out" >&2
    return 1
  fi
  job_pid=""
  echo "idle_cpu: $label: per-process ticks over ${WINDOW}s (1 tick = 1/${TICK} s; last = mpiexec):$detail"
  echo "$total" >"$tmp/$label.ticks"
}

measure raympi "$raympi_prog" || exit 1
measure plain "$plain_prog" || exit 1
raympi_ticks=$(cat "$tmp/raympi.ticks")
plain_ticks=$(cat "$tmp/plain.ticks")
nproc_sampled=$((np + 1))

awk -v r="$raympi_ticks" -v p="$plain_ticks" -v tick="$TICK" -v np="$np" -v w="$WINDOW" -v n="$nproc_sampled" \
    -v pct="$LIMIT_PCT" 'BEGIN {
  rs = r / tick; ps = p / tick
  budget = pct / 100 * np * w      # LIMIT_PCT % of a core per rank over the window
  tickallow = n / tick             # one tick per sampled process
  limit = ps + budget + tickallow
  printf "idle_cpu: raympi job: %.3f s CPU over %d s idle (%d ranks + mpiexec)\n", rs, w, np
  printf "idle_cpu: plain MPI job: %.3f s CPU over %d s idle\n", ps, w
  printf "idle_cpu: raympi %.2f %% of a core per rank (plain MPI %.2f %%)\n", 100 * rs / w / np, 100 * ps / w / np
  printf "idle_cpu: limit = plain %.3f + %g%%/rank %.3f + ticks %.3f = %.3f s\n", ps, pct, budget, tickallow, limit
  if (rs <= limit) { print "idle_cpu: PASS"; exit 0 }
  printf "idle_cpu: FAIL: raympi burns %.3f s more than the plain MPI job while idle\n", rs - ps
  exit 1
}'
