# shellcheck shell=bash
# The lab's assertion helpers; every scenario sources this. Each check prints exactly one line,
#   PASS NAME            or  PASS NAME: DETAIL
#   FAIL NAME: REASON
# which is what lib/run-scenarios.sh collects (grep '^(PASS|FAIL) ') and run-tests.sh counts and turns into pass
# rates (the NAME, its trailing colon dropped, is the key of a check's history: keep names stable). None of these
# ever return non-zero, so a failed check does not end a `set -e` scenario; check leaves the command's status in
# CHECK_RC for a scenario that must stop or branch after it.

# pass NAME [DETAIL...] / fail NAME [DETAIL...]: one line; ": DETAIL" only when a detail argument is given (the
# words joined by spaces). For a detail measured while checking: `if ...; then pass NAME "took $ms ms"; ...`.
pass() { _check_line PASS "$@"; }
fail() { _check_line FAIL "$@"; }
_check_line() {
  local IFS=' ' verdict=$1 name=$2
  shift 2
  if [ $# -gt 0 ]; then echo "$verdict $name: $*"; else echo "$verdict $name"; fi
}

# check NAME [DETAIL...] -- CMD [ARG...]: runs CMD in this shell (a function may set variables) and prints PASS
# with DETAIL when it succeeds, FAIL when it does not. CMD may set CHECK_DETAIL (cleared before it runs) to the
# line's detail: it replaces DETAIL on a pass (a figure known only after the command) and is the reason on a
# failure; without it a failure says "CMD exited N".
check() {
  local name=$1 detail=() rc=0
  shift
  while [ $# -gt 0 ] && [ "$1" != -- ]; do detail+=("$1"); shift; done
  if [ $# -lt 2 ]; then fail "$name" "check: no command after --"; CHECK_RC=2; return 0; fi
  shift
  CHECK_DETAIL=''
  "$@" || rc=$?
  CHECK_RC=$rc
  if [ $rc = 0 ]; then
    if [ -n "$CHECK_DETAIL" ]; then detail=("$CHECK_DETAIL"); fi
    pass "$name" ${detail[@]+"${detail[@]}"}
  else
    fail "$name" "${CHECK_DETAIL:-$* exited $rc}"
  fi
}
# shellcheck disable=SC2034  # CHECK_RC is for the scenarios
CHECK_DETAIL='' CHECK_RC=0

# no_problem PROBLEM: for check, over the scenarios' `problem+="...; "` lists: succeeds when PROBLEM is empty,
# otherwise fails with PROBLEM as the reason.
#   check vip-add "v4 /32, v6 /128 nodad" -- no_problem "$problem"
no_problem() { [ -z "$1" ] || { CHECK_DETAIL=$1; return 1; }; }

# expect_eq NAME EXPECTED ACTUAL [DETAIL...]: PASS NAME[: DETAIL] when ACTUAL is EXPECTED (as strings), otherwise
# FAIL NAME: expected 'EXPECTED', got 'ACTUAL'[; DETAIL].
expect_eq() {
  local name=$1 want=$2 got=$3 IFS=' '
  shift 3
  if [ "$want" = "$got" ]; then
    pass "$name" "$@"
  else
    fail "$name" "expected '$want', got '$got'${*:+; $*}"
  fi
}
