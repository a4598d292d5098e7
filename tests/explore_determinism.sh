#!/bin/sh
# explore_determinism.sh MIGRACE: `explore --check-determinism` runs every
# schedule twice (and replays what it recorded) and stays quiet on the
# engine; made to diverge (MIGRACE_SELFTEST_NONDETERMINISM=1 gives the
# second run another seed) it exits 1 naming the first differing event and
# writes the program.
migrace=$1
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; cat "$tmp/out"; exit 1; }

"$migrace" explore --check-determinism --runs 4000 --seed 21 -q > "$tmp/out" 2>&1
[ $? -eq 0 ] || fail "the engine diverged (or a bug was reported)"
grep -q 'every schedule ran twice with the same trace' "$tmp/out" || fail "no summary"
"$migrace" explore --check-determinism --runs 2000 --seed 4 --strategy random -q > "$tmp/out" 2>&1
[ $? -eq 0 ] || fail "random strategy diverged"
# A bug found is still a bug (exit 1), after its runs agreed.
"$migrace" explore --check-determinism --revert cpages-count --seed 1 --runs 10000 -q \
	-o "$tmp/found.repro" > "$tmp/out" 2>&1
[ $? -eq 1 ] && grep -q '^BUG: migrace' "$tmp/out" && ! grep -q DETERMINISM "$tmp/out" ||
	fail "cpages-count with --check-determinism"

MIGRACE_SELFTEST_NONDETERMINISM=1 "$migrace" explore --check-determinism --runs 50 -q \
	-o "$tmp/nd.repro" > "$tmp/out" 2>&1
[ $? -eq 1 ] || fail "a divergence was not reported"
grep -q '^DETERMINISM: migrace: program 1 schedule 0 diverged' "$tmp/out" || fail "no report line"
grep -q '^first difference' "$tmp/out" || fail "no first difference"
[ -s "$tmp/nd.repro" ] && "$migrace" explore --program "$tmp/nd.repro" --runs 4 -q \
	--check-determinism > /dev/null 2>&1 || fail "the written program does not run"
MIGRACE_SELFTEST_NONDETERMINISM=yes "$migrace" explore --runs 1 -q > /dev/null 2>"$tmp/out"
[ $? -eq 2 ] || fail "a bad MIGRACE_SELFTEST_NONDETERMINISM accepted"
echo ok
