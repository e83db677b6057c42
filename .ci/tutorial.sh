#!/usr/bin/env bash
# Sets up and builds (.ci/setup.sh), then runs the tutorial examples
# (ctest label `tutorial`) as local multi-rank MPI jobs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ $(id -u) == 0 ]]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
bash .ci/setup.sh
# Serially: the examples check timing windows and share the machine's cores.
ctest --test-dir build -L tutorial --output-on-failure -j1 --no-tests=error
