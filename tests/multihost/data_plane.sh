#!/usr/bin/env bash
# Object bytes between test hosts (UCX over tcp between network namespaces):
#   1. mh_transfer (ranks 0-2 on h1, node 3 on h2, node 4 on h3) moves MIB
#      MiB h2 -> h1, h3 -> h1 and h3 -> h2: every object arrives intact, the
#      reader's UCX counters grew by its size (UCX carried it, not the MPI
#      fallback), and the network counters of the hosts' links grew by at
#      least the bytes each host sent and received. UCX over shared memory
#      (posix, sysv, cma: all would work here, the hosts share one kernel)
#      would leave those links idle, so this tells which transport carried
#      the bytes: the only UCX transport on them is tcp. Run with UCX's
#      defaults, and with RAYMPI_UCX_PEER_ERRORS=0 (UCX may then pick shared
#      memory where it thinks two ranks share a host: it must not between
#      hosts).
#      With UCX_PROTO_INFO=y (and UCX_PROTO_ENABLE=y, UCX 1.13) UCX itself
#      prints the transport of every tagged-send lane: tcp/eth0 only.
#   2. The integration suite's data-plane test across h1 and h2 (np 4), sizes
#      up to 64 MiB (1 GiB takes 25-40 s between the test hosts; the 2.5 GiB
#      memory test longer still: too long for CI).
#
# usage: data_plane.sh <mh_transfer> <data_plane test program> [MIB]
source "$(dirname "${BASH_SOURCE[0]}")/mh_common.sh"
(($# >= 2)) || { echo "usage: $0 <mh_transfer> <data_plane> [MIB]" >&2; exit 2; }
transfer=$(realpath "$1") data_plane=$(realpath "$2") mib=${3:-64}
export RAYMPI_NUM_CPUS=4 RAYMPI_NUM_GPUS=0
unset UCX_TLS RAYMPI_UCX
mh_start 3 "object bytes between hosts over UCX tcp, never shared memory"
size=$((mib << 20))

# run_transfer <name> [VAR=value...]
run_transfer() {
  local name=$1 host before=() after=() i
  shift
  for host in "${TH_HOSTS[@]}"; do before+=("$(th_net_bytes "$host")"); done
  mh_job "$name" 120 env "$@" "$TH_MPIRUN" -np 5 "$transfer" "$mib"
  for host in "${TH_HOSTS[@]}"; do after+=("$(th_net_bytes "$host")"); done
  [[ $MH_RC == 0 ]] && ok "$name: exit 0" || bad "$name: exit $MH_RC"
  has "$TH_DIR/$name.out" "^MH_DATA_PLANE ucx$" "$name: the UCX data plane is on"
  local t
  for t in "3@h2 to=2@h1" "4@h3 to=2@h1" "4@h3 to=3@h2"; do
    local line ucx
    line=$(grep "^MH_TRANSFER from=$t bytes=$size " "$TH_DIR/$name.out")
    ucx=$(sed -n 's/.* ucx=\([0-9]*\) .*/\1/p' <<<"$line")
    if [[ -n $line && $line == *" intact=1" && ${ucx:-0} -ge $size ]]; then
      ok "$name: $mib MiB from ${t/ to=/ to } intact, over UCX ($ucx bytes)"
    else
      bad "$name: transfer from ${t/ to=/ to }: '${line:-missing}'"
    fi
  done
  # h1 received 2 objects, h2 sent 1 and received 1, h3 sent 2.
  for i in "${!TH_HOSTS[@]}"; do
    local moved=$((after[i] - before[i]))
    echo "$name: ${TH_HOSTS[$i]}'s link carried $((moved >> 20)) MiB"
    if ((moved >= 2 * size)); then ok "$name: ${TH_HOSTS[$i]}'s link carried the $((2 * mib)) MiB it sent and received"
    else bad "$name: ${TH_HOSTS[$i]}'s link carried $((moved >> 20)) MiB, less than $((2 * mib)) MiB: bytes went another way (shared memory?)"; fi
  done
}

run_transfer transfer_default
run_transfer transfer_no_peer_errors RAYMPI_UCX_PEER_ERRORS=0

# UCX's own account (its v2 protocols print their choice per endpoint
# configuration): every lane of the tagged sends (raympi's data plane; the
# only node rank on h1 is the driver's, so every data-plane peer is on another
# host) is tcp, none posix, sysv or cma.
run_transfer transfer_proto_info RAYMPI_UCX_PEER_ERRORS=0 UCX_PROTO_ENABLE=y UCX_PROTO_INFO=y
lanes=$(awk '/tagged message by ucp_tag_send/ {t = 1; next} /ep_cfg\[/ {t = 0} t && /\| *[0-9]+\.\.[0-9inf]+ *\|/ {
               n = split($0, c, "|"); gsub(/ /, "", c[n - 1]); print c[n - 1]}' "$TH_DIR/transfer_proto_info.out" | sort | uniq -c)
echo "transfer_proto_info: UCX's lanes for tagged sends (count, transport/device):"
echo "$lanes" | sed 's/^/    /'
if [[ -n $lanes ]] && ! grep -qv ' tcp/' <<<"$lanes"; then ok "transfer_proto_info: UCX says tcp carries every tagged send"
else bad "transfer_proto_info: UCX's tagged-send lanes are not all tcp: '$lanes'"; fi

mh_job data_plane 240 "$TH_MPIRUN" -np 4 "$data_plane" --gtest_filter=-DataPlaneMemory.*:*/1073741824B
if [[ $MH_RC == 0 ]] && grep -q '^\[  PASSED  \]' "$TH_DIR/data_plane.out"; then ok "data_plane test across h1 and h2 ($MH_TOOK s)"
else bad "data_plane test across h1 and h2: exit $MH_RC"; fi
mh_no_processes_left "after the jobs"
mh_finish
