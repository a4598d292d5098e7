#!/bin/sh
# repro_continue.sh MIGRACE REPRO: `migrace repro FILE --continue` on an
# edited copy of REPRO (its schedule cut after the first segment; a CPU's
# program changed) finishes the run under the seeded strategy: the same
# seed gives the same trace every time, some seeds differ, the run it
# writes with -o replays to the same trace, and a schedule that describes
# the whole run is not continued.
migrace=$1 repro=$2
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
trace() { grep '^trace:' "$1"; }

# The schedule cut after its first segment.
awk '/^schedule:/ { print; s = 1; next } s == 1 && /^ *run / { print; s = 2; next } s == 2 && /^ *run / { next } { print }' \
	"$repro" > "$tmp/cut.repro"
[ "$(grep -c '^ *run ' "$tmp/cut.repro")" -eq 1 ] || fail "could not cut $repro"
"$migrace" repro "$tmp/cut.repro" > "$tmp/plain" 2>&1
for strat in pct random; do
	seen=""
	for seed in 1 2 3 4 5; do
		"$migrace" repro "$tmp/cut.repro" --continue --strategy $strat \
			--seed $seed > "$tmp/a" 2>&1
		st=$?
		[ $st -le 1 ] || fail "exit $st: --continue --strategy $strat --seed $seed"
		grep -q "^continue: the schedule ended at event [0-9]*; $strat seed $seed ran the rest" "$tmp/a" ||
			fail "no continue line ($strat seed $seed)"
		i=0
		while [ $i -lt 5 ]; do
			"$migrace" repro "$tmp/cut.repro" --continue --strategy $strat \
				--seed $seed > "$tmp/b" 2>&1
			[ "$(trace "$tmp/a")" = "$(trace "$tmp/b")" ] ||
				fail "$strat seed $seed: $(trace "$tmp/a") then $(trace "$tmp/b")"
			i=$((i + 1))
		done
		seen="$seen
$(trace "$tmp/a")"
	done
	n=$(echo "$seen" | sort -u | grep -c trace)
	[ "$n" -ge 2 ] || fail "$strat: seeds 1..5 all gave the same run: the strategy is not used"
	echo "$strat: seeds 1..5 give $n different runs, each the same 6 times"
done

# -o writes the whole run; replayed plainly it is the same run.
"$migrace" repro "$tmp/cut.repro" --continue --seed 2 -o "$tmp/full.repro" > "$tmp/a" 2>&1
"$migrace" repro "$tmp/full.repro" > "$tmp/b" 2>&1
[ "$(trace "$tmp/a")" = "$(trace "$tmp/b")" ] ||
	fail "-o: continued $(trace "$tmp/a"), its file replays $(trace "$tmp/b")"

# An edited program: a CPU's last op replaced.  Still runs, deterministically.
awk '/^cpu 1:/ { c = 1 } c == 1 && /^ *$/ && !done { print "    write(p3)"; done = 1 } { print }' \
	"$repro" > "$tmp/edit.repro"
"$migrace" repro "$tmp/edit.repro" --continue --seed 7 > "$tmp/a" 2>&1
st=$?
[ $st -le 1 ] || fail "edited program: exit $st"
"$migrace" repro "$tmp/edit.repro" --continue --seed 7 > "$tmp/b" 2>&1
[ "$(trace "$tmp/a")" = "$(trace "$tmp/b")" ] || fail "edited program: two runs differ"

# The full schedule is not continued, and gives the plain replay's trace.
"$migrace" repro "$repro" > "$tmp/a" 2>&1
"$migrace" repro "$repro" --continue --seed 3 > "$tmp/b" 2>&1
grep -q '^continue: the schedule described the whole run' "$tmp/b" ||
	fail "the whole schedule was continued"
[ "$(trace "$tmp/a")" = "$(trace "$tmp/b")" ] || fail "--continue changed a complete replay"

# Options that only make sense with --continue.
"$migrace" repro "$repro" --seed 3 > /dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q -- '--seed: repro takes it only with --continue' "$tmp/err" ||
	fail "--seed without --continue accepted"
echo "ok"
