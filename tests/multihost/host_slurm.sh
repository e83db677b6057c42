#!/usr/bin/env bash
# A Slurm cluster over the test hosts (test_hosts.sh): slurmctld and munged
# in the machine's own namespace, one slurmd inside each test host
# (NodeName=h1..hN, started there with `slurmd -N hN`). Sourced by
# slurm_hosts.sh after test_hosts.sh; never run on its own.
#
#   th_up 3 && host_slurm_start     # exports SLURM_CONF; EXIT trap stops all
#   sbatch --nodes=3 ... / srun ...
#   host_slurm_stop
#
# Like tests/slurm/mini_slurm.sh (whose small helpers it reuses: free port,
# wait, log tail) everything lives under the run's folder: munge's key and
# socket (a file-system socket, so reachable from every host), slurm.conf,
# state, spool folders, logs and pid files (per node: %n). slurmctld listens
# on the bridge address; each slurmd listens inside its own host, so the
# slurmds may share one port. host_slurm_stop kills exactly the daemons this
# shell started, by pid (slurmd inside the hosts by their pid files).

source "$(dirname "${BASH_SOURCE[0]}")/../slurm/mini_slurm.sh"

HOST_SLURM_DIR=""
_host_slurm_pids=()

host_slurm_start() {
  local tool
  for tool in munged slurmctld slurmd sbatch srun scontrol runuser; do
    command -v "$tool" >/dev/null 2>&1 ||
      { _th_fail "'$tool' not found: install Slurm and munge with 'apt-get install slurm-wlm munge libpmix-dev'"; return 1; }
  done
  ((${#TH_HOSTS[@]} > 0)) || { _th_fail "host_slurm_start: no test hosts (call th_up first)"; return 1; }
  trap 'host_slurm_stop; th_down' EXIT
  HOST_SLURM_DIR=$TH_DIR/slurm
  local d=$HOST_SLURM_DIR ctl cpus ctld_port slurmd_port first=${TH_HOSTS[0]} last=${TH_HOSTS[-1]}
  local prefix=${first%1} nodes
  nodes="$prefix[1-${#TH_HOSTS[@]}]"
  ctl=$(hostname -s)
  cpus=$(nproc --all)
  ctld_port=$(_mini_slurm_free_port) && slurmd_port=$(_mini_slurm_free_port) ||
    { _th_fail "no free TCP port between 20000 and 40000 for slurmctld/slurmd"; return 1; }

  mkdir -p "$d/munge" "$d/state" "$d/spool" "$d/log" "$d/jobs" && chmod 755 "$d" "$d/jobs"
  chown munge:munge "$d/munge" && chmod 711 "$d/munge"
  dd if=/dev/urandom of="$d/munge/munge.key" bs=1024 count=1 status=none
  chown munge:munge "$d/munge/munge.key" && chmod 400 "$d/munge/munge.key"
  runuser -u munge -- munged --socket="$d/munge/munge.socket" --key-file="$d/munge/munge.key" \
    --pid-file="$d/munge/munged.pid" --log-file="$d/munge/munged.log" --seed-file="$d/munge/munged.seed" ||
    { _mini_slurm_log_tail "$d/munge/munged.log"; _th_fail "munged did not start (log above)"; return 1; }
  _mini_slurm_wait_for "[[ -s $d/munge/munged.pid ]]" 10
  _host_slurm_pids+=("$(cat "$d/munge/munged.pid")")

  cat >"$d/slurm.conf" <<CONF
# Written by tests/multihost/host_slurm.sh for the test hosts ${TH_HOSTS[*]}.
ClusterName=raympi-hosts
SlurmctldHost=$ctl($TH_GATEWAY)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$d/munge/munge.socket
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool/%n
# One host's /tmp is every host's here: PMIx's per-step client folders go per node.
TmpFS=$d/tmp/%n
SlurmctldPidFile=$d/slurmctld.pid
SlurmdPidFile=$d/slurmd-%n.pid
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd-%n.log
$(_mini_slurm_conf_common)
SlurmdDebug=info
# The host names resolve through /etc/hosts (test_hosts.sh).
NodeName=$nodes CPUs=$cpus State=UNKNOWN
PartitionName=hosts Nodes=$nodes Default=YES MaxTime=30 State=UP OverSubscribe=FORCE:4
CONF
  export SLURM_CONF=$d/slurm.conf

  slurmctld -f "$SLURM_CONF" ||
    { _mini_slurm_log_tail "$d/log/slurmctld.log"; _th_fail "slurmctld did not start (log above)"; return 1; }
  _mini_slurm_wait_for "[[ -s $d/slurmctld.pid ]]" 10 && _host_slurm_pids+=("$(cat "$d/slurmctld.pid")")
  local host
  for host in "${TH_HOSTS[@]}"; do
    mkdir -p "$d/spool/$host" "$d/tmp/$host"
    th_exec_cgroups "$host" slurmd -f "$SLURM_CONF" -N "$host" ||
      { _mini_slurm_log_tail "$d/log/slurmd-$host.log"; _th_fail "slurmd on $host did not start (log above)"; return 1; }
    _mini_slurm_wait_for "[[ -s $d/slurmd-$host.pid ]]" 10 && _host_slurm_pids+=("$(cat "$d/slurmd-$host.pid")")
  done
  if ! _mini_slurm_wait_for "[[ \$(sinfo -h -N -o %T | grep -Ec '^(idle|mixed|allocated)') == ${#TH_HOSTS[@]} ]]" 30; then
    echo "host_slurm: node states: $(sinfo -h -N -o '%N %T %E' 2>&1 | tr '\n' ';')" >&2
    _mini_slurm_log_tail "$d/log/slurmctld.log"
    _mini_slurm_log_tail "$d/log/slurmd-$last.log"
    _th_fail "the nodes $nodes did not all become idle within 30 s (logs above)"
    return 1
  fi
  echo "host_slurm: Slurm up: slurmctld on $ctl ($TH_GATEWAY:$ctld_port), slurmd on ${TH_HOSTS[*]} (port $slurmd_port)"
}

host_slurm_stop() {
  # Newest first: the slurmds, slurmctld, munged.
  _mini_slurm_stop_pids "${_host_slurm_pids[@]}"
  _host_slurm_pids=()
}
