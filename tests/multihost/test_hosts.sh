#!/usr/bin/env bash
# Test hosts on one machine, for the multi-host tests (tests/multihost/*.sh):
# sourced, never run on its own.
#
#   source test_hosts.sh
#   th_up 3                     # hosts h1 h2 h3; sets TH_* below and an EXIT trap
#   th_exec h2 hostname         # -> h2 (a command inside host h2)
#   "$TH_MPIRUN" -np 5 ./app    # ranks 0-2 on h1, 3 on h2, 4 on h3
#   th_down                     # also run by the EXIT trap th_up sets
#
# A host is one network namespace plus, for every command run in it, a fresh
# UTS namespace whose hostname is the host's name and a fresh IPC namespace:
# `ip netns exec <ns> unshare --uts --ipc sh -c 'hostname hN; exec ...'`.
# The IPC namespace matters: with only the network and the name apart, UCX
# 1.13 sees one machine (same boot id, same IPC namespace) and moves bytes
# between "hosts" over shared memory (measured: RAYMPI_UCX_PEER_ERRORS=0,
# 64 MiB objects, 0 bytes on the links); with it, UCX treats them as the
# different machines they stand for and uses tcp. Each namespace has its
# loopback up and one end of a veth pair whose other end is on a Linux
# bridge in the machine's own namespace; the bridge has the subnet's .254
# address (mpirun and slurmctld, started outside any host, reach the hosts
# through it) and host N has .N. /etc/hosts maps hN to its address between
# two marker lines naming this run. The hosts share the machine's file
# system (the build tree, /tmp, /dev/shm) and PID space, as the nodes of a
# cluster share a parallel file system; the network, the host name and
# System V IPC are their own.
#
# Names: host names are ${TH_HOST_PREFIX:-h}1..N (what hostname, Open MPI's
# hostfile, Slurm's NodeName and raympi::nodes() show); namespaces and links
# carry this shell's pid (rmh<pid>h1, rmb<pid>, rm<pid>h1/rm<pid>h1p) and the
# /24 subnet is one of 10.200-249.x that no interface or route uses. As host
# names are global (/etc/hosts), one set of test hosts exists at a time: th_up
# takes an exclusive lock (the folder /run/lock/raympi-test-hosts, waits up to 2
# minutes) and removes what a run that died without cleaning up left (its
# /etc/hosts block, namespaces, links and folder, found by its dead pid in
# the names).
#
# Set by th_up:
#   TH_HOSTS        array of host names (h1 h2 ...)
#   TH_DIR          this run's folder (hostfile, rsh agent, logs); removed by
#                   th_down (kept with TH_KEEP=1)
#   TH_SUBNET       e.g. 10.213.7.0/24;  TH_GATEWAY: the bridge's address
#   TH_ON           a script: `$TH_ON hN cmd args...` runs cmd inside host hN
#                   (what th_exec does, usable where a function is not)
#   TH_AGENT        the rsh agent for Open MPI (plm_rsh_agent): `agent hN cmd...`
#                   runs the shell command line cmd... inside host hN
#   TH_MPIRUN_ARGS  mpirun options for these hosts (agent, no tree spawn, TCP
#                   restricted to the subnet, vader within a host, tcp across)
#   TH_MPIRUN       a script: mpirun with those options, --oversubscribe and
#                   $TH_DIR/hostfile (h1: 3 slots, every other host: 1), so
#                   `$TH_MPIRUN -np 5 ./app` puts ranks 0-2 on h1, 3 on h2, 4 on
#                   h3 (usable where a function is not: timeout, env, scripts)
#   th_export_mpi_env exports the same as OMPI_MCA_* variables, for commands
#                   that start mpirun themselves (`raympi run --hosts ...`)
#
# Where test hosts cannot be made (no `ip`, not root, no network namespaces
# or bridges), th_up prints why and returns 1: the tests then fail, they do
# not skip.

