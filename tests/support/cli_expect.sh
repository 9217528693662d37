# Shared by the shell tests: `expect CODE PATTERN -- COMMAND...` runs COMMAND and checks that its
# exit code is CODE and its stdout+stderr match the extended regex PATTERN; `summary` ends the test
# (and fails it when no check ran).
failures=0 checks=0

expect() {
  local code=$1 pattern=$2; shift 3
  checks=$((checks + 1))
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" != "$code" ] || ! grep -qE -- "$pattern" <<<"$out"; then
    echo "FAIL: '$*' gave exit $rc (want $code), output:"; echo "$out" | sed 's/^/    /' | head -20
    echo "    (wanted /$pattern/)"
    failures=$((failures + 1))
  else
    echo "ok: $* -> $rc, /$pattern/"
  fi
}

# check DESCRIPTION CONDITION...: a plain test, e.g. check "png exists" test -s "$tmp/a.png"
check() {
  local what=$1; shift
  checks=$((checks + 1))
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; failures=$((failures + 1)); fi
}

# summary: the last command of a test; fails when a check failed or when none ran.
summary() {
  echo "$checks checks, $failures failed"
  [ "$checks" -gt 0 ] || { echo "FAIL: no checks ran"; return 1; }
  [ "$failures" = 0 ]
}
