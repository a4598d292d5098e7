#!/bin/bash
# fleet_pages.sh MIGRACE SRC: the report pages of ci/fleet_report.py from
# crashes made of corpus repros (three races, one of them crashed twice):
# three finds, the duplicate counted, each find's fix switch named, and
# the index rendered by headless Chromium with every find linked.
migrace=$1 src=$2
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
i=0
for r in flush-tlb-under-ptl cpages-count flush-tlb-under-ptl anon-exclusive; do
	i=$((i + 1))
	d=$tmp/out/crashes/000$i
	mkdir -p "$d"
	cp "$src/corpus/regressions/$r.repro" "$d/decoded.repro"
	echo "test/$r-$i" > "$d/source"
	echo "2026-01-0$i 00:00:00 UTC" > "$d/seen"
	"$migrace" repro "$d/decoded.repro" > "$d/replay.txt"
	echo $? > "$d/status"
done
# and one that does not reproduce
d=$tmp/out/crashes/0009
mkdir -p "$d"
sed 's/^revert .*/revert none/' "$src/corpus/regressions/cpages-count.repro" > "$d/decoded.repro"
echo test/clean > "$d/source"
echo "2026-01-09 00:00:00 UTC" > "$d/seen"
"$migrace" repro "$d/decoded.repro" > "$d/replay.txt"
echo $? > "$d/status"

python3 "$src/ci/fleet_report.py" "$migrace" "$tmp/out" > "$tmp/log" || { cat "$tmp/log"; fail "fleet_report.py"; }
cat "$tmp/log"
[ "$(grep -c '^find:' "$tmp/log")" -eq 3 ] || fail "want 3 finds"
grep -q '^find: stale read after madvise(MADV_DONTNEED) returned | read: 2 crashes, first seen 2026-01-01 00:00:00 UTC, fix switch flush-tlb-under-ptl,' "$tmp/log" ||
	fail "the duplicate is not counted, or the wrong fix"
grep -q 'fix switch cpages-count,' "$tmp/log" || fail "cpages-count"
grep -q 'fix switch anon-exclusive,' "$tmp/log" || fail "anon-exclusive"
p=$tmp/out/pages
[ -s "$p/index.md" ] && [ -s "$p/index.html" ] || fail "no index"
grep -q '^## Not reproduced' "$p/index.md" || fail "the clean crash is not listed"
for f in "$tmp"/out/repros/*.repro; do
	"$migrace" repro "$f" > /dev/null; [ $? -eq 1 ] || fail "$f does not reproduce"
	"$migrace" repro "$f" --revert none > /dev/null || fail "$f not clean with --revert none"
	s=$(basename "$f" .repro)
	for k in '^# BUG: migrace: ' '^| First seen | ' '^| Count | ' '^| Fix switch | `' '^## Report' '^## Repro file' '^CPU0 '; do
		grep -q "$k" "$p/$s.md" || fail "$s.md: no '$k'"
	done
done

# Headless Chromium renders the index: the table with one row per find,
# each title linking to its page, and each page renders its report.
chromium=$(command -v chromium || command -v chromium-browser) || fail "no chromium (ci/setup.sh installs it)"
render() {
	HOME=$tmp timeout 60 "$chromium" --headless --no-sandbox --disable-gpu \
		--disable-dev-shm-usage --user-data-dir="$tmp/profile" \
		--dump-dom "file://$1" 2> "$tmp/chromium.err"
}
render "$p/index.html" > "$tmp/index.dom" || { tail -5 "$tmp/chromium.err"; fail "chromium failed"; }
rows=$(grep -o '<tr>' "$tmp/index.dom" | wc -l)
[ "$rows" -eq 4 ] || fail "the rendered index has $rows rows (want a header and 3 finds)"
for f in "$tmp"/out/repros/*.repro; do
	s=$(basename "$f" .repro)
	grep -q "<a href=\"$s.html\">" "$tmp/index.dom" || fail "the index does not link $s.html"
	render "$p/$s.html" > "$tmp/page.dom" || fail "chromium: $s.html"
	grep -q '<h1>BUG: migrace: ' "$tmp/page.dom" && grep -q '<pre><code>' "$tmp/page.dom" ||
		fail "$s.html does not render its report"
done
# ci/fleet.sh refuses bad options before building or fuzzing anything.
bad() {
	want=$1
	shift
	bash "$src/ci/fleet.sh" --migrace "$migrace" --out "$tmp/bad" --bin "$tmp/nobin" \
		--corpus "$tmp/nocorpus" "$@" > /dev/null 2> "$tmp/err"
	st=$?
	[ $st -eq 2 ] && grep -q -- "$want" "$tmp/err" || { cat "$tmp/err"; fail "fleet.sh $* exited $st"; }
	[ -e "$tmp/nobin" ] || [ -e "$tmp/nocorpus" ] && fail "fleet.sh $* created its directories before refusing"
	return 0
}
bad "-n: '0' is not valid" -n 0
bad "-t: 'x' is not valid" -t x
bad "--engine: 'honggfuzz' is not valid" --engine honggfuzz
bad "unknown option '--bogus'" --bogus
bad "MIGRACE_REVERT: unknown fix 'no-such-fix'" --revert no-such-fix
bad "MIGRACE_ARCH: unknown arch 'arm'" --arch arm
bad "MIGRACE_VARIANT: unknown variant 'rfc'" --variant rfc
echo "ok: chromium rendered the index ($rows table rows) and $(ls "$tmp"/out/repros | wc -l) pages"