TH_HOSTS=()
TH_DIR=""
TH_SUBNET=""
TH_GATEWAY=""
TH_AGENT=""
TH_ON=""
TH_MPIRUN=""
TH_MPIRUN_ARGS=()
_th_id=""           # this run's pid, part of every name it makes
_th_made_hosts=0    # hosts whose namespace exists (for th_down)
_th_mca=()          # Open MPI settings name=value (TH_MPIRUN_ARGS, th_export_mpi_env)

_th_fail() {
  echo "test_hosts: $*" >&2
  return 1
}

_th_ns() { echo "rmh$1$2"; }      # namespace of host $2 (h1...) of run $1
_th_veth() { echo "rm$1$2"; }     # bridge side of host $2's veth; the host side adds "p"
_th_bridge() { echo "rmb$1"; }

# Deletes the namespaces, links and /etc/hosts block of run <id>, by name.
# Processes still inside a namespace are killed first (TERM, then KILL):
# only the test's own jobs run there.
_th_remove_run() {
  local id=$1 nhosts=$2 prefix=$3 i host ns pids
  for ((i = 1; i <= nhosts; i++)); do
    host=$prefix$i ns=$(_th_ns "$id" "$host")
    [[ -e /run/netns/$ns ]] || continue
    pids=$(ip netns pids "$ns" 2>/dev/null)
    if [[ -n $pids ]]; then
      kill $pids 2>/dev/null
      for _ in 1 2 3 4 5 6 7 8 9 10; do [[ -z $(ip netns pids "$ns" 2>/dev/null) ]] && break; sleep 0.2; done
      pids=$(ip netns pids "$ns" 2>/dev/null)
      [[ -n $pids ]] && kill -9 $pids 2>/dev/null
    fi
    ip netns del "$ns" 2>/dev/null
  done
  for ((i = 1; i <= nhosts; i++)); do ip link del "$(_th_veth "$id" "$prefix$i")" 2>/dev/null; done
  ip link del "$(_th_bridge "$id")" 2>/dev/null
  _th_hosts_block_remove "$id"
}

# The lock is a folder holding its owner's pid, not a flock: the daemons a
# run starts (slurmd, munged) would inherit a flock's descriptor and hold it
# after the run died. A lock whose owner is gone is taken over.
_th_lock_dir=/run/lock/raympi-test-hosts
_th_lock() {
  local i owner
  mkdir -p "$(dirname "$_th_lock_dir")"
  for ((i = 0; i < 1200; i++)); do
    if mkdir "$_th_lock_dir" 2>/dev/null; then
      echo $$ >"$_th_lock_dir/pid"
      return 0
    fi
    owner=$(cat "$_th_lock_dir/pid" 2>/dev/null)
    if [[ -n $owner ]] && ! kill -0 "$owner" 2>/dev/null; then
      rm -rf "$_th_lock_dir"
    elif [[ -z $owner && -n $(find "$_th_lock_dir" -maxdepth 0 -mmin +1 2>/dev/null) ]]; then
      rm -rf "$_th_lock_dir"  # its owner died between mkdir and writing its pid
    else
      sleep 0.1
    fi
  done
  return 1
}
_th_unlock() {
  [[ $(cat "$_th_lock_dir/pid" 2>/dev/null) == "$$" ]] && rm -rf "$_th_lock_dir"
}

_th_marker() { echo "# raympi test hosts $1 $2"; }  # $2: begin or end

# Removes run <id>'s block from /etc/hosts, in place (it may be a bind mount).
_th_hosts_block_remove() {
  local begin end tmp
  begin=$(_th_marker "$1" begin) end=$(_th_marker "$1" end)
  grep -qF "$begin" /etc/hosts 2>/dev/null || return 0
  tmp=$(mktemp) || return 1
  # The begin line goes on with the host count and prefix (for stale runs).
  awk -v b="$begin" -v e="$end" 'index($0, b " ") == 1 || $0 == b {skip = 1; next} $0 == e {skip = 0; next} !skip' \
    /etc/hosts >"$tmp" &&
    cat "$tmp" >/etc/hosts
  rm -f "$tmp"
}

