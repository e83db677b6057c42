#!/usr/bin/env bash
# The `raympi` command's command lines (issue 6): usage errors, the plans it
# makes for mpirun and srun (--dry-run), real runs under mpirun with the
# options reaching the nodes, the exit status, and SIGTERM forwarding.
#
# usage: launcher_cli.sh <raympi> <hpc_probe>
set -uo pipefail
(($# == 2)) || { echo "usage: $0 <raympi> <hpc_probe>" >&2; exit 2; }
raympi=$1 probe=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/raympi-cli.XXXXXX")
bg=""
trap '[[ -n $bg ]] && kill -9 "$bg" 2>/dev/null; rm -rf "$tmp"' EXIT
# Outside any Slurm allocation, whatever the caller's environment.
for v in $(env | sed -n 's/^\(SLURM_[A-Z_]*\)=.*/\1/p') RAYMPI_LAUNCHER; do unset "$v"; done
export TMPDIR=$tmp
fail=0
host=$(hostname)
cpus=$(nproc)

ok() { echo "launcher_cli: ok: $*"; }
bad() { echo "launcher_cli: FAIL: $*" >&2; fail=1; }

# usage_error <what the message must contain> <args...>: exit 2, one error line, then the usage.
usage_error() {
  local want=$1
  shift
  "$raympi" "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  local first second
  first=$(sed -n 1p "$tmp/err") second=$(sed -n 2p "$tmp/err")
  if [[ $rc == 2 && $first == "raympi: error: "*"$want"* && $second == usage:* && ! -s $tmp/out ]]; then
    ok "raympi $* -> exit 2: $first"
  else
    bad "raympi $* -> exit $rc, want 2 with 'raympi: error: ...$want...' then usage; stderr:"
    cat "$tmp/err" >&2
  fi
}
usage_error "no command" 
usage_error "unknown command 'bogus'" bogus
usage_error "no program to run" run -n 2
usage_error "no program to run" run -n 2 --
usage_error "--nodes: 'abc' is not a whole number > 0" run -n abc -- ./app
usage_error "--nodes: '0' is not a whole number > 0" run -n 0 -- ./app
usage_error "--cpus-per-node: '-1' is not a number >= 0" run --cpus-per-node -1 -- ./app
usage_error "--bogus" run --bogus -- ./app
usage_error "./app" run ./app
usage_error "must look like name=amount" run --resources Custom1 -- ./app
usage_error "use --gpus-per-node" run --resources GPU=1 -- ./app
usage_error "'4X' is not a non-negative number" run --object-store-memory 4X -- ./app
usage_error "raympi info takes no program" info -- ./app
RAYMPI_LAUNCHER=pbs usage_error "RAYMPI_LAUNCHER='pbs': use mpirun or srun" run -- ./app
RAYMPI_LAUNCHER=srun usage_error "--hosts is for mpirun" run --hosts a,b -- ./app
"$raympi" --help >"$tmp/out" 2>&1 && grep -q "run" "$tmp/out" && ok "raympi --help exits 0" || bad "raympi --help"

# dry_run <name> <args...>: the plan on stdout, exit 0, nothing started.
dry_run() {
  local name=$1
  shift
  "$raympi" run --dry-run "$@" >"$tmp/$name" 2>&1 || { bad "dry run $*:"; cat "$tmp/$name" >&2; }
}
has() {  # has <file> <fixed text> <what>
  if grep -qF -- "$2" "$tmp/$1"; then ok "$3"; else bad "$3: no '$2' in:"; cat "$tmp/$1" >&2; fi
}
hasnt() {
  if ! grep -qF -- "$2" "$tmp/$1"; then ok "$3"; else bad "$3: '$2' in:"; cat "$tmp/$1" >&2; fi
}

# mpirun: 2 node ranks share this host's CPUs; GS and GCS share the first host.
dry_run mp2 -n 2 --cpus-per-node 3 --resources Custom1=2 --object-store-memory 1G --timeline t.json -- ./app a1
has mp2 "with mpirun (no Slurm allocation)" "outside Slurm: mpirun"
has mp2 "command: mpirun -n 4 --host $host:4 --rankfile" "mpirun: 4 ranks on this host with a rank file"
has mp2 "rank 0=$host slot=0-$((cpus - 1))" "rank file: the global scheduler on the first host, all its CPUs"
has mp2 "rank 1=$host slot=0-$((cpus - 1))" "rank file: the GCS on the first host"
if ((cpus >= 2)); then
  half=$((cpus / 2))
  slots() { (($1 == $2)) && echo "$1" || echo "$1-$2"; }
  has mp2 "rank 2=$host slot=$(slots 0 $((half - 1)))" "rank file: node rank 2 gets the first half of the CPUs"
  has mp2 "rank 3=$host slot=$(slots "$half" $((2 * half - 1)))" "rank file: node rank 3 gets the second half"
fi
if ((4 > cpus)); then has mp2 "--oversubscribe" "--oversubscribe: 4 ranks > $cpus CPUs"
else hasnt mp2 "--oversubscribe" "no --oversubscribe: 4 ranks <= $cpus CPUs"; fi
if [[ $(id -u) == 0 ]]; then has mp2 "--allow-run-as-root" "--allow-run-as-root as root"
else hasnt mp2 "--allow-run-as-root" "no --allow-run-as-root as user $(id -un)"; fi
for kv in RAYMPI_NUM_CPUS=3 RAYMPI_RESOURCES=Custom1=2 RAYMPI_OBJECT_STORE_MEMORY=1G RAYMPI_TIMELINE=t.json; do
  has mp2 "  $kv" "environment: $kv"
  has mp2 "-x ${kv%%=*}" "mpirun -x ${kv%%=*} (remote hosts get it too)"
done
has mp2 "./app a1" "the program and its arguments come last"
# malloc's heap on huge pages: asked for unless the user's tunables do; theirs are kept.
GLIBC_TUNABLES= dry_run tun0 -- ./app
has tun0 "  GLIBC_TUNABLES=glibc.malloc.hugetlb=1" "environment: GLIBC_TUNABLES asks malloc for huge pages"
has tun0 "-x GLIBC_TUNABLES" "mpirun -x GLIBC_TUNABLES (remote hosts get it too)"
GLIBC_TUNABLES=glibc.malloc.arena_max=2 dry_run tun1 -- ./app
has tun1 "  GLIBC_TUNABLES=glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1" "the user's tunables are kept"
GLIBC_TUNABLES=glibc.malloc.hugetlb=2 dry_run tun2 -- ./app
hasnt tun2 "GLIBC_TUNABLES=" "hugetlb=2 already asked for: left as it is"
has mp2 "2     node (driver)" "role map: rank 2 is the driver's node"
dry_run mp_hosts -n 3 --hosts h1,h2 -- ./app
has mp_hosts "--host h1:4,h2:1" "--hosts h1,h2: ranks 0-2 and 4 on h1, 3 on h2"
has mp_hosts "rank 3=h2 slot=" "node ranks round-robin over the hosts"

# srun (forced): arbitrary distribution from a host list, Slurm binds the CPUs.
RAYMPI_LAUNCHER=srun dry_run sr -- ./app
has sr "with srun (RAYMPI_LAUNCHER=srun)" "RAYMPI_LAUNCHER=srun forces srun"
has sr "command: srun --mpi=pmix -n 3 --overcommit --cpus-per-task=$cpus --distribution=arbitrary" \
  "srun --mpi=pmix, 3 ranks, the node rank gets all $cpus CPUs"
has sr "SLURM_HOSTFILE=" "srun: SLURM_HOSTFILE lists the ranks' hosts"
has sr "unset SLURM_NTASKS_PER_NODE" "srun: sbatch's tasks-per-node does not fight the layout"
hasnt sr "--allow-run-as-root" "srun: no Open MPI options"

# Real runs under mpirun: what the nodes report.
"$raympi" run -v -n 2 --cpus-per-node 3 --gpus-per-node 1 --resources Custom1=2 -- "$probe" nodes >"$tmp/run1" 2>&1
rc=$?
[[ $rc == 0 ]] && ok "raympi run -n 2 ... hpc_probe nodes: exit 0" || { bad "real run exit $rc:"; cat "$tmp/run1" >&2; }
has run1 "raympi: 4 ranks with mpirun" "-v prints the role map before the start"
[[ $(grep -c "^PROBE_NODE .* CPU=3 GPU=1 Custom1=2" "$tmp/run1") == 2 ]] &&
  ok "both nodes report CPU=3 GPU=1 Custom1=2 (the options reached the ranks)" ||
  { bad "the nodes do not report the options:"; cat "$tmp/run1" >&2; }
"$raympi" run -n 2 -- "$probe" nodes >"$tmp/run2" 2>&1
want=$((cpus >= 2 ? cpus / 2 : 1))
[[ $(grep -c "^PROBE_NODE .* CPU=$want " "$tmp/run2") == 2 ]] &&
  ok "without --cpus-per-node each of 2 node ranks reports its binding: CPU=$want of $cpus" ||
  { bad "binding-derived CPUs (want CPU=$want on both):"; cat "$tmp/run2" >&2; }
# --timeline FILE: the driver writes the job's Chrome trace at shutdown; `raympi timeline` views it.
"$raympi" run -n 2 --timeline "$tmp/trace.json" -- "$probe" tasks 200 >"$tmp/tl" 2>&1
rc=$?
[[ $rc == 0 ]] && grep -q "^PROBE_TASKS 200 " "$tmp/tl" && ok "raympi run --timeline ... hpc_probe tasks 200: exit 0" ||
  { bad "timeline run exit $rc:"; cat "$tmp/tl" >&2; }
spans=$(grep -o '"name":"probe_square"' "$tmp/trace.json" 2>/dev/null | wc -l)
[[ $spans == 200 ]] && ok "--timeline wrote a trace with the 200 tasks" || bad "--timeline: $spans probe_square spans in $tmp/trace.json, want 200"
"$raympi" timeline "$tmp/trace.json" -o "$tmp/trace.html" >"$tmp/tlv" 2>&1 && grep -q "<svg" "$tmp/trace.html" &&
  ok "raympi timeline turns it into an HTML page" || { bad "raympi timeline:"; cat "$tmp/tlv" >&2; }
rm -f "$tmp/trace.json" "$tmp/trace.html"
"$raympi" run -- bash -c 'exit 3' >/dev/null 2>&1
rc=$?
[[ $rc == 3 ]] && ok "exit status of the application: 3" || bad "raympi run -- bash -c 'exit 3' exited $rc, want 3"
"$raympi" run -- /nonexistent/app >"$tmp/ne" 2>&1
rc=$?
[[ $rc != 0 ]] && ok "a missing program fails the job (exit $rc)" || bad "a missing program exited 0"
[[ -z $(ls -A "$tmp" | grep raympi-launch-) ]] && ok "no job folder left in TMPDIR" || bad "job folders left: $(ls "$tmp")"

# SIGTERM to the launcher stops the job: status 143, no rank left, folder gone.
"$raympi" run -- "$probe" hold 60 >"$tmp/hold" 2>&1 &
bg=$!
for ((i = 0; i < 600; i++)); do grep -q PROBE_READY "$tmp/hold" && break; sleep 0.1; done
mapfile -t ranks < <(awk '/^PROBE_PID/ {print $2}' "$tmp/hold")
kill -TERM "$bg"
wait "$bg"
rc=$?
bg=""
left=0
for p in "${ranks[@]}"; do kill -0 "$p" 2>/dev/null && left=$((left + 1)); done
[[ ${#ranks[@]} == 3 && $rc == 143 && $left == 0 ]] &&
  ok "SIGTERM forwarded: launcher exit 143, 0 of 3 ranks left when it returned" ||
  { bad "SIGTERM: exit $rc (want 143), ${#ranks[@]} ranks seen, $left left:"; cat "$tmp/hold" >&2; }
[[ -z $(ls -A "$tmp" | grep raympi-launch-) ]] && ok "the stopped job's folder is gone" || bad "job folder left after SIGTERM"

"$raympi" info >"$tmp/info" 2>&1 && ok "raympi info exits 0" || bad "raympi info failed"
has info "hwloc topology:" "info: the hwloc topology"
has info "num_cpus = $cpus" "info: a node rank here gets $cpus CPUs"
has info "GPUs (hwloc):" "info: the GPUs"
RAYMPI_NUM_GPUS=2 CUDA_VISIBLE_DEVICES=0,1 "$raympi" info >"$tmp/info2" 2>&1
has info2 "  CUDA_VISIBLE_DEVICES=0,1" "info: CUDA_VISIBLE_DEVICES in force"
has info2 "  RAYMPI_NUM_GPUS=2" "info: RAYMPI_* in force"
# GPUs through the topology module: all of the file's machine's 4, 2 of them
# visible after CUDA_VISIBLE_DEVICES=1,3 (physical 1 and 3 become GPU ids 0 and 1).
HWLOC_XMLFILE=$(dirname "$0")/../data/two_socket_4gpu.xml CUDA_VISIBLE_DEVICES=1,3 "$raympi" info >"$tmp/info3" 2>&1
has info3 "GPUs (hwloc): 4 found, 2 visible to this process" "info, 4-GPU topology file: 4 GPUs found, 2 visible"
[[ $(grep -c '^  \[[0-9]\] .*, PCI [0-9a-f:.]*, UUID GPU-' "$tmp/info3") == 4 ]] &&
  ok "info: each of the 4 GPUs listed with index, name, PCI id and UUID" || { bad "info: GPU lines:"; cat "$tmp/info3" >&2; }
has info3 "  [1] NVIDIA A100-SXM4-40GB, PCI 0000:31:00.0, UUID GPU-5e1c0d2a-0000-4000-8000-000000000001  -> visible, GPU id 0" \
  "info: physical GPU 1 is visible as GPU id 0"
has info3 "PCI 0000:ca:00.0, UUID GPU-5e1c0d2a-0000-4000-8000-000000000003  -> visible, GPU id 1" \
  "info: physical GPU 3 is visible as GPU id 1"
[[ $(grep -c -- '-> not visible$' "$tmp/info3") == 2 ]] && ok "info: GPUs 0 and 2 marked not visible" ||
  { bad "info: want 2 GPUs not visible:"; cat "$tmp/info3" >&2; }
has info3 "num_gpus = 2 " "info: a node rank there gets num_gpus = 2"
has info3 "PUs 0-31 (16 cores, 32 PUs)" "info: the file's cpuset and core count"
has info3 "2 packages, 16 cores, 32 PUs, 2 NUMA nodes" "info: package / NUMA summary of the file's machine"
HWLOC_XMLFILE=$tmp/missing.xml "$raympi" info >"$tmp/info4" 2>&1
has info4 "HWLOC_XMLFILE='$tmp/missing.xml' does not exist" "info: a missing HWLOC_XMLFILE is reported, not this machine"

((fail == 0)) && echo "launcher_cli: PASS"
exit "$fail"
