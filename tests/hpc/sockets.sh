#!/usr/bin/env bash
# HPC pain point 1 (issue 6), port collisions: Ray's head listens on fixed
# ports (6379, 8265, ...), so two jobs on one host collide. raympi opens no
# listening socket of its own: it talks over MPI.
#
# usage: sockets.sh <mpiexec> <hpc_probe> <idle_plain_mpi>
#
# Lists the listening TCP sockets of every rank of four 4-rank jobs on this
# host (from /proc/<pid>/fd and /proc/net/tcp{,6}, no extra tools):
#   plain     a plain MPI job (MPI_Init_thread, sleep): what MPI itself opens
#   mpi-only  raympi with RAYMPI_UCX=0 (objects over MPI)
#   no-tcp    raympi with UCX_TLS=^tcp (UCX without its TCP transport)
#   default   raympi as it starts by default (UCX data plane, all transports)
# Pass: mpi-only and no-tcp ranks listen on exactly as many sockets as plain
# ranks; default ranks' extra sockets (UCX's TCP transport, when UCX picks
# it) are on ports the kernel chose (ephemeral range), none on a fixed port,
# and none shared between ranks.
set -uo pipefail
(($# == 3)) || { echo "usage: $0 <mpiexec> <hpc_probe> <idle_plain_mpi>" >&2; exit 2; }
mpiexec=$1 probe=$2 plain=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/raympi-sockets.XXXXXX")
job=""
trap '[[ -n $job ]] && kill "$job" 2>/dev/null; rm -rf "$tmp"' EXIT
read -r eph_lo eph_hi </proc/sys/net/ipv4/ip_local_port_range
fail=0

# Listening sockets of one pid: "addr:port" per line (hex from /proc decoded).
listening_of() {
  local inodes
  inodes=$(ls -l "/proc/$1/fd" 2>/dev/null | sed -n 's/.*socket:\[\([0-9]*\)\].*/\1/p' | paste -sd' ')
  [[ -z $inodes ]] && return
  local addr hexport
  # mawk has no strtonum: awk picks the lines, bash decodes the hex port.
  awk -v inodes="$inodes" 'BEGIN { n = split(inodes, a, " "); for (i = 1; i <= n; i++) want[a[i]] = 1 }
    FNR > 1 && $4 == "0A" && ($10 in want) {
      split($2, la, ":")
      addr = (length(la[1]) == 8) ? "ipv4" : "ipv6"
      if (la[1] ~ /^0+$/) addr = addr "-any"
      print addr, la[2]
    }' /proc/net/tcp /proc/net/tcp6 2>/dev/null |
    while read -r addr hexport; do echo "$addr:$((16#$hexport))"; done
}

# run_job <label> <program> <ready-word> [env...]: writes $tmp/<label>.<pid> per rank.
run_job() {
  local label=$1 prog=$2 ready=$3
  shift 3
  local out=$tmp/$label.out i
  env "$@" "$mpiexec" -n 4 --oversubscribe "$prog" $([[ $prog == "$probe" ]] && echo hold) 4 >"$out" 2>&1 &
  job=$!
  for ((i = 0; i < 600; i++)); do
    grep -q "$ready" "$out" 2>/dev/null && (($(grep -c '_PID ' "$out") == 4)) && break
    kill -0 "$job" 2>/dev/null || break
    sleep 0.1
  done
  if ! grep -q "$ready" "$out"; then
    echo "sockets: $label job did not get ready:" >&2
    cat "$out" >&2
    return 1
  fi
  sleep 0.5
  local total=0 p
  for p in $(awk '/_PID /{print $2}' "$out"); do
    listening_of "$p" >"$tmp/$label.$p"
    total=$((total + $(wc -l <"$tmp/$label.$p")))
  done
  wait "$job" || { echo "sockets: $label job failed:" >&2; cat "$out" >&2; return 1; }
  job=""
  echo "sockets: $label: $total listening sockets over 4 ranks:" $(cat "$tmp/$label".[0-9]* | sort | uniq -c | awk '{print $2 "x" $1}')
  echo "$total" >"$tmp/$label.total"
}

run_job plain "$plain" IDLE_READY || exit 1
run_job mpi-only "$probe" PROBE_READY RAYMPI_UCX=0 || exit 1
run_job no-tcp "$probe" PROBE_READY UCX_TLS=^tcp || exit 1
run_job default "$probe" PROBE_READY || exit 1

plain_n=$(cat "$tmp/plain.total")
for label in mpi-only no-tcp; do
  n=$(cat "$tmp/$label.total")
  if ((n != plain_n)); then
    echo "sockets: FAIL: raympi ($label) listens on $n sockets, a plain MPI job on $plain_n: raympi opened its own" >&2
    fail=1
  fi
done
# Default: whatever exceeds the MPI sockets must be on kernel-chosen ports, each once.
extra=$(($(cat "$tmp/default.total") - plain_n))
ports=$(cat "$tmp"/default.[0-9]* | grep -v -- '-any:' | sed 's/.*://' | sort -n)
while read -r port; do
  [[ -z $port ]] && continue
  if ((port < eph_lo || port > eph_hi)); then
    echo "sockets: FAIL: a raympi rank listens on port $port, outside the ephemeral range $eph_lo-$eph_hi (a fixed port?)" >&2
    fail=1
  fi
done <<<"$ports"
if [[ -n $ports ]] && (($(sort <<<"$ports" | uniq -d | wc -l) > 0)); then
  echo "sockets: FAIL: two ranks listen on the same port" >&2
  fail=1
fi
echo "sockets: default raympi job: $extra sockets beyond MPI's, all from UCX's TCP transport on kernel-chosen ports (gone with UCX_TLS=^tcp)"
((fail == 0)) && echo "sockets: PASS: no listening socket of raympi's own; no fixed port"
exit "$fail"
