#!/usr/bin/env bash
# A one-host Slurm for tests, from Debian's slurm-wlm and munge: sourced by
# the Slurm tests (tests/slurm/*.sh), never run on its own.
#
#   source mini_slurm.sh
#   mini_slurm_start            # sets MINI_SLURM_DIR and exports SLURM_CONF
#   sbatch ... / srun ... / salloc ...
#   mini_slurm_stop             # also run by the EXIT trap mini_slurm_start sets
#
# Everything lives under a fresh temporary folder: munge's key and socket,
# slurm.conf, the state and spool folders, the daemons' logs and pid files.
# The daemons listen on free ports picked here, so a system Slurm (or another
# test's) on the same host is left alone. mini_slurm_stop kills exactly the
# daemons this shell started, by pid. Needs root (slurmd runs jobs as their
# submitting user and munged runs as user munge).
#
# Where Slurm cannot start, mini_slurm_start prints why (the daemon's log
# tail) and returns 1.

MINI_SLURM_DIR=""
_mini_slurm_pids=()

_mini_slurm_fail() {
  echo "mini_slurm: $*" >&2
  return 1
}

# A TCP port nobody uses (per /proc/net/tcp{,6}, so no extra tool is needed).
_mini_slurm_free_port() {
  local port hex
  for port in $(shuf -i 20000-40000 -n 50); do
    printf -v hex ':%04X ' "$port"
    if ! grep -q "$hex" /proc/net/tcp /proc/net/tcp6 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

# Waits up to $2 seconds for command $1 (a string to eval) to succeed.
_mini_slurm_wait_for() {
  local cmd=$1 limit=$2 i
  for ((i = 0; i < limit * 10; i++)); do
    eval "$cmd" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

_mini_slurm_log_tail() {
  [[ -f $1 ]] && tail -n 15 "$1" | sed 's/^/    /' >&2
}

# The slurm.conf settings every test Slurm shares (this one and
# tests/multihost/host_slurm.sh's): process tracking, MPI, scheduling.
_mini_slurm_conf_common() {
  cat <<'CONF'
ProctrackType=proctrack/pgid
TaskPlugin=task/affinity
MpiDefault=pmix
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
CONF
}

mini_slurm_start() {
  local tool
  for tool in munged slurmctld slurmd sbatch srun scontrol runuser; do
    command -v "$tool" >/dev/null 2>&1 ||
      _mini_slurm_fail "'$tool' not found: install Slurm and munge with 'apt-get install slurm-wlm munge libpmix-dev'" ||
      return 1
  done
  [[ $(id -u) == 0 ]] ||
    _mini_slurm_fail "needs root (slurmd and munged switch users); run the test as root, as .ci/run does" || return 1
  [[ -f /usr/lib/x86_64-linux-gnu/libpmix.so || -n $(ldconfig -p 2>/dev/null | grep 'libpmix.so ') ]] ||
    _mini_slurm_fail "srun --mpi=pmix needs libpmix.so: apt-get install libpmix-dev" || return 1

  MINI_SLURM_DIR=$(mktemp -d "${TMPDIR:-/tmp}/raympi-slurm.XXXXXX") || return 1
  trap mini_slurm_stop EXIT
  chmod 755 "$MINI_SLURM_DIR"
  local d=$MINI_SLURM_DIR host cpus ctld_port slurmd_port
  host=$(hostname -s)
  cpus=$(nproc --all)
  ctld_port=$(_mini_slurm_free_port) && slurmd_port=$(_mini_slurm_free_port) ||
    _mini_slurm_fail "no free TCP port between 20000 and 40000 for slurmctld/slurmd" || return 1

  # munge: our own key and socket, run as user munge.
  mkdir -p "$d/munge" && chown munge:munge "$d/munge" && chmod 711 "$d/munge"  # clients (any user) reach the socket
  dd if=/dev/urandom of="$d/munge/munge.key" bs=1024 count=1 status=none
  chown munge:munge "$d/munge/munge.key" && chmod 400 "$d/munge/munge.key"
  runuser -u munge -- munged --socket="$d/munge/munge.socket" --key-file="$d/munge/munge.key" \
    --pid-file="$d/munge/munged.pid" --log-file="$d/munge/munged.log" --seed-file="$d/munge/munged.seed" ||
    { _mini_slurm_log_tail "$d/munge/munged.log"; _mini_slurm_fail "munged did not start (log above)"; return 1; }
  _mini_slurm_wait_for "[[ -s $d/munge/munged.pid ]]" 10
  _mini_slurm_pids+=("$(cat "$d/munge/munged.pid")")

  mkdir -p "$d/state" "$d/spool" "$d/log"
  cat >"$d/slurm.conf" <<CONF
# Written by tests/slurm/mini_slurm.sh for this host only.
ClusterName=raympi-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$d/munge/munge.socket
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/slurmctld.pid
SlurmdPidFile=$d/slurmd.pid
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd.log
$(_mini_slurm_conf_common)
GresTypes=gpu
NodeName=$host CPUs=$cpus Gres=gpu:2 State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=30 State=UP OverSubscribe=FORCE:4
CONF
  # No GPUs on a CI host: two character devices stand in, so that the GPU
  # template's --gres=gpu:N request is scheduled and narrowed by Slurm.
  cat >"$d/gres.conf" <<CONF
NodeName=$host Name=gpu File=/dev/null
NodeName=$host Name=gpu File=/dev/zero
CONF
  export SLURM_CONF=$d/slurm.conf

  slurmctld -f "$SLURM_CONF" ||
    { _mini_slurm_log_tail "$d/log/slurmctld.log"; _mini_slurm_fail "slurmctld did not start (log above)"; return 1; }
  _mini_slurm_wait_for "[[ -s $d/slurmctld.pid ]]" 10 && _mini_slurm_pids+=("$(cat "$d/slurmctld.pid")")
  slurmd -f "$SLURM_CONF" ||
    { _mini_slurm_log_tail "$d/log/slurmd.log"; _mini_slurm_fail "slurmd did not start (log above)"; return 1; }
  _mini_slurm_wait_for "[[ -s $d/slurmd.pid ]]" 10 && _mini_slurm_pids+=("$(cat "$d/slurmd.pid")")

  if ! _mini_slurm_wait_for "sinfo -h -n $host -o %T | grep -Eq '^(idle|mixed|allocated)'" 30; then
    echo "mini_slurm: node state: $(sinfo -h -n "$host" -o '%T %E' 2>&1)" >&2
    _mini_slurm_log_tail "$d/log/slurmctld.log"
    _mini_slurm_log_tail "$d/log/slurmd.log"
    _mini_slurm_fail "the node $host did not become idle within 30 s (logs above)"
    return 1
  fi
  echo "mini_slurm: Slurm up on $host ($cpus CPUs, ports $ctld_port/$slurmd_port, folder $d)"
}

# Stops the daemons with these pids, last first (each gets 10 s after
# SIGTERM, then SIGKILL). Also used by tests/multihost/host_slurm.sh.
_mini_slurm_stop_pids() {
  local pid i pids=("$@")
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid=${pids[$i]}
    kill "$pid" 2>/dev/null || continue
    _mini_slurm_wait_for "! kill -0 $pid" 10 || kill -9 "$pid" 2>/dev/null
  done
}

mini_slurm_stop() {
  # Newest first: slurmd, slurmctld, munged.
  _mini_slurm_stop_pids "${_mini_slurm_pids[@]}"
  _mini_slurm_pids=()
  if [[ -n $MINI_SLURM_DIR && -z ${MINI_SLURM_KEEP:-} ]]; then rm -rf "$MINI_SLURM_DIR"; fi
}
