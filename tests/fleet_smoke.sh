#!/bin/bash
# fleet_smoke.sh MIGRACE SRC WORKDIR: ci/fleet.sh with 2 AFL++ instances
# (main plain, secondary ASan) for 20 s with young-dirty-entry reverted
# (strict): the corpus merged back, every crash decoded and replayed, the
# finds de-duplicated, each one's repro reproducing with its fix reverted
# and clean with it in place, report pages and the summary written.
migrace=$1 src=$2 work=$3
fail() { echo "FAIL: $*"; exit 1; }
rm -rf "$work/out"
mkdir -p "$work"
bash "$src/ci/fleet.sh" -n 2 -t 20 --revert young-dirty-entry --strict \
	--corpus "$work/out/corpus" --out "$work/out" --bin "$work/bin" \
	--migrace "$migrace" > "$work/fleet.log" 2>&1
st=$?
cat "$work/fleet.log"
[ $st -eq 0 ] || fail "ci/fleet.sh exited $st"
o=$work/out
n=$(find "$o/corpus" -type f | wc -l)
[ "$n" -gt 0 ] || fail "no corpus merged"
grep -q "^corpus: 0 inputs before, $n after ($n new)" "$o/run.txt" || fail "corpus line"
for inst in main asan; do
	[ -s "$o/sync/$inst/fuzzer_stats" ] || fail "instance $inst did not run"
	grep -q "^$inst " "$o/summary.txt" || fail "summary: no $inst"
done
c=$(ls "$o/crashes" | wc -l)
[ "$c" -gt 0 ] || fail "no crash in 20 s with young-dirty-entry reverted"
[ "$(grep -lx 1 "$o"/crashes/*/status | wc -l)" -eq "$c" ] || fail "a crash did not reproduce"
finds=$(grep -c '^find:' "$o/finds.txt")
[ "$finds" -ge 1 ] && [ "$finds" -lt "$c" ] || fail "$finds finds from $c crashes: not de-duplicated"
for f in "$o"/repros/*.repro; do
	"$migrace" repro "$f" > /dev/null; [ $? -eq 1 ] || fail "$f does not reproduce"
	"$migrace" repro "$f" --revert none > /dev/null || fail "$f is not clean with --revert none"
	grep -q "^| Fix switch | \`young-dirty-entry\`" "$o/pages/$(basename "$f" .repro).md" || fail "$f: fix switch"
done
[ -s "$o/pages/index.html" ] || fail "no index page"
if "$migrace" minimize --help > /dev/null 2>&1; then
	[ "$(ls "$o"/crashes/*/minimized.repro | wc -l)" -eq "$c" ] || fail "not every crash minimized"
else
	grep -q "'migrace minimize' is not available" "$work/fleet.log" || fail "minimize not mentioned"
fi
echo "ok: $c crashes -> $finds finds, corpus $n inputs"
