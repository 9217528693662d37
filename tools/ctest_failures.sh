#!/usr/bin/env bash
# After a failed ctest run: print, for each failed test, the lines of its output that say why
# (FAIL lines, sanitizer reports, crashes), so the end of a long CI log names the cause.
# Exit 0 when every failure was LeakSanitizer's own tracer crashing while it stopped PoCL's
# threads ("LeakSanitizer has encountered a fatal error"), which is no finding about our code and
# earns one rerun; exit 1 otherwise.
#
#   tools/ctest_failures.sh BUILD_DIR
set -uo pipefail
build=$1
log=$build/Testing/Temporary/LastTest.log
failed=$build/Testing/Temporary/LastTestsFailed.log
[ -s "$failed" ] || { echo "no failed tests recorded in $failed"; exit 1; }
only_tracer=1 # until a failure shows another cause
while IFS=: read -r _ name; do
  section=$(awk -v t="$name" '$0 ~ "^[0-9]+/[0-9]+ Testing: " t "$" {on = 1} on {print} on && /^Test (Passed|Failed)/ {on = 0}' "$log")
  echo "--- $name failed; what it said:"
  grep -E 'FAIL|ERROR|runtime error|Sanitizer|fatal|Tracer|Segmentation|Abort|Timeout|Exception' <<<"$section" | head -n 20
  if ! grep -q 'LeakSanitizer has encountered a fatal error' <<<"$section" ||
     grep -qE '^FAIL|ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' <<<"$section"; then
    only_tracer=0
  fi
done <"$failed"
[ $only_tracer = 1 ]
