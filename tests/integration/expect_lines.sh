#!/usr/bin/env bash
# expect_lines.sh PATTERN COUNT COMMAND...: runs COMMAND; passes when it exits
# 0 and prints exactly COUNT lines matching PATTERN (grep -E), and no line
# matching FAIL.
set -uo pipefail
pattern=$1 count=$2
shift 2
out=$("$@" 2>&1)
rc=$?
echo "$out"
n=$(grep -cE "$pattern" <<<"$out")
if [[ $rc != 0 || $n != "$count" ]] || grep -q FAIL <<<"$out"; then
  echo "expect_lines: FAIL: exit $rc, $n line(s) matching '$pattern' (want $count)" >&2
  exit 1
fi
