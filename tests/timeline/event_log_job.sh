#!/usr/bin/env bash
# event_log_job.sh LOG CHECKER LAUNCH... : runs the job (RAYMPI_EVENT_LOG=LOG
# comes from the test's environment), then checks the merged event log.
set -uo pipefail
log=$1 checker=$2
shift 2
rm -f "$log"
"$@" || { echo "event_log_job: the job failed" >&2; exit 1; }
[[ -f $log ]] || { echo "event_log_job: FAIL: no event log at $log" >&2; exit 1; }
"$checker" "$log" 500 probe_square
