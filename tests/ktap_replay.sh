#!/bin/sh
# ktap_replay.sh MIGRACE CHECKER REPRO...: `migrace repro --ktap` over the
# corpus is valid KTAP with every test ok; the checker refuses broken KTAP
# (so it can fail), and a repro that no longer reproduces is "not ok".
migrace=$1 check=$2
shift 2
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$migrace" repro --ktap "$@" > "$tmp/out.ktap"
st=$?
python3 "$check" --expect-pass "$tmp/out.ktap" || { cat "$tmp/out.ktap"; fail "corpus replay (exit $st)"; }
[ $st -eq 0 ] || fail "exit $st with every test ok"

# Broken KTAP is refused: a result renumbered, a plan miscounted, a parent
# ok over a failed subtest, no version line.
sed '0,/^ok 2 /s/^ok 2 /ok 3 /' "$tmp/out.ktap" > "$tmp/b1"
sed 's/^1\.\.\([0-9]*\)$/1..99/' "$tmp/out.ktap" > "$tmp/b2"
sed '0,/^  ok 4 fixed/s/^  ok 4 fixed/  not ok 4 fixed/' "$tmp/out.ktap" > "$tmp/b3"
sed '1d' "$tmp/out.ktap" > "$tmp/b4"
for b in b1 b2 b3 b4; do
	cmp -s "$tmp/$b" "$tmp/out.ktap" && fail "$b: the edit did not apply"
	python3 "$check" "$tmp/$b" > /dev/null && fail "$b accepted"
done

# A regression with its fix switch dropped from the file no longer
# reproduces: valid KTAP, that test not ok, exit 1.
sed 's/^revert .*/revert none/' "$1" > "$tmp/dropped.repro"
"$migrace" repro --ktap "$tmp/dropped.repro" "$1" > "$tmp/two.ktap"
[ $? -eq 1 ] || fail "a failing replay exited $?"
python3 "$check" "$tmp/two.ktap" | grep -q '2 tests, 1 ok, 1 not ok' || { cat "$tmp/two.ktap"; fail "not ok not reported"; }
grep -q '^not ok 1 ' "$tmp/two.ktap" || fail "the wrong test failed"
echo "ok: $(python3 "$check" "$tmp/out.ktap")"