# Runs that died without th_down: their /etc/hosts blocks say their pid,
# host count and folder ("# raympi test hosts <pid> begin <n> <prefix> <dir>").
_th_remove_stale_runs() {
  local line id n prefix dir
  while read -r line; do
    read -r _ _ _ _ id _ n prefix dir <<<"$line"
    [[ $id =~ ^[0-9]+$ && $n =~ ^[0-9]+$ ]] || continue
    kill -0 "$id" 2>/dev/null && continue
    echo "test_hosts: removing what run $id (no longer running) left: $n hosts ${prefix}1..${prefix}$n" >&2
    _th_remove_run "$id" "$n" "$prefix"
    if [[ $dir == */raympi-hosts-$id.* && -d $dir ]]; then
      # Daemons it started outside the hosts (host_slurm.sh: munged, slurmctld) left pid files.
      local pidfile
      while read -r pidfile; do kill "$(cat "$pidfile")" 2>/dev/null; done < <(find "$dir" -name '*.pid')
      rm -rf "$dir"
    fi
  done < <(grep '^# raympi test hosts [0-9]* begin ' /etc/hosts 2>/dev/null)
}

# A 10.a.b.0/24 that no address or route of this machine touches.
_th_pick_subnet() {
  local used a b
  used=$(ip -4 addr show; ip -4 route show)
  for _ in $(seq 1 50); do
    a=$((200 + RANDOM % 50)) b=$((RANDOM % 256))
    grep -q "10\.$a\.$b\." <<<"$used" || { echo "10.$a.$b"; return 0; }
  done
  return 1
}

