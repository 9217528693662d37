#!/usr/bin/env bash
# After a failed ctest run: print, for each failed test, the lines of its output that say why
# (FAIL lines, sanitizer reports, crashes), so the end of a long CI log names the cause.
# Exit 0 when every failed test had LeakSanitizer's own tracer crash while it stopped PoCL's
# threads ("LeakSanitizer has encountered a fatal error") and no sanitizer report: no finding about
# our code, so those tests earn one rerun, which must pass. A shell test's own FAIL line about the
# crashed command's exit status does not count against that (a genuine failure fails the rerun
# too); exit 1 otherwise.
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
     grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' <<<"$section"; then
    only_tracer=0
  fi
done <"$failed"
[ $only_tracer = 1 ]
