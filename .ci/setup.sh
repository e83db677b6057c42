#!/usr/bin/env bash
# Installs the Debian 12 packages raympi needs (only those missing), then
# configures build/ (RelWithDebInfo) and builds it. Safe to run repeatedly:
# when everything is installed and built it only re-checks.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

packages=(
  cmake g++ make pkg-config
  libopenmpi-dev openmpi-bin
  libucx-dev ucx-utils
  libhwloc-dev hwloc
  libhdf5-openmpi-dev
  libcereal-dev libgtest-dev libspdlog-dev libcli11-dev nlohmann-json3-dev libbenchmark-dev
  slurm-wlm munge libpmix-dev
  chromium python3  # tests/timeline: raympi timeline's page in headless Chromium
  clang-16 libclang-rt-16-dev  # .ci/fuzz.sh: the libFuzzer targets of tests/fuzz
  iproute2 util-linux  # tests/multihost: test hosts from network and UTS namespaces
  ccache  # .ci/sanitize.sh: sanitizer rebuilds reuse unchanged objects
  lmod  # tests/install: the installed modulefile, loaded with `module load raympi`
)

if command -v dpkg-query >/dev/null 2>&1; then
  missing=()
  for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    if [[ $status != "install ok installed" ]]; then
      missing+=("$p")
    fi
  done
  if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    sudo=()
    if [[ $(id -u) != 0 ]]; then
      command -v sudo >/dev/null 2>&1 || {
        echo "setup: missing packages (${missing[*]}) and not root; no sudo to install them" >&2
        exit 1
      }
      # Ask for a password only when someone is there to type it.
      if [[ -t 0 ]]; then sudo=(sudo); else sudo=(sudo -n); fi
    fi
    "${sudo[@]}" apt-get update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y --no-install-recommends "${missing[@]}" </dev/null
  else
    echo "setup: all ${#packages[@]} packages are installed"
  fi
else
  echo "setup: no dpkg-query (not Debian?); install these yourself if configure fails: ${packages[*]}" >&2
fi

launcher=()
if command -v ccache >/dev/null 2>&1; then
  # A rebuild (or a fresh clone on a machine that built before) reuses the
  # objects of unchanged sources; paths relative to the checkout.
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=true
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}"
cmake --build build -j "$(nproc)"