th_up() {
  local n=${1:-3} prefix=${TH_HOST_PREFIX:-h} tool i host ns veth net
  [[ $n =~ ^[1-9][0-9]?$ ]] || { _th_fail "th_up: host count must be 1-99, got '$n'"; return 1; }
  for tool in ip unshare awk; do
    command -v "$tool" >/dev/null 2>&1 ||
      { _th_fail "'$tool' not found: install iproute2 and util-linux"; return 1; }
  done
  [[ $(id -u) == 0 ]] || { _th_fail "needs root (network namespaces, a bridge, /etc/hosts); run as root, as .ci/run does"; return 1; }
  [[ -w /etc/hosts ]] || { _th_fail "/etc/hosts is not writable: the test hosts' names cannot be added"; return 1; }

  _th_lock || { _th_fail "another run's test hosts still exist after 2 minutes (lock $_th_lock_dir, owner pid $(cat "$_th_lock_dir/pid" 2>/dev/null))"; return 1; }
  _th_remove_stale_runs
  for ((i = 1; i <= n; i++)); do
    if grep -Eq "^[^#]*[[:space:]]$prefix$i([[:space:]]|$)" /etc/hosts; then
      _th_fail "/etc/hosts already names $prefix$i (not a test-hosts block): remove that line or set TH_HOST_PREFIX"
      return 1
    fi
  done

  _th_id=$$
  trap th_down EXIT
  TH_DIR=$(mktemp -d "${TMPDIR:-/tmp}/raympi-hosts-$_th_id.XXXXXX") || return 1
  chmod 755 "$TH_DIR"
  net=$(_th_pick_subnet) || { _th_fail "no free 10.200-249.x.0/24 subnet"; return 1; }
  TH_SUBNET=$net.0/24 TH_GATEWAY=$net.254
  local br
  br=$(_th_bridge "$_th_id")
  ip link add "$br" type bridge 2>"$TH_DIR/err" ||
    { _th_fail "cannot create bridge $br: $(cat "$TH_DIR/err") (needs the kernel's bridge support)"; return 1; }
  ip addr add "$TH_GATEWAY/24" dev "$br" && ip link set "$br" up || { _th_fail "cannot configure bridge $br"; return 1; }

  # A file whose last line lacks its newline would swallow the marker.
  [[ -z $(tail -c1 /etc/hosts) ]] || echo >>/etc/hosts
  {
    echo "$(_th_marker "$_th_id" begin) $n $prefix $TH_DIR"
    for ((i = 1; i <= n; i++)); do echo "$net.$i $prefix$i"; done
    _th_marker "$_th_id" end
  } >>/etc/hosts

  TH_HOSTS=()
  for ((i = 1; i <= n; i++)); do
    host=$prefix$i ns=$(_th_ns "$_th_id" "$host") veth=$(_th_veth "$_th_id" "$host")
    ip netns add "$ns" 2>"$TH_DIR/err" ||
      { _th_fail "cannot create network namespace $ns: $(cat "$TH_DIR/err") (needs network namespaces)"; return 1; }
    _th_made_hosts=$i
    ip link add "$veth" type veth peer name "${veth}p" 2>"$TH_DIR/err" ||
      { _th_fail "cannot create veth pair $veth: $(cat "$TH_DIR/err")"; return 1; }
    ip link set "$veth" master "$br" && ip link set "$veth" up &&
      ip link set "${veth}p" netns "$ns" &&
      ip -n "$ns" link set lo up &&
      ip -n "$ns" link set "${veth}p" name eth0 &&
      ip -n "$ns" addr add "$net.$i/24" dev eth0 &&
      ip -n "$ns" link set eth0 up ||
      { _th_fail "cannot wire host $host (namespace $ns)"; return 1; }
    TH_HOSTS+=("$host")
  done

  # `on <host> <command> [args...]`: the command inside the host, with the
  # host's name, in the caller's environment and working directory; a fresh
  # UTS namespace (the name) and IPC namespace (System V shared memory of
  # its own, as on another machine) per call. A script, not a function, so
  # that timeout, env and other scripts can run it.
  TH_ON=$TH_DIR/on
  cat >"$TH_ON" <<ON
#!/bin/sh
# Runs a command inside a test host of run $_th_id (tests/multihost/test_hosts.sh).
host=\$1
shift
case "\$host" in
$(for h in "${TH_HOSTS[@]}"; do echo "  $h) ns=$(_th_ns "$_th_id" "$h") ;;"; done)
  *) echo "\$0: unknown test host '\$host'" >&2; exit 255 ;;
esac
exec ip netns exec "\$ns" unshare --uts --ipc sh -c 'hostname "\$0" && cd "\$1" && shift 2 && exec "\$@"' "\$host" "\$PWD" _ "\$@"
ON
  # The rsh agent: Open MPI runs `agent <host> <command words...>` as it
  # would `ssh <host> ...`; the words form one shell command line.
  TH_AGENT=$TH_DIR/rsh-agent
  printf '#!/bin/sh\n# Open MPI rsh agent for the test hosts of run %s.\nhost=$1\nshift\nexec %s "$host" sh -c "$*"\n' \
    "$_th_id" "$TH_ON" >"$TH_AGENT"
  chmod 755 "$TH_ON" "$TH_AGENT"
  # raympi's layout: GS, GCS and the first node rank on host 1, one node
  # rank on every other host (mpirun fills the slots in order).
  for ((i = 1; i <= n; i++)); do echo "$prefix$i slots=$((i == 1 ? 3 : 1))"; done >"$TH_DIR/hostfile"

  # Open MPI's settings for the hosts, as mpirun options and (th_export_mpi_env)
  # as OMPI_MCA_* variables: the agent; no tree spawn (each orted started from
  # mpirun's side); its own and MPI's TCP on the hosts' subnet; vader between
  # the ranks of one host, tcp between hosts.
  _th_mca=(plm_rsh_agent="$TH_AGENT" plm_rsh_no_tree_spawn=1 oob_tcp_if_include="$TH_SUBNET"
           btl_tcp_if_include="$TH_SUBNET" btl=self,vader,tcp)
  TH_MPIRUN_ARGS=()
  local kv
  for kv in "${_th_mca[@]}"; do TH_MPIRUN_ARGS+=(--mca "${kv%%=*}" "${kv#*=}"); done
  TH_MPIRUN=$TH_DIR/mpirun
  {
    echo '#!/bin/sh'
    echo "# mpirun over the test hosts of run $_th_id in raympi's layout (tests/multihost/test_hosts.sh)."
    echo "exec mpirun ${TH_MPIRUN_ARGS[*]} --oversubscribe --hostfile $TH_DIR/hostfile" '"$@"'
  } >"$TH_MPIRUN"
  chmod 755 "$TH_MPIRUN"

  # Every host reaches the bridge: a TCP connect to a closed port there is
  # refused at once when packets flow (no ping needed), times out when not.
  for host in "${TH_HOSTS[@]}"; do
    th_exec "$host" timeout 3 bash -c "exec 3<>/dev/tcp/$TH_GATEWAY/9" >"$TH_DIR/err" 2>&1
    grep -q "refused" "$TH_DIR/err" ||
      { _th_fail "host $host cannot reach the bridge $TH_GATEWAY (a firewall on bridged traffic?): $(cat "$TH_DIR/err")"; return 1; }
  done
  [[ $(th_exec "${TH_HOSTS[-1]}" hostname) == "${TH_HOSTS[-1]}" ]] ||
    { _th_fail "a command in host ${TH_HOSTS[-1]} does not see its host name"; return 1; }
  echo "test_hosts: ${TH_HOSTS[*]} up on $TH_SUBNET (bridge $br at $TH_GATEWAY, folder $TH_DIR)"
}

# th_exec <host> <command> [args...]: runs the command inside the host, with
# the host's name, in this shell's environment and working directory.
th_exec() { "$TH_ON" "$@"; }

# th_exec_cgroups <host> <command> [args...]: th_exec, with the machine's
# cgroup file systems mounted again inside the host: `ip netns exec` mounts a
# sysfs of the namespace's own over /sys (what UCX and `ip` must see there),
# which hides /sys/fs/cgroup, and slurmd will not start without it.
th_exec_cgroups() {
  local host=$1 mounts
  shift
  mounts=$(awk '($2 == "/sys/fs/cgroup" && $3 == "tmpfs") || $3 ~ /^cgroup2?$/ {print $3, $2, $4}' /proc/mounts)
  ip netns exec "$(_th_ns "$_th_id" "$host")" unshare --uts --ipc sh -c '
    hostname "$0" && cd "$1" || exit 1
    echo "$2" | while read -r type dir opts; do
      [ -n "$type" ] || continue
      mkdir -p "$dir" && mount -t "$type" -o "$opts" "$type" "$dir" || exit 1
    done || { echo "test_hosts: cannot mount the cgroup file systems in $0" >&2; exit 1; }
    shift 3 && exec "$@"' "$host" "$PWD" "$mounts" _ "$@"
}

# th_pids <host>: the pids of the processes inside the host, one per line.
th_pids() { ip netns pids "$(_th_ns "$_th_id" "$1")" 2>/dev/null; }

# The bytes this host's eth0 has sent and received (the veth's counters).
th_net_bytes() {
  local veth
  veth=$(_th_veth "$_th_id" "$1")
  echo $(($(cat /sys/class/net/$veth/statistics/rx_bytes) + $(cat /sys/class/net/$veth/statistics/tx_bytes)))
}

th_export_mpi_env() {
  local kv
  for kv in "${_th_mca[@]}"; do export "OMPI_MCA_${kv%%=*}=${kv#*=}"; done
}

th_down() {
  [[ -n $_th_id ]] || return 0
  _th_remove_run "$_th_id" "$_th_made_hosts" "${TH_HOST_PREFIX:-h}"
  [[ -n $TH_DIR && -z ${TH_KEEP:-} ]] && rm -rf "$TH_DIR"
  _th_unlock
  _th_id="" _th_made_hosts=0 TH_HOSTS=()
}
